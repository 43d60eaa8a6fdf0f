// What the v1 and v2 backends share: the faultline parent in each hierarchy, listing and
// reaping runs, and what the doctor asks of a backend.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cgroup/backend.h"

namespace faultline::cgroup {

class BackendBase : public Backend {
 public:
  // `own_cgroups`: the text of /proc/self/cgroup, read once when the backend is opened (empty
  // when unreadable); the cgroups this harness was started in.
  explicit BackendBase(std::string own_cgroups) : own_cgroups_(std::move(own_cgroups)) {}

  std::vector<std::string> list_runs() const override;
  bool holds_process(pid_t pid) const override;
  StaleRuns remove_stale_runs(StaleScan scan = StaleScan::everywhere) override;

  // Creates the faultline parent (and the levels above it) where missing and prepares it
  // (v2: controllers in subtree_control; v1: cpuset.cpus/mems). Throws HostError.
  virtual void ensure_parent() = 0;
  // Throws SystemError unless this process may create cgroups in the parent of every hierarchy
  // (an existing parent does not mean a writable one).
  void check_parent_writable() const;
  // Where throwaway cgroups go, for messages ("/sys/fs/cgroup/faultline").
  virtual std::string parent_description() const = 0;
  // Where `controller` (memory, cpu, cpuset, pids, freezer) is found, for the doctor.
  virtual std::string controller_location(const std::string& controller) const = 0;

 protected:
  // The faultline parent directory in every hierarchy.
  virtual std::vector<std::filesystem::path> parent_dirs() const = 0;
  // The faultline parent in the hierarchies every run has a directory in from its first mkdir to
  // its last rmdir: listing these finds every run.
  virtual std::vector<std::filesystem::path> anchor_parent_dirs() const { return parent_dirs(); }
  // A handle on an existing run cgroup, to kill and remove it.
  virtual std::unique_ptr<Cgroup> open_run(const std::string& run_name) const = 0;
  const std::string& own_cgroups() const { return own_cgroups_; }

 private:
  std::string own_cgroups_;
};

// ensure_parent and check_parent_writable of `backend`, their failure classified by the errno
// of the failing system call: HostRefusal (with the permission fixes) or HostError (a defect or
// an unexpected host layout, never mistaken for missing privileges).
void prepare_parent(BackendBase& backend);

// "run faultline as root ...", "systemd-run --user --scope -p Delegate=yes ...".
std::vector<std::string> permission_fixes(Mode mode);
// A cgroup directory name faultline can create: not empty, not "." or "..", no '/'.
void check_cgroup_name(const std::string& name);
// Whether `path` exists and is a directory (following symlinks).
bool directory_exists(const std::filesystem::path& path);
// mkdir that tolerates an existing directory; throws SystemError otherwise (EEXIST for a file).
void make_dir(const std::filesystem::path& dir);

}  // namespace faultline::cgroup
