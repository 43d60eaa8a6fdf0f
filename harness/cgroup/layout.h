// Names of throwaway run cgroups. A run is named after the harness that owns it (pid and the
// process start time from /proc/<pid>/stat, and its pid namespace), so any later harness can tell
// whether the owner is still alive, even after a pid was reused. A harness in another pid
// namespace (another container sharing the host's cgroup tree) sees other pids: its runs are
// never taken for dead ones by pid.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

namespace faultline::cgroup {

struct RunOwner {
  pid_t pid = 0;
  std::uint64_t start_ticks = 0;  // field 22 of /proc/<pid>/stat
  // The inode of its /proc/<pid>/ns/pid; unknown in names made before it was recorded.
  std::optional<std::uint64_t> pid_namespace;
};

struct RunName {
  RunOwner owner;
  std::uint64_t sequence = 0;
};

RunOwner current_owner();
// "run-<pid>-<start_ticks>-<sequence>-<pid_namespace>" (without the last part when unknown)
std::string format_run_name(const RunName& name);
std::optional<RunName> parse_run_name(const std::string& text);
// Alive: in this process's pid namespace, the pid exists and has the same start time. An owner in
// another pid namespace counts as alive while any process this one can see is in it; only a
// harness in the host's first pid namespace sees them all, so from any other it always counts as
// alive (its run is left for its own namespace, or for `cleanup` from the host, to remove).
bool owner_alive(const RunOwner& owner);
// A fresh name for this process: sequence increments per call (thread-safe).
std::string next_run_name();

// The throwaway cgroup of a live faultline run that a process with this /proc/<pid>/cgroup is in
// (a path with a `run-<pid>-<ticks>-<n>` component whose owner is alive), or nullopt.
std::optional<std::string> enclosing_run_cgroup(std::string_view proc_cgroup);

// Process names become directory names: anything outside [A-Za-z0-9_.-] becomes '_'.
std::string sanitize_cgroup_name(const std::string& name);

}  // namespace faultline::cgroup
