#include "runner/oom_attribution.h"

#include <csignal>

#include "common/kernel_log.h"

namespace faultline::runner {

bool killed_by_oom(const supervisor::ExitStatus& status, std::uint64_t group_oom_kills, pid_t pid,
                   std::chrono::steady_clock::time_point started, bool harness_sent_sigkill) {
  if (!status.signaled || status.signal != SIGKILL || group_oom_kills == 0) return false;
  if (const auto named = kernel_log::oom_killed(pid, started)) return *named;
  return !harness_sent_sigkill;
}

}  // namespace faultline::runner
