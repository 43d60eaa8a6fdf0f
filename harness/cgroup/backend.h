// Chooses how throwaway cgroups are made on this host, once: pure v2, hybrid (v1 controllers
// plus the unified v2 mount) or legacy v1. Everything above sees only Backend and Cgroup.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cgroup/cgroup.h"
#include "common/error.h"

namespace faultline::cgroup {

enum class Mode { v2, hybrid, v1 };
struct EnclosingLimits;  // enclosing_limits.h
const char* to_string(Mode mode);

// The host cannot run scenarios at all (no cgroup fs, not writable). The message says what is
// missing and how to get it; the CLI exits 3. `code()` is the errno of the failing system call,
// 0 when none failed (an unsupported limit, a cgroup file with unexpected content).
class HostError : public Error {
 public:
  explicit HostError(const std::string& message, int code = 0) : Error(message), code_(code) {}
  int code() const noexcept { return code_; }

 private:
  int code_;
};

// The host's own refusal, not a defect: no cgroup filesystem is mounted, or a system call on the
// faultline parent failed with EACCES/EPERM (no permission), EROFS (read-only cgroup fs) or
// ENOENT (no cgroup there). Only this may excuse a test for not running; any other failure
// while preparing the parent is a plain HostError.
class HostRefusal : public HostError {
 public:
  using HostError::HostError;
};

// This process is inside the throwaway cgroup of another live faultline run: cgroups made here
// would sit beside that run's, outside its limits, its kill and its accounting. A usage error.
class InsideAnotherRun : public Error {
 public:
  using Error::Error;
};

// Whether a system call on the cgroup parent that failed with `err` is the host refusing.
bool is_host_refusal(int err);

struct BackendOptions {
  // Parent for throwaway cgroups (--cgroup-root): a cgroup path such as "/ci/faultline",
  // applied in every hierarchy. Default: "/faultline" at the top of each hierarchy, or, when
  // the harness runs in a delegated v2 subtree it cannot leave, "<own cgroup>/faultline".
  std::optional<std::string> root;
  std::filesystem::path mount_root = "/sys/fs/cgroup";
  // open_backend throws InsideAnotherRun when this process is in another live run's cgroup: runs
  // made from there would escape it. Only removing what dead harnesses left (`cleanup`) is
  // harmless there.
  bool refuse_inside_another_run = true;
};

// What is wrong with `root` as given (a filesystem path under the mount point instead of a path
// inside the hierarchy), for the CLI to report as a usage error; nullopt when it is fine.
std::optional<std::string> cgroup_root_problem(const BackendOptions& options);

struct ControllerStatus {
  std::string name;  // memory, cpu, cpuset, pids, freezer
  bool usable = false;
  std::string detail;  // where it is mounted, or why it cannot be used
};

struct UnavailableKnob {
  Knob knob;
  std::string why;
};

struct DoctorReport {
  Mode mode = Mode::v2;
  std::string parent;  // where throwaway cgroups go
  bool writable = false;
  std::vector<ControllerStatus> controllers;
  std::vector<UnavailableKnob> unavailable;  // every knob a process cgroup here does not offer
  std::vector<std::string> problems;         // what is wrong
  std::vector<std::string> fixes;  // how to fix it (root, systemd-run --user --scope -p Delegate=yes ...)
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual Mode mode() const = 0;

  // The cgroup of one scenario run, named `run_name` (see layout.h) under the faultline
  // parent of every hierarchy, ready to hold one child per process.
  virtual std::unique_ptr<Cgroup> create_run(const std::string& run_name) = 0;

  // A run cgroup that holds a single process itself (no per-process child), for `exec`. On v1
  // hosts it exists only in the hierarchies the limits in `knobs` need, plus the one that kills
  // and tells "empty" (the unified mount, else the freezer): every directory costs a mkdir, an
  // attach and an rmdir per command. Statistics of controllers left out are absent.
  virtual std::unique_ptr<Cgroup> create_leaf_run(const std::string& run_name,
                                                  const std::vector<Knob>& knobs) = 0;

  // Whether process `pid` is in a cgroup under the faultline parent, in any hierarchy (a member of
  // some run, not one that moved itself out). False once it is gone.
  virtual bool holds_process(pid_t pid) const = 0;

  // Names of the run cgroups currently under the faultline parent, in any hierarchy.
  virtual std::vector<std::string> list_runs() const = 0;

  // Kills and removes every run whose owning harness is gone (layout.h decides). Returns the
  // names removed, and why each run that could not be removed could not (something holds it:
  // a mount, a task the kill cannot end); those are left for a later start or `faultline
  // cleanup`, and never stop the others. `at_start` lists only the hierarchy every run is created in first
  // and removed from last (the unified mount on a hybrid host): one readdir instead of seven in front of each
  // `exec`. `everywhere` (`faultline cleanup`) also finds debris a crash left in one v1 hierarchy.
  enum class StaleScan { at_start, everywhere };
  struct StaleRuns {
    std::vector<std::string> removed;
    std::vector<std::string> failures;  // "run-...: what failed"
  };
  virtual StaleRuns remove_stale_runs(StaleScan scan = StaleScan::everywhere) = 0;

  // The memory, swap, pids and CPU limits this process is under through the cgroups it was started
  // in, where a run made under the faultline parent would be outside them (enclosing_limits.h).
  virtual EnclosingLimits enclosing_limits() const = 0;
};

// Detects the host's mode and opens the matching backend. Throws InsideAnotherRun before it
// changes anything when this process is in another run's cgroup, HostRefusal when the host
// cannot run scenarios, saying what is missing, and HostError for any other failure.
std::unique_ptr<Backend> open_backend(const BackendOptions& options = {});

// What this host supports and how to fix what it lacks; never throws for host problems.
DoctorReport diagnose_host(const BackendOptions& options = {});

}  // namespace faultline::cgroup
