#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "reports/json_writer.h"
#include "reports/merge.h"
#include "tests/support/report_fixtures.h"
#include "tests/support/scratch_dir.h"

using namespace faultline::report;

namespace {

RunReport shard(const std::string& started, double duration_ms, std::optional<std::uint64_t> seed,
                std::vector<Verdict> verdicts) {
  RunReport r = faultline::test::run_report({"v2", "6.1", 4}, seed, started, duration_ms);
  int i = 0;
  for (const auto v : verdicts) {
    const std::string name = started + "#" + std::to_string(i++);
    r.scenarios.push_back(faultline::test::scenario_result(name, name + ".toml", v));
  }
  return r;
}

RunReport run_report_without_scenarios() { return shard("2026-11-23T10:00:00Z", 100, 42, {}); }

}  // namespace

TEST_CASE("merging shards sums the summary and keeps scenario order") {
  const auto merged =
      merge_reports({shard("2026-11-23T10:00:05Z", 3000, 42, {Verdict::pass, Verdict::fail}),
                     shard("2026-11-23T10:00:00Z", 2000, 42, {Verdict::error, Verdict::skip})});
  const Summary s = merged.summary();
  CHECK(s.passed == 1);
  CHECK(s.failed == 1);
  CHECK(s.errors == 1);
  CHECK(s.skipped == 1);
  REQUIRE(merged.scenarios.size() == 4);
  CHECK(merged.scenarios[0].name == "2026-11-23T10:00:05Z#0");
  CHECK(merged.scenarios[3].name == "2026-11-23T10:00:00Z#1");
  CHECK(merged.started == "2026-11-23T10:00:00Z");  // the earliest
  CHECK(merged.duration_ms == Approx(8000));        // 10:00:00 until 10:00:08
  CHECK(merged.seed == 42u);
  CHECK_FALSE(merged.interrupted);
}

TEST_CASE("merging shards with different seeds keeps no seed; one interrupted shard marks the run") {
  auto b = shard("2026-11-23T10:00:00Z", 100, 7, {Verdict::pass});
  b.interrupted = true;
  const auto merged = merge_reports({shard("2026-11-23T10:00:00Z", 100, 42, {Verdict::pass}), b});
  CHECK_FALSE(merged.seed.has_value());
  CHECK(merged.interrupted);
}

TEST_CASE("merging shards whose start cannot be read takes the longest shard as the duration") {
  const auto merged =
      merge_reports({shard("yesterday", 100, {}, {}), shard("2026-11-23T10:00:00.5Z", 300, {}, {})});
  CHECK(merged.duration_ms == Approx(300));
}

TEST_CASE("merging nothing is an error") { CHECK_THROWS_WITH(merge_reports({}), "no reports to merge"); }

TEST_CASE("a merge input whose summary disagrees with its scenarios is an error naming the file") {
  faultline::test::ScratchDir dir;
  RunReport r = shard("2026-11-23T10:00:00Z", 100, 42, {Verdict::pass, Verdict::fail});
  CHECK_NOTHROW(check_stated_summary(r, {1, 1, 0, 0}, "ok.json"));
  CHECK_THROWS_WITH(check_stated_summary(r, {2, 0, 0, 0}, "a.json"),
                    "a.json: summary (2 passed, 0 failed, 0 errors, 0 skipped) disagrees with scenarios[] "
                    "(1 passed, 1 failed, 0 errors, 0 skipped): the report was edited or cut short");

  // A report that says it had an error but lists no scenario must not merge as a pass.
  auto doc = nlohmann::json::parse(to_json(run_report_without_scenarios()));
  doc["summary"]["errors"] = 1;
  const auto path = dir.write("shard-2.json", doc.dump());
  CHECK_THROWS_WITH(read_merge_input(path),
                    path +
                        ": summary (0 passed, 0 failed, 1 errors, 0 skipped) disagrees with scenarios[] "
                        "(0 passed, 0 failed, 0 errors, 0 skipped): the report was edited or cut short");

  doc["summary"]["errors"] = "one";
  dir.write("shard-2.json", doc.dump());
  CHECK_THROWS_WITH(read_merge_input(path), path + ": summary.errors: expected a non-negative integer");
}

TEST_CASE("a merge input whose summary agrees, or that has none, reads like any report") {
  faultline::test::ScratchDir dir;
  const RunReport r = shard("2026-11-23T10:00:00Z", 100, 42, {Verdict::pass, Verdict::error});
  const auto with = dir.write("with.json", to_json(r));
  CHECK(read_merge_input(with).summary().errors == 1);
  auto doc = nlohmann::json::parse(to_json(r));
  doc.erase("summary");
  const auto without = dir.write("without.json", doc.dump());
  CHECK(read_merge_input(without).scenarios.size() == 2);
  CHECK_THROWS_WITH(read_merge_input(dir / "missing.json"),
                    "open " + (dir / "missing.json") + ": No such file or directory");
}
