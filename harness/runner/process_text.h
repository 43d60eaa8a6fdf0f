// Small facts about a process, worded the same in `run` and `exec` reports.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <fstream>
#include <string>

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
