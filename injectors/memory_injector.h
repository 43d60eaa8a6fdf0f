// memory: a hard limit (memory.max / memory.limit_in_bytes) and/or memory.high (v2), set at
// once or ramped in steps from the current value; revert restores what was there before.
//
// A hard limit below the usage: cgroup v2 reclaims and then OOM-kills inside the write; cgroup
// v1 reclaims, then refuses the write (EBUSY) and kills nothing. In `charge` mode (the
// default) the v1 squeeze pins the limit at the usage and charges the difference from a small
// helper (`faultline hog --charge`, exec'd inside the target's cgroup), so the kernel OOM-kills
// as v2 would; in `limit-only` mode the limit stays, and a fault whose limit was refused never
// took effect (a refused apply is skipped, a ramp refused at every step never held). Every event
// text says which of these happened.
#pragma once

#include <sys/types.h>

#include "injectors/injector.h"

namespace faultline::injectors {

class MemoryInjector final : public Injector {
 public:
  // `faultline_executable` and `launch_helper` start the charging helper; without them a v1
  // squeeze in `charge` mode fails with an error that says so.
  explicit MemoryInjector(const scenario::MemoryFault& fault, std::string faultline_executable = {},
                          HelperLauncher launch_helper = {});
  std::string apply(const Target& target) override;
  std::string revert(const Target& target) override;
  std::string describe() const override;
  std::optional<Duration> step_interval() const override;
  std::optional<std::string> step(const Target& target) override;
  // A ramp that never reached its limit and OOM-killed nothing on the way: reverted before its
  // first step or short of its last, or (limit-only) every step refused by cgroup v1.
  std::optional<std::string> never_held() const override;

  // The charging helper's command line, for tests.
  std::vector<std::string> charge_argv(std::uint64_t bytes) const;

  // Ramps move every 100ms (fewer steps when `over` is short), enough to look continuous to a
  // target while keeping the cgroup writes cheap.
  static constexpr Duration kRampStep = std::chrono::milliseconds(100);
  // How long the helper may take to charge (its start, the OOM kill it causes) before it is
  // killed and the squeeze fails: generous, a loaded machine takes seconds.
  static constexpr Duration kChargeTimeout = std::chrono::seconds(10);

 private:
  struct Ramp {
    bool hard = true;  // memory.max, else memory.high
    std::uint64_t from = 0, to = 0;
    std::uint32_t steps = 0, done = 0;
    Duration interval{0};
    bool ended = false;                    // reverted: no step follows
    std::optional<std::uint64_t> reached;  // the last value a step wrote
    std::optional<std::uint64_t> oom_kills_at_start;
    bool oom_killed = false;  // the OOM killer acted in the cgroup between apply and revert
  };
  // Writes one value; returns what happened beyond "it was set" (a charge, a refusal), or "".
  std::string write(cgroup::Cgroup& group, bool hard, std::uint64_t bytes);
  std::string set_hard_limit(cgroup::Cgroup& group, std::uint64_t bytes);
  void charge(cgroup::Cgroup& group, std::uint64_t bytes);

  scenario::MemoryFault fault_;
  std::string executable_;
  HelperLauncher launch_;
  std::optional<std::uint64_t> old_max_, old_high_;
  bool max_written_ = false;        // whether a hard limit write was taken (limit-only: not refused)
  bool high_written_ = false;       // whether memory.high was written
  std::uint64_t writes_taken_ = 0;  // writes of either knob the kernel took
  std::optional<Ramp> ramp_;
};

}  // namespace faultline::injectors
