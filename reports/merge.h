// Combines the reports of a sharded run (`faultline run --shard I/N` on several machines) into
// one, as if it had been a single run.
#pragma once

#include <vector>

#include "reports/model.h"

namespace faultline::report {

// Scenarios in input order. `started` is the earliest start, `duration_ms` the span from it to
// the latest end (shards run in parallel: the sum would overstate the wall time), the seed is
// kept only when every shard used the same one, and the run counts as interrupted if any shard
// was. Tool version and host come from the first report. Throws Error for an empty list.
RunReport merge_reports(const std::vector<RunReport>& reports);

}  // namespace faultline::report
