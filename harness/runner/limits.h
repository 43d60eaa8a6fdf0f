// Static limits from [process.limits] (or `faultline exec` flags) onto a process cgroup.
#pragma once

#include <optional>
#include <string>

#include "cgroup/cgroup.h"
#include "scenario/model.h"

namespace faultline::runner {

// The first limit this host cannot apply, as "limits.memory_high: <why>", or nullopt.
std::optional<std::string> unsupported_limit(const cgroup::Cgroup& group, const scenario::Limits& limits);

// Writes every cgroup limit (nofile is applied by the child before exec, not here).
void apply_limits(cgroup::Cgroup& group, const scenario::Limits& limits);

}  // namespace faultline::runner
