// Combines the reports of a sharded run (`faultline run --shard I/N` on several machines) into
// one, as if it had been a single run.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "reports/model.h"

namespace faultline::report {

// Scenarios in input order. `started` is the earliest start, `duration_ms` the span from it to
// the latest end (shards run in parallel: the sum would overstate the wall time), the seed is
// kept only when every shard used the same one, and the run counts as interrupted if any shard
// was. Tool version and host come from the first report. Throws Error for an empty list.
RunReport merge_reports(const std::vector<RunReport>& reports);

// Before a merge: a merged run must hold every shard once. When the inputs are shards (their
// `shard` says I/N), each of 1..N must be there exactly once, all of one N; a missing one (its
// report never uploaded) would leave its failures out of a green merge. Any input given twice
// (the same start, duration and seed) is refused too, since its scenarios would count twice.
// Throws Error naming the inputs (`names`, one per report).
void check_merge_inputs(const std::vector<RunReport>& reports, const std::vector<std::string>& names);

// Reads a report handed in (faultline-report/1: a shard to merge, a --baseline) and checks that
// its `summary`, when it has one, counts what its scenarios[] hold. A merge and a comparison
// count scenarios[] and never the summary, so a shard whose summary says "1 error" over an empty
// or cut-short scenarios[] would otherwise merge as a pass, and a baseline cut short would drop
// its failures from the comparison. Throws Error naming the file.
RunReport read_checked_report(const std::filesystem::path& path);

// Throws Error naming `origin` when `stated` differs from the counts of report.scenarios.
void check_stated_summary(const RunReport& report, const Summary& stated, const std::string& origin);

}  // namespace faultline::report
