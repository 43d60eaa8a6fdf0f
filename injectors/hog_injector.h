// hog: a noisy neighbour inside the target's cgroup (`faultline hog`, a helper mode of our
// own binary) that allocates and touches memory and burns CPU until revert kills it.
#pragma once

#include "common/unique_fd.h"
#include "injectors/injector.h"

namespace faultline::injectors {

class HogInjector final : public Injector {
 public:
  HogInjector(const scenario::HogFault& fault, std::string faultline_executable, HelperLauncher launch)
      : fault_(fault), executable_(std::move(faultline_executable)), launch_(std::move(launch)) {}
  std::string apply(const Target& target) override;
  std::string revert(const Target& target) override;
  std::string describe() const override;
  std::optional<std::string> never_held() const override { return never_held_; }

  // The helper's command line, for tests and plans.
  std::vector<std::string> helper_argv() const;

 private:
  scenario::HogFault fault_;
  std::string executable_;
  HelperLauncher launch_;
  pid_t pid_ = 0;
  UniqueFd pidfd_;  // the hog's pidfd: revert signals it, never the pid
  std::optional<std::string> never_held_;
};

}  // namespace faultline::injectors
