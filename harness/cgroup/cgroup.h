// One throwaway cgroup, spanning every hierarchy the host uses (one directory on pure v2;
// one per v1 controller plus the unified mount on hybrid hosts). The v1 and v2 specifics
// live in the backends; callers never branch on the cgroup version.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/unique_fd.h"
#include "common/units.h"

namespace faultline::cgroup {

// A limit or control the host may or may not offer.
enum class Knob { memory_max, memory_high, swap_max, cpu_max, cpuset, pids_max, freeze, kill };
const char* to_string(Knob k);

struct CpuMax {
  double cpus = 0;  // +infinity = no quota
  Duration period = kDefaultCpuPeriod;
};

// Counters read from the controller files; a missing controller leaves a field empty.
struct Stats {
  std::optional<std::uint64_t> memory_current;  // bytes
  std::optional<std::uint64_t> memory_peak;     // bytes (v2 memory.peak, v1 max_usage_in_bytes)
  std::optional<std::uint64_t> cpu_usage_usec;
  std::optional<std::uint64_t> cpu_periods;
  std::optional<std::uint64_t> cpu_throttled_periods;
  std::optional<std::uint64_t> cpu_throttled_usec;
  std::uint64_t oom_events = 0;  // times the limit was hit and the OOM killer was invoked
  std::uint64_t oom_kills = 0;   // processes killed by the OOM killer in this subtree
  std::optional<std::uint64_t> pids_current;
  std::uint64_t pids_max_events = 0;  // forks refused by pids.max
  // Whether the kernel keeps those counters for this cgroup at all (no memory or pids controller
  // here: it does not); a count of 0 read from nowhere must not pass `oom_kills = 0`.
  bool oom_kills_counted = false;
  bool pids_max_events_counted = false;
};

class Cgroup {
 public:
  virtual ~Cgroup() = default;  // destroys the cgroup (as destroy()) if still present; never throws

  // Human-readable location for messages, e.g. "/sys/fs/cgroup/faultline/run-1-2-0/api".
  virtual std::string describe() const = 0;

  // A child cgroup in every hierarchy; controllers delegated as needed (v2 subtree_control).
  virtual std::unique_ptr<Cgroup> create_child(const std::string& name) = 0;

  // cgroup.procs of every hierarchy opened O_WRONLY|O_CLOEXEC. A forked child writes "0" to
  // each before exec (async-signal-safe), so the target runs limited from its first instruction.
  virtual std::vector<UniqueFd> open_attach_fds() const = 0;

  // nullopt when the knob works here, else why not ("memory_high needs cgroup v2 ...").
  virtual std::optional<std::string> unsupported(Knob knob) const = 0;

  virtual void set_memory_max(std::uint64_t bytes) = 0;  // kUnlimited = max
  virtual void set_memory_high(std::uint64_t bytes) = 0;
  virtual void set_swap_max(std::uint64_t bytes) = 0;
  virtual void set_cpu_max(const CpuMax& cpu) = 0;
  virtual void set_cpuset(const std::string& cpus) = 0;
  virtual void set_pids_max(std::uint64_t max) = 0;
  virtual std::uint64_t memory_max() const = 0;
  virtual std::uint64_t memory_high() const = 0;
  virtual CpuMax cpu_max() const = 0;
  virtual std::string cpuset() const = 0;
  virtual std::uint64_t pids_max() const = 0;

  virtual Stats stats() const = 0;

  // Every pid in this cgroup and its descendants.
  virtual std::vector<pid_t> pids() const = 0;
  // The pids in this cgroup itself, in any of its hierarchies, not in its descendants: in a run's
  // cgroup, which holds only its processes' cgroups, one that moved itself up out of its own.
  virtual std::vector<pid_t> own_pids() const = 0;
  // Members that moved themselves out of this cgroup in some of its hierarchies and not in all
  // (cgroup v1/hybrid, where a process writes itself into one controller's cgroup.procs): that
  // controller's limits, faults and counters no longer cover them. Each with the directory it
  // left. Always empty with a single hierarchy (pure v2).
  struct PartlyLeft {
    pid_t pid = 0;
    std::filesystem::path left;
  };
  virtual std::vector<PartlyLeft> partly_left() const = 0;
  virtual bool populated() const = 0;

  // Blocks until no process is left or the timeout passes (event-driven where the host has
  // cgroup.events). Returns whether it is empty.
  virtual bool wait_until_empty(Duration timeout) const = 0;

  // Returns once the whole subtree is frozen / running again.
  virtual void freeze() = 0;
  virtual void thaw() = 0;

  // SIGKILLs every process in the subtree (forks racing the kill included) and waits until it
  // is empty. Throws if processes survive.
  virtual void kill_all() = 0;

  // The non-blocking half of kill_all, for event loops: SIGKILLs the subtree (cgroup.kill, or
  // one round of freeze + SIGKILL + thaw) and returns without waiting for it to empty. Call it
  // again to catch forks that raced a round. Throws Error when the kill cannot be started.
  virtual void start_kill() = 0;
  // No process is left in any hierarchy (or the cgroup is gone).
  virtual bool empty() const = 0;
  // A file modified when `populated` changes (cgroup.events), for an event-driven wait; nullopt
  // where only polling tells (legacy v1).
  virtual std::optional<std::string> populated_events_file() const = 0;

  // kill_all, then rmdir depth-first in every hierarchy. Idempotent.
  virtual void destroy() = 0;
};

}  // namespace faultline::cgroup
