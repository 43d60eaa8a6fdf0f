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
  CHECK_THROWS_WITH(read_checked_report(path),
                    path +
                        ": summary (0 passed, 0 failed, 1 errors, 0 skipped) disagrees with scenarios[] "
                        "(0 passed, 0 failed, 0 errors, 0 skipped): the report was edited or cut short");

  doc["summary"]["errors"] = "one";
  dir.write("shard-2.json", doc.dump());
  CHECK_THROWS_WITH(read_checked_report(path), path + ": summary.errors: expected an integer, got \"one\"");
  doc["summary"]["errors"] = -1;
  dir.write("shard-2.json", doc.dump());
  CHECK_THROWS_WITH(read_checked_report(path),
                    path + ": summary.errors: expected an integer from 0 to 2147483647, got -1");
  doc["summary"].erase("errors");
  dir.write("shard-2.json", doc.dump());
  CHECK_THROWS_WITH(read_checked_report(path), path + ": summary: missing key \"errors\"");

  // A count that wraps when cut to an int (2^32 reads as 0) is not taken for the empty list's 0.
  doc["summary"]["errors"] = 4294967296LL;
  dir.write("shard-2.json", doc.dump());
  CHECK_THROWS_WITH(read_checked_report(path),
                    path + ": summary.errors: expected an integer from 0 to 2147483647, got 4294967296");
}

TEST_CASE("a merge input whose summary agrees, or that has none, reads like any report") {
  faultline::test::ScratchDir dir;
  const RunReport r = shard("2026-11-23T10:00:00Z", 100, 42, {Verdict::pass, Verdict::error});
  const auto with = dir.write("with.json", to_json(r));
  CHECK(read_checked_report(with).summary().errors == 1);
  auto doc = nlohmann::json::parse(to_json(r));
  doc.erase("summary");
  const auto without = dir.write("without.json", doc.dump());
  CHECK(read_checked_report(without).scenarios.size() == 2);
  CHECK_THROWS_WITH(read_checked_report(dir / "missing.json"),
                    "open " + (dir / "missing.json") + ": No such file or directory");
}

namespace {

RunReport slice(int index, int count, const std::string& started) {
  RunReport r = shard(started, 1000, 42, {Verdict::pass});
  r.shard = ShardInfo{index, count, {}, {}};
  return r;
}

std::string merge_input_error(const std::vector<RunReport>& reports, const std::vector<std::string>& names) {
  try {
    check_merge_inputs(reports, names);
  } catch (const faultline::Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("a merge of shards needs every shard of the run exactly once") {
  const auto one = slice(1, 3, "2026-11-23T10:00:00Z");
  const auto two = slice(2, 3, "2026-11-23T10:00:01Z");
  const auto three = slice(3, 3, "2026-11-23T10:00:02Z");
  CHECK(merge_input_error({one, two, three}, {"s1.json", "s2.json", "s3.json"}).empty());
  CHECK(merge_input_error({three, one, two}, {"s3.json", "s1.json", "s2.json"}).empty());
  // A shard whose report never arrived: its failures would be missing from a green merge.
  CHECK(merge_input_error({one, three}, {"s1.json", "s3.json"}) ==
        "shard(s) 2/3 missing: the merge would pass without their scenarios (was a report not uploaded, or "
        "did that shard's job fail before writing it?)");
  CHECK(merge_input_error({one}, {"s1.json"}).starts_with("shard(s) 2/3, 3/3 missing"));
  // The same shard twice, from two runs of it: its scenarios would count twice.
  const auto two_again = slice(2, 3, "2026-11-23T11:00:00Z");
  CHECK(merge_input_error({one, two, two_again, three}, {"s1.json", "s2.json", "s2b.json", "s3.json"}) ==
        "s2b.json and s2.json are both shard 2/3: its scenarios would count twice");
  CHECK(merge_input_error({one, slice(2, 2, "2026-11-23T10:00:03Z")}, {"s1.json", "t2.json"}) ==
        "t2.json is shard 2/2, s1.json shard 1/3: the shards of one run all have the same N");
  CHECK(merge_input_error({one, shard("2026-11-23T10:00:09Z", 5, 42, {})}, {"s1.json", "whole.json"})
            .starts_with("whole.json is not the report of a shard"));
}

TEST_CASE("a merge refuses a shard that records no selection beside one that does") {
  auto one = slice(1, 2, "2026-11-23T10:00:00Z");
  auto two = slice(2, 2, "2026-11-23T10:00:01Z");
  one.shard->selection = "files=00000000000000ab filters=00000000000000cd repeat=1 seed=-";
  const std::string refused =
      " records no selection, while s1.json does: the shards of one run all record theirs (was a report "
      "edited, or is it of another run?): merge the shards of one run";
  CHECK(merge_input_error({one, two}, {"s1.json", "s2.json"}) == "s2.json" + refused);
  CHECK(merge_input_error({two, one}, {"s2.json", "s1.json"}) == "s2.json" + refused);
  // Both with it (the same), or both without it (a faultline from before it was recorded).
  two.shard->selection = one.shard->selection;
  CHECK(merge_input_error({one, two}, {"s1.json", "s2.json"}).empty());
  one.shard->selection.clear();
  two.shard->selection.clear();
  CHECK(merge_input_error({one, two}, {"s1.json", "s2.json"}).empty());
}

TEST_CASE("a merge refuses the same report given twice, shard or not") {
  const auto whole = shard("2026-11-23T10:00:00Z", 1234.5, 7, {Verdict::pass});
  const auto other = shard("2026-11-23T10:05:00Z", 999, 7, {Verdict::fail});
  CHECK(merge_input_error({whole, other}, {"a.json", "b.json"}).empty());
  CHECK(
      merge_input_error({whole, other, whole}, {"a.json", "b.json", "copy-of-a.json"}) ==
      "copy-of-a.json and a.json are the same run (same start, duration, seed and scenarios): its scenarios "
      "would count twice");
  // Made up with the same start, duration and seed, but other scenarios: not one run.
  auto look_alike = whole;
  look_alike.scenarios[0].name = "another";
  CHECK(merge_input_error({whole, look_alike}, {"a.json", "b.json"}).empty());
  // Two empty shards started in the same second with the same seed: two slices, not one run.
  auto empty_one = shard("2026-11-23T10:00:00Z", 3, 7, {});
  auto empty_two = empty_one;
  empty_one.shard = ShardInfo{1, 2, {}, {}};
  empty_two.shard = ShardInfo{2, 2, {}, {}};
  CHECK(merge_input_error({empty_one, empty_two}, {"s1.json", "s2.json"}).empty());
  CHECK(merge_input_error({empty_one, empty_one}, {"s1.json", "s1-again.json"})
            .starts_with("s1-again.json and s1.json are the same run"));
}

TEST_CASE("a shard's selection is written and read back part by part; other forms are not parts") {
  ShardSelection s;
  s.files = "00000000000000ab";
  s.filters = "00000000000000cd";
  s.repeat = 3;
  s.seed = 18446744073709551615ULL;
  CHECK(s.text() == "files=00000000000000ab filters=00000000000000cd repeat=3 seed=18446744073709551615");
  const auto back = ShardSelection::parse(s.text());
  REQUIRE(back);
  CHECK(back->files == s.files);
  CHECK(back->filters == s.filters);
  CHECK(back->repeat == 3);
  CHECK(back->seed == s.seed);
  s.seed.reset();
  REQUIRE(ShardSelection::parse(s.text()));
  CHECK_FALSE(ShardSelection::parse(s.text())->seed);
  // The single hash of earlier reports, and damaged forms.
  CHECK_FALSE(ShardSelection::parse("0123456789abcdef"));
  CHECK_FALSE(ShardSelection::parse("files=a filters=b repeat=1"));
  CHECK_FALSE(ShardSelection::parse("files=a filters=b repeat=1 seed=-1"));
  CHECK_FALSE(ShardSelection::parse("files=a filters=b repeat=x seed=-"));
  CHECK_FALSE(ShardSelection::parse("files=a filters=b repeat=1 seed=- more"));
  CHECK_FALSE(ShardSelection::parse("filters=b files=a repeat=1 seed=-"));
}
