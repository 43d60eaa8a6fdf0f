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
