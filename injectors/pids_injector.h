// pids: pids.max of the cgroup at runtime; new forks fail with EAGAIN once it is reached.
#pragma once

#include "injectors/injector.h"

namespace faultline::injectors {

class PidsInjector final : public Injector {
 public:
  explicit PidsInjector(const scenario::PidsFault& fault) : fault_(fault) {}
  std::string apply(const Target& target) override;
  std::string revert(const Target& target) override;
  std::string describe() const override;

 private:
  scenario::PidsFault fault_;
  std::optional<std::uint64_t> old_;
};

}  // namespace faultline::injectors
