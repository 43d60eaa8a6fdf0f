#include "cgroup/backend.h"

#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <set>

#include "cgroup/backend_base.h"
#include "cgroup/cgroup_files.h"
#include "cgroup/cgroup_tree.h"
#include "cgroup/layout.h"
#include "cgroup/mountinfo.h"
#include "cgroup/v1_backend.h"
#include "cgroup/v2_backend.h"

namespace faultline::cgroup {

namespace fs = std::filesystem;

const char* to_string(Mode mode) {
  switch (mode) {
    case Mode::v2:
      return "v2";
    case Mode::hybrid:
      return "hybrid";
    case Mode::v1:
      return "v1";
  }
  return "?";
}

const char* to_string(Knob k) {
  switch (k) {
    case Knob::memory_max:
      return "memory_max";
    case Knob::memory_high:
      return "memory_high";
    case Knob::swap_max:
      return "swap_max";
    case Knob::cpu_max:
      return "cpu_max";
    case Knob::cpuset:
      return "cpuset";
    case Knob::pids_max:
      return "pids_max";
    case Knob::freeze:
      return "freeze";
    case Knob::kill:
      return "kill";
  }
  return "?";
}

std::vector<std::string> permission_fixes(Mode mode) {
  std::vector<std::string> fixes = {"run faultline as root"};
  if (mode == Mode::v2) {
    fixes.push_back(
        "or, as a normal user, run it in a delegated cgroup: systemd-run --user --scope -p Delegate=yes "
        "faultline ...");
  }
  fixes.push_back("or point --cgroup-root at a cgroup you may write to");
  return fixes;
}

void check_cgroup_name(const std::string& name) {
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos) {
    throw Error("invalid cgroup name \"" + name + "\" (use sanitize_cgroup_name)");
  }
}

bool directory_exists(const fs::path& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

void make_dir(const fs::path& dir) {
  if (::mkdir(dir.c_str(), 0755) == 0) return;
  const int err = errno;
  // A file in the way is not a cgroup that exists already.
  if (err != EEXIST || !directory_exists(dir)) throw SystemError("mkdir", dir.string(), err);
}

void BackendBase::check_parent_writable() const {
  for (const auto& dir : parent_dirs()) {
    if (::access(dir.c_str(), W_OK) != 0) throw_errno("access (write)", dir.string());
  }
}

namespace {

std::vector<std::string> runs_under(const std::vector<fs::path>& parents) {
  std::set<std::string> names;
  for (const auto& parent : parents) {
    for (const auto& child : subdirectories(parent)) {
      auto name = child.filename().string();
      if (name.rfind("run-", 0) == 0) names.insert(name);
    }
  }
  return {names.begin(), names.end()};
}

}  // namespace

std::vector<std::string> BackendBase::list_runs() const { return runs_under(parent_dirs()); }

// Listed in a cgroup.procs file where a run keeps its processes: what the kernel says, not a path
// in /proc/<pid>/cgroup that a mount root or a cgroup namespace would have to be mapped to. That
// is a scenario's process cgroup or anything below it (what a process made under its own), or
// exec's run cgroup, which has no children. A process anywhere else below the parent moved itself
// there, out of every limit it was given: the parent itself, a run's cgroup above its processes',
// the leaf a delegated v2 harness moves itself and its caller into.
bool BackendBase::holds_process(pid_t pid) const {
  const std::string wanted = std::to_string(pid);
  for (const auto& parent : parent_dirs()) {
    std::error_code ec;
    for (auto it = std::filesystem::recursive_directory_iterator(parent, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      if (it->path().filename() != "cgroup.procs" || it.depth() == 0) continue;
      const auto run = *it->path().lexically_relative(parent).begin();
      if (!run.string().starts_with("run-")) continue;
      if (it.depth() == 1 && !is_known_leaf(it->path().parent_path()))
        continue;  // a run's own, above its processes'

      std::ifstream in(it->path());
      std::string line;
      while (std::getline(in, line))
        if (line == wanted) return true;
    }
  }
  return false;
}

Backend::StaleRuns BackendBase::remove_stale_runs(StaleScan scan) {
  StaleRuns stale;
  for (const auto& name : runs_under(scan == StaleScan::at_start ? anchor_parent_dirs() : parent_dirs())) {
    auto parsed = parse_run_name(name);
    if (!parsed || owner_alive(parsed->owner)) continue;
    try {
      open_run(name)->destroy();
      stale.removed.push_back(name);
    } catch (const std::exception& e) {
      stale.failures.push_back(name + ": " + e.what());
    }
  }
  return stale;
}

namespace {

struct Detection {
  std::optional<HostCgroups> host;
  std::string why;               // when !host
  bool mountinfo_error = false;  // /proc/self/mountinfo unreadable: not a statement about cgroups
};

Detection detect(const BackendOptions& options) {
  Detection detection;
  struct statfs fs_info {};
  bool root_is_cgroup2 =
      ::statfs(options.mount_root.c_str(), &fs_info) == 0 && fs_info.f_type == CGROUP2_SUPER_MAGIC;
  std::string mountinfo;
  try {
    mountinfo = read_file("/proc/self/mountinfo");
  } catch (const Error& e) {
    detection.why = e.what();
    detection.mountinfo_error = true;
    return detection;
  }
  detection.host =
      classify_host(parse_cgroup_mounts(mountinfo), options.mount_root, root_is_cgroup2, &detection.why);
  return detection;
}

std::string host_problem_text(const std::string& what, Mode mode) {
  std::string text = what + ". Fix: ";
  auto fixes = permission_fixes(mode);
  for (std::size_t i = 0; i < fixes.size(); ++i) text += (i ? "; " : "") + fixes[i];
  return text;
}

// Said of failures that are not the host refusing: permissions would not fix them.
const char* kNotARefusal =
    "This is not a permission problem: something unexpected is in the cgroup tree, or faultline has a bug "
    "(faultline doctor shows the layout it expects)";

const char* kMountFix =
    "mount cgroup2: mount -t cgroup2 none /sys/fs/cgroup (or boot with systemd.unified_cgroup_hierarchy=1)";

// The v2 parent: --cgroup-root, else /faultline at the top; a harness that may not write there
// but owns a delegated cgroup (systemd-run --user --scope -p Delegate=yes) uses <own>/faultline.
std::unique_ptr<BackendBase> make_v2(const CgroupMount& mount, const BackendOptions& options,
                                     std::string own_cgroups) {
  std::optional<fs::path> own_dir;
  const auto paths = parse_proc_cgroup(own_cgroups);
  if (auto it = paths.find(""); it != paths.end()) own_dir = cgroup_dir(mount, it->second);
  fs::path parent;
  if (options.root) {
    parent = mount.mount_point / fs::path(*options.root).relative_path();
  } else if (::access(mount.mount_point.c_str(), W_OK) != 0 && own_dir && *own_dir != mount.mount_point &&
             ::access(own_dir->c_str(), W_OK) == 0) {
    parent = *own_dir / "faultline";
  } else {
    parent = mount.mount_point / "faultline";
  }
  // Only a harness inside the chosen parent's ancestry needs to step aside into a leaf.
  if (own_dir &&
      !(parent.lexically_normal().string() + "/").starts_with(own_dir->lexically_normal().string() + "/")) {
    own_dir.reset();
  }
  return std::make_unique<V2Backend>(mount, parent, own_dir, std::move(own_cgroups));
}

// `own_cgroups`: the text of /proc/self/cgroup, read once for every use of it.
std::unique_ptr<BackendBase> make_backend(const HostCgroups& host, const BackendOptions& options,
                                          std::string own_cgroups) {
  if (auto problem = cgroup_root_problem(options)) throw Error(*problem);
  if (host.mode == Mode::v2) return make_v2(*host.unified, options, std::move(own_cgroups));
  return std::make_unique<V1Backend>(host, fs::path(options.root.value_or("/faultline")),
                                     std::move(own_cgroups));
}

std::string read_own_cgroups() { return read_file_if_exists("/proc/self/cgroup").value_or(""); }

}  // namespace

bool is_host_refusal(int err) { return err == EACCES || err == EPERM || err == EROFS || err == ENOENT; }

void prepare_parent(BackendBase& backend) {
  const std::string what = "cannot create throwaway cgroups under " + backend.parent_description() + ": ";
  try {
    backend.ensure_parent();
    backend.check_parent_writable();
  } catch (const SystemError& e) {
    if (is_host_refusal(e.code()))
      throw HostRefusal(host_problem_text(what + e.what(), backend.mode()), e.code());
    throw HostError(what + e.what() + ". " + kNotARefusal, e.code());
  } catch (const HostError&) {
    throw;
  } catch (const Error& e) {
    throw HostError(what + e.what() + ". " + kNotARefusal);
  }
}

std::unique_ptr<Backend> open_backend(const BackendOptions& options) {
  auto detection = detect(options);
  if (!detection.host) {
    if (detection.mountinfo_error) throw HostError("cannot create throwaway cgroups: " + detection.why);
    throw HostRefusal("cannot create throwaway cgroups: " + detection.why + ". Fix: " + kMountFix, ENOENT);
  }
  auto own_cgroups = read_own_cgroups();
  if (const auto outer = enclosing_run_cgroup(own_cgroups); outer && options.refuse_inside_another_run)
    throw InsideAnotherRun(
        "faultline is running inside the throwaway cgroup of another faultline run (" + *outer +
        "): its own cgroups would be made beside that run's, outside its limits, its kill and its "
        "accounting. Put faultline in front of each command or of the whole job, not both");
  auto backend = make_backend(*detection.host, options, std::move(own_cgroups));
  prepare_parent(*backend);
  return backend;
}

DoctorReport diagnose_host(const BackendOptions& options) {
  DoctorReport report;
  auto detection = detect(options);
  if (!detection.host) {
    report.problems.push_back(detection.why);
    report.fixes.push_back(kMountFix);
    return report;
  }
  report.mode = detection.host->mode;
  auto backend = make_backend(*detection.host, options, read_own_cgroups());
  report.parent = backend->parent_description();

  const std::vector<std::pair<std::string, Knob>> controllers = {
      {"memory", Knob::memory_max}, {"cpu", Knob::cpu_max},    {"cpuset", Knob::cpuset},
      {"pids", Knob::pids_max},     {"freezer", Knob::freeze}, {"kill", Knob::kill}};
  try {
    // Really try: the parent chain, a run and one process cgroup, as a scenario would.
    backend->ensure_parent();
    backend->check_parent_writable();
    auto run = backend->create_run(next_run_name());
    auto probe = run->create_child("doctor-probe");
    report.writable = true;
    for (const auto& [name, knob] : controllers) {
      auto why = probe->unsupported(knob);
      report.controllers.push_back({name, !why, why ? *why : backend->controller_location(name)});
      if (!why) continue;
      report.problems.push_back("`" + name + "` is not usable: " + *why);
      if (report.mode == Mode::v2) {
        report.fixes.push_back("enable the " + name + " controller for " + report.parent + ": echo +" + name +
                               " into the cgroup.subtree_control of each level above it");
      } else {
        report.fixes.push_back("mount the " + name + " hierarchy: mount -t cgroup -o " + name + " cgroup " +
                               (options.mount_root / name).string());
      }
    }
    for (Knob knob : {Knob::memory_max, Knob::memory_high, Knob::swap_max, Knob::cpu_max, Knob::cpuset,
                      Knob::pids_max, Knob::freeze, Knob::kill})
      if (auto why = probe->unsupported(knob)) report.unavailable.push_back({knob, *why});
    if (auto why = probe->unsupported(Knob::memory_high); why && report.mode != Mode::v2) {
      report.problems.push_back(*why);
      report.fixes.push_back(
          "for memory_high, use a cgroup v2 host (boot with systemd.unified_cgroup_hierarchy=1)");
    }
    probe->destroy();
    run->destroy();
  } catch (const Error& e) {
    report.writable = false;
    report.problems.push_back("cannot create throwaway cgroups under " + report.parent + ": " + e.what());
    auto fixes = permission_fixes(report.mode);
    report.fixes.insert(report.fixes.end(), fixes.begin(), fixes.end());
  }
  return report;
}

std::optional<std::string> cgroup_root_problem(const BackendOptions& options) {
  // A filesystem path given as the cgroup path would be built again under every mount point
  // (/sys/fs/cgroup/memory/sys/fs/cgroup/...).
  if (options.root && (fs::path(*options.root).lexically_normal().string() + "/")
                          .starts_with(options.mount_root.lexically_normal().string() + "/"))
    return "--cgroup-root " + *options.root +
           ": give the cgroup's path inside the hierarchy, such as /ci/faultline, not a path under " +
           options.mount_root.string() + " (it is made under each hierarchy's mount point)";
  return std::nullopt;
}

}  // namespace faultline::cgroup
