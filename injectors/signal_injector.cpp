#include "injectors/signal_injector.h"

#include <cerrno>
#include <chrono>
#include <csignal>
#include <thread>

#include "cgroup/signal_members.h"
#include "common/error.h"
#include "common/pidfd.h"
#include "common/proc_status.h"

namespace faultline::injectors {

namespace {

// A standard signal is pending once per process: one sent while the last is not yet taken reaches
// nobody. Signals from 32 up are real-time ones, which queue and never merge.
constexpr int kFirstRealTimeSignal = 32;

// How long a pending one is given to be taken before the next counts as merged: a process that
// was merely not scheduled yet on a busy machine takes it within this.
constexpr auto kTakeGrace = std::chrono::milliseconds(50);

constexpr const char* kMerges =
    ", not taken within 50ms since it was last sent (the process blocks it, is still in its handler, is "
    "frozen or stopped, or did not get a CPU): another would merge with it, as the kernel keeps one of each "
    "standard signal pending";

}  // namespace

std::string SignalInjector::apply(const Target& target) {
  const std::string name = signal_name(fault_.signal);
  if (fault_.to == scenario::SignalFault::To::main) {
    if (target.main_pid <= 0) throw Error("no main process to send " + name + " to");
    // The main process is the runner's unreaped child (its exit is handled on the thread that
    // calls us), so the pidfd opened here names it and not a process that reused its pid.
    const UniqueFd pidfd = open_pidfd(target.main_pid);
    if (!pidfd) throw_errno("pidfd_open", "main process pid " + std::to_string(target.main_pid));
    // Exited but not reaped yet (its end not handled yet): the signal would be taken without error
    // and reach nobody.
    if (pidfd_exited(pidfd))
      throw NoEffect("pid " + std::to_string(target.main_pid) + " had already exited: " + name +
                     " would reach nobody");
    if (still_pending(target.main_pid))
      throw NoEffect(name + " was still pending for pid " + std::to_string(target.main_pid) + kMerges);
    if (const int err = send_signal(pidfd, fault_.signal); err != 0)
      throw SystemError("pidfd_send_signal(" + name + ")", "pid " + std::to_string(target.main_pid), err);
    return name + " to pid " + std::to_string(target.main_pid);
  }
  // The main process counts on its own: a child that ignores the signal, or takes it at once, does
  // not make a repeat the main process never saw a delivery.
  if (target.main_pid > 0 && still_pending(target.main_pid))
    throw NoEffect(name + " was still pending for the main process, pid " + std::to_string(target.main_pid) +
                   kMerges);
  const bool standard = fault_.signal < kFirstRealTimeSignal;
  const auto count = target.helpers
                         ? cgroup::signal_members(target.group, fault_.signal, *target.helpers, standard)
                         : cgroup::signal_members(target.group, fault_.signal, {}, standard);
  if (count.first_error)
    throw SystemError("pidfd_send_signal(" + name + ")", "pid " + std::to_string(count.first_error_pid),
                      count.first_error);
  if (count.sent == 0)
    throw NoEffect(
        name +
        " reached no process: none of the target's (helpers of the harness aside) was left in its cgroup");
  if (count.merged == count.sent)
    throw NoEffect(name + " was still pending for all " + std::to_string(count.sent) + " process(es)" +
                   kMerges);
  return name + " to " + std::to_string(count.sent) + " process(es)" +
         (count.merged
              ? " (" + std::to_string(count.merged) + " of them had one pending still: merged with it)"
              : "");
}

bool SignalInjector::still_pending(pid_t pid) const {
  if (fault_.signal >= kFirstRealTimeSignal) return false;
  const auto until = std::chrono::steady_clock::now() + kTakeGrace;
  while (process_signal_pending(pid, fault_.signal)) {
    if (std::chrono::steady_clock::now() >= until) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return false;
}

std::string SignalInjector::describe() const {
  std::string t =
      signal_name(fault_.signal) + (fault_.to == scenario::SignalFault::To::main ? " to main" : " to all");
  if (fault_.repeat_every && fault_.repeat_count > 1)
    t += ", " + std::to_string(fault_.repeat_count) + " times every " + format_duration(*fault_.repeat_every);
  return t;
}

}  // namespace faultline::injectors
