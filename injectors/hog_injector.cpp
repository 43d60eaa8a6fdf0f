#include "injectors/hog_injector.h"

#include <cerrno>
#include <csignal>
#include <sstream>
#include <utility>

#include "common/error.h"
#include "common/pidfd.h"
#include "common/proc_status.h"

namespace faultline::injectors {

std::vector<std::string> HogInjector::helper_argv() const {
  std::vector<std::string> argv{executable_, "hog"};
  if (fault_.memory) argv.insert(argv.end(), {"--memory", std::to_string(*fault_.memory) + "B"});
  if (fault_.cpu) {
    std::ostringstream cpus;
    cpus << *fault_.cpu;
    argv.insert(argv.end(), {"--cpu", cpus.str()});
  }
  return argv;
}

std::string HogInjector::apply(const Target&) {
  if (!launch_ || executable_.empty()) throw Error("the hog needs a way to start `faultline hog`");
  pid_ = launch_(helper_argv());
  // The launcher's owner reaps the helper from its event loop, which is busy running us: the
  // pid cannot have been reaped yet, so this pidfd names the hog for as long as we hold it.
  pidfd_ = open_pidfd(pid_);
  if (!pidfd_) throw_errno("pidfd_open", "hog pid " + std::to_string(pid_));
  return "hog pid " + std::to_string(pid_) + " started (" + describe() + ")";
}

std::string HogInjector::revert(const Target&) {
  if (pid_ <= 0) return {};
  const pid_t pid = std::exchange(pid_, 0);
  const UniqueFd pidfd = std::move(pidfd_);
  // Touching its pages takes the hog a while (seconds for a GiB on a slow host): one killed
  // before it held its memory never was the neighbour written. While the pidfd reaches it, it is
  // not reaped (only the loop, busy running us, reaps it) and its pid names it; a zombie (the OOM
  // killer's choice) has no VmSize and is not asked.
  const bool reachable = fault_.memory && send_signal(pidfd, 0) == 0;
  const bool running = reachable && status_bytes(pid, "VmSize") > 0;
  const std::uint64_t held = running ? status_bytes(pid, "RssAnon") + status_bytes(pid, "VmSwap") : 0;
  // By revert time the hog may have exited and been reaped, and its pid reused: only the
  // pidfd is sure to name the hog (ESRCH once it is gone).
  const int err = send_signal(pidfd, SIGKILL);
  if (running && err == 0 && held + *fault_.memory / 100 < *fault_.memory)
    never_held_ = "hog pid " + std::to_string(pid) + " held " + format_size(held) + " of its " +
                  format_size(*fault_.memory) +
                  " when it was killed: it was still touching its pages (give "
                  "the fault a longer `duration`, or less memory)";
  // Gone before its revert: the OOM killer may choose the hog, the neighbour it is meant to be
  // (the run reports any other end of a helper as an error of its own).
  if (err == ESRCH)
    return "hog pid " + std::to_string(pid) +
           " was gone before its revert (a memory hog may be the OOM killer's choice)";
  if (err != 0) throw SystemError("pidfd_send_signal(SIGKILL)", "hog pid " + std::to_string(pid), err);
  return "hog pid " + std::to_string(pid) + " killed";
}

std::string HogInjector::describe() const {
  std::string t = "hog";
  if (fault_.memory) t += " memory " + format_size(*fault_.memory);
  if (fault_.cpu) t += " cpu " + format_cpu(*fault_.cpu);
  return t;
}

}  // namespace faultline::injectors
