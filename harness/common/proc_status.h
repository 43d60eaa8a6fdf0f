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

// The kernel's first pid namespace (PROC_PID_INIT_INO, fixed since Linux 3.8). Its pids are the
// ones the kernel log names, and from it every process is visible.
inline constexpr std::uint64_t kInitialPidNamespace = 0xEFFFFFFCU;

// The inode of the pid namespace `<proc_dir>/ns/pid` names ("/proc/self": this process's), which
// does not depend on which namespace's /proc is mounted; nullopt when unreadable.
std::optional<std::uint64_t> pid_namespace_of(const std::string& proc_dir);

}  // namespace faultline
