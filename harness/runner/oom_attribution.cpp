#include "runner/oom_attribution.h"

#include <csignal>

#include "common/kernel_log.h"

namespace faultline::runner {

bool killed_by_oom(const supervisor::ExitStatus& status, std::uint64_t group_oom_kills, pid_t pid,
                   std::chrono::steady_clock::time_point started, bool harness_sent_sigkill) {
  if (!status.signaled || status.signal != SIGKILL) return false;
  return killed_by_oom(status, group_oom_kills, kernel_log::oom_killed(pid, started), harness_sent_sigkill);
}

bool killed_by_oom(const supervisor::ExitStatus& status, std::uint64_t group_oom_kills,
                   std::optional<bool> named_in_log, bool harness_sent_sigkill) {
  if (!status.signaled || status.signal != SIGKILL) return false;
  // The log first: it also names a kill the group's counter does not show (a global OOM kill of
  // a process that has no memory cgroup of its own on v1).
  if (named_in_log) return *named_in_log;
  return group_oom_kills > 0 && !harness_sent_sigkill;
}

}  // namespace faultline::runner
