// The seccomp program a target runs under: the listed syscalls go to the harness (user
// notification), every other call is allowed in the kernel at full speed.
#pragma once

#include <linux/filter.h>

#include <vector>

namespace faultline::syscall {

// Built in the harness (libseccomp allocates, so it cannot run between fork and exec); the child
// only loads the finished program (supervisor::SpawnRequest::notify_filter).
class NotifyFilter {
 public:
  // Throws Error when libseccomp cannot build the program (the numbers come from resolve_syscall).
  // `handoff_fd`: the child's socket the listener travels through; its sendmsg (with
  // kListenerHandoffFlags) is never trapped (nobody could answer it yet), even when sendmsg is listed.
  explicit NotifyFilter(const std::vector<int>& syscalls, int handoff_fd = -1);

  const sock_fprog* program() const { return &program_; }
  std::size_t instructions() const { return code_.size(); }

 private:
  std::vector<sock_filter> code_;
  sock_fprog program_{};
};

}  // namespace faultline::syscall
