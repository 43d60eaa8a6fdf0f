// The limits a process is under through the cgroups it was started in. Throwaway cgroups are
// made under a parent near the top of each hierarchy (/faultline), so a command started from a
// CI job whose own cgroup limits memory, processes or CPU would leave that limit behind when it
// moves into its run's cgroup: a test the job's limit OOM-kills would pass under faultline.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "cgroup/mountinfo.h"

namespace faultline::cgroup {

template <typename T>
struct EnclosingLimit {
  T value{};
  std::string cgroup;  // the hierarchy path that sets it, e.g. "/system.slice/runner.service"
};

struct EnclosingLimits {
  std::optional<EnclosingLimit<std::uint64_t>> memory;  // bytes
  // Bytes of swap beyond `memory`: v2 memory.swap.max; v1 the tightest memsw.limit_in_bytes
  // minus `memory` (v1 bounds swap only through their sum), `cgroup` the one with that memsw.
  std::optional<EnclosingLimit<std::uint64_t>> swap;
  std::optional<EnclosingLimit<std::uint64_t>> pids;
  std::optional<EnclosingLimit<double>> cpus;  // quota / period
};

// For memory (and swap), pids and cpu: the tightest limit set on the cgroup `proc_cgroup` (the text of
// /proc/<pid>/cgroup) names in that controller's hierarchy, or on one of its ancestors, that the
// faultline parent is not inside. `parent` is where runs are made, relative to each mount point
// ("faultline"): a mount of a sub-tree (a container's) puts it below that sub-tree. Nothing where
// the parent lies inside the process's own cgroup, or where no limit is set.
EnclosingLimits enclosing_limits(const HostCgroups& host, std::string_view proc_cgroup,
                                 const std::filesystem::path& parent);

}  // namespace faultline::cgroup
