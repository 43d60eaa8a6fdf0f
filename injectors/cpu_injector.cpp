#include "injectors/cpu_injector.h"

#include <sched.h>

#include <algorithm>
#include <cmath>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace faultline::injectors {

namespace {
std::string text(const cgroup::CpuMax& m) { return format_cpu(m.cpus) + "/" + format_duration(m.period); }
std::string cpuset_text(const std::string& s) { return s.empty() ? "\"\"" : s; }

// How many CPUs the target's processes may run on together: the union of their affinities
// (which their cpuset bounds), not the main process's alone, whose workers may be pinned
// elsewhere or have widened their own; nullopt when none could be read.
std::optional<double> usable_cpus(const Target& target) {
  std::vector<pid_t> members = target.group.pids();
  if (target.main_pid > 0) members.push_back(target.main_pid);
  cpu_set_t all;
  CPU_ZERO(&all);
  bool read_any = false;
  for (const pid_t pid : members) {
    if (pid <= 0 || (target.helpers && target.helpers->count(pid))) continue;
    cpu_set_t set;
    CPU_ZERO(&set);
    if (::sched_getaffinity(pid, sizeof set, &set) != 0) continue;  // gone since the listing
    CPU_OR(&all, &all, &set);
    read_any = true;
  }
  if (!read_any) return std::nullopt;
  return static_cast<double>(CPU_COUNT(&all));
}

// How many CPUs a cpuset list names ("0-1,3" -> 3); nullopt when it does not parse.
std::optional<double> cpus_in_list(const std::string& list) {
  const auto cpus = parse_cpu_list(list);
  return cpus ? std::optional<double>(static_cast<double>(cpus->size())) : std::nullopt;
}

// "0-1" and "0,1" name the same set; text that does not parse is compared as text.
bool same_cpus(const std::string& a, const std::string& b) {
  const auto sa = parse_cpu_list(a), sb = parse_cpu_list(b);
  return sa && sb ? *sa == *sb : a == b;
}
}  // namespace

std::string CpuInjector::apply(const Target& target) {
  // A fault never loosens a limit: a cpuset of more CPUs than the one in force gives the process
  // room instead of taking it away (every expectation "under the squeeze" would be judged with
  // more CPUs than it started with). A set of as many, elsewhere, is a move and a fault of its
  // own. Checked before anything is written, so a refused fault leaves the quota as it was too.
  if (fault_.cpuset) {
    const std::string in_force = target.group.cpuset();
    const auto before = parse_cpu_list(in_force), after = parse_cpu_list(*fault_.cpuset);
    if (before && after && after->size() > before->size())
      throw NoEffect("a cpuset of " + std::to_string(after->size()) + " CPU(s) (" + *fault_.cpuset +
                     ") would widen the " + std::to_string(before->size()) + " in force (" + in_force +
                     "): a squeeze must narrow it, and a fault never loosens a limit");
  }
  std::string detail;
  if (fault_.quota || fault_.period) {
    const cgroup::CpuMax old = target.group.cpu_max();
    cgroup::CpuMax next = old;
    // A fault never loosens a limit: a quota at or above the one in force is left as it is
    // ("finishes in 2s squeezed to 90%" must not pass for a job started under 10%). The run's
    // cgroup may hold a lower one, the caller's, kept (and v1 refuses a quota above it).
    const double above = enclosing_cpus(target);
    const double in_force = std::min(old.cpus, above);
    const bool quota_binds = fault_.quota && *fault_.quota < in_force - 1e-9;
    if (quota_binds) next.cpus = *fault_.quota;
    if (fault_.period) next.period = *fault_.period;
    // A period changes how a quota is enforced (how long each stall lasts), so without one in
    // force (max) a new period alone throttles nothing.
    const bool period_matters = next.period != old.period && std::isfinite(next.cpus);
    const bool max_changes = quota_binds || period_matters;
    if (!max_changes && !fault_.cpuset) {
      if (fault_.quota && above < old.cpus)
        throw NoEffect(held_by_caller("CPU", format_cpu(above)) + kMustLower);
      if (fault_.quota) throw NoEffect("the cpu.max in force is " + text(old) + " already" + kMustLower);
      if (std::isfinite(old.cpus))
        throw NoEffect("the period in force is " + format_duration(old.period) + " already");
      // The caller's quota, kept on the run's cgroup, is enforced with that cgroup's own period.
      if (std::isfinite(above))
        throw NoEffect("cpu.max is " + text(old) + ": without a quota of the process's own a period alone " +
                       "throttles nothing (the caller's CPU limit " + format_cpu(above) +
                       " is enforced in the run's cgroup, with that cgroup's period; give `quota` too)");
      throw NoEffect("cpu.max is " + text(old) +
                     ": without a quota in force a period alone throttles nothing (give `quota` too)");
    }
    // A quota at or above the CPUs the target may run on throttles nothing: "stays fast while
    // throttled to 300%" would pass on a 2-CPU host without a single throttled period. With a
    // cpuset, the CPUs are the new set's, and a set that changes something is a fault of its own.
    const auto cpus = fault_.cpuset ? cpus_in_list(*fault_.cpuset) : usable_cpus(target);
    const bool same_cpuset = !fault_.cpuset || same_cpus(target.group.cpuset(), *fault_.cpuset);
    if (fault_.quota && cpus && in_force >= *cpus && next.cpus >= *cpus && same_cpuset)
      throw NoEffect("a quota of " + format_cpu(*fault_.quota) +
                     " cannot throttle a process that may run on " + std::to_string(static_cast<int>(*cpus)) +
                     " CPU(s), and none lower was in force");
    if (max_changes) {
      target.group.set_cpu_max(next);
      old_max_ = old;
      detail = "cpu.max " + text(old) + " -> " + text(next);
      if (fault_.quota && !quota_binds)
        detail += " (the quota in force is lower than " + format_cpu(*fault_.quota) + ")";
    }
  }
  if (fault_.cpuset) {
    const std::string old = target.group.cpuset();
    // The set already in force, and nothing else to change: "pinned to CPU 0" must not be
    // recorded for a process that was pinned there before.
    if (same_cpus(old, *fault_.cpuset) && detail.empty()) throw NoEffect("the cpuset is " + old + " already");
    target.group.set_cpuset(*fault_.cpuset);
    old_cpuset_ = old;
    detail +=
        (detail.empty() ? "" : ", ") + std::string("cpuset ") + cpuset_text(old) + " -> " + *fault_.cpuset;
  }
  return detail;
}

std::string CpuInjector::revert(const Target& target) {
  std::string detail;
  if (old_max_) {
    const cgroup::CpuMax now = target.group.cpu_max();
    target.group.set_cpu_max(*old_max_);
    detail = "cpu.max " + text(now) + " -> " + text(*old_max_);
  }
  if (old_cpuset_) {
    const std::string now = target.group.cpuset();
    target.group.set_cpuset(*old_cpuset_);
    detail += (detail.empty() ? "" : ", ") + std::string("cpuset ") + cpuset_text(now) + " -> " +
              cpuset_text(*old_cpuset_);
  }
  return detail;
}

std::string CpuInjector::describe() const {
  std::string t = "cpu";
  if (fault_.quota) t += " quota " + format_cpu(*fault_.quota);
  if (fault_.period) t += " period " + format_duration(*fault_.period);
  if (fault_.cpuset) t += " cpuset " + *fault_.cpuset;
  return t;
}

}  // namespace faultline::injectors
