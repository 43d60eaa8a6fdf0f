// memory: a hard limit (memory.max / memory.limit_in_bytes) and/or memory.high (v2), set at
// once or ramped in steps from the current value; revert restores what was there before.
#pragma once

#include "injectors/injector.h"

namespace faultline::injectors {

class MemoryInjector final : public Injector {
 public:
  explicit MemoryInjector(const scenario::MemoryFault& fault);
  std::string apply(const Target& target) override;
  std::string revert(const Target& target) override;
  std::string describe() const override;
  std::optional<Duration> step_interval() const override;
  std::optional<std::string> step(const Target& target) override;

  // Ramps move every 100ms (fewer steps when `over` is short), enough to look continuous to a
  // target while keeping the cgroup writes cheap.
  static constexpr Duration kRampStep = std::chrono::milliseconds(100);

 private:
  struct Ramp {
    bool hard = true;  // memory.max, else memory.high
    std::uint64_t from = 0, to = 0;
    std::uint32_t steps = 0, done = 0;
    Duration interval{0};
  };
  void write(cgroup::Cgroup& group, bool hard, std::uint64_t bytes);

  scenario::MemoryFault fault_;
  std::optional<std::uint64_t> old_max_, old_high_;
  std::optional<Ramp> ramp_;
};

}  // namespace faultline::injectors
