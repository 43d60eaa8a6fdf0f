#include "reports/merge.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <limits>
#include <optional>
#include <utility>

#include "common/error.h"
#include "reports/json_reader.h"

namespace faultline::report {
namespace {

// How a shard's selection differs from the first shard's (`first` names that report), the first
// part that differs in words; both in full when one cannot be read part by part.
std::string selection_difference(const ShardInfo& shard, const ShardInfo& ref, const std::string& first) {
  const auto mine = ShardSelection::parse(shard.selection), theirs = ShardSelection::parse(ref.selection);
  // Parts that read alike in texts that differ (an edited report): no part to name.
  const bool no_part_differs = mine && theirs && mine->files == theirs->files &&
                               mine->filters == theirs->filters && mine->repeat == theirs->repeat &&
                               mine->seed == theirs->seed;
  if (!mine || !theirs || no_part_differs)
    return "ran other scenario files, tag filters, --repeat or --seed than " + first + " (selection `" +
           shard.selection + "`, not `" + ref.selection + "`)";
  const auto seed = [](const ShardSelection& s) {
    return s.seed ? "--seed " + std::to_string(*s.seed) : "no --seed";
  };
  if (mine->files != theirs->files)
    return "ran other scenario files than " + first +
           " (or the same files with other contents: a checkout of another commit)";
  if (mine->filters != theirs->filters) return "ran with other --tag or --exclude-tag filters than " + first;
  if (mine->repeat != theirs->repeat)
    return "ran with --repeat " + std::to_string(mine->repeat) + ", " + first + " with --repeat " +
           std::to_string(theirs->repeat);
  return "ran with " + seed(*mine) + ", " + first + " with " + seed(*theirs);
}

// Seconds since the epoch of an ISO 8601 UTC timestamp "YYYY-MM-DDTHH:MM:SS[.fff]Z"; nullopt
// when it is not one (a hand-edited report must still merge).
std::optional<double> epoch_seconds(const std::string& iso) {
  std::tm tm{};
  int consumed = 0;
  if (std::sscanf(iso.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                  &tm.tm_min, &tm.tm_sec, &consumed) != 6)
    return std::nullopt;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  double fraction = 0;
  std::string_view rest(iso.c_str() + consumed);
  if (!rest.empty() && rest.front() == '.') {
    double scale = 0.1;
    for (rest.remove_prefix(1); !rest.empty() && rest.front() >= '0' && rest.front() <= '9';
         rest.remove_prefix(1)) {
      fraction += (rest.front() - '0') * scale;
      scale /= 10;
    }
  }
  if (rest != "Z") return std::nullopt;
  return static_cast<double>(::timegm(&tm)) + fraction;
}

std::string counts_text(const Summary& s) {
  return std::to_string(s.passed) + " passed, " + std::to_string(s.failed) + " failed, " +
         std::to_string(s.errors) + " errors, " + std::to_string(s.skipped) + " skipped";
}

}  // namespace

void check_stated_summary(const RunReport& report, const Summary& stated, const std::string& origin) {
  const Summary counted = report.summary();
  if (counted.passed == stated.passed && counted.failed == stated.failed && counted.errors == stated.errors &&
      counted.skipped == stated.skipped)
    return;
  throw Error(origin + ": summary (" + counts_text(stated) + ") disagrees with scenarios[] (" +
              counts_text(counted) + "): the report was edited or cut short");
}

RunReport read_checked_report(const std::filesystem::path& path) {
  ReportFile file = read_report_file(path);
  if (file.stated_summary) check_stated_summary(file.report, *file.stated_summary, path.string());
  // Only reports from before the summary was written may lack one; a shard that records its
  // selection came later, so without a summary its scenarios cannot be checked against it.
  if (!file.stated_summary && file.report.shard && !file.report.shard->selection.empty())
    throw Error(path.string() +
                ": the report of a shard without its summary: the report was edited or cut short");
  return std::move(file.report);
}

namespace {

// Two inputs that are one run: a file given twice, or a copy of it.
bool same_run(const RunReport& a, const RunReport& b) {
  if (a.started.empty() || a.started != b.started || a.duration_ms != b.duration_ms || a.seed != b.seed ||
      a.scenarios.size() != b.scenarios.size())
    return false;
  // Two shards with nothing to run, started together, differ only here.
  if (a.shard.has_value() != b.shard.has_value() || (a.shard && a.shard->index != b.shard->index))
    return false;
  for (std::size_t i = 0; i < a.scenarios.size(); ++i)
    if (a.scenarios[i].name != b.scenarios[i].name || a.scenarios[i].file != b.scenarios[i].file)
      return false;
  return true;
}

}  // namespace

void check_merge_inputs(const std::vector<RunReport>& reports, const std::vector<std::string>& names) {
  for (std::size_t i = 0; i < reports.size(); ++i)
    for (std::size_t j = 0; j < i; ++j)
      if (same_run(reports[i], reports[j]))
        throw Error(names[i] + " and " + names[j] +
                    " are the same run (same start, duration, seed and scenarios): its scenarios would count "
                    "twice");
  const auto sharded =
      std::find_if(reports.begin(), reports.end(), [](const RunReport& r) { return r.shard; });
  if (sharded == reports.end()) return;  // whole runs, or reports from before shards were recorded
  const int count = sharded->shard->count;
  const std::string& first = names[static_cast<std::size_t>(sharded - reports.begin())];
  std::vector<std::string> seen(static_cast<std::size_t>(count) + 1);
  for (std::size_t i = 0; i < reports.size(); ++i) {
    const auto& shard = reports[i].shard;
    if (!shard)
      throw Error(names[i] + " is not the report of a shard, while " + first + " is shard " +
                  std::to_string(sharded->shard->index) + "/" + std::to_string(count) +
                  ": merge the shards of one run");
    if (shard->count != count)
      throw Error(names[i] + " is shard " + std::to_string(shard->index) + "/" +
                  std::to_string(shard->count) + ", " + first + " shard " +
                  std::to_string(sharded->shard->index) + "/" + std::to_string(count) +
                  ": the shards of one run all have the same N");
    // A shard of another run (last night's, or one over other files or filters) would merge green
    // in place of tonight's: each shard must say it belongs to the same run as the first.
    const auto& ref = *sharded->shard;
    const std::string which =
        names[i] + " (shard " + std::to_string(shard->index) + "/" + std::to_string(count) + ")";
    if (!shard->selection.empty() && !ref.selection.empty() && shard->selection != ref.selection)
      throw Error(which + " " + selection_difference(*shard, ref, first) + ": merge the shards of one run");
    // Every shard of one run records its selection, or (a faultline from before it was recorded)
    // none does: one without it beside one with it was edited, or is of another run.
    if (shard->selection.empty() != ref.selection.empty()) {
      const std::string& without = shard->selection.empty() ? names[i] : first;
      const std::string& with = shard->selection.empty() ? first : names[i];
      throw Error(without + " records no selection, while " + with +
                  " does: the shards of one run all record theirs (was a report edited, or is it of another "
                  "run?): merge the shards of one run");
    }
    if (shard->run_id != ref.run_id)
      throw Error(which + " is of " +
                  (shard->run_id.empty() ? "a run without --run-id" : "run `" + shard->run_id + "`") + ", " +
                  first + " of " +
                  (ref.run_id.empty() ? "a run without --run-id" : "run `" + ref.run_id + "`") +
                  ": merge the shards of one run");
    auto& slot = seen[static_cast<std::size_t>(shard->index)];
    if (!slot.empty())
      throw Error(names[i] + " and " + slot + " are both shard " + std::to_string(shard->index) + "/" +
                  std::to_string(count) + ": its scenarios would count twice");
    slot = names[i];
  }
  std::string missing;
  for (int k = 1; k <= count; ++k)
    if (seen[static_cast<std::size_t>(k)].empty())
      missing += (missing.empty() ? "" : ", ") + std::to_string(k) + "/" + std::to_string(count);
  if (!missing.empty())
    throw Error("shard(s) " + missing +
                " missing: the merge would pass without their scenarios (was a report "
                "not uploaded, or did that shard's job fail before writing it?)");
}

RunReport merge_reports(const std::vector<RunReport>& reports) {
  if (reports.empty()) throw Error("no reports to merge");
  RunReport merged;
  merged.tool_version = reports.front().tool_version;
  merged.host = reports.front().host;
  merged.seed = reports.front().seed;
  merged.started = reports.front().started;

  std::optional<double> earliest_start, latest_end;
  bool all_timed = true;
  double longest = 0;
  for (const auto& r : reports) {
    if (r.seed != merged.seed) merged.seed.reset();
    merged.interrupted = merged.interrupted || r.interrupted;
    longest = std::max(longest, r.duration_ms);
    merged.scenarios.insert(merged.scenarios.end(), r.scenarios.begin(), r.scenarios.end());
    const auto start = epoch_seconds(r.started);
    if (!start) {
      all_timed = false;
      continue;
    }
    if (!earliest_start || *start < *earliest_start) {
      earliest_start = start;
      merged.started = r.started;
    }
    const double end = *start + r.duration_ms / 1000.0;
    if (!latest_end || end > *latest_end) latest_end = end;
  }
  // Timestamps have whole seconds, durations do not: the span is never shorter than a shard.
  merged.duration_ms =
      all_timed && earliest_start ? std::max(longest, (*latest_end - *earliest_start) * 1000.0) : longest;
  return merged;
}

}  // namespace faultline::report
