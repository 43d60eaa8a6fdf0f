#include "injectors/fd_injector.h"

#include <linux/capability.h>

#include <algorithm>
#include <cerrno>

#include "common/error.h"
#include "common/proc_status.h"

namespace faultline::injectors {

namespace {
std::string limit_text(rlim_t v) { return v == RLIM_INFINITY ? "unlimited" : std::to_string(v); }
std::string limits_text(const rlimit& r) {
  return r.rlim_cur == r.rlim_max ? limit_text(r.rlim_cur)
                                  : limit_text(r.rlim_cur) + "/" + limit_text(r.rlim_max);
}
}  // namespace

bool can_raise_hard_limits() { return has_effective_capability(CAP_SYS_RESOURCE); }

std::string FdInjector::apply(const Target& target) {
  const auto limit = static_cast<rlim_t>(fault_.nofile);
  // A hard limit only comes back up with CAP_SYS_RESOURCE. Without it (some containers) only
  // the soft limit moves, so that revert can still restore what was there.
  const bool hard_too = can_raise_hard_limits();
  std::string before;
  for (pid_t pid : target.group.pids()) {
    rlimit old{};
    if (::prlimit(pid, RLIMIT_NOFILE, nullptr, &old) != 0) {
      if (errno == ESRCH) continue;  // exited since the cgroup was listed
      throw_errno("prlimit(RLIMIT_NOFILE)", "pid " + std::to_string(pid));
    }
    const rlimit wanted{std::min(limit, old.rlim_max), hard_too ? limit : old.rlim_max};
    if (::prlimit(pid, RLIMIT_NOFILE, &wanted, nullptr) != 0) {
      if (errno == ESRCH) continue;
      throw_errno("prlimit(RLIMIT_NOFILE, " + std::to_string(fault_.nofile) + ")",
                  "pid " + std::to_string(pid));
    }
    old_[pid] = old;
    if (before.empty() || pid == target.main_pid) before = limits_text(old);
  }
  if (old_.empty()) throw Error("no process left in " + target.group.describe() + " to limit");
  return "RLIMIT_NOFILE " + before + " -> " + std::to_string(fault_.nofile) +
         (hard_too ? "" : " (soft only)") + " on " + std::to_string(old_.size()) + " process(es)";
}

std::string FdInjector::revert(const Target&) {
  std::size_t restored = 0;
  std::string after;
  for (const auto& [pid, old] : old_) {
    if (::prlimit(pid, RLIMIT_NOFILE, &old, nullptr) != 0) {
      if (errno == ESRCH) continue;
      throw_errno("prlimit(RLIMIT_NOFILE, " + limits_text(old) + ")", "pid " + std::to_string(pid));
    }
    ++restored;
    after = limits_text(old);
  }
  old_.clear();
  if (restored == 0) return "RLIMIT_NOFILE: no process left to restore";
  return "RLIMIT_NOFILE " + std::to_string(fault_.nofile) + " -> " + after + " on " +
         std::to_string(restored) + " process(es)";
}

std::string FdInjector::describe() const { return "RLIMIT_NOFILE " + std::to_string(fault_.nofile); }

}  // namespace faultline::injectors
