// signal: one signal to the main process or to every process in the cgroup. Repeats are the
// scheduler's business (apply is called once per repeat); there is nothing to revert. A standard
// signal still pending from the last one sent would merge with it and reach nobody anew: apply
// then throws NoEffect (for `all`, when that holds in every process).
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
  // Whether the signal is pending in `pid` already, so that sending it again would add nothing.
  bool merges(pid_t pid) const;
  scenario::SignalFault fault_;
};

}  // namespace faultline::injectors
