#include "injectors/signal_injector.h"

#include <cerrno>
#include <csignal>

#include "common/error.h"

namespace faultline::injectors {

std::string SignalInjector::apply(const Target& target) {
  const std::string name = signal_name(fault_.signal);
  if (fault_.to == scenario::SignalFault::To::main) {
    if (target.main_pid <= 0) throw Error("no main process to send " + name + " to");
    if (::kill(target.main_pid, fault_.signal) != 0)
      throw_errno("kill(" + name + ")", "pid " + std::to_string(target.main_pid));
    return name + " to pid " + std::to_string(target.main_pid);
  }
  int sent = 0;
  for (pid_t pid : target.group.pids()) {
    if (::kill(pid, fault_.signal) == 0)
      ++sent;
    else if (errno != ESRCH)
      throw_errno("kill(" + name + ")", "pid " + std::to_string(pid));
  }
  return name + " to " + std::to_string(sent) + " process(es)";
}

std::string SignalInjector::describe() const {
  std::string t =
      signal_name(fault_.signal) + (fault_.to == scenario::SignalFault::To::main ? " to main" : " to all");
  if (fault_.repeat_every && fault_.repeat_count > 1)
    t += ", " + std::to_string(fault_.repeat_count) + " times every " + format_duration(*fault_.repeat_every);
  return t;
}

}  // namespace faultline::injectors
