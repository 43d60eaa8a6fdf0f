// Processes that moved themselves out of their cgroup while the run went on. On cgroup v1 and
// hybrid hosts a process can write itself into another cgroup of one controller only: it stays
// a member in the other hierarchies, so neither the end-of-run search for escapees nor
// `no_orphans` sees it, yet that controller's limit, faults and counters (a memory limit and
// its peak, a CPU quota, a freeze) no longer cover it. A main process can also leave every
// hierarchy and exit before the run ends, and any process can move into another process's cgroups
// in every hierarchy at once. Either way nothing the run says is about it, and the scenario ends
// as an error naming it.
#pragma once

#include <chrono>
#include <memory>

#include "runner/run_context.h"

namespace faultline::runner {

// Looks every `interval` and whenever a main process exits (its cgroup may still hold the rest).
std::unique_ptr<RunObserver> make_membership_watch(std::chrono::milliseconds interval);

}  // namespace faultline::runner
