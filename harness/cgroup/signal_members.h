// Signalling the processes of a cgroup that the harness did not start itself (forks, daemons):
// each pid listed is opened as a pidfd and signalled only if the cgroup still lists it after
// the open, so a member reaped between listing and signalling is never confused with an
// unrelated process that got its number.
#pragma once

#include <sys/types.h>

#include <set>

#include "cgroup/cgroup.h"

namespace faultline::cgroup {

struct SignalCount {
  int sent = 0;
  // Of those sent, how many had the same standard signal pending already (when asked): theirs
  // merged with it and reached nobody anew (a process busy in its handler, blocking the signal,
  // or frozen).
  int merged = 0;
  int first_error = 0;  // errno of the first refusal other than "already gone"
  pid_t first_error_pid = 0;
};

// `count_merged`: read each member's pending signals before sending (a standard signal only).
SignalCount signal_members(const Cgroup& group, int signo, const std::set<pid_t>& except = {},
                           bool count_merged = false);

}  // namespace faultline::cgroup
