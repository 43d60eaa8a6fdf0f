// Reading and parsing of /proc/<pid>/stat: a process's start time (which names a run's owner,
// layout.h), state, parent and flags.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace faultline::cgroup {

// The line of /proc/<pid>/stat; nullopt when it cannot be read: the process is gone (no such
// pid, or it exited between open and read), or another error, whose errno goes to `unreadable`
// (0 when gone) for a caller that must not take that for gone. Never throws: it is asked from
// event-loop handlers, where a look that fails must not end the run.
std::optional<std::string> read_stat_line(pid_t pid, int* unreadable = nullptr);

// Field 22 (starttime, clock ticks after boot) of a /proc/<pid>/stat line. The comm field (2) is
// in parentheses and may itself contain spaces and ')', so fields are counted after the *last* ')'.
std::optional<std::uint64_t> parse_stat_start_ticks(std::string_view stat_line);

// Field 3 (state: R, S, D, T, Z, ...) of the same line.
std::optional<char> parse_stat_state(std::string_view stat_line);

// Field 9 (the task's flags) of the same line.
std::optional<std::uint64_t> parse_stat_flags(std::string_view stat_line);
// The flag of a process on its way out: set as it starts to exit, before the kernel drops it from
// its cgroup's listing.
inline constexpr std::uint64_t kPfExiting = 0x4;

// On its way out (PF_EXITING), exited, or gone: a process a cgroup no longer lists for that
// reason, not because it moved.
bool exiting(pid_t pid);

// Field 4 (ppid) of the same line.
std::optional<std::uint64_t> parse_stat_parent(std::string_view stat_line);

}  // namespace faultline::cgroup
