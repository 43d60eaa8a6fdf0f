#include "supervisor/fd_limit.h"

#include <fcntl.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace faultline::supervisor {
namespace {

bool raised = false;
rlimit inherited{};

}  // namespace

void raise_own_fd_limit() {
  if (raised || ::getrlimit(RLIMIT_NOFILE, &inherited) != 0) return;
  raised = true;
  if (inherited.rlim_cur >= inherited.rlim_max) return;
  rlimit all = inherited;
  all.rlim_cur = inherited.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &all);
}

rlimit inherited_fd_limit() {
  if (raised) return inherited;
  rlimit now{};
  ::getrlimit(RLIMIT_NOFILE, &now);
  return now;
}

std::vector<int> open_fds_above_stdio() {
  std::vector<int> fds;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd", ec)) {
    const std::string name = entry.path().filename();
    const int fd = std::atoi(name.c_str());
    if (fd > 2) fds.push_back(fd);
  }
  // The directory's own fd was listed too, and is closed now.
  std::erase_if(fds, [](int fd) { return ::fcntl(fd, F_GETFD) == -1; });
  std::sort(fds.begin(), fds.end());
  return fds;
}

}  // namespace faultline::supervisor
