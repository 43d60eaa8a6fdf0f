#include "syscall/host_support.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "common/proc_status.h"

namespace faultline::syscall {

namespace {

constexpr int kStepPrctl = 1, kStepSeccomp = 2;

// In a forked child: which step failed and its errno go back through a pipe (an exit status is
// too small for both).
void probe_child(int report_fd) {
  int result[2] = {0, 0};
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    result[0] = kStepPrctl;
    result[1] = errno;
  } else {
    sock_filter allow = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    sock_fprog program{1, &allow};
    const long fd =
        ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &program);
    if (fd < 0) {
      result[0] = kStepSeccomp;
      result[1] = errno;
    }
  }
  (void)!::write(report_fd, result, sizeof result);
  ::_exit(0);
}

bool at_least(const std::optional<std::pair<int, int>>& v, int major, int minor) {
  return v && (v->first > major || (v->first == major && v->second >= minor));
}

}  // namespace

std::optional<std::pair<int, int>> kernel_version(const std::string& release) {
  int major = 0, minor = 0;
  char dot = 0;
  std::istringstream in(release);
  if (!(in >> major >> dot >> minor) || dot != '.') return std::nullopt;
  return std::pair{major, minor};
}

HostFacts gather_host_facts() {
  HostFacts facts;
  utsname name{};
  if (::uname(&name) == 0) facts.kernel_release = name.release;
  if (std::ifstream in("/proc/sys/kernel/seccomp/actions_avail"); in) {
    std::string text;
    std::getline(in, text);
    facts.actions_avail = text;
  }
  facts.cap_sys_admin = has_effective_capability(CAP_SYS_ADMIN);

  // The filter is loaded in a throwaway child: loading one is irreversible for the caller.
  int report[2];
  if (::pipe2(report, O_CLOEXEC) != 0) {
    facts.filter_load_error = errno;
    facts.filter_load_step = "pipe2";
    return facts;
  }
  std::fflush(nullptr);
  const pid_t child = ::fork();
  if (child == 0) probe_child(report[1]);
  ::close(report[1]);
  int result[2] = {0, 0};
  if (child < 0) {
    result[0] = kStepSeccomp;
    result[1] = errno;
    facts.filter_load_step = "fork";
  } else {
    if (::read(report[0], result, sizeof result) != static_cast<ssize_t>(sizeof result)) result[1] = ECHILD;
    int status = 0;
    while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
    }
  }
  ::close(report[0]);
  facts.filter_load_error = result[1];
  if (facts.filter_load_step.empty())
    facts.filter_load_step = result[0] == kStepPrctl ? "prctl(PR_SET_NO_NEW_PRIVS)"
                                                     : "seccomp(SECCOMP_SET_MODE_FILTER, NEW_LISTENER)";
  return facts;
}

SyscallSupport assess(const HostFacts& facts) {
  SyscallSupport out;
  const auto version = kernel_version(facts.kernel_release);
  const bool kernel_ok = at_least(version, 5, 5);
  out.checks.push_back(
      {"kernel", kernel_ok,
       (facts.kernel_release.empty() ? std::string("unknown release") : facts.kernel_release) +
           (kernel_ok
                ? " (>= 5.5: SECCOMP_USER_NOTIF_FLAG_CONTINUE lets untouched calls run)"
                : " is older than 5.5: without SECCOMP_USER_NOTIF_FLAG_CONTINUE a trapped call cannot be "
                  "let through")});

  const bool listed = facts.actions_avail && facts.actions_avail->find("user_notif") != std::string::npos;
  out.checks.push_back(
      {"user notification", listed,
       !facts.actions_avail
           ? "/proc/sys/kernel/seccomp/actions_avail is unreadable (no seccomp in this kernel?)"
       : listed ? "/proc/sys/kernel/seccomp/actions_avail lists user_notif"
                : "/proc/sys/kernel/seccomp/actions_avail lacks user_notif (" + *facts.actions_avail + ")"});

  const bool loads = facts.filter_load_error == 0;
  std::string load_detail;
  if (loads) {
    load_detail = "a test child set no_new_privs and loaded a notification filter";
    if (facts.cap_sys_admin) load_detail += " (CAP_SYS_ADMIN is held too)";
  } else {
    load_detail = "a test child could not load a notification filter: " + facts.filter_load_step + ": " +
                  std::strerror(facts.filter_load_error) +
                  (facts.cap_sys_admin ? "" : "; it needs no_new_privs or CAP_SYS_ADMIN") +
                  " (a container's seccomp profile or an LSM may forbid it)";
  }
  out.checks.push_back({"filter load", loads, load_detail});

  out.usable = true;
  for (const auto& c : out.checks)
    if (!c.ok) {
      out.usable = false;
      out.why = c.name + ": " + c.detail;
      break;
    }
  out.fast_path =
      at_least(version, 6, 6)
          ? "SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP available (Linux >= 6.6): fewer wake-ups per trapped call"
          : "no SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (Linux >= 6.6): trapped calls cost a little more";
  return out;
}

}  // namespace faultline::syscall
