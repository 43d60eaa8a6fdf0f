// Signals through pidfds. A pid names whatever process holds the number now: once the process
// it meant was reaped, the number can belong to an unrelated one. A pidfd names one process.
#pragma once

#include <sys/types.h>

#include "common/unique_fd.h"

namespace faultline {

// pidfd_open(pid); an empty fd (errno set) when no such process exists. Race-free only while
// the caller knows `pid` cannot have been reaped yet (its own unreaped child), or when it
// checks afterwards that the process it opened is the one it meant.
UniqueFd open_pidfd(pid_t pid);

// pidfd_send_signal (glibc 2.36 has no wrapper); 0 or the errno (ESRCH: it has exited). A process
// that has exited but is not reaped yet takes the signal without error, and without effect.
int send_signal(const UniqueFd& pidfd, int signo);

// Whether the process has exited (reaped or not): its pidfd is then readable.
bool pidfd_exited(const UniqueFd& pidfd);

}  // namespace faultline
