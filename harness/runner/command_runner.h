// `faultline exec`: one command in a throwaway cgroup, like a cgroup-aware coreutils `timeout`.
// The command shares the harness's stdio; the result's exit status follows timeout(1).
#pragma once

#include <csignal>
#include <optional>
#include <string>
#include <vector>

#include "cgroup/backend.h"
#include "reports/model.h"
#include "scenario/model.h"

namespace faultline::runner {

struct CommandRequest {
  std::vector<std::string> argv;
  scenario::Limits limits;
  std::optional<Duration> timeout;
  // At the timeout: the diagnose signal to every process (stack dumps), output time for it, then
  // `timeout_signal` to every process, then SIGKILL to the cgroup `kill_after` later.
  std::optional<int> diagnose_signal;
  Duration diagnose_grace = std::chrono::seconds(3);
  int timeout_signal = SIGTERM;
  Duration kill_after = std::chrono::seconds(10);
  bool preserve_status = false;  // exit with the command's status even when it timed out
  // Read every statistic (memory, CPU, pids) even for controllers no limit needs, for --summary
  // and --json; otherwise a cgroup v1 host creates only the hierarchies the limits use.
  bool measure_all = false;
  // Open fds above 2 the command gets as faultline got them (a make jobserver's pipe), as
  // timeout(1) passes them on; supervisor::open_fds_above_stdio() (fd_limit.h) before anything is opened.
  std::vector<int> pass_fds;
};

// The exit status of `exec`, the rules of timeout(1) plus the OOM case.
inline constexpr int kExecTimedOut = 124;
inline constexpr int kExecFailed = 125;  // faultline itself failed (bad option, no cgroup, ...)
inline constexpr int kExecCannotRun = 126;
inline constexpr int kExecNotFound = 127;

struct CommandResult {
  int exit_status = 0;
  // The signal faultline ends with instead of exit_status (128+N), as timeout(1) does: the one
  // that killed the command, unless the timeout did. A shell loop stops on a Ctrl-C only when its
  // child died of SIGINT, and `go test -exec` says "signal: segmentation fault", not "exit 139".
  std::optional<int> end_by_signal;
  std::string outcome;                // exited | signaled | oom-killed | timed-out | failed-to-start
  std::vector<std::string> messages;  // lines for stderr ("faultline: ..."); none for a normal exit
  report::ScenarioResult report;      // the run as a one-process scenario, for --json
};

// Runs the command in a leaf run of `backend`, holding it to its caller's own cgroup limits
// where its cgroup is made outside them (cgroup/enclosing_limits.h; a message says so).
// Throws HostError/Error when the cgroup cannot be set up (including an unsupported limit).
CommandResult run_command(const CommandRequest& request, cgroup::Backend& backend);

// How close the command came to its limits, one line: "faultline: exit 0 (exited) after 1.07s,
// peak memory 512KiB, CPU 0.21s, throttled 0.14s, OOM kills 0".
std::string summary_line(const CommandResult& result);

}  // namespace faultline::runner
