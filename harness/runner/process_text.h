// Small facts about a process, worded the same in `run` and `exec` reports.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <fstream>
#include <optional>
#include <string>

#include "cgroup/proc_stat.h"
#include "common/units.h"
#include "supervisor/supervised_process.h"

namespace faultline::runner {

inline double ms_between(std::chrono::steady_clock::time_point a, std::chrono::steady_clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

// The command name the kernel shows for `pid`, or "?" once it is gone.
inline std::string comm_of(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/comm");
  std::string comm;
  std::getline(in, comm);
  return comm.empty() ? "?" : comm;
}

// The parent of `pid`; nullopt once the process is gone.
inline std::optional<pid_t> parent_of(pid_t pid) {
  const auto stat = cgroup::read_stat_line(pid);
  const auto parent = stat ? cgroup::parse_stat_parent(*stat) : std::nullopt;
  if (!parent) return std::nullopt;
  return static_cast<pid_t>(*parent);
}

// Whether `pid` was left behind by `main_pid` already: reparented away from it (a daemon that
// double-forked, a child whose parent died), while both are still there. A descendant is the
// main process's own work, and a process that is gone (or a main process that is) says nothing.
inline bool reparented_away(pid_t pid, pid_t main_pid) {
  if (!parent_of(main_pid)) return false;
  for (int depth = 0; depth < 256 && pid > 1; ++depth) {
    if (pid == main_pid) return false;
    const auto parent = parent_of(pid);
    if (!parent) return false;  // gone mid-walk: no verdict on a process that exited
    pid = *parent;
  }
  return pid <= 1;  // reached init without meeting the main process
}

inline std::string describe_exit(const supervisor::ExitStatus& s) {
  return s.signaled ? "killed by " + signal_name(s.signal) : "exited with code " + std::to_string(s.code);
}

// The last line a failing command wrote (stderr first), cut to a length a message can carry.
inline std::string last_output_line(const supervisor::SupervisedProcess& process) {
  std::string text = process.output(supervisor::Stream::stderr_stream).tail();
  if (text.empty()) text = process.output(supervisor::Stream::stdout_stream).tail();
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  if (const auto nl = text.rfind('\n'); nl != std::string::npos) text.erase(0, nl + 1);
  constexpr std::size_t kMax = 200;
  if (text.size() > kMax) text = text.substr(0, kMax) + "...";
  return text;
}

}  // namespace faultline::runner
