// The syscall faults of one run: for each process named by a `kind = "syscall"` injection, a
// notifier serving its rules and the seccomp filter its child loads before exec; the fault
// timeline switches each rule on and off, and at the end the notifiers' records become
// `syscall.fail` timeline events and per-fault counts in the result (judge() decides on them).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "runner/run_context.h"
#include "scenario/model.h"
#include "supervisor/spawn.h"
#include "syscall/notifier.h"

namespace faultline::runner {

class SyscallFaults {
 public:
  // Builds every rule against the host; throws Error naming the injection when one cannot be.
  SyscallFaults(const scenario::Scenario& scenario, std::uint64_t seed);
  ~SyscallFaults();

  // Before `process` is spawned: starts its notifier and puts the filter into the request.
  void prepare_spawn(const std::string& process, supervisor::SpawnRequest& request);
  // After the spawn returned (either way): the harness's copy of the child's socket end is closed.
  void spawned(const std::string& process);
  // After the processes that start with the run were spawned. A later spawn is not at `0s`, so an
  // `at = "0s"` rule is not switched on for it: the fault timeline skips that fault (its process was
  // not running at 0s), and a rule switched on here would never be switched off.
  void run_start_spawned() { run_start_spawned_ = true; }
  // The injection window of one syscall injection. Throws Error when its process never started.
  std::string set_active(const std::string& injection, bool active);
  // Whether the injection's rule is on now (false when its process has no notifier).
  bool is_on(const std::string& injection) const;
  // From now on, calls hit are the processes' shutdown: listed, but not counted as the run's.
  void stop_phase_began();
  // Stops every notifier and records what the rules did: timeline events and the result's
  // `syscall_faults` counts, which judge() checks (a fault that never fired, syscall_failures).
  void finish(RunContext& ctx);

 private:
  struct PerProcess {
    std::vector<const scenario::Injection*> injections;  // rule i is injections[i]
    std::vector<syscall::Rule> rules;
    std::unique_ptr<syscall::Notifier> notifier;
    std::optional<syscall::ListenerChannel> channel;
    std::optional<syscall::NotifyFilter> filter;
  };
  std::map<std::string, PerProcess> processes_;
  bool finished_ = false;
  bool run_start_spawned_ = false;
};

// Null when the scenario has no syscall injection.
std::unique_ptr<SyscallFaults> make_syscall_faults(const scenario::Scenario& scenario, std::uint64_t seed);

}  // namespace faultline::runner
