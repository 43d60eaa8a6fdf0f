#include <catch2/catch.hpp>
#include <cstdlib>
#include <sstream>

#include "reports/console_writer.h"
#include "tests/support/report_fixtures.h"

using namespace faultline::report;

namespace {

ScenarioResult result(const std::string& name, Verdict v, double ms, const std::string& reason = "") {
  ScenarioResult r = faultline::test::scenario_result(name, "s/" + name + ".toml", v);
  r.duration_ms = ms;
  r.reason = reason;
  return r;
}

}  // namespace

TEST_CASE("console line: result, name, duration and the reason when it did not pass") {
  CHECK(console_line(result("oom", Verdict::pass, 1234)) == "PASS   oom  (1.2s)");
  CHECK(console_line(result("drain", Verdict::fail, 3000, "expect.graceful: killed")) ==
        "FAIL   drain  (3.0s): expect.graceful: killed");
  CHECK(console_line(result("gone", Verdict::error, 10, "failed to start")) ==
        "ERROR  gone  (0.0s): failed to start");
}

TEST_CASE("console: a partition's refused connects, and a note when they could not be seen") {
  ScenarioResult r = result("partition", Verdict::pass, 3000);
  ProxyResult seen;
  seen.name = "db";
  seen.accepted = 30;
  seen.refused = 8;
  ProxyResult unseen;
  unseen.name = "cache";
  unseen.accepted = 2;
  unseen.refused = 0;
  unseen.refused_unseen = "socket(SOCK_RAW): Operation not permitted";
  r.proxies = {seen, unseen};
  CHECK(console_details(r) ==
        "       proxy db: 30 connections, 0 reset, 8 refused, 0B up, 0B down, no first byte\n"
        "       proxy cache: 2 connections, 0 reset, 0B up, 0B down, no first byte\n"
        "       proxy cache: connects refused during a partition not seen (socket(SOCK_RAW): Operation not "
        "permitted); a partition counted as tried if any connection was accepted in the run\n");
}

TEST_CASE("console: one line per syscall fault and per proxy, under a pass too") {
  ScenarioResult r = result("disk", Verdict::pass, 4100);
  r.syscall_faults = {{"disk-full", "writer", 340, 12}, {"slow-fsync", "writer", 0, 0}};
  ProxyResult db;
  db.name = "db";
  db.accepted = 40;
  db.closed = 40;
  db.reset = 2;
  db.bytes_upstream = 1200;
  db.bytes_downstream = 3 << 20;
  db.first_byte_p50_ms = 0.84;
  db.first_byte_p99_ms = 301.2;
  db.first_byte_max_ms = 2503;
  db.first_byte_histogram = {{1.0, 30}, {500.0, 9}, {std::nullopt, 1}};
  db.toxics_touched = {{"cut", 1}, {"slow", 38}};
  ProxyResult idle;
  idle.name = "cache";
  idle.accepted = 1;
  idle.first_byte_histogram = {{1.0, 0}, {std::nullopt, 0}};
  // An optional fault that touched nothing passes: the log says it proved nothing.
  idle.toxics_touched = {{"stall", 0}};
  r.proxies = {db, idle};
  CHECK(console_details(r) ==
        "       syscall disk-full [writer]: hit 12 of 340 matching calls\n"
        "       syscall slow-fsync [writer]: hit 0 of 0 matching calls\n"
        "       proxy db: 40 connections, 2 reset, 1.2KiB up, 3.0MiB down, first byte p50 0.8ms p99 301ms\n"
        "       proxy db faults: cut touched 1 connection, slow touched 38 connections\n"
        "       proxy cache: 1 connection, 0 reset, 0B up, 0B down, no first byte\n"
        "       proxy cache faults: stall touched no connection\n");

  SECTION("after the failures of a failed scenario") {
    r.verdict = Verdict::fail;
    r.failures.push_back({"inject.syscall",
                          "writer",
                          ">=1 call hit",
                          "0 matching calls, none hit",
                          "syscall fault `slow-fsync` never fired",
                          9,
                          {}});
    const std::string details = console_details(r);
    const auto failure = details.find("- inject.syscall [writer]");
    const auto counts = details.find("syscall slow-fsync [writer]: hit 0 of 0");
    REQUIRE(failure != std::string::npos);
    REQUIRE(counts != std::string::npos);
    CHECK(failure < counts);
  }
  SECTION("ProgressLine prints them under the scenario's line") {
    std::ostringstream out;
    ProgressLine progress(out, false);
    progress.start(1);
    progress.scenario_finished(r);
    progress.finish();
    CHECK(out.str().rfind("PASS   disk  (4.1s)\n       syscall disk-full [writer]: hit 12 of 340", 0) == 0);
  }
}

TEST_CASE("console: a start limit that changed nothing, and an optional fault that was skipped") {
  ScenarioResult r = result("quota", Verdict::pass, 700);
  r.timeline = {
      {0, "limits.noop", "wide", "", "cpu 400% (4 CPUs) cannot throttle a process that may run on 2 CPU(s)"},
      {1, "process.start", "wide", "", "pid 7"},
      {100, "inject.skip", "wide", "squeeze", "`wide` is not running"},
      {300, "inject.skip", "wide", "squeeze", "it would change nothing here"}};
  // One line per fault, with the last reason.
  CHECK(console_details(r) ==
        "       limits [wide]: cpu 400% (4 CPUs) cannot throttle a process that may run on 2 CPU(s)\n"
        "       skipped squeeze [wide]: it would change nothing here\n");
  SECTION("under a failure the limit still shows; a skip that failed the run is in its failure already") {
    r.verdict = Verdict::fail;
    r.failures.push_back({"inject.applied",
                          "wide",
                          "applied at 100ms",
                          "skipped",
                          "cpu fault `squeeze` never took effect",
                          9,
                          {}});
    const std::string details = console_details(r);
    CHECK(details.find("limits [wide]: cpu 400%") != std::string::npos);
    CHECK(details.find("skipped squeeze") == std::string::npos);
  }
  SECTION("under a failure of something else, an optional fault that was skipped still shows") {
    r.verdict = Verdict::fail;
    // A failure that names the process as `wide`, not the fault.
    r.failures.push_back({"exit_code", "wide", "0", "1", "`wide` exited with 1", 12, {}});
    r.failures.push_back(
        {"inject.applied", "wide", "applied at 1s", "skipped", "cpu fault `other` never took effect", 9, {}});
    CHECK(console_details(r).find("       skipped squeeze [wide]: it would change nothing here\n") !=
          std::string::npos);
  }
}

TEST_CASE("console: a repeated fault applied before it was skipped says how many times") {
  ScenarioResult r = result("reload", Verdict::pass, 900);
  r.timeline = {{100, "inject.apply", "api", "reload", "SIGHUP"},
                {200, "inject.apply", "api", "reload", "SIGHUP"},
                {250, "inject.skip", "api", "late", "`api` is not running"},
                {300, "inject.skip", "api", "reload", "`api` is not running"}};
  // In the order each fault first shows in the timeline.
  CHECK(console_details(r) ==
        "       skipped reload [api] (applied 2 times before): `api` is not running\n"
        "       skipped late [api]: `api` is not running\n");
}

TEST_CASE("console: a scenario without faults or proxies adds no lines to a pass") {
  CHECK(console_details(result("plain", Verdict::pass, 10)).empty());
}

TEST_CASE("summary line names errors and skips only when there are some") {
  CHECK(summary_line({1, 2, 0, 0}) == "1 passed, 2 failed");
  CHECK(summary_line({0, 0, 1, 3}) == "0 passed, 0 failed, 1 errors, 3 skipped");
}

TEST_CASE("ProgressLine without a terminal prints only plain lines") {
  std::ostringstream out;
  {
    ProgressLine progress(out, false);
    CHECK_FALSE(progress.live());
    progress.start(2);
    progress.scenario_started("a");
    progress.scenario_finished(result("a", Verdict::pass, 500));
    progress.scenario_started("b");
    auto b = result("b", Verdict::fail, 1500, "expect.exit_codes: exited 3");
    b.failures.push_back({"expect.exit_codes", "target", "[0]", "3", "exited 3", 9, {}});
    progress.scenario_finished(b);
    progress.finish();
  }
  CHECK(out.str() ==
        "PASS   a  (0.5s)\n"
        "FAIL   b  (1.5s): expect.exit_codes: exited 3\n"
        "       s/b.toml\n"
        "       - expect.exit_codes [target]: exited 3\n"
        "           expected: [0]\n"
        "           actual:   3\n");
}

TEST_CASE("ProgressLine on a terminal redraws a status line in place and erases it before each result") {
  std::ostringstream out;
  ProgressLine progress(out, true);
  CHECK(progress.live());
  progress.start(3);
  progress.scenario_started("first");
  CHECK_THAT(progress.status_text(), Catch::StartsWith("[0/3] \xC2\xB7 running: first ("));
  progress.scenario_finished(result("first", Verdict::error, 100, "boom"));
  CHECK(progress.status_text() == "[1/3] 1 failed");
  progress.finish();
  const std::string s = out.str();
  // Each redraw starts with \r and erase-line; the result line follows an erase, never a status.
  CHECK(s.rfind("\r\x1b[2K[0/3]", 0) == 0);
  CHECK(s.find("\r\x1b[2K[0/3] \xC2\xB7 running: first (") != std::string::npos);
  // Coloured labels on a terminal, unless NO_COLOR asks for none.
  const std::string label = std::getenv("NO_COLOR") ? "ERROR" : "\x1b[35mERROR\x1b[0m";
  const auto result_at = s.find(label + "  first  (0.1s): boom\n");
  REQUIRE(result_at != std::string::npos);
  CHECK(s.substr(result_at - 5, 5) == "\r\x1b[2K");
  CHECK(s.find("\r\x1b[2K[1/3] 1 failed") != std::string::npos);
  // finish() leaves the cursor on an empty line for the summary.
  CHECK(s.substr(s.size() - 5) == "\r\x1b[2K");
}
