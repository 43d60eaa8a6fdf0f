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

// Reads one input of a merge (faultline-report/1) and checks that its `summary`, when it has
// one, counts what its scenarios[] hold. The merge counts scenarios[] and never the summary, so
// a shard whose summary says "1 error" over an empty or cut-short scenarios[] would otherwise
// merge as a pass. Throws Error naming the file.
RunReport read_merge_input(const std::filesystem::path& path);

// Throws Error naming `origin` when `stated` differs from the counts of report.scenarios.
void check_stated_summary(const RunReport& report, const Summary& stated, const std::string& origin);

}  // namespace faultline::report
