// Syscall faults as users see them: scenario files with `kind = "syscall"` run by the faultline
// CLI, checked through the JSON report (syscall.fail events, counts, the verdict). Order and
// generous bounds only: every failed call lies inside its injection window.
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "tests/support/bundled_scenario.h"
#include "tests/support/command.h"
#include "tests/support/report_schema.h"
#include "tests/support/skips.h"
#include "tests/support/test_env.h"

using namespace faultline::test;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

#define E2E_PRECONDITIONS() \
  if (auto why_ = bundled_scenario_skip_reason()) FAULTLINE_SKIP(*why_)

json run_scenario(const std::string& rel, CommandOutput& cmd) {
  return run_bundled_scenario(rel, cmd, {.extra_args = "", .check_report_schema = true});
}

// Every failed call of `inject` lies between its rule being switched on and off.
void check_failures_inside_window(const json& s, const std::string& inject, const std::string& what) {
  const auto on = timeline_events(s, "inject.apply", inject),
             off = timeline_events(s, "inject.revert", inject);
  REQUIRE(on.size() == 1);
  REQUIRE(off.size() == 1);
  const double from = on[0].at("t_ms"), to = off[0].at("t_ms");
  const auto failed = timeline_events(s, "syscall.fail", inject);
  REQUIRE_FALSE(failed.empty());
  for (const auto& e : failed) {
    INFO(e.dump());
    CHECK(e.at("t_ms").get<double>() >= from);
    CHECK(e.at("t_ms").get<double>() <= to);
    CHECK(e.at("detail").get<std::string>().find(what) != std::string::npos);
  }
  const json* counted = nullptr;
  for (const auto& c : s.at("syscall_faults"))
    if (c.at("inject") == inject) counted = &c;
  REQUIRE(counted);
  CHECK(counted->at("hit") == failed.size());  // fewer than the 200 kept one by one
  CHECK(counted->at("matched").get<std::size_t>() >= failed.size());
  const auto count = timeline_events(s, "syscall.count", inject);
  REQUIRE(count.size() == 1);
  CHECK(count[0].at("detail").get<std::string>().rfind(std::to_string(failed.size()) + " of ", 0) == 0);
}

}  // namespace

TEST_CASE("syscall faults: writes fail only inside the window, and the report lists them", "[e2e][syscall]") {
  E2E_PRECONDITIONS();
  CommandOutput cmd;
  const json s = run_scenario("selftest/syscall-write-window.toml", cmd);
  INFO("stdout: " << cmd.out << "\nreport: " << s.dump(1));
  CHECK(cmd.status == 0);
  CHECK(s.at("result") == "pass");
  check_failures_inside_window(s, "disk-full", "-> ENOSPC");
  // 30 writes over at least 3s, a 1s window: the writes before and after it went through.
  CHECK(timeline_events(s, "syscall.fail", "disk-full").size() < 30);
  for (const auto& e : timeline_events(s, "syscall.fail", "disk-full"))
    CHECK(e.at("detail").get<std::string>().find("/tmp/faultline-syscall-window-") != std::string::npos);
}

TEST_CASE("syscall faults: a fault that never fires fails the scenario unless optional", "[e2e][syscall]") {
  E2E_PRECONDITIONS();
  CommandOutput cmd;
  const json s = run_scenario("selftest/failing/syscall-never-fires.toml", cmd);
  INFO("stdout: " << cmd.out << "\nreport: " << s.dump(1));
  CHECK(cmd.status == 1);
  CHECK(s.at("result") == "fail");
  const json& f = only_failure(s, "inject.syscall");  // `maybe` is optional
  CHECK(f.at("message").get<std::string>().find("`slow-fsync` never fired") != std::string::npos);
  CHECK(f.at("line") == 9);
}

TEST_CASE("syscall faults: calls hit after the stop phase began are listed, not counted", "[e2e][syscall]") {
  E2E_PRECONDITIONS();
  CommandOutput cmd;
  const json s = run_scenario("selftest/failing/syscall-hits-only-the-shutdown.toml", cmd);
  INFO("stdout: " << cmd.out << "\nreport: " << s.dump(1));
  CHECK(cmd.status == 1);
  CHECK(s.at("result") == "fail");
  // The handler's write did fail (the fault was on), after the stop signal.
  const auto stop = timeline_events(s, "stop.signal");
  const auto failed = timeline_events(s, "syscall.fail", "journal-full");
  REQUIRE(stop.size() == 1);
  REQUIRE(failed.size() >= 1);
  for (const auto& e : failed) CHECK(e.at("t_ms").get<double>() >= stop[0].at("t_ms").get<double>());
  REQUIRE(s.at("syscall_faults").size() == 1);
  const json& counted = s.at("syscall_faults")[0];
  CHECK(counted.at("hit") == 0);
  CHECK(counted.at("hit_while_stopping") == failed.size());
  const json& f = only_failure(s, "expect.syscall_failures.journal-full");
  CHECK(f.at("message").get<std::string>().find("more after the stop phase began, not counted") !=
        std::string::npos);
  CHECK(cmd.out.find("more in the shutdown, not counted") != std::string::npos);
}

TEST_CASE("syscall faults: one never switched on fails as not applied, whatever count is stated",
          "[e2e][syscall]") {
  E2E_PRECONDITIONS();
  for (const char* file : {"selftest/failing/syscall-never-switched-on.toml",
                           "selftest/failing/syscall-at-start-into-later-process.toml",
                           "selftest/failing/fault-after-stop-phase.toml"}) {
    CommandOutput cmd;
    const json s = run_scenario(file, cmd);
    INFO(file << "\nstdout: " << cmd.out << "\nreport: " << s.dump(1));
    CHECK(cmd.status == 1);
    CHECK(s.at("result") == "fail");
    CHECK(std::ranges::count(failed_checks(s), "inject.applied") == 1);
    CHECK(timeline_events(s, "inject.skip", "disk-full").size() == 1);
    CHECK(timeline_events(s, "inject.apply", "disk-full").empty());
    CHECK(timeline_events(s, "syscall.fail", "disk-full").empty());  // never switched on at spawn either
  }
}

TEST_CASE("syscall faults: a second rule on the same call sees the calls the first one spared",
          "[e2e][syscall]") {
  E2E_PRECONDITIONS();
  CommandOutput cmd;
  const json s = run_scenario("selftest/failing/syscall-second-rule-on-same-call.toml", cmd);
  INFO("stdout: " << cmd.out << "\nreport: " << s.dump(1));
  CHECK(cmd.status == 1);
  CHECK(s.at("result") == "fail");
  std::map<std::string, json> counted;
  for (const auto& c : s.at("syscall_faults")) counted[c.at("inject")] = c;
  REQUIRE(counted.count("disk-full"));
  CHECK(counted["disk-full"].at("hit") == 20);  // every create under the full disk failed
  CHECK(counted["slow-disk"].at("hit").get<int>() >= 1);
  const auto checks = failed_checks(s);
  CHECK(std::set<std::string>(checks.begin(), checks.end()) ==
        std::set<std::string>{"expect.syscall_failures.disk-full", "expect.stderr.not_contains"});
}

TEST_CASE("syscall faults: sqlite3 survives a full disk and its database stays intact", "[e2e][syscall]") {
  E2E_PRECONDITIONS();
  if (run_shell("command -v sqlite3").status != 0)
    FAULTLINE_SKIP("sqlite3 is not installed (tools/setup.sh)");
  CommandOutput cmd;
  const json s = run_scenario("examples/sqlite-disk-full.toml", cmd);
  INFO("stdout: " << cmd.out << "\nreport: " << s.dump(1));
  CHECK(cmd.status == 0);
  CHECK(s.at("result") == "pass");
  check_failures_inside_window(s, "disk-full", "-> ENOSPC");
  for (const auto& e : timeline_events(s, "syscall.fail", "disk-full")) CHECK(e.at("process") == "writer");
}

TEST_CASE("syscall faults: validate names typos with positions, plan shows the rule", "[e2e][syscall]") {
  if (faultline_path().empty() || source_dir().empty())
    FAULTLINE_SKIP("FAULTLINE_BIN / FAULTLINE_SOURCE_DIR not set");
  const std::string file =
      fs::temp_directory_path() / ("faultline-syscall-typo-" + std::to_string(::getpid()) + ".toml");
  {
    std::ofstream out(file);
    out << "name = \"x\"\n[target]\ncommand = [\"true\"]\n[[inject]]\nkind = \"syscall\"\nat = \"0s\"\n"
           "syscalls = [\"opneat\"]\nerrno = \"EMFLIE\"\n";
  }
  const auto v = run_shell(quote(faultline_path()) + " validate " + quote(file));
  fs::remove(file);
  INFO(v.out << v.err);
  CHECK(v.status == 2);
  CHECK(v.err.find(
            ":7:13: inject.syscalls: unknown system call `opneat` on this host; did you mean `openat`?") !=
        std::string::npos);
  CHECK(v.err.find(":8:9: inject.errno: unknown errno `EMFLIE`; did you mean `EMFILE`?") !=
        std::string::npos);

  const auto p = run_shell(quote(faultline_path()) + " plan " +
                           quote(source_dir() + "/scenarios/selftest/syscall-write-window.toml"));
  INFO(p.out << p.err);
  CHECK(p.status == 0);
  CHECK(p.out.find("inject disk-full (syscall write -> ENOSPC, every call, on paths matching "
                   "/tmp/faultline-syscall-window-* into target) for 1s") != std::string::npos);
}

namespace {

const json* fault_count(const json& s, const std::string& inject) {
  for (const auto& c : s.at("syscall_faults"))
    if (c.at("inject") == inject) return &c;
  return nullptr;
}

}  // namespace

TEST_CASE("syscall faults: syscall_failures counts that hold pass, a stated 0 replaces the fired check",
          "[e2e][syscall]") {
  E2E_PRECONDITIONS();
  CommandOutput cmd;
  const json s = run_scenario("selftest/syscall-failures-count.toml", cmd);
  INFO("stdout: " << cmd.out << "\nreport: " << s.dump(1));
  CHECK(cmd.status == 0);
  CHECK(s.at("result") == "pass");
  CHECK(s.at("failures").empty());
  const json* hit = fault_count(s, "disk-full");
  REQUIRE(hit);
  CHECK(hit->at("hit") == 10);
}

TEST_CASE("syscall faults: syscall_failures fails on a fault that fired against `= 0` and on an unfired one",
          "[e2e][syscall]") {
  E2E_PRECONDITIONS();
  CommandOutput cmd;
  const json s = run_scenario("selftest/failing/syscall-failures-wrong-count.toml", cmd);
  INFO("stdout: " << cmd.out << "\nreport: " << s.dump(1));
  CHECK(cmd.status == 1);
  CHECK(s.at("result") == "fail");
  REQUIRE(s.at("failures").size() == 2);
  std::map<std::string, json> by_check;
  for (const auto& f : s.at("failures")) by_check[f.at("check").get<std::string>()] = f;
  REQUIRE(by_check.contains("expect.syscall_failures.disk-full"));
  const json& fired = by_check["expect.syscall_failures.disk-full"];
  CHECK(fired.at("expected") == "0");
  CHECK(fired.at("actual") == "1");
  CHECK(fired.at("line") == 33);
  CHECK(fired.at("message").get<std::string>().rfind("syscall fault `disk-full` hit 1 call(s)", 0) == 0);
  REQUIRE(by_check.contains("expect.syscall_failures.maybe"));
  const json& unfired = by_check["expect.syscall_failures.maybe"];
  CHECK(unfired.at("expected") == ">=1");
  CHECK(unfired.at("actual") == "0");
  CHECK(unfired.at("message").get<std::string>().find("`maybe` hit 0 call(s)") != std::string::npos);
}

TEST_CASE("syscall faults: the demo client retries refused connects and recovers after the window",
          "[e2e][syscall][demo]") {
  E2E_PRECONDITIONS();
  CommandOutput cmd;
  const json s = run_scenario("examples/connect-refused-retries.toml", cmd);
  INFO("stdout: " << cmd.out << "\nreport: " << s.dump(1));
  CHECK(cmd.status == 0);
  CHECK(s.at("result") == "pass");
  check_failures_inside_window(s, "refuse-connect", "-> ECONNREFUSED");
  for (const auto& e : timeline_events(s, "syscall.fail", "refuse-connect")) {
    CHECK(e.at("process") == "client");
    CHECK(e.at("detail").get<std::string>().find("connect fd ") != std::string::npos);
    CHECK(e.at("detail").get<std::string>().find("(socket:[") != std::string::npos);
  }
  // Recovery: the client's last answer came after the window closed.
  const auto off = timeline_events(s, "inject.revert", "refuse-connect");
  REQUIRE(off.size() == 1);
  double client_exit = -1;
  for (const auto& e : s.at("timeline"))
    if (e.at("event") == "process.exit" && e.value("process", "") == "client")
      client_exit = e.at("t_ms").get<double>();
  CHECK(client_exit > off[0].at("t_ms").get<double>());
}

TEST_CASE("syscall faults: without retries the same refusals lose requests (naive claim fails)",
          "[e2e][syscall][demo]") {
  E2E_PRECONDITIONS();
  CommandOutput cmd;
  const json s = run_scenario("selftest/failing/connect-refused-no-retries.toml", cmd);
  INFO("stdout: " << cmd.out << "\nreport: " << s.dump(1));
  CHECK(cmd.status == 1);
  CHECK(s.at("result") == "fail");
  const auto failed = failed_checks(s);
  const std::set<std::string> checks(failed.begin(), failed.end());
  CHECK(checks.contains("expect.exit_codes"));
  CHECK(checks.contains("expect.stdout.contains"));
  CHECK_FALSE(checks.contains("expect.syscall_failures.refuse-connect"));  // the fault did hit
  const json* hit = fault_count(s, "refuse-connect");
  REQUIRE(hit);
  CHECK(hit->at("hit").get<int>() >= 1);
}

TEST_CASE("syscall faults: a 500ms fsync makes the backend take its write timeout path",
          "[e2e][syscall][demo]") {
  E2E_PRECONDITIONS();
  CommandOutput cmd;
  const json s = run_scenario("examples/fsync-slow-write-timeout.toml", cmd);
  INFO("stdout: " << cmd.out << "\nreport: " << s.dump(1));
  CHECK(cmd.status == 0);
  CHECK(s.at("result") == "pass");
  // A delay alone: the held calls then ran on, with a result of their own that is not known here.
  check_failures_inside_window(s, "slow-fsync", " delayed 500ms");
  for (const auto& e : timeline_events(s, "syscall.fail", "slow-fsync")) {
    CHECK(e.at("process") == "backend");
    CHECK(e.at("detail").get<std::string>().find("/tmp/faultline-journal-") != std::string::npos);
    CHECK(e.at("detail").get<std::string>().find("->") == std::string::npos);
  }
}
