// The fault timeline: every [[inject]] of the scenario, timed on the run's monotonic clock.
// Each injection's time is reduced to an anchor (run start, all ready, one process ready or
// exited, another injection begun or ended); when the anchor happens, a steady_timer fires at
// anchor + offset and the injector applies the fault. Applies, ramp steps, reverts and skips are
// recorded on the result's timeline with the time they really happened and what changed.
#pragma once

#include <boost/asio/steady_timer.hpp>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "injectors/injector.h"
#include "runner/run_context.h"
#include "timeline/schedule.h"

namespace faultline::runner {

class Proxies;

class FaultTimeline final : public RunObserver {
 public:
  // Throws Error when a time cannot be resolved (the loader normally rejects those first).
  // `proxies` carries the network faults (null when the scenario has no [[proxy]]).
  FaultTimeline(const scenario::Scenario& scenario, Proxies* proxies);
  ~FaultTimeline() override;

  void on_run_start(RunContext& ctx) override;
  void on_process_ready(RunContext& ctx, const std::string& process) override;
  void on_all_ready(RunContext& ctx) override;
  void on_process_exit(RunContext& ctx, const std::string& process) override;
  void on_stop_phase(RunContext& ctx) override;
  void on_timeout(RunContext& ctx) override;
  void on_run_end(RunContext& ctx) override;

 private:
  using Clock = std::chrono::steady_clock;
  struct Entry {
    timeline::PlannedInjection plan;   // plan.start: from another injection's real start or end
    timeline::Resolved planned_start;  // from the plan only, should that injection never act
    std::unique_ptr<injectors::Injector> injector;
    std::unique_ptr<boost::asio::steady_timer> timer;        // apply, then each repeat
    std::unique_ptr<boost::asio::steady_timer> step_timer;   // ramp steps
    std::unique_ptr<boost::asio::steady_timer> watch_timer;  // looks for a process dodging it
    std::unique_ptr<boost::asio::steady_timer> end_timer;    // revert after `duration`
    enum class State { waiting, scheduled, applied, done } state = State::waiting;
    Clock::time_point start;  // when it was due
    std::uint32_t applies = 0;
    std::uint32_t steps = 0;
    std::uint64_t applied_seq = 0;         // order of first application, to unwind overlapping faults
    bool began = false, ended = false;     // told to the other observers (RunContext::injection_changed)
    bool anchored_while_stopping = false;  // its anchor came after the stop phase began
  };
  using State = Entry::State;
  std::uint64_t next_seq_ = 0;

  void anchor_reached(RunContext& ctx, const std::string& anchor);
  void schedule(RunContext& ctx, Entry& e, Clock::time_point base);
  void fall_back_to_plan(RunContext& ctx, const std::string& injection);
  // Faults of the same kind into the same process applied after `e` and still active.
  std::vector<Entry*> later_on_same_knob(const Entry& e);
  const Entry* ramp_overlapping(const Entry& e) const;
  void fire(RunContext& ctx, Entry& e);
  // A network fault: applied to its proxy instead of a process's cgroup.
  void fire_network(RunContext& ctx, Entry& e);
  void revert_network(RunContext& ctx, Entry& e, const std::string& why,
                      std::optional<Clock::time_point> due);
  void schedule_repeat(RunContext& ctx, Entry& e);
  // One ramp step, recorded; false when the ramp has no step left. Throws Error.
  bool take_step(RunContext& ctx, Entry& e, const injectors::Target& target, Clock::time_point due);
  // A ramp's steps due by `end` (its planned end) not taken yet, taken now, before its revert.
  void take_steps_due_by(RunContext& ctx, Entry& e, const injectors::Target& target, Clock::time_point end);
  // `duration` after the fault began: revert it, or (nothing to undo) only close its window.
  enum class EndBy { revert, window_only };
  void arm_end(RunContext& ctx, Entry& e, EndBy how);
  void schedule_step(RunContext& ctx, Entry& e);
  void schedule_watch(RunContext& ctx, Entry& e);
  // `due`: when the plan has the revert (the end of `duration`), if it is the scheduled one.
  void revert(RunContext& ctx, Entry& e, const std::string& why,
              std::optional<Clock::time_point> due = std::nullopt);
  void skip(RunContext& ctx, Entry& e, const std::string& reason);
  // An `at = "0s"` syscall rule switched on as its process was spawned, not recorded yet.
  bool on_since_spawn_unrecorded(RunContext& ctx, const Entry& e) const;
  void record_on_since_spawn(RunContext& ctx, Entry& e);
  // The hog's helper died by SIGKILL: the fault ends there. False when its own revert killed it.
  bool hog_killed(RunContext& ctx, Entry& e, bool by_oom_killer);
  void began(RunContext& ctx, Entry& e);
  void ended(RunContext& ctx, Entry& e);
  injectors::Target target_of(RunContext& ctx, const Entry& e);

  std::vector<std::unique_ptr<Entry>> entries_;
  Proxies* proxies_;
  std::optional<std::string> stopping_;               // why no fault starts any more: stop phase or timeout
  std::map<std::string, Clock::time_point> reached_;  // anchors that happened, and when
};

// The observer for a scenario's [[inject]] tables; null when it has none.
std::unique_ptr<RunObserver> make_fault_timeline(const scenario::Scenario& scenario, Proxies* proxies);

}  // namespace faultline::runner
