// The probe, circuit-breaking and hang-diagnosis scenarios shipped in scenarios/, run by the
// faultline CLI and checked through the JSON report: attempts, pass ratios, failures that name
// the probe, and the diagnosis of timeouts.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>

#include "tests/support/bundled_scenario.h"
#include "tests/support/command.h"
#include "tests/support/report_lookup.h"
#include "tests/support/skips.h"
#include "tests/support/test_env.h"

using namespace faultline::test;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

std::optional<std::string> haproxy_missing() {
  if (run_shell("command -v haproxy").status != 0)
    return "haproxy is not installed (apt-get install haproxy)";
  return std::nullopt;
}

#define PROBE_E2E_PRECONDITIONS() \
  if (auto why_ = bundled_scenario_skip_reason()) FAULTLINE_SKIP(*why_)

std::size_t passed_attempts(const json& p) {
  std::size_t n = 0;
  for (const auto& a : p.at("attempts")) n += a.at("ok").get<bool>() ? 1 : 0;
  return n;
}

const std::string kFailFast = "orders fail fast while the backend is frozen";
const std::string kRecovery = "orders work again after the thaw";

}  // namespace

TEST_CASE("the circuit breaker fails fast during the freeze and recovers after it", "[probe][e2e]") {
  PROBE_E2E_PRECONDITIONS();
  const json s = run_bundled_scenario("examples/breaker-fails-fast.toml");
  INFO(s.dump(2));
  CHECK(s.at("result") == "pass");
  const json& fast = probe(s, kFailFast);
  CHECK(fast.at("passed") == true);
  CHECK(fast.at("pass_ratio").get<double>() >= 0.7);
  // 3s of freeze, one attempt every 100ms: ~30 on an idle machine, far fewer in the emulated v2
  // guest on a busy host. Enough attempts for the pass ratio to mean something is what matters.
  CHECK(fast.at("attempts").size() >= 8);
  // The attempts that pass are fast 503s; the breaker was open.
  for (const auto& a : fast.at("attempts"))
    if (a.at("ok") == true) {
      CHECK(a.at("status") == 503);
      CHECK(a.at("latency_ms").get<double>() < 150);
    }
  const json& back = probe(s, kRecovery);
  CHECK(back.at("passed") == true);
  CHECK(back.at("pass_ratio") == 1.0);
  CHECK(back.at("attempts").size() >= 5);
}

TEST_CASE("without a breaker the frontend waits for the frozen backend and fails the probe", "[probe][e2e]") {
  PROBE_E2E_PRECONDITIONS();
  const json s = run_bundled_scenario("selftest/failing/naive-waits-for-frozen-backend.toml");
  INFO(s.dump(2));
  CHECK(s.at("result") == "fail");
  const json& fast = probe(s, kFailFast);
  CHECK(fast.at("passed") == false);
  CHECK(fast.at("pass_ratio") == 0.0);
  const auto attempts = fast.at("attempts").size();
  CHECK(attempts >= 5);
  CHECK(attempts <= 11);  // each waits 300ms for the backend: they do not pile up
  CHECK(probe(s, kRecovery).at("passed") == true);
  const json& f = only_failure(s, "probe");
  CHECK(f.at("message").get<std::string>().rfind("probe `" + kFailFast + "` failed: pass ratio 0.00 (0/" +
                                                     std::to_string(attempts) + "); last failing attempt at ",
                                                 0) == 0);
  CHECK(f.at("expected") ==
        "status 503, body containing \"circuit open\", latency below 150ms in at least 0.70 of the attempts "
        "during "
        "`backend-frozen`");
}

TEST_CASE("haproxy with health checks answers 503 fast while the backend is frozen",
          "[probe][e2e][haproxy]") {
  PROBE_E2E_PRECONDITIONS();
  if (auto why = haproxy_missing()) FAULTLINE_SKIP(*why);
  const json s = run_bundled_scenario("examples/proxy-health-checks.toml");
  INFO(s.dump(2));
  CHECK(s.at("result") == "pass");
  const json& fast = probe(s, kFailFast);
  CHECK(fast.at("passed") == true);
  CHECK(fast.at("attempts").size() >= 15);
  for (const auto& a : fast.at("attempts")) {
    CHECK(a.at("status") == 503);
    CHECK(a.at("latency_ms").get<double>() < 50);
  }
  const json& back = probe(s, kRecovery);
  CHECK(back.at("passed") == true);
  CHECK(back.at("attempts").size() >= 5);
  for (const auto& a : back.at("attempts")) CHECK(a.at("status") == 200);
}

TEST_CASE("haproxy without health checks fails the fail-fast probe, named in the failures",
          "[probe][e2e][haproxy]") {
  PROBE_E2E_PRECONDITIONS();
  if (auto why = haproxy_missing()) FAULTLINE_SKIP(*why);
  const json s = run_bundled_scenario("selftest/failing/proxy-no-health-checks.toml");
  INFO(s.dump(2));
  CHECK(s.at("result") == "fail");
  const json& fast = probe(s, kFailFast);
  CHECK(fast.at("passed") == false);
  CHECK(passed_attempts(fast) == 0);
  // The proxy keeps waiting for the frozen backend: the attempts run into their own 1s timeout
  // (only one still running at the thaw gets a late 200).
  REQUIRE(fast.at("attempts").size() >= 2);
  for (std::size_t i = 0; i + 1 < fast.at("attempts").size(); ++i)
    CHECK(fast.at("attempts")[i].at("error").get<std::string>().rfind("timed out after 1s", 0) == 0);
  only_failure(s, "probe");
  CHECK(s.at("failures")[0].at("message").get<std::string>().rfind(
            "probe `" + kFailFast + "` failed: pass ratio 0.00", 0) == 0);
  CHECK(s.at("reason").get<std::string>().find(kFailFast) != std::string::npos);
}

TEST_CASE("a hung Python process has its faulthandler stack in the report", "[probe][e2e][diagnosis]") {
  PROBE_E2E_PRECONDITIONS();
  if (!fs::exists("/usr/bin/python3")) FAULTLINE_SKIP("/usr/bin/python3 is not installed");
  const json s = run_bundled_scenario("examples/hang-diagnosis-python.toml");
  INFO(s.dump(2));
  CHECK(s.at("result") == "pass");
  const json& d = s.at("diagnostics");
  const std::string pids = d.at("pids");
  CHECK(std::regex_search(pids, std::regex(R"(target pid \d+ \(python3\): state S, wchan \S+)")));
  CHECK(std::regex_match(
      d.at("finding").get<std::string>(),
      std::regex(R"(the only process is asleep( \(mostly in \w+\))? and not throttled: likely a )"
                 R"(deadlock or a wait for something that never happens)")));
  // The stack faulthandler printed on SIGQUIT, in the target's output and in the diagnosis.
  const std::string stderr_tail = s.at("processes")[0].at("stderr_tail");
  CHECK(stderr_tail.find("File \"<string>\", line 4 in wait_for_reply") != std::string::npos);
  const std::string dump = d.at("dump");
  CHECK(dump.find("File \"<string>\", line 4 in wait_for_reply") != std::string::npos);
  CHECK(dump.find("File \"<string>\", line 6 in <module>") != std::string::npos);
}

TEST_CASE("a CPU-starved job's timeout is blamed on throttling", "[probe][e2e][diagnosis]") {
  PROBE_E2E_PRECONDITIONS();
  const json s = run_bundled_scenario("selftest/cpu-starved-timeout.toml");
  INFO(s.dump(2));
  CHECK(s.at("result") == "pass");
  const std::string finding = s.at("diagnostics").at("finding");
  std::smatch m;
  REQUIRE(
      std::regex_match(finding, m,
                       std::regex(R"(`target` throttled in (\d+)% of CPU periods at quota 5%: likely CPU )"
                                  R"(starvation, not a deadlock)")));
  CHECK(std::stoi(m[1]) >= 80);
  CHECK(s.at("diagnostics").at("cpu").get<std::string>().find("quota 5%") != std::string::npos);
}

TEST_CASE("a probe during a fault that was skipped fails: its window never opened", "[probe][e2e]") {
  if (auto why = bundled_scenario_skip_reason()) FAULTLINE_SKIP(*why);
  const json s = run_bundled_scenario("selftest/failing/probe-during-skipped-fault.toml");
  INFO(s.dump(1));
  CHECK(s.at("result") == "fail");
  const json& failures = s.at("failures");
  REQUIRE(failures.size() == 3);
  for (const auto& f : failures) CHECK(f.at("check") == "probe");
  // during = "db-frozen", and {from = "db-frozen.start", to = "db-frozen.end"}: never opened.
  CHECK(failures[0].at("actual") ==
        "no attempt was made: the window never opened (`db-frozen` never took effect)");
  CHECK(failures[1].at("actual") ==
        "no attempt was made: the window never opened (`db-frozen` never took effect)");
  // {from = "ready", to = "db-frozen.end+1s"}: attempts were made, none of them under the fault.
  CHECK(failures[2].at("actual").get<std::string>().starts_with("`db-frozen` never took effect, so its "));
  REQUIRE(s.at("probes").size() == 4);
  CHECK(s.at("probes")[0].at("attempts").empty());
  CHECK(s.at("probes")[1].at("attempts").empty());
  CHECK_FALSE(s.at("probes")[2].at("attempts").empty());
  // {from = "ready", to = "db-frozen.start"}: a baseline before the fault, judged on its attempts
  // whether the fault came or not. It failed as "measured nothing under it".
  CHECK(s.at("probes")[3].at("passed") == true);
  CHECK_FALSE(s.at("probes")[3].at("attempts").empty());
}

TEST_CASE("an exec probe whose command the shell cannot find is an error, not the expected failure",
          "[probe][e2e]") {
  if (auto why = bundled_scenario_skip_reason()) FAULTLINE_SKIP(*why);
  const json s = run_bundled_scenario("selftest/failing/probe-exec-not-found.toml");
  INFO(s.dump(1));
  CHECK(s.at("result") == "error");
  const std::string reason = s.at("reason");
  CHECK(reason.find("exited with code 127") != std::string::npos);
  CHECK(reason.find("the check never ran") != std::string::npos);
}
