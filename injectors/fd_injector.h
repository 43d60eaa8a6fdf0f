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
  explicit FdInjector(const scenario::FdFault& fault) : fault_(fault) {}
  std::string apply(const Target& target) override;
  std::string revert(const Target& target) override;
  std::string describe() const override;

 private:
  scenario::FdFault fault_;
  std::map<pid_t, rlimit> old_;
};

}  // namespace faultline::injectors
