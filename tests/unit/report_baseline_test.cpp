#include <catch2/catch.hpp>

#include "reports/baseline.h"
#include "tests/support/report_fixtures.h"

using namespace faultline::report;

namespace {

ScenarioResult scenario(const std::string& name, Verdict v, std::uint64_t peak, double stop_ms) {
  ScenarioResult s = faultline::test::scenario_result(name, "x/" + name + ".toml", v);
  ProcessResult p;
  p.name = "api";
  p.peak_memory_bytes = peak;
  s.processes.push_back(p);
  s.timeline.push_back({1000, "stop.signal", "api", "", "SIGTERM"});
  s.timeline.push_back({1000 + stop_ms, "process.exit", "api", "", "exited with code 0"});
  return s;
}

}  // namespace

TEST_CASE("baseline: new failures, fixes and regressions beyond tolerance and margin") {
  RunReport before, after;
  before.scenarios = {scenario("a", Verdict::pass, 100 << 20, 100),
                      scenario("b", Verdict::fail, 100 << 20, 100),
                      scenario("c", Verdict::pass, 100 << 20, 100)};
  after.scenarios = {scenario("a", Verdict::fail, 100 << 20, 100),
                     scenario("b", Verdict::pass, 100 << 20, 100),
                     scenario("c", Verdict::pass, 130 << 20, 400)};
  const auto c = compare_with_baseline(before, after);
  CHECK(c.new_failures == 1);
  CHECK(c.fixed == 1);
  CHECK(c.regressions == 2);
  REQUIRE(c.changes.size() == 4);
  CHECK(c.changes[0].message == "passed in the baseline, fail now");
  CHECK(c.changes[1].message == "fail in the baseline, passes now");
  CHECK(c.changes[2].message == "peak_memory_bytes of `api` grew from 100.0 MiB to 130.0 MiB");
  CHECK(c.changes[3].message == "shutdown_ms of `api` grew from 100.0 ms to 400.0 ms");
}

TEST_CASE("baseline: growth within the tolerance or the noise margin is not a regression") {
  RunReport before, after;
  before.scenarios = {scenario("a", Verdict::pass, 100 << 20, 10)};
  after.scenarios = {scenario("a", Verdict::pass, 110 << 20, 40)};  // +10% memory; +30 ms < 50 ms margin
  const auto c = compare_with_baseline(before, after);
  CHECK(c.regressions == 0);
  CHECK(c.changes.empty());
  CHECK(baseline_summary(c) == "baseline : 0 new failures, 0 fixed, 0 regressions\n");
}

TEST_CASE("baseline: the worst of repeated runs counts") {
  RunReport before, after;
  before.scenarios = {scenario("a", Verdict::pass, 1 << 20, 10)};
  after.scenarios = {scenario("a", Verdict::pass, 1 << 20, 10), scenario("a", Verdict::error, 1 << 20, 10)};
  CHECK(compare_with_baseline(before, after).new_failures == 1);
}

TEST_CASE("baseline: scenarios missing from this run are listed as gone with their baseline result") {
  RunReport before, after;
  before.scenarios = {
      scenario("kept", Verdict::pass, 1 << 20, 10), scenario("renamed", Verdict::fail, 1 << 20, 10),
      scenario("deleted", Verdict::pass, 1 << 20, 10), scenario("deleted", Verdict::error, 1 << 20, 10)};
  after.scenarios = {scenario("kept", Verdict::pass, 1 << 20, 10),
                     scenario("renamed v2", Verdict::pass, 1 << 20, 10)};
  const auto c = compare_with_baseline(before, after);
  REQUIRE(c.gone.size() == 2);
  CHECK(c.gone[0].scenario == "deleted");
  CHECK(c.gone[0].verdict == Verdict::error);  // the worst of its repeated runs
  CHECK(c.gone[1].scenario == "renamed");
  CHECK(c.gone[1].verdict == Verdict::fail);
  // Not a failure, a fix or a regression: a gone scenario changes no count.
  CHECK(c.new_failures == 0);
  CHECK(c.fixed == 0);
  CHECK(c.regressions == 0);
  CHECK(c.changes.empty());
  CHECK(baseline_summary(c) ==
        "baseline : 0 new failures, 0 fixed, 0 regressions, 2 gone\n"
        "  gone: deleted: error in the baseline, not in this run\n"
        "  gone: renamed: fail in the baseline, not in this run\n");
}

TEST_CASE("baseline: gone scenarios follow the changes in the summary") {
  RunReport before, after;
  before.scenarios = {scenario("a", Verdict::pass, 1 << 20, 10), scenario("b", Verdict::pass, 1 << 20, 10)};
  after.scenarios = {scenario("a", Verdict::fail, 1 << 20, 10)};
  auto c = compare_with_baseline(before, after);
  c.file = "old.json";
  CHECK(baseline_summary(c) ==
        "baseline old.json: 1 new failure, 0 fixed, 0 regressions, 1 gone\n"
        "  new-failure: a: passed in the baseline, fail now\n"
        "  gone: b: pass in the baseline, not in this run\n");
}

TEST_CASE("baseline: a scenario that ran in the baseline and is skipped now is listed, not dropped") {
  // A red scenario that this host now skips was neither fixed, nor failing, nor gone: the
  // comparison said nothing at all of it.
  RunReport before, after;
  before.scenarios = {scenario("red", Verdict::fail, 1 << 20, 10),
                      scenario("green", Verdict::pass, 1 << 20, 10),
                      scenario("untested", Verdict::skip, 0, 10)};
  after.scenarios = {scenario("red", Verdict::skip, 0, 10), scenario("green", Verdict::skip, 0, 10),
                     scenario("untested", Verdict::skip, 0, 10)};
  auto c = compare_with_baseline(before, after);
  c.file = "old.json";
  CHECK(c.new_failures == 0);
  CHECK(c.fixed == 0);
  CHECK(c.regressions == 0);
  CHECK(c.gone.empty());
  CHECK(baseline_summary(c) ==
        "baseline old.json: 0 new failures, 0 fixed, 0 regressions, 2 skipped now\n"
        "  skipped: green: pass in the baseline, skipped now: not tested in this run\n"
        "  skipped: red: fail in the baseline, skipped now: not tested in this run\n");
}

TEST_CASE("baseline: a scenario this run has only as interrupted runs is not gone") {
  RunReport before, after;
  before.scenarios = {scenario("a", Verdict::fail, 1 << 20, 10)};
  ScenarioResult cut = scenario("a", Verdict::error, 1 << 20, 10);
  cut.interrupted = true;
  after.scenarios = {cut};
  CHECK(compare_with_baseline(before, after).gone.empty());
}

TEST_CASE("baseline: a baseline scenario that was only interrupted there has no result to list") {
  RunReport before, after;
  ScenarioResult cut = scenario("a", Verdict::error, 1 << 20, 10);
  cut.interrupted = true;
  before.scenarios = {cut};
  after.scenarios = {scenario("b", Verdict::pass, 1 << 20, 10)};
  CHECK(compare_with_baseline(before, after).gone.empty());
}

TEST_CASE("baseline: runs of a scenario whose name holds a ${...} are paired by the name as written") {
  RunReport before, after;
  ScenarioResult then = scenario("api on 40001", Verdict::fail, 1 << 20, 10);
  then.name_as_written = "api on ${port}";
  ScenarioResult now = scenario("api on 40123", Verdict::pass, 1 << 20, 10);
  now.name_as_written = "api on ${port}";
  before.scenarios = {then};
  after.scenarios = {now};
  const auto c = compare_with_baseline(before, after);
  CHECK(c.fixed == 1);
  CHECK(c.gone.empty());
  REQUIRE(c.changes.size() == 1);
  CHECK(c.changes[0].scenario == "api on ${port}");
}

TEST_CASE("flaky: repeated runs of a scenario whose name holds a ${...} are one scenario") {
  RunReport report;
  for (const auto& [name, verdict] :
       {std::pair{"api on 40001", Verdict::pass}, {"api on 40123", Verdict::fail}}) {
    ScenarioResult run = faultline::test::scenario_result(name, "x/api.toml", verdict);
    run.name_as_written = "api on ${port}";
    report.scenarios.push_back(run);
  }
  CHECK(report.flaky() == std::vector<std::string>{"api on ${port} (1/2 passed)"});
}

TEST_CASE("baseline: a peak this run could not measure is said to be uncompared, never a pass or a fall") {
  RunReport before, after;
  before.scenarios = {scenario("a", Verdict::pass, 100 << 20, 10)};
  ScenarioResult now = scenario("a", Verdict::pass, 500 << 20, 10);
  now.processes[0].peak_memory_known = false;  // 500 MiB left at the end: no peak
  after.scenarios = {now};
  const auto c = compare_with_baseline(before, after);
  CHECK(c.regressions == 0);
  REQUIRE(c.changes.size() == 1);
  CHECK(c.changes[0].kind == "unmeasured");
  CHECK(c.changes[0].process == "api");
  CHECK(
      c.changes[0].message ==
      "peak_memory_bytes of `api` was 100.0 MiB in the baseline and is unknown in this run (the kernel kept "
      "no peak for its cgroup): not compared");

  // Unknown in the baseline: the end-of-run figure there is no peak to grow from.
  const auto reverse = compare_with_baseline(after, before);
  CHECK(reverse.regressions == 0);
  CHECK(reverse.changes.empty());
}
