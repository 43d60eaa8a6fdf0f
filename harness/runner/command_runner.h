// `faultline exec`: one command in a throwaway cgroup, like a cgroup-aware `timeout`. The
// command shares the harness's stdio; the result mirrors its exit status.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "cgroup/backend.h"
#include "scenario/model.h"

namespace faultline::runner {

struct CommandRequest {
  std::vector<std::string> argv;
  scenario::Limits limits;
  std::optional<Duration> timeout;
  Duration stop_grace = std::chrono::seconds(10);
};

struct CommandResult {
  int exit_status = 0;         // the command's code, 128+signal, 137 for OOM or a kill after the timeout
  std::string outcome;         // exited | signaled | oom-killed | timed-out | failed-to-start
  std::string classification;  // one line for stderr when it ended abnormally (empty otherwise)
};

// Throws HostError/Error when the cgroup cannot be set up (including an unsupported limit).
CommandResult run_command(const CommandRequest& request, cgroup::Backend& backend);

}  // namespace faultline::runner
