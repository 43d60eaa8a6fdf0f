// signal: one signal to the main process or to every process in the cgroup. Repeats are the
// scheduler's business (apply is called once per repeat); there is nothing to revert.
#pragma once

#include "injectors/injector.h"

namespace faultline::injectors {

class SignalInjector final : public Injector {
 public:
  explicit SignalInjector(const scenario::SignalFault& fault) : fault_(fault) {}
  std::string apply(const Target& target) override;
  std::string revert(const Target&) override { return {}; }
  std::string describe() const override;
  bool revertible() const override { return false; }

 private:
  scenario::SignalFault fault_;
};

}  // namespace faultline::injectors
