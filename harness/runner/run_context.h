// What a running scenario offers to the parts that act on it while it runs (the fault
// timeline, samplers, probes, hang diagnosis), and the hooks through which they are told
// what happens. They live on the run's single event loop: no locking, no blocking waits.
#pragma once

#include <sys/types.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "cgroup/cgroup.h"
#include "common/error.h"
#include "reports/model.h"
#include "scenario/model.h"

namespace faultline::runner {

class RunContext {
 public:
  virtual ~RunContext() = default;
  virtual boost::asio::io_context& io() = 0;
  virtual const scenario::Scenario& scenario() const = 0;
  // Scenario start on the monotonic clock; every t_ms is measured from here.
  virtual std::chrono::steady_clock::time_point t0() const = 0;
  double now_ms() const {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0()).count();
  }
  // Appends to the result's timeline (t_ms is taken now).
  virtual void record(const std::string& event, const std::string& process, const std::string& inject,
                      const std::string& detail) = 0;
  // The process's own cgroup; null before it started or after the run ended.
  virtual cgroup::Cgroup* process_group(const std::string& process) = 0;
  // The run's cgroup, above every process's: it holds the caller's own limits, kept. Null before
  // the run made it.
  virtual const cgroup::Cgroup* run_group() const = 0;
  // A run cgroup of its own for the one-shot commands (exec probes, `ready.exec` gates), outside
  // every process's cgroup (which cannot take children on cgroup v2 while it holds processes) and
  // outside the run's (which holds only the scenario's processes). It gets its own copy of the
  // caller's limits that the run's cgroup keeps; made on first use and removed with the run's.
  // Throws Error.
  virtual cgroup::Cgroup& side_group() = 0;
  // The main pid while it runs, else nullopt: also once it ended but before its exit was
  // handled, so that a timer due in the same turn does not act on a process already gone.
  virtual std::optional<pid_t> main_pid(const std::string& process) const = 0;
  // The result being built: observers add samples, probe results, failures and diagnostics.
  virtual report::ScenarioResult& result() = 0;
  // Ends the scenario as an error (everything is torn down).
  virtual void fail_scenario(const std::string& message) = 0;
  // Starts a helper process (e.g. a noisy neighbour) inside a process's cgroup; it is
  // killed with that cgroup. Returns its pid, or throws Error. `on_killed` runs, from the loop,
  // when the helper dies by SIGKILL while the run goes on, with whether the OOM killer chose it,
  // and returns whether the helper was still meant to run (false: its own revert killed it).
  // Without `on_killed` the helper is short-lived and any SIGKILL is its end.
  virtual pid_t spawn_helper(const std::string& process, const std::vector<std::string>& argv,
                             std::function<bool(bool by_oom_killer)> on_killed) = 0;
  // Every helper started so far (faults aimed at a process's own members spare them).
  virtual const std::set<pid_t>& helper_pids() const = 0;
  // The folder of the faultline executable (helper modes of our own binary live there).
  virtual std::string faultline_dir() const = 0;
  // Seed for any randomness (chaos, jitter).
  virtual std::uint64_t seed() const = 0;
  // Switches a syscall injection's rule on or off (its window); returns what changed. Throws
  // Error when the run has no such rule.
  virtual std::string set_syscall_fault_active(const std::string& injection, bool /*active*/) {
    throw Error("inject `" + injection + "`: this run cannot serve syscall faults");
  }
  // Whether a syscall injection's rule is on now (an `at = "0s"` rule is switched on as its
  // process is spawned, before the timeline's first timer).
  virtual bool syscall_fault_on(const std::string& /*injection*/) const { return false; }
  // The fault timeline tells the other observers when an injection begins to act and when it
  // stops acting (reverted, ended early, or skipped without ever acting).
  virtual void injection_changed(const std::string& /*injection*/, bool /*acting*/) {}
};

class RunObserver {
 public:
  virtual ~RunObserver() = default;
  virtual void on_run_start(RunContext&) {}
  virtual void on_process_start(RunContext&, const std::string& /*process*/) {}
  virtual void on_process_ready(RunContext&, const std::string& /*process*/) {}
  virtual void on_all_ready(RunContext&) {}
  // The main process exited; its cgroup still exists (stats readable).
  virtual void on_process_exit(RunContext&, const std::string& /*process*/) {}
  virtual void on_stop_phase(RunContext&) {}
  // The scenario deadline was reached, before anything is killed.
  virtual void on_timeout(RunContext&) {}
  // Every process ended; cgroups still exist. Cancel timers, revert, finish results here.
  virtual void on_run_end(RunContext&) {}
  // An injection began to act (`acting`) or stopped: reverted, ended early (its process exited, a
  // hog was killed) or skipped. Each comes at most once, stopped after began if it ever began; a
  // fault that cannot be undone (a signal) never stops.
  virtual void on_injection(RunContext&, const std::string& /*injection*/, bool /*acting*/) {}
};

}  // namespace faultline::runner
