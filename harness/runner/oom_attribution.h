// Whether a process that died of SIGKILL was killed by the OOM killer. The cgroup's oom_kill
// counter only says that some process of the group was; the kernel log names which one.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>

#include "supervisor/supervised_process.h"

namespace faultline::runner {

// True when `pid` died of SIGKILL and the kernel log names it as the OOM killer's (from
// `started` on). Where the log cannot be read, an OOM kill counted in its group decides, unless
// the harness sent a SIGKILL itself (`harness_sent_sigkill`): then it cannot be told and is not
// claimed.
bool killed_by_oom(const supervisor::ExitStatus& status, std::uint64_t group_oom_kills, pid_t pid,
                   std::chrono::steady_clock::time_point started, bool harness_sent_sigkill);

// The same, with what the kernel log says of the process already read (kernel_log::oom_killed;
// nullopt: the log could not be read), for a caller that needs that answer for itself too.
bool killed_by_oom(const supervisor::ExitStatus& status, std::uint64_t group_oom_kills,
                   std::optional<bool> named_in_log, bool harness_sent_sigkill);

}  // namespace faultline::runner
