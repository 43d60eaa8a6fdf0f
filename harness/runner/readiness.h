// Readiness gates, every kind in one place: whether and when a process is ready.
// - none: ready as soon as it started.
// - log: a line of its stdout or stderr matches `ready.log` (the runner passes each line on).
// - tcp: a connection to `ready.tcp` is accepted; tried every 50ms, each attempt at most 2s.
// - http: a GET of `ready.http` answers 2xx; tried 100ms after each failure, each at most 2s.
// - exec: the command exits 0; run as a one-shot command (runner/one_shot.h) in a child cgroup
//   of the run named "<process>.ready-exec-<n>", 100ms after each failure, each at most 10s.
// Not ready within `ready.timeout`: the gate fails with a message naming the process, the gate
// and the last attempt's result.
#pragma once

#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cgroup/cgroup.h"
#include "scenario/model.h"

namespace faultline::runner {

struct ReadinessHooks {
  // False once the process is ready, has ended, or the run stops: the gate then ends quietly.
  std::function<bool()> still_wanted;
  std::function<void()> on_ready;
  // The gate failed: "process `api` was not ready within 10s: ready.http ... (last attempt: ...)".
  std::function<void(const std::string& message)> on_failed;
};

class ReadinessCheck;

// The runner's handle on one process's gate. Copyable and cheap; a gate that ended ignores it.
class ReadinessWatch {
 public:
  // A line of the process's output, without its newline (the log gate matches these).
  void on_output_line(std::string_view line) const;

 private:
  friend ReadinessWatch watch_readiness(boost::asio::io_context&, const scenario::ProcessSpec&,
                                        cgroup::Cgroup&, ReadinessHooks);
  std::weak_ptr<ReadinessCheck> check_;
};

// When a tcp or http gate on a local port is asked whether another program listens there.
enum class GateMoment {
  before_start,  // before `process` starts: the gate would pass on that program's answer
  at_pass,       // as the gate passes: it may have passed on that program's answer
};

// Whether another program listens where a tcp or http gate on a local port connects, which would
// make it pass on that program's answer, not the process's. Names the holder, or nullopt (no such
// gate, a remote host, or only faultline's own proxies and sockets that a process of this run,
// one of `run_pids()`, holds, on the port). As the gate passes, a listener whose holder cannot be
// found (descriptors faultline may not read: another user's, a non-dumpable process's) is taken
// for the process's own, which is there at that moment; before the start it is not.
std::optional<std::string> gate_port_taken(const scenario::ProcessSpec& process,
                                           const std::function<std::vector<pid_t>()>& run_pids,
                                           GateMoment when);

// Starts watching the gate of `process` on `io`. A process without a gate is ready at once:
// `on_ready` runs before this returns. A gate whose address cannot even be tried fails at once,
// from the loop. The gate lives as long as `io` at most. An exec gate runs each command in a new
// child of `command_parent`.
ReadinessWatch watch_readiness(boost::asio::io_context& io, const scenario::ProcessSpec& process,
                               cgroup::Cgroup& command_parent, ReadinessHooks hooks);

}  // namespace faultline::runner
