// cpu: CFS quota/period (v2 cpu.max, v1 cfs_quota_us/cfs_period_us) and/or cpuset; revert
// restores the previous values.
#pragma once

#include "injectors/injector.h"

namespace faultline::injectors {

class CpuInjector final : public Injector {
 public:
  explicit CpuInjector(const scenario::CpuFault& fault) : fault_(fault) {}
  std::string apply(const Target& target) override;
  std::string revert(const Target& target) override;
  std::string describe() const override;

 private:
  scenario::CpuFault fault_;
  std::optional<cgroup::CpuMax> old_max_;
  std::optional<std::string> old_cpuset_;
};

}  // namespace faultline::injectors
