// Whether this host can run syscall faults, and why not: what `faultline doctor` prints. The
// facts are gathered once (kernel release, the seccomp actions the kernel offers, a test child
// loading a user-notification filter) and judged by a pure function, so each verdict is
// unit-tested with made-up facts.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace faultline::syscall {

struct HostFacts {
  std::string kernel_release;                // uname -r, e.g. "6.1.0-18-amd64"
  std::optional<std::string> actions_avail;  // /proc/sys/kernel/seccomp/actions_avail; nullopt: unreadable
  // A forked child set no_new_privs and loaded a filter with SECCOMP_FILTER_FLAG_NEW_LISTENER:
  // 0 when it worked, else the errno of the step that failed.
  int filter_load_error = 0;
  std::string filter_load_step;  // "prctl(PR_SET_NO_NEW_PRIVS)" or "seccomp(SECCOMP_SET_MODE_FILTER)"
  bool cap_sys_admin = false;    // CAP_SYS_ADMIN in the effective set (loads a filter without no_new_privs)
};

struct SupportCheck {
  std::string name;  // "kernel", "user notification", "filter load"
  bool ok = false;
  std::string detail;
};

struct SyscallSupport {
  std::vector<SupportCheck> checks;
  bool usable = false;
  std::string why;        // when not usable: the first failed check, in words
  std::string fast_path;  // SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (Linux >= 6.6) or why not
};

// The (major, minor) of a release string such as "6.1.0-18-amd64"; nullopt when unreadable.
std::optional<std::pair<int, int>> kernel_version(const std::string& release);

HostFacts gather_host_facts();
SyscallSupport assess(const HostFacts& facts);

// The scenario keys that need syscall faults, for "unavailable here" lists.
inline constexpr const char* kSyscallFaultKeys =
    "[[inject]] kind = \"syscall\" (syscalls, errno, return, delay, path, fds, every/nth/after/probability), "
    "[expect] syscall_failures";

}  // namespace faultline::syscall
