// Processes that left every cgroup of the harness and outlived what started them: a daemon that
// wrote its pid into another cgroup, a container a runtime moved into its own. No limit, fault
// or kill of the run reached them, so neither `no_orphans` nor the teardown could see them; the
// harness, their subreaper, finds them among its own children (supervisor/adoption.h).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cgroup/backend.h"

namespace faultline::runner {

struct Escapee {
  pid_t pid = 0;
  std::string comm;    // its command name when found
  std::string cgroup;  // where it had moved itself ("/" or "/system.slice/x.scope")
  std::chrono::steady_clock::time_point found;
};

// Finds the processes handed to this harness that are in none of `backend`'s cgroups, kills them
// with everything they started, and returns them (also kept for escapees_found_since).
std::vector<Escapee> kill_escapees(const cgroup::Backend& backend);

// Every escapee any run of this process found at or after `since`. Runs side by side (-j) share
// one subreaper, so what one run's teardown finds may have come from another still going.
std::vector<Escapee> escapees_found_since(std::chrono::steady_clock::time_point since);

// "4242 (sleep) in /", the first few of `escapees`.
std::string describe_escapees(const std::vector<Escapee>& escapees);

// A process that moved itself out of every hierarchy and ended before any look could see it (a
// test's child run through `systemd-run --scope` or `cgexec`) leaves one trace: its CPU time comes
// back to the harness through the waits (its parent's, up to the command's) but was never counted
// in the cgroup. The time beyond what the cgroup counted, when that is more than the few
// microseconds a child runs before it joins (and rounding): 50ms plus 5% of the counted time,
// plus `allowance` for what the caller knows to be uncounted (see cpu_outside_run_cgroups).
std::optional<std::chrono::microseconds> cpu_outside_cgroup(std::chrono::microseconds reaped,
                                                            std::chrono::microseconds counted,
                                                            std::chrono::microseconds allowance = {});

// The CPU time of this process's children that ended and were waited for, all the way down,
// less what the children it started spent before they joined their cgroups (noted at each start,
// supervisor::cpu_spent_before_cgroup_join). Compare differences of two readings, between which
// every child started was reaped.
std::chrono::microseconds reaped_cpu();

// cpu_outside_cgroup for one scenario run of several in a process, whose cgroups counted
// `counted` (nullopt: they do not say) and whose waits brought back `reaped`, all its processes
// reaped. Runs side by side (-j) share the waits, and so does a run after one whose processes
// could not all be reaped: from the first run whose `waits_are_its_own` is false on, no run is
// judged (nullopt). Call it for every run, judged or not. Each of the run's `one_shot_commands`
// (exec probes, `ready.exec`) adds kOneShotAllowance: a command runs a little before it joins its
// cgroup (about 0.5ms each was seen uncounted in an emulated guest), and a run may start
// thousands.
inline constexpr std::chrono::microseconds kOneShotAllowance{1000};
std::optional<std::chrono::microseconds> cpu_outside_run_cgroups(
    std::chrono::microseconds reaped, std::optional<std::chrono::microseconds> counted,
    bool waits_are_its_own, std::uint64_t one_shot_commands = 0);

// Waits until every process handed to this harness has ended and been reaped (their CPU time is
// then in reaped_cpu()); false when some are left after `timeout` (one stuck in the kernel).
bool reap_handed_over_within(std::chrono::milliseconds timeout);

// Counts the runs going on at once, so that a run can tell whether one went on beside it.
class ConcurrentRun {
 public:
  ConcurrentRun();
  ~ConcurrentRun();
  ConcurrentRun(const ConcurrentRun&) = delete;
  ConcurrentRun& operator=(const ConcurrentRun&) = delete;
  // Whether another run was going on at any time since this one began.
  bool had_company() const;

 private:
  bool company_at_start_ = false;
  unsigned long started_before_ = 0;
};

}  // namespace faultline::runner
