// What the kernel log says about a process: the only record of which process the OOM killer
// chose (a cgroup's oom_kill counter says only that one of its processes was killed).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string_view>

namespace faultline::kernel_log {

// Whether a kernel log record from `since` on names `pid` as killed by the OOM killer
// ("... Killed process <pid> (comm) ..."); nullopt when the log cannot be read (no /dev/kmsg in
// this container, or not allowed to read it) or cannot name our pids (faultline runs in a nested
// pid namespace). `since` is on CLOCK_MONOTONIC, as the log's stamps.
std::optional<bool> oom_killed(pid_t pid, std::chrono::steady_clock::time_point since);

// One /dev/kmsg record ("prio,seq,usec,flags;message"), checked as above; exposed for tests.
bool record_names_oom_kill(std::string_view record, pid_t pid, std::chrono::microseconds since);

}  // namespace faultline::kernel_log
