// freeze: the whole cgroup stopped (v2 cgroup.freeze, the unified mount's cgroup.freeze on
// hybrid hosts, else the v1 freezer) until revert thaws it: a hung process, seen from outside.
#pragma once

#include "injectors/injector.h"

namespace faultline::injectors {

class FreezeInjector final : public Injector {
 public:
  std::string apply(const Target& target) override;
  std::string revert(const Target& target) override;
  std::string describe() const override { return "freeze"; }

 private:
  bool frozen_ = false;
};

}  // namespace faultline::injectors
