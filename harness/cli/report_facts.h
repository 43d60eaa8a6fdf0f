// The facts every run report starts with, the same for `run` and `exec`.
#pragma once

#include <string>

#include "cgroup/backend.h"
#include "reports/model.h"

namespace faultline::cli {

// Now, in UTC, as the report's `started` ("2026-12-01T23:07:16Z").
std::string utc_now_iso();
// The kernel, CPU count and cgroup mode of this host.
report::HostInfo host_info(cgroup::Mode mode);
// On stderr, what removing the runs of dead harnesses did at the start of `run` or `exec`: each
// run removed (its processes were killed with it), and each that could not be, which is left for
// `faultline cleanup` and does not stop this start.
void say_stale_runs(const cgroup::Backend::StaleRuns& stale);

}  // namespace faultline::cli
