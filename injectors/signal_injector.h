// signal: one signal to the main process or to every process in the cgroup. Repeats are the
// scheduler's business (apply is called once per repeat); there is nothing to revert. A standard
// signal still pending from the last one sent (given 50ms to be taken) would merge with it and
// reach nobody anew: apply then throws NoEffect (for `all`, when that holds in the main process
// or in every process).
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
  // Whether the signal is still pending in `pid` after a short grace, so that sending it again
  // would add nothing. Blocks for that grace at most, and only while it is pending.
  bool still_pending(pid_t pid) const;
  scenario::SignalFault fault_;
};

}  // namespace faultline::injectors
