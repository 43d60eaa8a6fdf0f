// What a hung scenario (or `exec` command) was doing when its timeout hit: taken from /proc and
// the cgroups on every timeout, before anything is signalled or killed, into `diagnostics`:
//   "pids"    per pid: command, state, wchan and kernel stack
//   "cpu"     per process: throttled periods / periods over the run, the CPU quota
//   "memory"  per process: usage against the limit, OOM events, memory pressure (where the
//             host has PSI in a cgroup2 hierarchy)
//   (both also for the run's cgroup when it keeps the caller's CPU or memory limit)
//   "finding" one line in plain words: CPU starvation, memory pressure, a blocked wait, ...
//   "dump"    the output captured after the diagnose signal (add_captured_dump)
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "runner/run_context.h"

namespace faultline::runner {

// What the finding is drawn from, per process cgroup.
struct HangFacts {
  std::string process;  // named in the finding; empty: the finding has no subject
  // The run's cgroup, holding the caller's limits (a CI job's, kept): it throttles and squeezes
  // the run's processes together, and only its own counters show it. No pids of its own here.
  bool callers = false;
  std::uint64_t cpu_periods = 0;
  std::uint64_t throttled_periods = 0;
  double quota_cpus = 0;  // +infinity when there is no quota
  std::uint64_t memory_current = 0;
  std::uint64_t memory_max = 0;  // kUnlimited when unlimited
  std::uint64_t oom_events = 0;
  std::vector<char> states;         // one per pid: R, S, D, T, Z, ...
  std::vector<std::string> wchans;  // one per pid
};

struct WatchedGroup {
  std::string process;
  cgroup::Cgroup* group = nullptr;
};

struct HangSnapshot {
  std::string pids, cpu, memory;  // the texts of diagnostics "pids", "cpu", "memory"
  std::vector<HangFacts> facts;   // one per group, for hang_finding
  // Sets diagnostics "pids", "cpu", "memory" and "finding".
  void store_into(std::map<std::string, std::string>& diagnostics) const;
};

// Reads /proc and the cgroups of every group, and `run_group` when it holds a CPU quota or a
// memory limit (the caller's). Never throws: an unreadable cgroup is said in the memory text.
HangSnapshot snapshot_hang(const std::vector<WatchedGroup>& groups,
                           const cgroup::Cgroup* run_group = nullptr);

// The one-line finding, e.g. "throttled in 92% of CPU periods at quota 5%: likely CPU
// starvation, not a deadlock". Pure, for tests.
std::string hang_finding(const std::vector<HangFacts>& facts);

// Copies the output tails of the processes that timed out into diagnostics["dump"], once the
// result's processes are known, when the timeout was diagnosed (a "timeout.diagnose" event).
void add_captured_dump(report::ScenarioResult& result);

// The observer that snapshots a hang on every scenario timeout, with or without [on_timeout].
std::unique_ptr<RunObserver> make_hang_diagnosis(const scenario::Scenario& scenario);

}  // namespace faultline::runner
