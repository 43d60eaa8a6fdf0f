#include "injectors/hog_injector.h"

#include <cerrno>
#include <csignal>
#include <sstream>

#include "common/error.h"

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
  return "hog pid " + std::to_string(pid_) + " started (" + describe() + ")";
}

std::string HogInjector::revert(const Target&) {
  if (pid_ <= 0) return {};
  const pid_t pid = pid_;
  pid_ = 0;
  // The helper's owner reaps it; an exited (or OOM-killed) hog is simply gone.
  if (::kill(pid, SIGKILL) != 0) {
    if (errno == ESRCH) return "hog pid " + std::to_string(pid) + " had already exited";
    throw_errno("kill(SIGKILL)", "hog pid " + std::to_string(pid));
  }
  return "hog pid " + std::to_string(pid) + " killed";
}

std::string HogInjector::describe() const {
  std::string t = "hog";
  if (fault_.memory) t += " memory " + format_size(*fault_.memory);
  if (fault_.cpu) t += " cpu " + format_cpu(*fault_.cpu);
  return t;
}

}  // namespace faultline::injectors
