#include "cgroup/v1_backend.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <functional>

#include "cgroup/cgroup_files.h"
#include "cgroup/enclosing_limits.h"
#include "common/error.h"

namespace faultline::cgroup {

namespace {

constexpr std::uint64_t kNsPerUsec = 1000;

std::string v1_limit_text(std::uint64_t value) { return value == kUnlimited ? "-1" : std::to_string(value); }

std::uint64_t saturating_add(std::uint64_t a, std::uint64_t b) {
  return (a == kUnlimited || b == kUnlimited || a > kUnlimited - b) ? kUnlimited : a + b;
}

std::string not_mounted(const std::string& controller) {
  return "the cgroup v1 `" + controller + "` controller is not mounted (no `" + controller +
         "` hierarchy in /proc/self/mountinfo; mount it: mount -t cgroup -o " + controller +
         " cgroup /sys/fs/cgroup/" + controller + ")";
}

std::uint64_t read_number(const fs::path& file) {
  auto text = read_file(file);
  auto value = parse_u64(text);
  if (!value) throw Error(file.string() + ": unexpected content \"" + trim(text) + "\"");
  return *value;
}

std::uint64_t read_bytes_limit(const fs::path& file) {
  auto text = read_file(file);
  auto value = parse_v1_bytes_limit(text);
  if (!value) throw Error(file.string() + ": unexpected content \"" + trim(text) + "\"");
  return *value;
}

// Sum of a keyed counter over a cgroup and all its descendants: v1 counts OOM kills and refused
// forks only in the cgroup of the task concerned, not in its ancestors.
std::uint64_t subtree_sum(const fs::path& dir, const std::string& file,
                          const std::function<std::uint64_t(const std::string&)>& value_of) {
  std::uint64_t sum = 0;
  if (auto text = read_file_if_exists(dir / file)) sum += value_of(*text);
  for (const auto& child : subdirectories(dir)) sum += subtree_sum(child, file, value_of);
  return sum;
}

// A freshly made cpuset cgroup has empty cpus and mems, and the kernel refuses members until
// both are set; copy the parent's.
void fill_cpuset(const fs::path& dir) {
  for (const char* file : {"cpuset.cpus", "cpuset.mems"}) {
    if (!trim(read_file(dir / file)).empty()) continue;
    auto inherited = trim(read_file(dir.parent_path() / file));
    if (inherited.empty())
      throw Error((dir.parent_path() / file).string() + " is empty: cannot fill " + (dir / file).string());
    write_file(dir / file, inherited);
  }
}

}  // namespace

V1Layout V1Layout::from(const HostCgroups& host) {
  V1Layout layout;
  for (const auto& controller : kV1Controllers) {
    auto it = host.v1.find(controller);
    if (it == host.v1.end()) continue;
    layout.controller_mounts[controller] = it->second.mount_point;
    if (std::find(layout.hierarchy_mounts.begin(), layout.hierarchy_mounts.end(), it->second.mount_point) ==
        layout.hierarchy_mounts.end()) {
      layout.hierarchy_mounts.push_back(it->second.mount_point);
    }
  }
  if (host.unified) layout.unified_mount = host.unified->mount_point;
  return layout;
}

std::vector<fs::path> V1Layout::dirs(const fs::path& relative) const {
  // Unified first: a process attaches by writing to each directory in this order, and once it
  // is in the unified one, cgroup.kill reaches it even if it is killed half-way through.
  std::vector<fs::path> result;
  if (unified_mount) result.push_back(*unified_mount / relative);
  for (const auto& mount : hierarchy_mounts) result.push_back(mount / relative);
  return result;
}

std::optional<fs::path> V1Layout::dir(const std::string& controller, const fs::path& relative) const {
  auto it = controller_mounts.find(controller);
  if (it == controller_mounts.end()) return std::nullopt;
  return it->second / relative;
}

std::string V1Layout::describe(const fs::path& relative) const {
  std::vector<fs::path> mounts = hierarchy_mounts;
  if (unified_mount) mounts.push_back(*unified_mount);
  if (mounts.empty()) return relative.string();
  bool same_parent = std::all_of(mounts.begin(), mounts.end(), [&](const fs::path& m) {
    return m.parent_path() == mounts.front().parent_path();
  });
  if (mounts.size() == 1 || !same_parent) {
    std::string text;
    for (const auto& mount : mounts) text += (text.empty() ? "" : ", ") + (mount / relative).string();
    return text;
  }
  std::string names;
  for (const auto& mount : mounts) names += (names.empty() ? "" : ",") + mount.filename().string();
  return (mounts.front().parent_path() / ("{" + names + "}") / relative).string();
}

V1Layout V1Layout::only(const std::vector<std::string>& controllers) const {
  V1Layout subset;
  subset.unified_mount = unified_mount;
  for (const auto& mount : hierarchy_mounts) {
    const bool wanted = std::any_of(controllers.begin(), controllers.end(), [&](const std::string& c) {
      auto it = controller_mounts.find(c);
      return it != controller_mounts.end() && it->second == mount;
    });
    if (!wanted) continue;
    subset.hierarchy_mounts.push_back(mount);
    for (const auto& [controller, at] : controller_mounts)
      if (at == mount) subset.controller_mounts[controller] = at;
  }
  return subset;
}

void make_v1_dirs(const V1Layout& layout, const fs::path& relative, bool existing_ok) {
  std::vector<fs::path> created;
  try {
    for (const auto& dir : layout.dirs(relative)) {
      if (::mkdir(dir.c_str(), 0755) == 0) {
        created.push_back(dir);
      } else if (const int err = errno; err != EEXIST || !existing_ok || !directory_exists(dir)) {
        throw SystemError("mkdir", dir.string(), err);
      }
    }
    if (auto cpuset = layout.dir("cpuset", relative)) fill_cpuset(*cpuset);
    if (auto memory = layout.dir("memory", relative)) {
      // Kernels before 5.x start with use_hierarchy 0, which would let a child escape the
      // parent's limit; it can only be switched while the cgroup has no children.
      auto flag = *memory / "memory.use_hierarchy";
      if (auto text = read_file_if_exists(flag); text && trim(*text) == "0") {
        if (const int err = try_write_file(flag, "1"); err != 0)
          throw SystemError("write", "\"1\" to " + flag.string(), err)
              .with_context(
                  "enabling memory.use_hierarchy (without it a limit does not bound the "
                  "cgroup's children; hint: it needs a parent with use_hierarchy 1)");
      }
    }
  } catch (...) {
    for (auto it = created.rbegin(); it != created.rend(); ++it) ::rmdir(it->c_str());
    throw;
  }
}

V1Cgroup::V1Cgroup(std::shared_ptr<const V1Layout> layout, fs::path relative)
    : CgroupTree(TreeDirs{
          layout->describe(relative), layout->dirs(relative),
          layout->unified_mount ? std::optional<fs::path>(*layout->unified_mount / relative) : std::nullopt,
          layout->dir("freezer", relative)}),
      layout_(std::move(layout)),
      relative_(std::move(relative)) {}

std::unique_ptr<Cgroup> V1Cgroup::create_child(const std::string& name) {
  check_cgroup_name(name);
  make_v1_dirs(*layout_, relative_ / name, false);
  return std::make_unique<V1Cgroup>(layout_, relative_ / name);
}

fs::path V1Cgroup::controller_dir(const std::string& controller) const {
  auto dir = layout_->dir(controller, relative_);
  if (!dir) throw Error(not_mounted(controller));
  return *dir;
}

std::optional<std::string> V1Cgroup::unsupported(Knob knob) const {
  auto mounted = [&](const std::string& controller) {
    return layout_->controller_mounts.count(controller) > 0;
  };
  switch (knob) {
    case Knob::memory_max:
      if (!mounted("memory")) return not_mounted("memory");
      return std::nullopt;
    case Knob::memory_high:
      return std::string(
          "memory_high needs cgroup v2 (memory.high); this host's memory controller is cgroup v1");
    case Knob::swap_max:
      if (!mounted("memory")) return not_mounted("memory");
      if (!fs::exists(controller_dir("memory") / "memory.memsw.limit_in_bytes")) {
        return std::string(
            "swap limits need memory.memsw.limit_in_bytes, which this kernel does not offer (swap accounting "
            "is "
            "off: boot with swapaccount=1)");
      }
      return std::nullopt;
    case Knob::cpu_max:
      if (!mounted("cpu")) return not_mounted("cpu");
      if (!fs::exists(controller_dir("cpu") / "cpu.cfs_quota_us")) {
        return std::string("cpu.cfs_quota_us is missing: the kernel was built without CONFIG_CFS_BANDWIDTH");
      }
      return std::nullopt;
    case Knob::cpuset:
      if (!mounted("cpuset")) return not_mounted("cpuset");
      return std::nullopt;
    case Knob::pids_max:
      if (!mounted("pids")) return not_mounted("pids");
      return std::nullopt;
    case Knob::freeze:
      return freeze_unsupported();
    case Knob::kill:
      return std::nullopt;  // cgroup.kill on the unified mount, else freeze + SIGKILL + thaw
  }
  return std::nullopt;
}

void V1Cgroup::write_memory_limits(std::uint64_t limit, std::uint64_t memsw) {
  auto dir = controller_dir("memory");
  auto limit_file = dir / "memory.limit_in_bytes";
  auto memsw_file = dir / "memory.memsw.limit_in_bytes";
  if (!fs::exists(memsw_file)) {
    write_file(limit_file, v1_limit_text(limit));
    return;
  }
  // The kernel keeps memsw >= limit at every step: when the new limit exceeds the current
  // memsw, raise memsw first; otherwise lower (or set) the limit first.
  if (limit > read_bytes_limit(memsw_file)) {
    write_file(memsw_file, v1_limit_text(memsw));
    write_file(limit_file, v1_limit_text(limit));
    return;
  }
  const std::uint64_t old_limit = read_bytes_limit(limit_file);
  write_file(limit_file, v1_limit_text(limit));
  try {
    write_file(memsw_file, v1_limit_text(memsw));
  } catch (const Error&) {
    // memsw refused (EBUSY: swap in use counts against it, and reclaim does not shrink it): put
    // the limit back, so that a refusal means nothing changed, as it does for the limit itself.
    try {
      write_file(limit_file, v1_limit_text(old_limit));
    } catch (const Error&) {
    }
    throw;
  }
}

void V1Cgroup::set_memory_max(std::uint64_t bytes) {
  require(Knob::memory_max);
  write_memory_limits(bytes, saturating_add(bytes, swap_max_));
}

void V1Cgroup::set_memory_high(std::uint64_t) { require(Knob::memory_high); }

void V1Cgroup::set_swap_max(std::uint64_t bytes) {
  require(Knob::swap_max);
  swap_max_ = bytes;
  auto limit = memory_max();
  write_memory_limits(limit, saturating_add(limit, bytes));
}

void V1Cgroup::set_cpu_max(const CpuMax& cpu) {
  require(Knob::cpu_max);
  auto dir = controller_dir("cpu");
  auto period =
      static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(cpu.period).count());
  auto quota = cpu_quota_usec(cpu.cpus, period);
  const std::string quota_text = quota ? std::to_string(*quota) : "-1";
  // v1 checks each write against the parent's quota: a shorter period under the old quota can
  // exceed it for a moment (20% of 1s, then a 100ms period: 200%), and EINVAL. Then the quota
  // goes first (runc does the same).
  try {
    write_file(dir / "cpu.cfs_period_us", std::to_string(period));
  } catch (const SystemError& e) {
    if (e.code() != EINVAL) throw;
    write_file(dir / "cpu.cfs_quota_us", quota_text);
    write_file(dir / "cpu.cfs_period_us", std::to_string(period));
    return;
  }
  write_file(dir / "cpu.cfs_quota_us", quota_text);
}

std::uint64_t V1Cgroup::memory_max() const {
  return read_bytes_limit(controller_dir("memory") / "memory.limit_in_bytes");
}

std::uint64_t V1Cgroup::memory_high() const { return kUnlimited; }  // v1 has no high limit

CpuMax V1Cgroup::cpu_max() const {
  auto dir = controller_dir("cpu");
  auto period = read_number(dir / "cpu.cfs_period_us");
  auto quota_text = trim(read_file(dir / "cpu.cfs_quota_us"));
  std::optional<std::uint64_t> quota;
  if (quota_text != "-1") {
    quota = parse_u64(quota_text);
    if (!quota)
      throw Error((dir / "cpu.cfs_quota_us").string() + ": unexpected content \"" + quota_text + "\"");
  }
  return CpuMax{cpus_from_quota(quota, period), std::chrono::microseconds(period)};
}

std::string V1Cgroup::cpuset() const { return trim(read_file(controller_dir("cpuset") / "cpuset.cpus")); }

Stats V1Cgroup::stats() const {
  Stats stats;
  if (auto memory = layout_->dir("memory", relative_)) {
    if (auto text = read_file_if_exists(*memory / "memory.usage_in_bytes"))
      stats.memory_current = parse_u64(*text);
    if (auto text = read_file_if_exists(*memory / "memory.max_usage_in_bytes"))
      stats.memory_peak = parse_u64(*text);
    stats.oom_kills = subtree_sum(*memory, "memory.oom_control", [](const std::string& text) {
      return keyed_value(text, "oom_kill").value_or(0);
    });
    if (auto text = read_file_if_exists(*memory / "memory.oom_control"))
      stats.oom_kills_counted = keyed_value(*text, "oom_kill").has_value();  // Linux 4.13+
    // v1 counts no OOM invocations, only kills; a group at its limit with the killer disabled
    // shows under_oom 1 and no kill. Count each cgroup's kills, or 1 while it is under OOM.
    stats.oom_events = subtree_sum(*memory, "memory.oom_control", [](const std::string& text) {
      return std::max(keyed_value(text, "oom_kill").value_or(0), keyed_value(text, "under_oom").value_or(0));
    });
  }
  if (auto cpuacct = layout_->dir("cpuacct", relative_)) {
    if (auto text = read_file_if_exists(*cpuacct / "cpuacct.usage")) {
      if (auto ns = parse_u64(*text)) stats.cpu_usage_usec = *ns / kNsPerUsec;
    }
  } else if (layout_->unified_mount) {
    // A group made only where its limits need it (exec --memory) has no cpuacct directory; the
    // unified mount's cpu.stat counts the same CPU time in every cgroup, controllers or not.
    if (auto text = read_file_if_exists(*layout_->unified_mount / relative_ / "cpu.stat"))
      stats.cpu_usage_usec = keyed_value(*text, "usage_usec");
  }
  if (auto cpu = layout_->dir("cpu", relative_)) {
    if (auto text = read_file_if_exists(*cpu / "cpu.stat")) {
      stats.cpu_periods = keyed_value(*text, "nr_periods");
      stats.cpu_throttled_periods = keyed_value(*text, "nr_throttled");
      if (auto ns = keyed_value(*text, "throttled_time")) stats.cpu_throttled_usec = *ns / kNsPerUsec;
    }
  }
  if (auto pids = layout_->dir("pids", relative_)) {
    if (auto text = read_file_if_exists(*pids / "pids.current")) stats.pids_current = parse_u64(*text);
    stats.pids_max_events = subtree_sum(
        *pids, "pids.events", [](const std::string& text) { return keyed_value(text, "max").value_or(0); });
    stats.pids_max_events_counted = fs::exists(*pids / "pids.events");
  }
  return stats;
}

V1Backend::V1Backend(const HostCgroups& host, fs::path parent, std::string own_cgroups)
    : BackendBase(std::move(own_cgroups)),
      host_(host),
      layout_(std::make_shared<V1Layout>(V1Layout::from(host))),
      parent_(parent.relative_path()) {}

EnclosingLimits V1Backend::enclosing_limits() const {
  return cgroup::enclosing_limits(host_, own_cgroups(), parent_);
}

void V1Backend::ensure_parent() {
  fs::path level;
  for (const auto& part : parent_) {
    level /= part;
    make_v1_dirs(*layout_, level, true);
  }
}

std::unique_ptr<Cgroup> V1Backend::create_run(const std::string& run_name) {
  check_cgroup_name(run_name);
  make_v1_dirs(*layout_, parent_ / run_name, false);
  return std::make_unique<V1Cgroup>(layout_, parent_ / run_name);
}

std::unique_ptr<Cgroup> V1Backend::create_leaf_run(const std::string& run_name,
                                                   const std::vector<Knob>& knobs) {
  check_cgroup_name(run_name);
  std::vector<std::string> controllers;
  for (Knob knob : knobs) {
    switch (knob) {
      case Knob::memory_max:
      case Knob::memory_high:
      case Knob::swap_max:
        controllers.push_back("memory");
        break;
      case Knob::cpu_max:
        controllers.push_back("cpu");
        // CPU time is read from cpuacct, which may be a hierarchy of its own; a hybrid host's
        // unified mount counts it too (stats()), so only legacy v1 needs the extra directory.
        if (!layout_->unified_mount) controllers.push_back("cpuacct");
        break;
      case Knob::cpuset:
        controllers.push_back("cpuset");
        break;
      case Knob::pids_max:
        controllers.push_back("pids");
        break;
      case Knob::freeze:
      case Knob::kill:
        break;
    }
  }
  // Killing and "empty" go through cgroup.kill and cgroup.events of the unified mount; without
  // cgroup.kill (before Linux 5.14, or legacy v1) the kill freezes first, so keep the freezer.
  const bool unified_kills = layout_->unified_mount &&
                             ::access((*layout_->unified_mount / parent_ / "cgroup.kill").c_str(), F_OK) == 0;
  if (!unified_kills) controllers.push_back("freezer");
  auto subset = std::make_shared<V1Layout>(layout_->only(controllers));
  // Legacy v1 without a freezer: any one hierarchy, so that the process is found and killed.
  if (subset->hierarchy_mounts.empty() && !subset->unified_mount && !layout_->hierarchy_mounts.empty())
    subset->hierarchy_mounts.push_back(layout_->hierarchy_mounts.front());
  make_v1_dirs(*subset, parent_ / run_name, false);
  return std::make_unique<V1Cgroup>(std::move(subset), parent_ / run_name);
}

std::unique_ptr<Cgroup> V1Backend::open_run(const std::string& run_name) const {
  return std::make_unique<V1Cgroup>(layout_, parent_ / run_name);
}

std::string V1Backend::controller_location(const std::string& controller) const {
  if (controller == "kill") {
    return layout_->unified_mount ? "cgroup.kill in the unified hierarchy " + layout_->unified_mount->string()
                                  : "emulated: freeze, SIGKILL every member, thaw";
  }
  if (controller == "freezer" && layout_->unified_mount) {
    return "cgroup.freeze in the unified hierarchy " + layout_->unified_mount->string();
  }
  auto it = layout_->controller_mounts.find(controller);
  if (it == layout_->controller_mounts.end()) return not_mounted(controller);
  return "cgroup v1 hierarchy " + it->second.string();
}

}  // namespace faultline::cgroup
