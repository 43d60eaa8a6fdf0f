#include "common/pidfd.h"

#include <poll.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

namespace faultline {

UniqueFd open_pidfd(pid_t pid) { return UniqueFd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0))); }

int send_signal(const UniqueFd& pidfd, int signo) {
  if (!pidfd) return EBADF;
  return ::syscall(SYS_pidfd_send_signal, pidfd.get(), signo, nullptr, 0) == 0 ? 0 : errno;
}

bool pidfd_exited(const UniqueFd& pidfd) {
  pollfd ended{pidfd.get(), POLLIN, 0};
  int ready = 0;
  while ((ready = ::poll(&ended, 1, 0)) < 0 && errno == EINTR) {
  }
  return ready > 0 && (ended.revents & POLLIN) != 0;
}

}  // namespace faultline
