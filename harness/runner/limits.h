// Static limits from [process.limits] (or `faultline exec` flags) onto a process cgroup.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "cgroup/backend.h"
#include "cgroup/cgroup.h"
#include "cgroup/enclosing_limits.h"
#include "scenario/model.h"

namespace faultline::runner {

// The first limit this host cannot apply, as "limits.memory_high: <why>", or nullopt.
std::optional<std::string> unsupported_limit(const cgroup::Cgroup& group, const scenario::Limits& limits);

// Writes every cgroup limit (nofile is applied by the child before exec, not here).
void apply_limits(cgroup::Cgroup& group, const scenario::Limits& limits);

// Why the CPU quota of `limits`, for a process made under `parent` (the run's cgroup), cannot
// throttle it: a quota at or above the CPUs it may run on (its cpuset, else the one inherited,
// else faultline's affinity), or at or above the quota `parent` holds (the caller's, kept), as
// "cpu 5000% cannot throttle ...", or nullopt. A scenario that says `cpu = "50"` meaning 50%
// would otherwise run unthrottled and pass without a word.
std::optional<std::string> cpu_limit_without_effect(const cgroup::Cgroup& parent,
                                                    const scenario::Limits& limits);

// cgroup v1 bounds swap only through memory.memsw = memory + swap: there a swap limit without a
// memory limit holds nothing (a scenario's holds from a memory fault's limit on).
bool swap_limit_holds_nothing(cgroup::Mode mode, const scenario::Limits& limits);

// Throwaway cgroups are made under the faultline parent, outside the caller's own cgroup, whose
// limits (a CI job's memory, swap, pids or CPU) would no longer hold what runs there. Tightens `limits`
// to each of `caller`'s where `applies(knob)` and `limits` sets none or a looser one; returns what
// was kept, as "memory limit 64MiB (cgroup /job)".
std::vector<std::string> keep_caller_limits(scenario::Limits& limits, const cgroup::EnclosingLimits& caller,
                                            const std::function<bool(cgroup::Knob)>& applies);

}  // namespace faultline::runner
