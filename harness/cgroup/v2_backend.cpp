#include "cgroup/v2_backend.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>

#include "cgroup/cgroup_files.h"
#include "cgroup/enclosing_limits.h"
#include "common/error.h"

namespace faultline::cgroup {

namespace {

const std::vector<std::string> kWantedControllers = {"memory", "cpu", "pids", "cpuset"};

bool has_word(const std::string& text, const std::string& word) {
  auto words = split_words(text);
  return std::find(words.begin(), words.end(), word) != words.end();
}

const char* controller_of(Knob knob) {
  switch (knob) {
    case Knob::memory_max:
    case Knob::memory_high:
    case Knob::swap_max:
      return "memory";
    case Knob::cpu_max:
      return "cpu";
    case Knob::cpuset:
      return "cpuset";
    case Knob::pids_max:
      return "pids";
    case Knob::freeze:
    case Knob::kill:
      break;
  }
  return nullptr;
}

// The no-internal-processes rule: a cgroup with member processes cannot hand controllers to
// its children. Move every member (the harness, and whatever started it inside the delegated
// scope) into a leaf so the delegated cgroup itself becomes an inner node.
void move_members_to_leaf(const fs::path& dir) {
  auto leaf = dir / "supervisor";
  make_dir(leaf);
  write_file(leaf / "cgroup.procs", std::to_string(::getpid()));
  for (pid_t pid : parse_pid_list(read_file(dir / "cgroup.procs"))) {
    try_write_file(leaf / "cgroup.procs", std::to_string(pid));  // others may have exited meanwhile
  }
}

}  // namespace

EnableErrors enable_controllers(const fs::path& dir, const std::optional<fs::path>& movable_own_dir) {
  EnableErrors errors;
  auto offered = read_file(dir / "cgroup.controllers");
  bool moved = false;
  for (const auto& controller : kWantedControllers) {
    if (!has_word(offered, controller)) continue;
    if (has_word(read_file(dir / "cgroup.subtree_control"), controller)) continue;
    int err = try_write_file(dir / "cgroup.subtree_control", "+" + controller);
    if (err == EBUSY && !moved && movable_own_dir &&
        movable_own_dir->lexically_normal() == dir.lexically_normal()) {
      move_members_to_leaf(dir);
      moved = true;
      err = try_write_file(dir / "cgroup.subtree_control", "+" + controller);
    }
    if (err != 0) {
      errors[controller] =
          SystemError("write", "\"+" + controller + "\" to " + (dir / "cgroup.subtree_control").string(), err)
              .what();
    }
  }
  return errors;
}

V2Cgroup::V2Cgroup(fs::path dir, EnableErrors parent_errors)
    : CgroupTree(TreeDirs{dir.string(), {dir}, dir, std::nullopt}),
      dir_(std::move(dir)),
      parent_errors_(std::move(parent_errors)) {}

std::unique_ptr<Cgroup> V2Cgroup::create_child(const std::string& name) {
  check_cgroup_name(name);
  auto errors = enable_controllers(dir_, std::nullopt);
  auto child = dir_ / name;
  if (::mkdir(child.c_str(), 0755) != 0) throw_errno("mkdir", child.string());
  return std::make_unique<V2Cgroup>(child, std::move(errors));
}

std::optional<std::string> V2Cgroup::unsupported(Knob knob) const {
  if (knob == Knob::freeze) return freeze_unsupported();
  if (knob == Knob::kill) return std::nullopt;  // cgroup.kill, or freeze + SIGKILL + thaw before 5.14
  std::string controller = controller_of(knob);
  if (!has_word(read_file(dir_ / "cgroup.controllers"), controller)) {
    auto parent = dir_.parent_path();
    std::string why = "the `" + controller + "` controller is not enabled for " + dir_.string();
    if (auto it = parent_errors_.find(controller); it != parent_errors_.end()) {
      why += " (" + it->second + ")";
    } else if (!has_word(read_file_if_exists(parent / "cgroup.controllers").value_or(""), controller)) {
      why += " (" + parent.string() +
             " does not get it either: enable it in the cgroup.subtree_control of its "
             "ancestors, e.g. echo +" +
             controller + " > " + (parent.parent_path() / "cgroup.subtree_control").string() + ")";
    } else {
      why += " (missing from " + (parent / "cgroup.subtree_control").string() + ")";
    }
    return why;
  }
  if (knob == Knob::swap_max && !fs::exists(dir_ / "memory.swap.max")) {
    return "swap limits need memory.swap.max, which this kernel does not offer (swap accounting is off: "
           "CONFIG_MEMCG_SWAP, or swapaccount=0 on the kernel command line)";
  }
  return std::nullopt;
}

void V2Cgroup::set_memory_max(std::uint64_t bytes) {
  require(Knob::memory_max);
  write_file(dir_ / "memory.max", limit_text(bytes));
}

void V2Cgroup::set_memory_high(std::uint64_t bytes) {
  require(Knob::memory_high);
  write_file(dir_ / "memory.high", limit_text(bytes));
}

void V2Cgroup::set_swap_max(std::uint64_t bytes) {
  require(Knob::swap_max);
  write_file(dir_ / "memory.swap.max", limit_text(bytes));
}

void V2Cgroup::set_cpu_max(const CpuMax& cpu) {
  require(Knob::cpu_max);
  auto period =
      static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(cpu.period).count());
  auto quota = cpu_quota_usec(cpu.cpus, period);
  write_file(dir_ / "cpu.max", (quota ? std::to_string(*quota) : "max") + " " + std::to_string(period));
}

std::uint64_t V2Cgroup::memory_max() const { return read_limit(dir_ / "memory.max"); }
std::uint64_t V2Cgroup::memory_high() const { return read_limit(dir_ / "memory.high"); }

CpuMax V2Cgroup::cpu_max() const {
  auto text = read_file(dir_ / "cpu.max");
  auto line = parse_cpu_max_line(text);
  if (!line) throw Error((dir_ / "cpu.max").string() + ": unexpected content \"" + trim(text) + "\"");
  return CpuMax{cpus_from_quota(line->quota_usec, line->period_usec),
                std::chrono::microseconds(line->period_usec)};
}

std::string V2Cgroup::cpuset() const {
  // An empty cpuset.cpus means "whatever the parent has"; report what applies then.
  auto cpus = trim(read_file(dir_ / "cpuset.cpus"));
  return cpus.empty() ? trim(read_file(dir_ / "cpuset.cpus.effective")) : cpus;
}

Stats V2Cgroup::stats() const {
  Stats stats;
  if (auto text = read_file_if_exists(dir_ / "memory.current")) stats.memory_current = parse_u64(*text);
  if (auto text = read_file_if_exists(dir_ / "memory.peak")) stats.memory_peak = parse_u64(*text);  // 5.19+
  // memory.events is hierarchical (memory.events.local is not): OOMs of descendants count.
  if (auto text = read_file_if_exists(dir_ / "memory.events")) {
    stats.oom_events = keyed_value(*text, "oom").value_or(0);
    const auto kills = keyed_value(*text, "oom_kill");  // Linux 4.13+
    stats.oom_kills = kills.value_or(0);
    stats.oom_kills_counted = kills.has_value();
  }
  if (auto text = read_file_if_exists(dir_ / "cpu.stat")) {
    stats.cpu_usage_usec = keyed_value(*text, "usage_usec");
    stats.cpu_periods = keyed_value(*text, "nr_periods");
    stats.cpu_throttled_periods = keyed_value(*text, "nr_throttled");
    stats.cpu_throttled_usec = keyed_value(*text, "throttled_usec");
  }
  if (auto text = read_file_if_exists(dir_ / "pids.current")) stats.pids_current = parse_u64(*text);
  if (auto text = read_file_if_exists(dir_ / "pids.events")) {
    stats.pids_max_events = keyed_value(*text, "max").value_or(0);
    stats.pids_max_events_counted = true;
  }
  return stats;
}

V2Backend::V2Backend(CgroupMount mount, fs::path parent, std::optional<fs::path> own_dir,
                     std::string own_cgroups)
    : BackendBase(std::move(own_cgroups)),
      mount_(std::move(mount)),
      parent_(std::move(parent)),
      own_dir_(std::move(own_dir)) {}

EnclosingLimits V2Backend::enclosing_limits() const {
  HostCgroups host;
  host.mode = Mode::v2;
  host.unified = mount_;
  return cgroup::enclosing_limits(host, own_cgroups(),
                                  parent_.lexically_normal().lexically_relative(mount_.mount_point));
}

void V2Backend::ensure_parent() {
  // Every level from the mount down to the parent hands the controllers on; the levels above
  // the parent may belong to someone else (a delegating systemd): there only what is missing
  // is written, and a refusal just leaves that controller unsupported.
  std::vector<fs::path> levels;
  for (fs::path level = parent_;; level = level.parent_path()) {
    levels.push_back(level);
    if (level == mount_.mount_point || level == level.parent_path() || level.empty()) break;
  }
  std::reverse(levels.begin(), levels.end());
  parent_errors_.clear();
  for (const auto& level : levels) {
    make_dir(level);
    auto errors = enable_controllers(level, own_dir_);
    if (level == parent_) parent_errors_ = errors;
  }
}

std::unique_ptr<Cgroup> V2Backend::create_run(const std::string& run_name) {
  check_cgroup_name(run_name);
  auto dir = parent_ / run_name;
  if (::mkdir(dir.c_str(), 0755) != 0) throw_errno("mkdir", dir.string());
  auto run = std::make_unique<V2Cgroup>(dir, parent_errors_);
  // Hand the controllers on right away so the run can hold one child per process.
  enable_controllers(dir, std::nullopt);
  return run;
}

std::unique_ptr<Cgroup> V2Backend::create_leaf_run(const std::string& run_name, const std::vector<Knob>&) {
  // One directory whatever the limits; as a leaf it delegates nothing further.
  check_cgroup_name(run_name);
  auto dir = parent_ / run_name;
  if (::mkdir(dir.c_str(), 0755) != 0) throw_errno("mkdir", dir.string());
  return std::make_unique<V2Cgroup>(dir, parent_errors_);
}

std::unique_ptr<Cgroup> V2Backend::open_run(const std::string& run_name) const {
  return std::make_unique<V2Cgroup>(parent_ / run_name, EnableErrors{});
}

std::string V2Backend::controller_location(const std::string& controller) const {
  if (controller == "freezer") return "cgroup.freeze (cgroup v2 at " + mount_.mount_point.string() + ")";
  if (controller == "kill") {
    return fs::exists(parent_ / "cgroup.kill")
               ? "cgroup.kill (cgroup v2 at " + mount_.mount_point.string() + ")"
               : "emulated (no cgroup.kill before Linux 5.14): freeze, SIGKILL every "
                 "member, thaw";
  }
  return "cgroup v2 at " + mount_.mount_point.string();
}

}  // namespace faultline::cgroup
