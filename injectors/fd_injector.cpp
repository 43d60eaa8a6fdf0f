#include "injectors/fd_injector.h"

#include <linux/capability.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <vector>

#include "common/error.h"
#include "common/proc_status.h"

namespace faultline::injectors {

namespace {
std::string limit_text(rlim_t v) { return v == RLIM_INFINITY ? "unlimited" : std::to_string(v); }
std::string limits_text(const rlimit& r) {
  return r.rlim_cur == r.rlim_max ? limit_text(r.rlim_cur)
                                  : limit_text(r.rlim_cur) + "/" + limit_text(r.rlim_max);
}
std::string dodge_text(pid_t pid, bool born_during, rlim_t limit, rlim_t raised_to) {
  return "pid " + std::to_string(pid) + (born_during ? " (started while the fault was on)" : "") +
         " raised its soft RLIMIT_NOFILE from " + limit_text(limit) + " to " + limit_text(raised_to);
}
}  // namespace

bool can_raise_hard_limits() { return has_effective_capability(CAP_SYS_RESOURCE); }

std::string FdInjector::apply(const Target& target) {
  const auto limit = static_cast<rlim_t>(fault_.nofile);
  // The hard limit moves too, or a program that raises its soft limit at start (Go does) would
  // never meet the fault. It only comes back up with CAP_SYS_RESOURCE: without it (some
  // containers) a fault with an end moves only the soft limit, so that the end can restore it,
  // and the end checks that no process raised its soft limit past the fault meanwhile.
  hard_too_ = can_raise_hard_limits() || !ends_in_window_;
  const bool hard_too = hard_too_;
  std::map<pid_t, rlimit> found;
  for (pid_t pid : target.group.pids()) {
    rlimit old{};
    if (::prlimit(pid, RLIMIT_NOFILE, nullptr, &old) != 0) {
      if (errno == ESRCH) continue;  // exited since the cgroup was listed
      throw_errno("prlimit(RLIMIT_NOFILE)", "pid " + std::to_string(pid));
    }
    found[pid] = old;
  }
  if (found.empty()) throw Error("no process left in " + target.group.describe() + " to limit");
  // A fault never loosens a limit: "opens 100 files under 1024" must not pass for a process
  // started under 16. A fault that lowers no process's limit squeezes nothing.
  const rlimit& main_old = found.count(target.main_pid) ? found.at(target.main_pid) : found.begin()->second;
  if (std::none_of(found.begin(), found.end(), [&](const auto& entry) {
        return limit < entry.second.rlim_cur || (hard_too && limit < entry.second.rlim_max);
      }))
    throw NoEffect("RLIMIT_NOFILE is " + limits_text(main_old) + " already" + kMustLower);
  main_before_ = main_old;
  for (const auto& [pid, old] : found) {
    const rlimit wanted{std::min(limit, old.rlim_cur),
                        hard_too ? std::min(limit, old.rlim_max) : old.rlim_max};
    if (::prlimit(pid, RLIMIT_NOFILE, &wanted, nullptr) != 0) {
      if (errno == ESRCH) continue;
      throw_errno("prlimit(RLIMIT_NOFILE, " + std::to_string(fault_.nofile) + ")",
                  "pid " + std::to_string(pid));
    }
    old_[pid] = old;
  }
  if (old_.empty()) throw Error("no process left in " + target.group.describe() + " to limit");
  return "RLIMIT_NOFILE " + limits_text(main_before_) + " -> " + std::to_string(fault_.nofile) +
         (hard_too ? "" : " (soft only)") + " on " + std::to_string(old_.size()) + " process(es)";
}

std::string FdInjector::revert(const Target& target) {
  std::size_t restored = 0;
  std::string after, escaped, hard_kept;
  const auto limit = static_cast<rlim_t>(fault_.nofile);
  // Processes forked while the fault was on inherited it: they get back what the main process
  // had before (the limits a fork before the fault would have had).
  if (old_.empty()) return "RLIMIT_NOFILE: no process left to restore";
  std::map<pid_t, rlimit> to_restore = old_;
  std::vector<pid_t> members;
  try {
    members = target.group.pids();
  } catch (const Error&) {
    // The cgroup is gone with its processes: nothing was born there to restore.
  }
  for (pid_t pid : members)
    if (!to_restore.count(pid) && !(target.helpers && target.helpers->count(pid)))
      to_restore[pid] = main_before_;
  for (const auto& [pid, old] : to_restore) {
    rlimit now{};
    if (::prlimit(pid, RLIMIT_NOFILE, nullptr, &now) != 0) {
      if (errno == ESRCH) continue;
      throw_errno("prlimit(RLIMIT_NOFILE)", "pid " + std::to_string(pid));
    }
    // A process born during the fault gets the limits back only while it still has the fault's:
    // one that set its own at start (Go and Java raise the soft limit to the hard one) keeps
    // them, and is no sign that the fault did not hold on the processes it was applied to.
    const bool born_during = !old_.count(pid);
    // Past the fault's limit, born under it or not (a Go program started during the fault
    // raises its soft limit to the hard one): the fault never held for it.
    if (!hard_too_ && now.rlim_cur > limit && escaped.empty())
      escaped = dodge_text(pid, born_during, limit, now.rlim_cur);
    if (born_during && (now.rlim_cur != limit || (hard_too_ && now.rlim_max != limit))) continue;
    rlimit restore = old;
    // The fault lowered a hard limit this process cannot raise again (no CAP_SYS_RESOURCE; only
    // for a fault without an end, which is reverted as its process or the run ends).
    if (old.rlim_max > now.rlim_max && !can_raise_hard_limits()) {
      restore.rlim_max = now.rlim_max;
      restore.rlim_cur = std::min(old.rlim_cur, now.rlim_max);
      hard_kept = " (hard limit left at " + limit_text(now.rlim_max) + ": raising it needs CAP_SYS_RESOURCE)";
    }
    if (::prlimit(pid, RLIMIT_NOFILE, &restore, nullptr) != 0) {
      if (errno == ESRCH) continue;
      throw_errno("prlimit(RLIMIT_NOFILE, " + limits_text(restore) + ")", "pid " + std::to_string(pid));
    }
    ++restored;
    after = limits_text(restore);
  }
  old_.clear();
  // One that dodged it and has exited since was seen by watch() while the fault was on.
  if (escaped.empty()) escaped = dodged_;
  if (!escaped.empty())
    throw Error(escaped +
                " while the fault was on: it never held (only the soft limit could be lowered, "
                "since raising the hard one back at the fault's end needs CAP_SYS_RESOURCE; "
                "drop the fault's `duration` to lower both)");
  if (restored == 0) return "RLIMIT_NOFILE: no process left to restore";
  return "RLIMIT_NOFILE " + std::to_string(fault_.nofile) + " -> " + after + " on " +
         std::to_string(restored) + " process(es)" + hard_kept;
}

std::optional<Duration> FdInjector::watch_interval() const {
  if (hard_too_) return std::nullopt;
  // A Go test binary lives far longer than this; the look costs one read of cgroup.procs and a
  // prlimit(2) per process.
  return std::chrono::milliseconds(20);
}

void FdInjector::watch(const Target& target) {
  if (hard_too_ || !dodged_.empty()) return;
  const auto limit = static_cast<rlim_t>(fault_.nofile);
  for (pid_t pid : target.group.pids()) {
    if (target.helpers && target.helpers->count(pid)) continue;
    rlimit now{};
    if (::prlimit(pid, RLIMIT_NOFILE, nullptr, &now) != 0) continue;  // exited since the listing
    if (now.rlim_cur > limit) {
      dodged_ = dodge_text(pid, !old_.count(pid), limit, now.rlim_cur);
      return;
    }
  }
}

std::string FdInjector::describe() const { return "RLIMIT_NOFILE " + std::to_string(fault_.nofile); }

}  // namespace faultline::injectors
