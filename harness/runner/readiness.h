// Readiness gates that poll: `ready.http` (a 2xx answer) and `ready.exec` (a command that exits 0).
// Each attempt that fails is retried 100ms after it ended, until the process's ready timeout; an
// http attempt lasts at most 2s, an exec attempt at most 10s.
// `ready.log` and `ready.tcp` are watched by the scenario runner itself.
#pragma once

#include <boost/asio/io_context.hpp>
#include <functional>
#include <string>

#include "cgroup/cgroup.h"
#include "scenario/model.h"

namespace faultline::runner {

struct ReadinessHooks {
  // False once the process is ready, has ended, or the run stops: polling then ends quietly.
  std::function<bool()> still_wanted;
  std::function<void()> on_ready;
  // The gate failed: "process `api` was not ready within 10s: ready.http ... (last attempt: ...)".
  std::function<void(const std::string& message)> on_failed;
};

// Polls the http or exec gate of `process` on `io`. Each exec attempt runs as a one-shot command
// (runner/one_shot.h) in a child cgroup of `run_group` named "<process>.ready-exec-<n>" (process
// names cannot contain a dot). The check lives as long as `io` at most.
void start_polling_readiness(boost::asio::io_context& io, const scenario::ProcessSpec& process,
                             cgroup::Cgroup& run_group, ReadinessHooks hooks);

}  // namespace faultline::runner
