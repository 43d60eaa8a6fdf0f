// The circuit-breaker demo with its backend behind a fault proxy: a latency fault on the proxy
// opens the breaker (fast 503s) and its revert lets it close again; the frontend without a
// breaker fails the same scenario and the failure names the probe. Checked through the JSON
// report, including the proxy's own figures and the fault's old -> new on the timeline.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>

#include "tests/support/bundled_scenario.h"
#include "tests/support/command.h"
#include "tests/support/report_lookup.h"
#include "tests/support/skips.h"
#include "tests/support/sockets.h"
#include "tests/support/test_env.h"

using namespace faultline::test;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

const json* event(const json& scenario, const std::string& name) {
  for (const auto& e : scenario.at("timeline"))
    if (e.at("event") == name) return &e;
  return nullptr;
}

const std::string kFailFast = "orders fail fast while the backend is slow";
const std::string kRecovery = "orders work again after the slow spell";

}  // namespace

TEST_CASE("the breaker fails fast while the proxy delays the backend and recovers after", "[proxy][e2e]") {
  if (auto why = bundled_scenario_skip_reason()) FAULTLINE_SKIP(*why);
  const json s = run_bundled_scenario("examples/breaker-behind-slow-proxy.toml");
  INFO(s.dump(2));
  CHECK(s.at("result") == "pass");
  const json& fast = probe(s, kFailFast);
  CHECK(fast.at("passed") == true);
  CHECK(fast.at("attempts").size() >= 8);
  for (const auto& a : fast.at("attempts"))
    if (a.at("ok") == true) {
      CHECK(a.at("status") == 503);
      CHECK(a.at("latency_ms").get<double>() < 150);
    }
  CHECK(probe(s, kRecovery).at("passed") == true);
  // The fault went through the proxy and was recorded as every injector's change is.
  const json* apply = event(s, "inject.apply");
  REQUIRE(apply != nullptr);
  CHECK(apply->at("inject") == "backend-slow");
  CHECK(apply->at("detail") == "proxy backend-proxy toxics none -> backend-slow: latency 2s downstream");
  const json* revert = event(s, "inject.revert");
  REQUIRE(revert != nullptr);
  CHECK(revert->at("detail") == "proxy backend-proxy toxics backend-slow: latency 2s downstream -> none");
  CHECK(apply->at("t_ms").get<double>() < revert->at("t_ms").get<double>());
  // The proxy listened before the frontend started, and its figures are in the report.
  const json* listen = event(s, "proxy.listen");
  REQUIRE(listen != nullptr);
  for (const auto& e : s.at("timeline"))
    if (e.at("event") == "process.start" && e.value("process", "") == "frontend")
      CHECK(listen->at("t_ms").get<double>() <= e.at("t_ms").get<double>());
  REQUIRE(s.at("proxies").size() == 1);
  const json& px = s.at("proxies")[0];
  CHECK(px.at("name") == "backend-proxy");
  CHECK(px.at("accepted").get<int>() >= 1);
  CHECK(px.at("bytes_upstream").get<int>() > 0);
  CHECK(px.at("bytes_downstream").get<int>() > 0);
  CHECK(px.at("toxics_touched").at("backend-slow").get<int>() >= 1);
}

TEST_CASE("without a breaker the frontend waits for the delayed backend and fails the probe",
          "[proxy][e2e]") {
  if (auto why = bundled_scenario_skip_reason()) FAULTLINE_SKIP(*why);
  const json s = run_bundled_scenario("selftest/failing/naive-waits-for-slow-backend.toml");
  INFO(s.dump(2));
  CHECK(s.at("result") == "fail");
  const json& fast = probe(s, kFailFast);
  CHECK(fast.at("passed") == false);
  CHECK(fast.at("pass_ratio") == 0.0);
  CHECK(probe(s, kRecovery).at("passed") == true);
  const json& f = only_failure(s, "probe");
  CHECK(f.at("message").get<std::string>().rfind("probe `" + kFailFast + "` failed: pass ratio 0.00", 0) ==
        0);
}

TEST_CASE("plan shows the proxy, its fault and the frontend starting once the proxy listens",
          "[proxy][e2e]") {
  if (faultline_path().empty() || source_dir().empty())
    FAULTLINE_SKIP("FAULTLINE_BIN / FAULTLINE_SOURCE_DIR not set");
  const auto r = run_shell(quote(faultline_path()) + " plan " +
                           quote(source_dir() + "/scenarios/examples/breaker-behind-slow-proxy.toml"));
  INFO(r.out << r.err);
  REQUIRE(r.status == 0);
  const std::regex proxy_line(R"(\n  backend-proxy  127\.0\.0\.1:\d+ -> 127\.0\.0\.1:\d+  after backend\n)");
  CHECK(std::regex_search(r.out, proxy_line));
  CHECK(r.out.find("    backend-slow: latency 2s, downstream on proxy backend-proxy at ready+1s for 3s\n") !=
        std::string::npos);
  // The frontend comes after the proxy, which listens once the backend is ready.
  const auto listens = r.out.find("  backend.ready       proxy backend-proxy listens on 127.0.0.1:");
  const auto frontend = r.out.find("  backend.ready       start frontend\n");
  CHECK(listens != std::string::npos);
  CHECK(frontend != std::string::npos);
  CHECK(listens < frontend);
  CHECK(r.out.find("frontend  after backend-proxy") != std::string::npos);
}

namespace {

const std::string kHaproxy504 = "haproxy answers 504 within its server timeout while the backend is slow";
const std::string kHaproxy502 = "haproxy answers 502 while the backend's connections are reset";

// The attempts of a probe that got an HTTP answer with `status`, and those that got another one.
std::pair<int, int> status_counts(const json& probe, int status) {
  int same = 0, other = 0;
  for (const auto& a : probe.at("attempts")) {
    if (!a.contains("status") || a.at("status").is_null()) continue;
    (a.at("status") == status ? same : other) += 1;
  }
  return {same, other};
}

}  // namespace

TEST_CASE("haproxy behind the fault proxy: 504 after its server timeout, 502 on resets, then 200",
          "[proxy][e2e][haproxy]") {
  if (auto why = bundled_scenario_skip_reason()) FAULTLINE_SKIP(*why);
  if (run_shell("command -v haproxy").status != 0)
    FAULTLINE_SKIP("haproxy is not installed (tools/setup.sh)");
  const json s = run_bundled_scenario("examples/haproxy-behind-faulty-proxy.toml");
  INFO(s.dump(2));
  CHECK(s.at("result") == "pass");
  for (const auto& p : s.at("probes")) CHECK(p.at("passed") == true);
  // haproxy gives up after its 300ms, not after the backend's 1s: every 504 took at least the
  // timeout (it cannot fire early) and most are well below the second the answer was held.
  const json& slow = probe(s, kHaproxy504);
  CHECK(slow.at("attempts").size() >= 4);
  for (const auto& a : slow.at("attempts"))
    if (a.at("status") == 504) CHECK(a.at("latency_ms").get<double>() >= 250);
  CHECK(status_counts(slow, 200).first == 0);
  // Resets: 502s, never a 200 while the connections are cut.
  const json& reset = probe(s, kHaproxy502);
  CHECK(reset.at("attempts").size() >= 4);
  CHECK(status_counts(reset, 502).first >= 1);
  CHECK(status_counts(reset, 200).first == 0);
  // Both faults went through the proxy, and touched haproxy's connections.
  REQUIRE(s.at("proxies").size() == 1);
  const json& px = s.at("proxies")[0];
  CHECK(px.at("toxics_touched").at("backend-slow").get<int>() >= 1);
  CHECK(px.at("toxics_touched").at("backend-reset").get<int>() >= 1);
  CHECK(px.at("reset").get<int>() >= 1);
  int applies = 0, reverts = 0;
  for (const auto& e : s.at("timeline")) {
    applies += e.at("event") == "inject.apply";
    reverts += e.at("event") == "inject.revert";
  }
  CHECK(applies == 2);
  CHECK(reverts == 2);
}

TEST_CASE("the wrong claim of 200 during the resets fails and names its probe", "[proxy][e2e][haproxy]") {
  if (auto why = bundled_scenario_skip_reason()) FAULTLINE_SKIP(*why);
  if (run_shell("command -v haproxy").status != 0)
    FAULTLINE_SKIP("haproxy is not installed (tools/setup.sh)");
  const json s = run_bundled_scenario("selftest/failing/haproxy-200-during-reset.toml");
  INFO(s.dump(2));
  CHECK(s.at("result") == "fail");
  const std::string wrong = "orders answer 200 while the backend's connections are reset";
  const json& p = probe(s, wrong);
  CHECK(p.at("passed") == false);
  CHECK(p.at("pass_ratio") == 0.0);
  CHECK(status_counts(p, 502).first >= 1);
  CHECK(probe(s, "orders work after the resets").at("passed") == true);
  const json& f = only_failure(s, "probe");
  CHECK(f.at("message").get<std::string>().rfind("probe `" + wrong + "` failed: pass ratio 0.00", 0) == 0);
}

namespace {

// t_ms of the event `name` for injection `inject`; fails when there is none.
double event_time(const json& scenario, const std::string& name, const std::string& inject) {
  for (const auto& e : scenario.at("timeline"))
    if (e.at("event") == name && e.value("inject", "") == inject) return e.at("t_ms").get<double>();
  FAIL("no " << name << " of " << inject << " on the timeline");
  throw;
}

}  // namespace

TEST_CASE("a client with a timeout and retries gets every answer through resets and a black hole",
          "[proxy][e2e][retries]") {
  if (auto why = bundled_scenario_skip_reason()) FAULTLINE_SKIP(*why);
  const json s = run_bundled_scenario("examples/client-retries-through-resets-and-timeouts.toml");
  INFO(s.dump(2));
  CHECK(s.at("result") == "pass");
  const json& client = process_named(s, "client");
  CHECK(client.at("exit_code") == 0);
  const std::string out = client.at("stdout_tail");
  const std::string err = client.at("stderr_tail");
  CHECK(out.rfind("30/30 ok (", 0) == 0);
  CHECK(out.find("(0 retries)") == std::string::npos);
  // Both faults fired at the client: a reset, and an attempt that met the black hole and hit
  // the client's own timeout. Neither made it give up.
  CHECK(err.find("Connection reset by peer, retrying") != std::string::npos);
  CHECK(err.find("timed out after 300ms") != std::string::npos);
  CHECK(err.find("giving up") == std::string::npos);
  REQUIRE(s.at("proxies").size() == 1);
  const json& px = s.at("proxies")[0];
  CHECK(px.at("toxics_touched").at("connections-reset").get<int>() >= 1);
  CHECK(px.at("toxics_touched").at("black-hole").get<int>() >= 1);
  CHECK(px.at("reset").get<int>() >= 1);
  // The client finished after both faults were gone: it recovered rather than ran out first.
  const double reset_end = event_time(s, "inject.revert", "connections-reset");
  const double hole_start = event_time(s, "inject.apply", "black-hole");
  const double hole_end = event_time(s, "inject.revert", "black-hole");
  CHECK(event_time(s, "inject.apply", "connections-reset") < reset_end);
  CHECK(reset_end < hole_start);
  CHECK(hole_start < hole_end);
  for (const auto& e : s.at("timeline"))
    if (e.at("event") == "process.exit" && e.value("process", "") == "client")
      CHECK(e.at("t_ms").get<double>() > hole_end);
}

TEST_CASE("the same client without retries loses requests and fails its expectation",
          "[proxy][e2e][retries]") {
  if (auto why = bundled_scenario_skip_reason()) FAULTLINE_SKIP(*why);
  const json s = run_bundled_scenario("selftest/failing/client-without-retries.toml");
  INFO(s.dump(2));
  CHECK(s.at("result") == "fail");
  const json& client = process_named(s, "client");
  CHECK(client.at("exit_code") == 1);
  CHECK(client.at("stdout_tail").get<std::string>().find("30/30 ok") == std::string::npos);
  CHECK(client.at("stderr_tail").get<std::string>().find("giving up") != std::string::npos);
  REQUIRE(s.at("failures").size() >= 1);
  for (const auto& f : s.at("failures")) CHECK(f.at("process") == "client");
}

TEST_CASE("redis-cli's deadline fires under latency and bandwidth faults, the value comes back after",
          "[proxy][e2e][redis]") {
  if (auto why = bundled_scenario_skip_reason()) FAULTLINE_SKIP(*why);
  if (run_shell("command -v redis-server && command -v redis-cli").status != 0)
    FAULTLINE_SKIP("redis-server / redis-cli are not installed (tools/setup.sh)");
  const json s = run_bundled_scenario("examples/redis-under-latency-and-bandwidth.toml");
  INFO(s.dump(2));
  CHECK(s.at("result") == "pass");
  // Each probe passes only when its command did what it names: exit 124 (the deadline) under a
  // fault, the whole value otherwise.
  for (const auto& p : s.at("probes")) {
    CHECK(p.at("passed") == true);
    CHECK(p.at("attempts").size() >= 1);
  }
  // The deadline, not the answer, ended the attempts under the faults: at least its 1.5s and
  // below the probe's own 5s timeout.
  for (const std::string name : {"the deadline fires while redis answers 3s late",
                                 "the deadline fires while the link carries 4 KiB/s"})
    for (const auto& a : probe(s, name).at("attempts")) {
      CHECK(a.at("latency_ms").get<double>() >= 1400);
      CHECK(a.at("latency_ms").get<double>() < 4500);
    }
  REQUIRE(s.at("proxies").size() == 1);
  const json& px = s.at("proxies")[0];
  CHECK(px.at("toxics_touched").at("redis-slow").get<int>() >= 1);
  CHECK(px.at("toxics_touched").at("thin-link").get<int>() >= 1);
  CHECK(px.at("bytes_downstream").get<int>() >= 32768);
  // Nothing hung: the run ended at its duration (17s), far from its 60s timeout.
  CHECK(s.at("duration_ms").get<double>() < 40000);
  for (const auto& e : s.at("timeline")) CHECK(e.at("event") != "timeout");
}

// A partition refuses connects in the kernel, where the proxy sees nothing: the refused connects
// are what shows the client met it.
TEST_CASE("a partition's refused connects are counted, and the client that retried through them passes",
          "[proxy][e2e][retries]") {
  if (auto why = bundled_scenario_skip_reason()) FAULTLINE_SKIP(*why);
  if (const auto why = raw_socket_missing(); !why.empty()) FAULTLINE_SKIP(why);
  const json s = run_bundled_scenario("selftest/partition-refuses-client.toml");
  INFO(s.dump(2));
  CHECK(s.at("result") == "pass");
  REQUIRE(s.at("proxies").size() == 1);
  const json& px = s.at("proxies")[0];
  CHECK(px.at("refused").get<int>() >= 1);
  CHECK(px.at("toxics_touched").at("partition").get<int>() >= px.at("refused").get<int>());
  CHECK_FALSE(px.contains("refused_unseen"));
  const std::string err = process_named(s, "client").at("stderr_tail");
  CHECK(err.find("Connection refused, retrying") != std::string::npos);
}

namespace {

// A must-fail scenario whose network fault `toxic`, on its one proxy, met nothing the scenario
// makes its claim about: its only failure is the fault that never fired, counted 0.
void check_never_fired(const std::string& scenario_file, const std::string& toxic) {
  if (auto why = bundled_scenario_skip_reason()) FAULTLINE_SKIP(*why);
  CommandOutput cmd;
  const json s = run_must_fail(scenario_file, cmd);
  INFO(s.dump(2));
  only_failure(s, "inject.network");
  CHECK(s.at("proxies")[0].at("toxics_touched").at(toxic) == 0);
}

}  // namespace

// The client gave up and left; the server still held the connection through the proxy. A reset
// then closed what only the server kept: it counted as touched, and the scenario passed.
TEST_CASE("a reset that comes after the client gave up fails as never fired", "[proxy][e2e]") {
  check_never_fired("selftest/failing/reset-after-client-gave-up.toml", "rst");
}

// The black hole held back only the FIN of the client closing at faultline's SIGTERM: the
// shutdown counted as the fault's work, and the scenario passed.
TEST_CASE("a network fault met only by the shutdown fails as never fired", "[proxy][e2e]") {
  check_never_fired("selftest/failing/network-fault-met-only-at-shutdown.toml", "black-hole");
}

// Applied at the driver's exit, which began the stop phase: the counts taken at the stop phase
// had no entry for it, so the judge never looked at it, and the scenario passed.
TEST_CASE("a network fault applied once the stop phase had begun fails as never fired", "[proxy][e2e]") {
  check_never_fired("selftest/failing/network-fault-after-stop-began.toml", "slow");
}

// The proxy accepted the client's connections before the partition: not evidence that the
// client ever met it.
TEST_CASE("a partition that comes after the client is done fails as never fired", "[proxy][e2e]") {
  if (auto why = bundled_scenario_skip_reason()) FAULTLINE_SKIP(*why);
  // Without a raw socket the looser rule (any connection accepted in the run) applies.
  if (const auto why = raw_socket_missing(); !why.empty()) FAULTLINE_SKIP(why);
  CommandOutput cmd;
  const json s = run_must_fail("selftest/failing/partition-after-client-done.toml", cmd);
  INFO(s.dump(2));
  const json& f = only_failure(s, "inject.network");
  CHECK(f.at("expected") == ">=1 connection closed or connect refused");
  CHECK(f.at("line") == 32);
  const json& px = s.at("proxies")[0];
  CHECK(px.at("accepted").get<int>() == 5);
  CHECK(px.at("refused") == 0);
  CHECK(px.at("toxics_touched").at("partition") == 0);
}
