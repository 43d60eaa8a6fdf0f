// Authoring checks end to end: counts with comparisons, and one failure per cause.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "tests/support/bundled_scenario.h"
#include "tests/support/command.h"
#include "tests/support/skips.h"
#include "tests/support/test_env.h"

using namespace faultline::test;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {}  // namespace

TEST_CASE("checks e2e: an OOM kill passes oom_kills = \">=1\"", "[checks]") {
  if (auto why = bundled_scenario_skip_reason()) FAULTLINE_SKIP(*why);
  CommandOutput cmd;
  const json s = run_bundled_scenario("selftest/oom-count-at-least.toml", cmd);
  INFO(s.dump(2));
  CHECK(s.at("processes")[0].at("outcome") == "oom-killed");
  CHECK(s.at("result") == "pass");
  CHECK(cmd.status == 0);
}

TEST_CASE("checks e2e: oom_kills = \">=1\" fails when no OOM kill happened", "[checks]") {
  if (auto why = bundled_scenario_skip_reason()) FAULTLINE_SKIP(*why);
  CommandOutput cmd;
  const json s = run_must_fail("selftest/failing/oom-count-none.toml", cmd);
  INFO(s.dump(2));
  CHECK(s.at("processes")[0].at("outcome") == "exited");
  const json& f = only_failure(s, "expect.oom_kills");
  CHECK(f.at("message") == "oom_kills 0, expected >=1");
  CHECK(f.at("line") == 17);
}

TEST_CASE("checks e2e: pids_max_events = 0 fails when the pids limit refused a fork", "[checks]") {
  if (auto why = bundled_scenario_skip_reason()) FAULTLINE_SKIP(*why);
  CommandOutput cmd;
  const json s = run_must_fail("selftest/failing/pids-events-none-expected.toml", cmd);
  INFO(s.dump(2));
  const auto refused = s.at("processes")[0].at("pids_max_events").get<int>();
  CHECK(refused >= 1);
  only_failure(s, "expect.pids_max_events");
  CHECK(s.at("failures")[0].at("message") == "pids_max_events " + std::to_string(refused) + ", expected 0");
}

TEST_CASE("checks e2e: an unexpected OOM kill is one failure, its consequences folded under it", "[checks]") {
  if (auto why = bundled_scenario_skip_reason()) FAULTLINE_SKIP(*why);
  CommandOutput cmd;
  const json s = run_must_fail("selftest/failing/oom-unexpected.toml", cmd);
  INFO(s.dump(2));
  const json& p = s.at("processes")[0];
  REQUIRE(p.at("outcome") == "oom-killed");
  const auto kills = p.at("oom_kills").get<int>();
  const json& f = only_failure(s, "expect.outcome");
  const auto consequences = f.at("consequences").get<std::vector<std::string>>();
  REQUIRE(consequences.size() == 3);
  CHECK(consequences[0] == "exit_codes: no exit code (oom-killed), expected one in [0]");
  CHECK(consequences[1] == "oom_kills: oom_kills " + std::to_string(kills) + ", expected >=2");
  CHECK(consequences[2] == "stdout.contains: stdout never contained \"allocated\": stdout (empty)");
  // The console shows the same single failure, consequences under it.
  CHECK(cmd.out.find("therefore oom_kills: oom_kills " + std::to_string(kills) + ", expected >=2") !=
        std::string::npos);
  // The one-line reason names the cause and what it broke.
  CHECK(s.at("reason") ==
        "expect.outcome: expected the process to end exited, it ended oom-killed; therefore exit_codes, "
        "oom_kills, stdout.contains");
}

TEST_CASE("checks e2e: a SIGKILL from the timeline after a child's OOM kill is not called an OOM kill",
          "[checks]") {
  if (auto why = bundled_scenario_skip_reason()) FAULTLINE_SKIP(*why);
  CommandOutput cmd;
  const json s = run_must_fail("selftest/failing/sigkill-after-child-oom.toml", cmd);
  INFO(s.dump(2));
  const json& p = s.at("processes")[0];
  CHECK(p.at("oom_kills").get<int>() == 1);  // the child's
  CHECK(p.at("signal") == SIGKILL);
  CHECK(p.at("outcome") == "signaled");
  REQUIRE(s.at("failures").size() >= 1);
  CHECK(s.at("failures")[0].at("check") == "expect.outcome");
}

TEST_CASE("checks e2e: a network fault the client never meets fails the scenario", "[checks][proxy]") {
  if (auto why = bundled_scenario_skip_reason()) FAULTLINE_SKIP(*why);
  CommandOutput cmd;
  const json s = run_must_fail("selftest/failing/proxy-fault-bypassed.toml", cmd);
  INFO(s.dump(2));
  only_failure(s, "inject.network");  // the client itself did fine: it never met the fault
  CHECK(s.at("proxies")[0].at("accepted") == 0);
  CHECK(s.at("proxies")[0].at("toxics_touched").at("resets") == 0);
  // The console says so under the failure, as it would under a pass with the fault optional.
  CHECK(cmd.out.find("\n       proxy px faults: resets touched no connection\n") != std::string::npos);
}

TEST_CASE("checks e2e: a network fault that only faultline's own probe met never fired", "[checks]") {
  if (auto why = bundled_scenario_skip_reason()) FAULTLINE_SKIP(*why);
  CommandOutput cmd;
  const json s = run_must_fail("selftest/failing/proxy-fault-met-only-by-probe.toml", cmd);
  INFO(s.dump(2));
  const json& f = only_failure(s, "inject.network");
  // The probe went through the proxy and met the latency, yet the client never did.
  const json& proxy = s.at("proxies")[0];
  CHECK(proxy.at("accepted") == 0);
  CHECK(proxy.at("toxics_touched").at("slow") == 0);
  const auto own = proxy.at("own_connections").get<int>();
  CHECK(own >= 1);
  CHECK(f.at("message").get<std::string>().find(
            "besides " + std::to_string(own) + " of faultline's own probes and checks") != std::string::npos);
  CHECK(s.at("probes")[0].at("attempts")[0].at("latency_ms").get<double>() >= 100);
}

TEST_CASE("checks e2e: connects a probe had closed before the proxy looked are still faultline's",
          "[checks]") {
  if (auto why = bundled_scenario_skip_reason()) FAULTLINE_SKIP(*why);
  CommandOutput cmd;
  const json s = run_must_fail("selftest/failing/proxy-partition-met-only-by-probe.toml", cmd);
  INFO(s.dump(2));
  only_failure(s, "inject.network");
  // Every attempt of the probe was refused (so the probe itself held) and none counts as the client's.
  const json& probe = s.at("probes")[0];
  CHECK(probe.at("passed") == true);
  REQUIRE(probe.at("attempts").size() >= 3);
  const json& proxy = s.at("proxies")[0];
  CHECK(proxy.at("accepted") == 0);
  CHECK(proxy.value("refused", 0) == 0);
  CHECK(proxy.at("toxics_touched").at("partition") == 0);
}

TEST_CASE("checks e2e: a process that never started fails its table, which would hold on nothing",
          "[checks]") {
  if (auto why = bundled_scenario_skip_reason()) FAULTLINE_SKIP(*why);
  CommandOutput cmd;
  const json s = run_must_fail("selftest/failing/never-started.toml", cmd);
  INFO(s.dump(2));
  const json& f = only_failure(s, "outcome");
  CHECK(f.at("process") == "client");
  CHECK(f.at("actual").get<std::string>().find("never started") != std::string::npos);
  CHECK(f.at("line") == 23);  // the client's [[expect]]
}

TEST_CASE("checks e2e: a crash fails a table whose every key held", "[checks]") {
  if (auto why = bundled_scenario_skip_reason()) FAULTLINE_SKIP(*why);
  CommandOutput cmd;
  const json s = run_must_fail("selftest/failing/crash-unasked.toml", cmd);
  INFO(s.dump(2));
  const json& f = only_failure(s, "outcome");
  CHECK(f.at("actual") == "signaled(SIGSEGV)");
  CHECK(s.at("processes")[0].at("orphans").empty());
}

TEST_CASE("checks e2e: a table without exit_codes fails a job that exits 1 by itself", "[checks]") {
  if (auto why = bundled_scenario_skip_reason()) FAULTLINE_SKIP(*why);
  CommandOutput cmd;
  const json s = run_must_fail("selftest/failing/exit-code-unstated.toml", cmd);
  INFO(s.dump(2));
  const json& f = only_failure(s, "expect.exit_codes");
  CHECK(f.at("actual") == "exited(1)");
  CHECK(f.at("line") == 12);  // the [expect] table
}

TEST_CASE("checks e2e: a table without exit_codes fails a job killed by a signal faultline did not send",
          "[checks]") {
  if (auto why = bundled_scenario_skip_reason()) FAULTLINE_SKIP(*why);
  CommandOutput cmd;
  const json s = run_must_fail("selftest/failing/killed-by-unsent-signal.toml", cmd);
  INFO(s.dump(2));
  const json& f = only_failure(s, "expect.exit_codes");
  CHECK(f.at("actual") == "signaled(SIGPIPE)");
  CHECK(f.at("line") == 13);  // the [expect] table
}

TEST_CASE("checks e2e: a service SIGKILLed after its stop grace fails a table without exit_codes",
          "[checks]") {
  if (auto why = bundled_scenario_skip_reason()) FAULTLINE_SKIP(*why);
  CommandOutput cmd;
  const json s = run_must_fail("selftest/failing/killed-after-grace-unjudged.toml", cmd);
  INFO(s.dump(2));
  const json& f = only_failure(s, "expect.exit_codes");
  CHECK(f.at("message").get<std::string>().starts_with("SIGKILLed after its stop grace"));
  CHECK(s.at("processes")[0].at("outcome") == "killed-after-grace");
}

TEST_CASE("checks e2e: without exit_codes, 128+N after faultline's own signal N passes", "[checks]") {
  if (auto why = bundled_scenario_skip_reason()) FAULTLINE_SKIP(*why);
  CommandOutput cmd;
  const json s = run_bundled_scenario("selftest/exit-code-answers-faultline.toml", cmd);
  INFO(s.dump(2));
  CHECK(s.at("result") == "pass");
  const auto process = [&](const std::string& name) -> const json& {
    for (const auto& p : s.at("processes"))
      if (p.at("name") == name) return p;
    FAIL("no process " << name);
    return s;
  };
  // The scenario tests the exceptions only if the processes ended as it intends.
  CHECK(process("worker").at("outcome") == "exited");
  CHECK(process("worker").at("exit_code") == 143);
  CHECK(process("service").at("exit_code") == 130);  // its stop signal is SIGINT
  CHECK(process("service").at("graceful") == false);
}

TEST_CASE("checks e2e: a service that exits 1 when asked to stop fails a table without exit_codes",
          "[checks]") {
  if (auto why = bundled_scenario_skip_reason()) FAULTLINE_SKIP(*why);
  CommandOutput cmd;
  const json s = run_must_fail("selftest/failing/exit-code-on-stop.toml", cmd);
  INFO(s.dump(2));
  const json& f = only_failure(s, "expect.exit_codes");
  CHECK(f.at("actual") == "exited(1)");
  CHECK(s.at("processes")[0].at("graceful") == false);  // the stop phase ran
}

TEST_CASE("checks e2e: a memory fault above the limit in force is skipped and fails the scenario",
          "[checks]") {
  if (auto why = bundled_scenario_skip_reason()) FAULTLINE_SKIP(*why);
  CommandOutput cmd;
  const json s = run_must_fail("selftest/failing/memory-squeeze-looser.toml", cmd);
  INFO(s.dump(2));
  const json& f = only_failure(s, "inject.applied");
  CHECK(f.at("actual") ==
        "skipped: it would change nothing here: memory.max is 64MiB already: a squeeze must lower it");
  CHECK(timeline_events(s, "inject.apply", "squeeze").empty());
}

TEST_CASE("checks e2e: a daemon of a process killed after its grace is an orphan, its plain child is not",
          "[checks]") {
  if (auto why = bundled_scenario_skip_reason()) FAULTLINE_SKIP(*why);
  CommandOutput cmd;
  const json s = run_must_fail("selftest/failing/orphan-of-killed-process.toml", cmd);
  INFO(s.dump(2));
  const json& p = s.at("processes")[0];
  CHECK(p.at("outcome") == "killed-after-grace");
  REQUIRE(p.at("orphans").size() == 1);
  CHECK(p.at("orphans")[0].get<std::string>().ends_with(" (tail)"));  // not the sleep it waited for
  only_failure(s, "expect.no_orphans");
}
