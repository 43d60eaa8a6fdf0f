// fd: RLIMIT_NOFILE (soft and hard) of every process in the cgroup, changed at runtime with
// prlimit(2); revert gives each process that still exists its own previous limits back.
#pragma once

#include <sys/resource.h>

#include <map>

#include "injectors/injector.h"

namespace faultline::injectors {

// Whether this process may raise hard limits again (CAP_SYS_RESOURCE in its effective set).
bool can_raise_hard_limits();

class FdInjector final : public Injector {
 public:
  // `ends_in_window`: the fault has a `duration`, so its end must give the limits back.
  FdInjector(const scenario::FdFault& fault, bool ends_in_window)
      : fault_(fault), ends_in_window_(ends_in_window) {}
  std::string apply(const Target& target) override;
  std::string revert(const Target& target) override;
  std::string describe() const override;
  // Only a fault that lowered the soft limit alone can be dodged, and only processes that exit
  // before its end would go unseen at revert.
  std::optional<Duration> watch_interval() const override;
  void watch(const Target& target) override;

 private:
  scenario::FdFault fault_;
  bool ends_in_window_;
  bool hard_too_ = true;
  std::map<pid_t, rlimit> old_;
  // What the main process had before the fault, taken at apply: a process forked during the fault
  // gets it back. The main process may have ended by the revert (its pid is 0 then).
  rlimit main_before_{};
  std::string dodged_;  // the first process seen past the fault while it was on
};

}  // namespace faultline::injectors
