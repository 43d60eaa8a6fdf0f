// Which cgroup hierarchies this host mounts, from /proc/self/mountinfo, and what mode that is.
// Pure functions of the file contents so the three host shapes can be unit-tested.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cgroup/backend.h"

namespace faultline::cgroup {

// One `cgroup` or `cgroup2` line of mountinfo.
struct CgroupMount {
  std::filesystem::path mount_point;     // octal escapes (\040) decoded
  std::string root;                      // the hierarchy path mounted there (field 4), "/" usually
  bool v2 = false;                       // fstype cgroup2
  std::vector<std::string> controllers;  // v1 only, from the super options: "cpu", "cpuacct", ...
};

std::vector<CgroupMount> parse_cgroup_mounts(std::string_view mountinfo);

// The v1 controllers faultline uses, in the order they are listed in messages.
inline const std::vector<std::string> kV1Controllers = {"memory", "cpu",  "cpuacct",
                                                        "cpuset", "pids", "freezer"};

struct HostCgroups {
  Mode mode = Mode::v2;
  // v2: the cgroup2 mount; hybrid: the cgroup2 mount beside the v1 ones (e.g. <root>/unified).
  std::optional<CgroupMount> unified;
  // v1 and hybrid: controller -> its hierarchy, only for the controllers in kV1Controllers.
  // Co-mounted controllers ("cpu,cpuacct") map to the same mount.
  std::map<std::string, CgroupMount> v1;
};

// `mount_root_is_cgroup2`: statfs(mount_root) said CGROUP2_SUPER_MAGIC. nullopt (and `why`)
// when no usable hierarchy is mounted.
std::optional<HostCgroups> classify_host(const std::vector<CgroupMount>& mounts,
                                         const std::filesystem::path& mount_root, bool mount_root_is_cgroup2,
                                         std::string* why);

// /proc/self/cgroup: hierarchy key -> cgroup path. The key is the controller list of a v1 line
// ("cpu,cpuacct", "name=systemd") or "" for the v2 line ("0::/user.slice/...").
std::map<std::string, std::string> parse_proc_cgroup(std::string_view text);

// Where the hierarchy path `cgroup_path` appears under `mount` (mounts of a sub-tree have
// root != "/"); nullopt when it is outside what is mounted there.
std::optional<std::filesystem::path> cgroup_dir(const CgroupMount& mount, const std::string& cgroup_path);

}  // namespace faultline::cgroup
