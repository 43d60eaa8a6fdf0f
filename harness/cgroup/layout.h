// Names of throwaway run cgroups. A run is named after the harness that owns it (pid and the
// process start time from /proc/<pid>/stat), so any later harness can tell whether the owner
// is still alive, even after a pid was reused.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

namespace faultline::cgroup {

struct RunOwner {
  pid_t pid = 0;
  std::uint64_t start_ticks = 0;  // field 22 of /proc/<pid>/stat
};

struct RunName {
  RunOwner owner;
  std::uint64_t sequence = 0;
};

RunOwner current_owner();
// "run-<pid>-<start_ticks>-<sequence>"
std::string format_run_name(const RunName& name);
std::optional<RunName> parse_run_name(const std::string& text);
// Alive: the pid exists and has the same start time.
bool owner_alive(const RunOwner& owner);
// A fresh name for this process: sequence increments per call (thread-safe).
std::string next_run_name();

// The throwaway cgroup of a live faultline run that a process with this /proc/<pid>/cgroup is in
// (a path with a `run-<pid>-<ticks>-<n>` component whose owner is alive), or nullopt.
std::optional<std::string> enclosing_run_cgroup(std::string_view proc_cgroup);

// Process names become directory names: anything outside [A-Za-z0-9_.-] becomes '_'.
std::string sanitize_cgroup_name(const std::string& name);

}  // namespace faultline::cgroup
