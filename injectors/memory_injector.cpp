#include "injectors/memory_injector.h"

#include <poll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <thread>

#include "common/error.h"
#include "common/unique_fd.h"

namespace faultline::injectors {

namespace {
constexpr std::uint64_t kMiB = 1u << 20;

const char* knob_file(bool hard) { return hard ? "memory.max" : "memory.high"; }

std::uint64_t round_up_to_mib(std::uint64_t bytes) { return (bytes + kMiB - 1) / kMiB * kMiB; }

// The cgroup's OOM kills so far, or nullopt where the kernel keeps no count for it.
std::optional<std::uint64_t> oom_kills(const cgroup::Cgroup& group) {
  try {
    const auto stats = group.stats();
    return stats.oom_kills_counted ? std::optional<std::uint64_t>(stats.oom_kills) : std::nullopt;
  } catch (const Error&) {
    return std::nullopt;
  }
}

// Waits until `pid` has ended, without reaping it (its owner does: the runner's event loop,
// or a test); returns its siginfo, or nullopt after `timeout`.
std::optional<siginfo_t> wait_for_end(int pidfd, Duration timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    pollfd p{pidfd, POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno != EINTR) throw_errno("poll", "pidfd of the memory charge helper");
    if (ready <= 0) continue;
    siginfo_t info{};
    if (::waitid(P_PIDFD, static_cast<id_t>(pidfd), &info, WEXITED | WNOWAIT) != 0)
      throw_errno("waitid(P_PIDFD, WNOWAIT)", "the memory charge helper");
    return info;
  }
}
}  // namespace

MemoryInjector::MemoryInjector(const scenario::MemoryFault& fault, std::string faultline_executable,
                               HelperLauncher launch_helper)
    : fault_(fault), executable_(std::move(faultline_executable)), launch_(std::move(launch_helper)) {}

std::vector<std::string> MemoryInjector::charge_argv(std::uint64_t bytes) const {
  return {executable_, "hog", "--charge", std::to_string(bytes) + "B"};
}

// The charge comes from an exec'd helper, not a fork of the harness: a fork would share the
// harness's fds (every scenario's) and its resident size, which in a large (sanitizer) build
// made the fork, not the target, the OOM killer's choice. The helper starts inside the
// target's cgroup with nothing inherited, and its charge is tmpfs pages outside its own RSS.
void MemoryInjector::charge(cgroup::Cgroup& group, std::uint64_t bytes) {
  if (!launch_ || executable_.empty())
    throw Error(
        "squeezing " + group.describe() +
        " below its usage on cgroup v1 needs the charging helper (`faultline hog --charge`), which "
        "cannot be started here; hint: with mode = \"limit-only\" (and `optional = true`) v1's refusal "
        "is the answer, and the fault is skipped");
  const pid_t pid = launch_(charge_argv(bytes));
  const std::string who = "memory charge helper (pid " + std::to_string(pid) + ", `faultline hog --charge " +
                          format_size(bytes) + "`) in " + group.describe();
  // Unreaped until this returns (its owner reaps it later), so the pid still names the helper.
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  if (!pidfd) throw_errno("pidfd_open", who);
  const auto end = wait_for_end(pidfd.get(), kChargeTimeout);
  if (!end) {
    ::syscall(SYS_pidfd_send_signal, pidfd.get(), SIGKILL, nullptr, 0);
    throw Error(who + " did not finish within " + format_duration(kChargeTimeout) +
                "; killed. Hint: a loaded machine, or a cgroup whose OOM killer is disabled");
  }
  if (end->si_code == CLD_EXITED && end->si_status == 0) return;
  if (end->si_code == CLD_KILLED && end->si_status == SIGKILL)
    throw Error(who + " was killed (the OOM killer chose it over the target, which holds less memory " +
                "than the helper's own few MiB). Hint: squeeze a target that holds more, or use " +
                "mode = \"limit-only\" (and `optional = true`), which takes v1's refusal as the answer");
  throw Error(who +
              (end->si_code == CLD_EXITED ? " exited with code " + std::to_string(end->si_status)
                                          : " ended by " + signal_name(end->si_status)) +
              ". Hint: `" + executable_ + " hog --charge " + format_size(bytes) + "` run by hand prints why");
}

// cgroup v2 answers a hard limit below the usage with reclaim and then the OOM killer; cgroup
// v1 refuses the write with EBUSY once reclaim fails and kills nothing (only v1 says EBUSY).
// `limit-only` takes the refusal as the answer; `charge` pins the limit at today's usage and
// charges the difference from a helper: the kernel's OOM killer then kills what uses the most
// memory in the cgroup, as v2 would have, and once the helper exits the new limit fits.
std::string MemoryInjector::set_hard_limit(cgroup::Cgroup& group, std::uint64_t bytes) {
  try {
    group.set_memory_max(bytes);
    max_written_ = true;
    ++writes_taken_;
    return {};
  } catch (const SystemError& e) {
    if (e.code() != EBUSY) throw;
  }
  if (fault_.mode == scenario::MemoryFault::Mode::limit_only)
    return "refused (EBUSY): v1 will not set a limit below the usage (" +
           format_size(group.stats().memory_current.value_or(0)) + "), it stays " +
           format_size(group.memory_max()) + " (mode limit-only)";
  std::uint64_t pinned = 0;
  for (int attempt = 0; attempt < 20 && pinned == 0; ++attempt) {
    const std::uint64_t usage = group.stats().memory_current.value_or(0);
    if (usage <= bytes) break;  // it shrank by itself meanwhile
    try {
      const std::uint64_t at = round_up_to_mib(usage) + kMiB;  // usage moves while we read it
      group.set_memory_max(at);
      pinned = at;
    } catch (const SystemError& e) {
      if (e.code() != EBUSY) throw;
    }
  }
  std::uint64_t charged = 0;
  if (pinned > bytes) {
    charged = round_up_to_mib(pinned - bytes);
    charge(group, charged);
  }
  // The OOM kill frees the victim's memory only once it has finished exiting, which can take
  // a while on a loaded machine: v1 answers EBUSY until then, and offers no event for it.
  for (int attempt = 0;; ++attempt) {
    try {
      group.set_memory_max(bytes);
      max_written_ = true;
      ++writes_taken_;
      break;
    } catch (const SystemError& e) {
      if (e.code() != EBUSY || attempt == 100)
        throw e.with_context("squeezing " + group.describe() + " below its usage" +
                             (charged ? " after charging " + format_size(charged) + " from a helper" : ""));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (!charged) return {};
  return "charged " + format_size(charged) + " from a helper: v1 refuses a limit below usage";
}

std::string MemoryInjector::write(cgroup::Cgroup& group, bool hard, std::uint64_t bytes) {
  if (hard) return set_hard_limit(group, bytes);
  group.set_memory_high(bytes);
  high_written_ = true;
  ++writes_taken_;
  return {};
}

std::string MemoryInjector::apply(const Target& target) {
  // Each apply starts afresh: a repeated fault must not restore, or count as written, what an
  // earlier round did.
  old_max_.reset();
  old_high_.reset();
  ramp_.reset();
  max_written_ = false;
  high_written_ = false;
  // A limit at or above the one in force squeezes nothing: "survives a squeeze to 512MiB" must
  // not pass for a process that started under 256MiB. memory.high binds only below memory.max.
  // A value that would not bind lower is left as it is, so a fault never loosens a limit.
  // The run's cgroup may hold a tighter one, the caller's, kept: "survives a squeeze to 300MiB"
  // must not pass either for a process whose CI job allows it 200MiB.
  // The cgroup's own values are what the revert restores.
  const std::uint64_t own_max = target.group.memory_max();
  const std::uint64_t max_above = enclosing_memory_max(target);
  const std::uint64_t max_now = std::min(own_max, max_above);
  const std::uint64_t high_written = target.group.memory_high();
  const std::uint64_t high_now = std::min(max_now, high_written);
  const bool max_binds = fault_.limit && *fault_.limit < max_now;
  const bool high_binds = fault_.high && *fault_.high < high_now;
  std::string kept;
  if (fault_.limit && !max_binds)
    kept = max_above < own_max ? held_by_caller("memory", format_size(max_above))
                               : "memory.max is " + format_size(max_now) + " already";
  if (fault_.high && !high_binds)
    kept += (kept.empty() ? "" : ", ") + (max_above < std::min(own_max, high_written)
                                              ? "memory.high binds only below the caller's memory limit " +
                                                    format_size(max_above) + " that the run's cgroup holds"
                                              : "the memory.high in force is " + format_size(high_now));
  if (!max_binds && !high_binds) throw NoEffect(kept + kMustLower);
  std::string detail;
  const auto append = [&](const std::string& part) { detail += (detail.empty() ? "" : ", ") + part; };
  // The ramp follows `limit` when both bind; `high` is then set at once.
  const bool ramp_hard = max_binds;
  for (const bool hard : {true, false}) {
    const auto& wanted = hard ? fault_.limit : fault_.high;
    if (!wanted || !(hard ? max_binds : high_binds)) continue;
    const std::uint64_t old = hard ? own_max : high_written;
    (hard ? old_max_ : old_high_) = old;
    if (fault_.over && hard == ramp_hard) {
      // From "max" there is no limit to start the ramp from: start at what the cgroup uses, the
      // first value that binds.
      std::uint64_t from = hard ? max_now : old;
      if (from == kUnlimited) from = target.group.stats().memory_current.value_or(*wanted);
      if (from > *wanted) {
        Ramp r;
        r.hard = hard;
        r.from = from;
        r.to = *wanted;
        r.steps = static_cast<std::uint32_t>(std::max<std::int64_t>(1, *fault_.over / kRampStep));
        r.interval = *fault_.over / r.steps;
        r.oom_kills_at_start = oom_kills(target.group);
        ramp_ = r;
        append(std::string(knob_file(hard)) + " " + format_size(old) + " -> " + format_size(*wanted) +
               " over " + format_duration(*fault_.over) + " (" + std::to_string(r.steps) + " steps from " +
               format_size(from) + ")");
        continue;
      }
    }
    const std::string note = write(target.group, hard, *wanted);
    // v1 refused the only limit that would have bound (limit-only takes the refusal as the
    // answer): the process runs under what it ran under before, so the fault never took effect.
    if (hard && !max_written_ && !high_binds)
      throw Refused(std::string(knob_file(hard)) + " " + format_size(*wanted) + " " + note);
    append(std::string(knob_file(hard)) + " " + format_size(old) + " -> " + format_size(*wanted) +
           (hard && max_above < own_max ? " (below the caller's " + format_size(max_above) + ")" : ""));
    if (!note.empty()) append(note);
  }
  if (!kept.empty()) append(kept + ", kept");
  return detail;
}

std::optional<Duration> MemoryInjector::step_interval() const {
  if (!ramp_) return std::nullopt;
  return ramp_->interval;
}

std::optional<std::string> MemoryInjector::step(const Target& target) {
  if (!ramp_ || ramp_->ended || ramp_->done >= ramp_->steps) return std::nullopt;
  Ramp& r = *ramp_;
  ++r.done;
  const double fraction = static_cast<double>(r.done) / r.steps;
  std::uint64_t value = r.to;
  if (r.done < r.steps)
    value = r.from - static_cast<std::uint64_t>(static_cast<double>(r.from - r.to) * fraction);
  const std::uint64_t taken_before = writes_taken_;
  const std::string note = write(target.group, r.hard, value);
  if (writes_taken_ > taken_before) r.reached = value;
  return std::string(knob_file(r.hard)) + " " + format_size(value) + " (step " + std::to_string(r.done) +
         " of " + std::to_string(r.steps) + ")" + (note.empty() ? "" : ", " + note);
}

std::string MemoryInjector::revert(const Target& target) {
  std::string detail;
  if (ramp_ && !ramp_->ended) {
    ramp_->ended = true;
    const auto kills = oom_kills(target.group);
    ramp_->oom_killed = kills && ramp_->oom_kills_at_start && *kills > *ramp_->oom_kills_at_start;
  }
  for (const bool hard : {false, true}) {  // memory.high first: it must not end above max
    const auto& old = hard ? old_max_ : old_high_;
    if (!old) continue;
    const std::uint64_t now = hard ? target.group.memory_max() : target.group.memory_high();
    detail += (detail.empty() ? "" : ", ") + std::string(knob_file(hard)) + " " + format_size(now);
    if (!(hard ? max_written_ : high_written_)) {  // every write refused (limit-only), or none due yet
      detail += " unchanged, nothing to restore";
      continue;
    }
    const std::string note = write(target.group, hard, *old);
    detail += " -> " + format_size(*old) + (note.empty() ? "" : ", " + note);
  }
  return detail;
}

std::optional<std::string> MemoryInjector::never_held() const {
  // A ramp writes nothing at apply: it holds once a step reaches its limit, or once the OOM
  // killer acts in the cgroup on the way (the squeeze bit). One cut short (its process exited,
  // the stop phase began, or its `duration` was shorter than `over`) left the process above the
  // limit asked for. The timeline takes the steps due by a fault's planned end before reverting
  // it, so `over` equal to `duration` reaches the limit.
  if (!ramp_) return std::nullopt;
  const Ramp& r = *ramp_;
  const std::string knob = knob_file(r.hard);
  if (!r.reached) {
    if (r.done == 0) {
      const auto& old = r.hard ? old_max_ : old_high_;
      return "it ended before the first of its " + std::to_string(r.steps) + " ramp steps (one every " +
             format_duration(r.interval) + "), so " + knob + " never moved from " +
             format_size(old.value_or(kUnlimited));
    }
    return "cgroup v1 refused each of its " + std::to_string(r.done) +
           " ramp step(s) (EBUSY: the usage stayed above each limit; mode limit-only), so " + knob +
           " never moved";
  }
  if (*r.reached == r.to || r.oom_killed) return std::nullopt;
  return "it ended after " + std::to_string(r.done) + " of its " + std::to_string(r.steps) +
         " ramp steps with " + knob + " at " + format_size(*r.reached) + " on the way to " +
         format_size(r.to) +
         (r.oom_kills_at_start
              ? ", and no OOM kill on the way"
              : ", and this host keeps no OOM kill count for the cgroup to show one on the way") +
         ": the process was never under the limit asked for";
}

std::string MemoryInjector::describe() const {
  std::string text = "memory";
  if (fault_.limit) text += " limit " + format_size(*fault_.limit);
  if (fault_.high) text += " high " + format_size(*fault_.high);
  if (fault_.over) text += " over " + format_duration(*fault_.over);
  if (fault_.mode == scenario::MemoryFault::Mode::limit_only) text += " (limit-only)";
  return text;
}

}  // namespace faultline::injectors
