// One fault kind behind one small interface: apply, revert, describe. An injector acts on a
// cgroup and the processes in it; it knows nothing of TOML, timers or reports (the fault
// timeline in the runner decides when, and records what each call changed).
#pragma once

#include <sys/types.h>

#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "cgroup/cgroup.h"
#include "common/error.h"
#include "common/units.h"
#include "scenario/model.h"

namespace faultline::injectors {

// What an injection acts on: the target process's cgroup and its main pid. `helpers` are the
// processes the harness started in that cgroup (a hog): faults aimed at the target's processes,
// such as a signal to all of them, spare those. `enclosing` is the run's cgroup above `group`,
// where the caller's own limits are kept (a CI job's memory, pids and CPU limits): they hold the
// target as much as its own, so a squeeze must go below them to squeeze anything.
struct Target {
  cgroup::Cgroup& group;
  pid_t main_pid = 0;
  const std::set<pid_t>* helpers = nullptr;
  const cgroup::Cgroup* enclosing = nullptr;
};

// The limit `enclosing` holds, or unlimited where there is none (or no such controller there).
std::uint64_t enclosing_memory_max(const Target& target);
std::uint64_t enclosing_pids_max(const Target& target);
double enclosing_cpus(const Target& target);  // +infinity: no quota

// Why a squeeze that does not go below the caller's limit changes nothing, naming that limit:
// "the run's cgroup holds the caller's memory limit 200MiB: a squeeze must lower it".
std::string held_by_caller(const std::string& limit, const std::string& value);
// What every such skip ends with.
inline constexpr const char* kMustLower = ": a squeeze must lower it";

// Thrown by apply when the fault would change nothing on this host (a CPU quota at or above the
// CPUs the target may run on): the fault never took effect, which is not an error of the run.
class NoEffect : public Error {
 public:
  using Error::Error;
};

// Thrown by apply when the kernel refused the change and the target runs on as before (cgroup v1
// refusing a memory limit below the usage, in `limit-only` mode): the fault never took effect
// either. Its message says what was refused and why.
class Refused final : public NoEffect {
 public:
  using NoEffect::NoEffect;
};

class Injector {
 public:
  virtual ~Injector() = default;
  // Applies the fault; returns what changed, e.g. "memory.max 300MiB -> 48MiB". Throws Error.
  virtual std::string apply(const Target& target) = 0;
  // Undoes what apply changed (restores old values); returns what changed. Only called after
  // apply, at most once. Throws Error.
  virtual std::string revert(const Target& target) = 0;
  // The fault in words ("memory limit 48MiB over 2s"), for plans and messages.
  virtual std::string describe() const = 0;
  // Whether revert does anything (a signal cannot be taken back).
  virtual bool revertible() const { return true; }
  // After revert: why the fault, applied, never did what was asked (a hog killed before it held
  // its memory), else nullopt. Such a fault counts as never having taken effect.
  virtual std::optional<std::string> never_held() const { return std::nullopt; }

  // A fault that builds up (a memory ramp) moves in steps: after apply, the caller calls
  // step() every step_interval() until it returns nullopt. Each call returns what changed.
  virtual std::optional<Duration> step_interval() const { return std::nullopt; }
  virtual std::optional<std::string> step(const Target&) { return std::nullopt; }

  // A fault that a process can dodge while it is on (raising a soft limit the fault lowered) is
  // looked at every watch_interval() after apply, until revert: watch() keeps what it sees, so
  // that revert can report a process that dodged it and has exited since. Records nothing.
  virtual std::optional<Duration> watch_interval() const { return std::nullopt; }
  virtual void watch(const Target&) {}
};

// Starts a helper process inside the target's cgroup and returns its pid (the hog's noisy
// neighbour, the memory squeeze's charge); supplied by whoever runs the scenario, which reaps it.
using HelperLauncher = std::function<pid_t(const std::vector<std::string>& argv)>;

// Why the host cannot apply this injection (a knob it lacks), else nullopt.
std::optional<std::string> unsupported(const scenario::Injection& injection, const cgroup::Cgroup& group);

// The injector for one scenario injection. `faultline_executable` and `launch_helper` start
// helper modes of our own binary: the hog, and the memory charge of a v1 squeeze.
std::unique_ptr<Injector> make_injector(const scenario::Injection& injection,
                                        std::string faultline_executable = {},
                                        HelperLauncher launch_helper = {});

}  // namespace faultline::injectors
