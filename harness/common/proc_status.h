// Fields of /proc/self/status: the effective capabilities and the memory this process holds.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace faultline {

// The text after "Name:" on that field's line, trimmed; nullopt where the kernel has no such field.
std::optional<std::string> own_status_field(std::string_view name);

// Whether capability `cap` (CAP_SYS_ADMIN, ...) is in this process's effective set.
bool has_effective_capability(int cap);

// A "... kB" field in bytes (RssAnon, VmPTE, ...); 0 where the kernel has no such field.
std::uint64_t own_status_bytes(std::string_view name);

// The same field of process `pid` (/proc/<pid>/status); 0 once it is gone, or a zombie.
std::uint64_t status_bytes(pid_t pid, std::string_view name);

// Whether standard signal `signo` is pending for process `pid` as a whole (ShdPnd: sent to the
// process and not yet taken by any of its threads). Another one sent now would merge with it:
// the kernel keeps one of each standard signal pending. False once the process is gone.
bool process_signal_pending(pid_t pid, int signo);

}  // namespace faultline
