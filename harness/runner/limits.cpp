#include "runner/limits.h"

#include <sched.h>

#include <cmath>

#include "common/error.h"
#include "common/units.h"

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

std::optional<std::string> cpu_limit_without_effect(const cgroup::Cgroup& parent,
                                                    const scenario::Limits& limits) {
  if (!limits.cpu || !std::isfinite(*limits.cpu)) return std::nullopt;
  const double quota = *limits.cpu;
  // The CPUs the process may run on: its own cpuset, else the one it inherits, else faultline's
  // affinity (no cpuset to read: v2 without the controller).
  std::optional<std::size_t> cpus;
  try {
    if (auto set = parse_cpu_list(limits.cpuset ? *limits.cpuset : parent.cpuset()); set && !set->empty())
      cpus = set->size();
  } catch (const Error&) {
  }
  if (!cpus) {
    cpu_set_t allowed;
    CPU_ZERO(&allowed);
    if (::sched_getaffinity(0, sizeof allowed, &allowed) == 0)
      cpus = static_cast<std::size_t>(CPU_COUNT(&allowed));
  }
  // The quota the run's cgroup holds (the caller's, kept: a CI job's CPU limit) binds first.
  std::optional<double> enclosing;
  try {
    if (const double held = parent.cpu_max().cpus; std::isfinite(held)) enclosing = held;
  } catch (const Error&) {
  }
  std::string why;
  if (enclosing && quota >= *enclosing && (!cpus || *enclosing < static_cast<double>(*cpus)))
    why = "cpu " + format_cpu(quota) + " cannot throttle more than the " + format_cpu(*enclosing) +
          " the run's cgroup holds (the caller's CPU limit): the process runs under that one";
  else if (cpus && *cpus > 0 && quota >= static_cast<double>(*cpus))
    why = "cpu " + format_cpu(quota) + " cannot throttle a process that may run on " + std::to_string(*cpus) +
          " CPU(s): it runs unthrottled";
  else
    return std::nullopt;
  // `cpu = "50"` is fifty CPUs, the likely meaning a share of one: no one writes 1000% and more.
  if (quota >= 10 && quota == std::floor(quota))
    why += " (\"" + std::to_string(static_cast<std::uint64_t>(quota)) + "\" is " +
           std::to_string(static_cast<std::uint64_t>(quota)) +
           " CPUs; a share of one CPU is written with %, e.g. \"50%\")";
  return why;
}

bool swap_limit_holds_nothing(cgroup::Mode mode, const scenario::Limits& limits) {
  return limits.swap && *limits.swap != kUnlimited && (!limits.memory || *limits.memory == kUnlimited) &&
         mode != cgroup::Mode::v2;
}

std::vector<std::string> keep_caller_limits(scenario::Limits& limits, const cgroup::EnclosingLimits& caller,
                                            const std::function<bool(cgroup::Knob)>& applies) {
  using cgroup::Knob;
  std::vector<std::string> kept;
  const auto tighter = [](const auto& own, const auto& theirs) { return !own || *own > theirs.value; };
  if (caller.memory && applies(Knob::memory_max) && tighter(limits.memory, *caller.memory)) {
    limits.memory = caller.memory->value;
    kept.push_back("memory limit " + format_size(caller.memory->value) + " (cgroup " + caller.memory->cgroup +
                   ")");
  }
  // A job that may not swap (a runner's MemorySwapMax=0) OOM-kills what outgrows its memory; left
  // behind, its test would swap and pass.
  if (caller.swap && applies(Knob::swap_max) && tighter(limits.swap, *caller.swap)) {
    limits.swap = caller.swap->value;
    kept.push_back("swap limit " + format_size(caller.swap->value) + " (cgroup " + caller.swap->cgroup + ")");
  }
  if (caller.pids && applies(Knob::pids_max) && tighter(limits.pids, *caller.pids)) {
    limits.pids = caller.pids->value;
    kept.push_back("pids limit " + std::to_string(caller.pids->value) + " (cgroup " + caller.pids->cgroup +
                   ")");
  }
  if (caller.cpus && applies(Knob::cpu_max) && tighter(limits.cpu, *caller.cpus)) {
    limits.cpu = caller.cpus->value;
    kept.push_back("CPU limit " + format_cpu(caller.cpus->value) + " (cgroup " + caller.cpus->cgroup + ")");
  }
  return kept;
}

}  // namespace faultline::runner
