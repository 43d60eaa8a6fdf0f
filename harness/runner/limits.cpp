#include "runner/limits.h"

#include <cmath>

namespace faultline::runner {

std::optional<std::string> unsupported_limit(const cgroup::Cgroup& group, const scenario::Limits& limits) {
  using cgroup::Knob;
  struct Wanted {
    bool set;
    Knob knob;
    const char* key;
  };
  const Wanted wanted[] = {
      {limits.memory.has_value(), Knob::memory_max, "memory"},
      {limits.memory_high.has_value(), Knob::memory_high, "memory_high"},
      {limits.swap.has_value(), Knob::swap_max, "swap"},
      {limits.cpu.has_value() || limits.cpu_period.has_value(), Knob::cpu_max, "cpu"},
      {limits.cpuset.has_value(), Knob::cpuset, "cpuset"},
      {limits.pids.has_value(), Knob::pids_max, "pids"},
  };
  for (const auto& w : wanted) {
    if (!w.set) continue;
    if (auto why = group.unsupported(w.knob)) return "limits." + std::string(w.key) + ": " + *why;
  }
  return std::nullopt;
}

void apply_limits(cgroup::Cgroup& group, const scenario::Limits& limits) {
  // Swap first when lowering memory is the backend's concern (memsw ordering on v1).
  if (limits.memory) group.set_memory_max(*limits.memory);
  if (limits.swap) group.set_swap_max(*limits.swap);
  if (limits.memory_high) group.set_memory_high(*limits.memory_high);
  if (limits.cpu || limits.cpu_period) {
    cgroup::CpuMax cpu;
    cpu.cpus = limits.cpu.value_or(INFINITY);
    if (limits.cpu_period) cpu.period = *limits.cpu_period;
    group.set_cpu_max(cpu);
  }
  if (limits.cpuset) group.set_cpuset(*limits.cpuset);
  if (limits.pids) group.set_pids_max(*limits.pids);
}

}  // namespace faultline::runner
