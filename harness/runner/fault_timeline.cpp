#include "runner/fault_timeline.h"

#include <algorithm>
#include <utility>

#include "common/error.h"
#include "runner/proxies.h"
#include "scenario/time_point.h"

namespace faultline::runner {

namespace asio = boost::asio;

namespace {
std::uint32_t planned_applies(const scenario::Injection& inj) {
  if (const auto* sig = std::get_if<scenario::SignalFault>(&inj.params); sig && sig->repeat_every)
    return std::max<std::uint32_t>(1, sig->repeat_count);
  return 1;
}
std::optional<Duration> repeat_every(const scenario::Injection& inj) {
  if (const auto* sig = std::get_if<scenario::SignalFault>(&inj.params)) return sig->repeat_every;
  return std::nullopt;
}

using SteadyTime = std::chrono::steady_clock::time_point;

// A syscall fault's window: the filter is in the target from its first instruction, so applying
// and reverting only switch its rule in the run's notifier.
class SyscallSwitch final : public injectors::Injector {
 public:
  SyscallSwitch(RunContext& ctx, std::string injection) : ctx_(ctx), injection_(std::move(injection)) {}
  std::string apply(const injectors::Target&) override {
    return ctx_.set_syscall_fault_active(injection_, true);
  }
  std::string revert(const injectors::Target&) override {
    return ctx_.set_syscall_fault_active(injection_, false);
  }
  std::string describe() const override { return "syscall fault " + injection_; }

 private:
  RunContext& ctx_;
  std::string injection_;
};

// Records an injection event with when it was due (if anything scheduled it), when the call
// began and when it returned: the kernel's share of the latency is kept apart from the timer's.
void record_timed(RunContext& ctx, const char* event, const scenario::Injection& inj,
                  const std::string& detail, std::optional<SteadyTime> due, SteadyTime requested,
                  SteadyTime effective) {
  ctx.record(event, inj.into, inj.name, detail);
  const auto ms = [&](SteadyTime t) {
    return std::chrono::duration<double, std::milli>(t - ctx.t0()).count();
  };
  auto& recorded = ctx.result().timeline.back();
  if (due) recorded.scheduled_ms = ms(*due);
  recorded.requested_ms = ms(requested);
  recorded.effective_ms = ms(effective);
}
}  // namespace

FaultTimeline::FaultTimeline(const scenario::Scenario& scenario, Proxies* proxies) : proxies_(proxies) {
  for (const auto& planned : timeline::plan_injections(scenario)) {
    auto e = std::make_unique<Entry>();
    e->plan = planned;
    // A time from another injection (`squeeze.end+1s`) counts from when that one really began or
    // ended (began/ended), not from its plan: one skipped or cut short moves this one with it, or
    // leaves it unapplied. `X.end-D` can only count back from the plan.
    e->planned_start = planned.start;
    if (const auto ref = scenario::time_ref(planned.injection->at);
        ref && ref->names_injection() && ref->offset >= Duration::zero())
      e->plan.start = timeline::Resolved{ref->anchor(), ref->offset};
    entries_.push_back(std::move(e));
  }
}

FaultTimeline::~FaultTimeline() = default;

injectors::Target FaultTimeline::target_of(RunContext& ctx, const Entry& e) {
  const std::string& into = e.plan.injection->into;
  return injectors::Target{*ctx.process_group(into), ctx.main_pid(into).value_or(0), &ctx.helper_pids(),
                           ctx.run_group()};
}

void FaultTimeline::on_run_start(RunContext& ctx) {
  for (auto& e : entries_) {
    const auto& inj = *e->plan.injection;
    cgroup::Cgroup* group = ctx.process_group(inj.into);
    if (!group) continue;
    // Same rule as for process limits: a knob this host lacks cannot be faked.
    if (auto why = injectors::unsupported(inj, *group)) {
      ctx.fail_scenario("inject `" + inj.name + "` (" + inj.kind + "): " + *why);
      return;
    }
  }
  anchor_reached(ctx, "");
}

void FaultTimeline::on_process_ready(RunContext& ctx, const std::string& process) {
  anchor_reached(ctx, scenario::anchor_of(scenario::TimeRef::Kind::process_ready, process));
}

void FaultTimeline::on_all_ready(RunContext& ctx) { anchor_reached(ctx, "ready"); }

void FaultTimeline::anchor_reached(RunContext& ctx, const std::string& anchor) {
  // The anchor's own moment: "" is the scenario start itself, not when this hook runs.
  const Clock::time_point base = anchor.empty() ? ctx.t0() : Clock::now();
  reached_.emplace(anchor, base);
  for (auto& ep : entries_)
    if (ep->state == State::waiting && ep->plan.start.anchor == anchor) schedule(ctx, *ep, base);
}

void FaultTimeline::schedule(RunContext& ctx, Entry& e, Clock::time_point base) {
  e.state = State::scheduled;
  e.anchored_while_stopping = stopping_.has_value();
  e.start = base + std::chrono::duration_cast<Clock::duration>(e.plan.start.offset);
  e.timer = std::make_unique<asio::steady_timer>(ctx.io(), e.start);
  e.timer->async_wait([this, &ctx, &e](boost::system::error_code ec) {
    if (!ec) fire(ctx, e);
  });
}

// An injection that never acted has no real start or end: what is timed from it keeps its
// planned time, so one skipped optional fault does not take the faults after it along.
void FaultTimeline::fall_back_to_plan(RunContext& ctx, const std::string& injection) {
  using Kind = scenario::TimeRef::Kind;
  const auto start = scenario::anchor_of(Kind::inject_start, injection);
  const auto end = scenario::anchor_of(Kind::inject_end, injection);
  for (auto& ep : entries_) {
    Entry& e = *ep;
    if (e.state != State::waiting || (e.plan.start.anchor != start && e.plan.start.anchor != end)) continue;
    e.plan.start = e.planned_start;
    if (const auto reached = reached_.find(e.plan.start.anchor); reached != reached_.end())
      schedule(ctx, e, reached->second);
  }
}

void FaultTimeline::fire_network(RunContext& ctx, Entry& e) {
  const auto& inj = *e.plan.injection;
  const SteadyTime requested = Clock::now();
  try {
    if (!proxies_) throw Error("the scenario has no proxy `" + inj.proxy + "`");
    const std::string detail = proxies_->apply(inj);
    record_timed(ctx, "inject.apply", inj, detail, e.start, requested, Clock::now());
  } catch (const Error& error) {
    e.state = State::done;
    ctx.fail_scenario("inject `" + inj.name + "` (" + inj.kind + "): " + error.what());
    return;
  }
  ++e.applies;
  e.applied_seq = ++next_seq_;
  e.state = State::applied;
  began(ctx, e);
  arm_end(ctx, e, EndBy::revert);
}

void FaultTimeline::arm_end(RunContext& ctx, Entry& e, EndBy how) {
  const auto& duration = e.plan.injection->duration;
  if (!duration) return;
  e.end_timer = std::make_unique<asio::steady_timer>(
      ctx.io(), e.start + std::chrono::duration_cast<Clock::duration>(*duration));
  e.end_timer->async_wait([this, &ctx, &e, how](boost::system::error_code ec) {
    if (ec) return;
    if (how == EndBy::revert)
      revert(ctx, e, {}, e.end_timer->expiry());
    else
      ended(ctx, e);
  });
}

void FaultTimeline::revert_network(RunContext& ctx, Entry& e, const std::string& why,
                                   std::optional<SteadyTime> due) {
  const auto& inj = *e.plan.injection;
  const SteadyTime requested = Clock::now();
  try {
    std::string detail = proxies_->revert(inj);
    if (!why.empty()) detail += " (" + why + ")";
    record_timed(ctx, "inject.revert", inj, detail, due, requested, Clock::now());
  } catch (const Error& error) {
    ctx.fail_scenario("reverting inject `" + inj.name + "` (" + inj.kind + "): " + error.what());
  }
  ended(ctx, e);
}

bool FaultTimeline::on_since_spawn_unrecorded(RunContext& ctx, const Entry& e) const {
  const auto& inj = *e.plan.injection;
  return e.applies == 0 && e.state != State::done &&
         std::holds_alternative<scenario::SyscallFault>(inj.params) && ctx.syscall_fault_on(inj.name);
}

// The rule acted from the first instruction of a process that is gone by now: applied, and over.
void FaultTimeline::record_on_since_spawn(RunContext& ctx, Entry& e) {
  const auto& inj = *e.plan.injection;
  const SteadyTime now = Clock::now();
  if (e.timer) e.timer->cancel();
  ++e.applies;
  e.applied_seq = ++next_seq_;
  e.state = State::done;
  record_timed(ctx, "inject.apply", inj, "rule on since `" + inj.into + "` was spawned (it has exited since)",
               e.start, now, now);
  began(ctx, e);
  ended(ctx, e);
}

void FaultTimeline::on_stop_phase(RunContext&) {
  if (!stopping_) stopping_ = "the stop phase had begun (the processes were being stopped)";
}
void FaultTimeline::on_timeout(RunContext&) {
  if (!stopping_) stopping_ = "the scenario timeout had been reached";
}

void FaultTimeline::fire(RunContext& ctx, Entry& e) {
  const auto& inj = *e.plan.injection;
  if (e.state == State::done) return;
  // An `at = "0s"` syscall rule was switched on as its process was spawned, before this timer:
  // it has acted from the first instruction, whatever happened since (the process may have
  // exited, the stop phase may have begun).
  const bool on_since_spawn = on_since_spawn_unrecorded(ctx, e);
  const bool running = ctx.main_pid(inj.into) && ctx.process_group(inj.into);
  if (on_since_spawn && !running) return record_on_since_spawn(ctx, e);
  // Once the processes are being stopped (or timed out), a fault would test their shutdown, not
  // the run it was timed into: "no write failed while the disk was full" must not pass on a disk
  // full only while the target was exiting. A fault timed from a process's own exit, before the
  // stop phase (a driver's, under `stop = "load.exit"`), is meant for that moment.
  const bool from_exit_before_stop =
      timeline::exiting_process(e.plan.start.anchor) && !e.anchored_while_stopping;
  if (stopping_ && !on_since_spawn && !from_exit_before_stop) {
    skip(ctx, e,
         e.applies ? *stopping_ + " after " + std::to_string(e.applies) + " of " +
                         std::to_string(planned_applies(inj)) + " repeats"
                   : *stopping_);
    return;
  }
  if (!inj.proxy.empty()) {
    fire_network(ctx, e);
    return;
  }
  if (!running) {
    skip(ctx, e, "`" + inj.into + "` is not running" + (e.applies ? " any more" : ""));
    return;
  }
  const bool first = e.applies == 0;
  const SteadyTime requested = Clock::now();
  SteadyTime due = e.start;
  if (const auto every = repeat_every(inj); every && !first)
    due += std::chrono::duration_cast<Clock::duration>(*every) * e.applies;
  try {
    if (first && std::holds_alternative<scenario::SyscallFault>(inj.params))
      e.injector = std::make_unique<SyscallSwitch>(ctx, inj.name);
    else if (first)
      e.injector = injectors::make_injector(
          inj, ctx.faultline_dir() + "/faultline",
          [this, &ctx, &e, into = inj.into](const std::vector<std::string>& argv) {
            // A hog killed early ends its fault; another helper (a v1 squeeze's charge) is meant
            // to be short-lived.
            if (!std::holds_alternative<scenario::HogFault>(e.plan.injection->params))
              return ctx.spawn_helper(into, argv, {});
            return ctx.spawn_helper(into, argv, [this, &ctx, &e](bool by_oom_killer) {
              return hog_killed(ctx, e, by_oom_killer);
            });
          });
    if (first)
      if (const Entry* other = ramp_overlapping(e))
        throw Error("would overlap `" + other->plan.injection->name + "` on the same " + inj.kind +
                    " limit of `" + inj.into +
                    "` while one of them ramps: the first to end would restore a value the other no longer "
                    "holds; give them windows that do not overlap");
    std::string detail = e.injector->apply(target_of(ctx, e));
    const SteadyTime effective = Clock::now();
    ++e.applies;
    const std::uint32_t total = planned_applies(inj);
    if (total > 1) detail += " (" + std::to_string(e.applies) + " of " + std::to_string(total) + ")";
    record_timed(ctx, "inject.apply", inj, detail, due, requested, effective);
  } catch (const injectors::Refused& refused) {
    skip(ctx, e, refused.what());
    return;
  } catch (const injectors::NoEffect& no_effect) {
    skip(ctx, e, std::string("it would change nothing here: ") + no_effect.what());
    return;
  } catch (const Error& error) {
    // A target that exits while the fault is being applied is a skip, not a failure.
    if (!ctx.main_pid(inj.into)) {
      skip(ctx, e, "`" + inj.into + "` exited while it was being applied: " + error.what());
      return;
    }
    e.state = State::done;
    ctx.fail_scenario("inject `" + inj.name + "` (" + inj.kind + "): " + error.what());
    return;
  }
  if (first) {
    e.applied_seq = ++next_seq_;
    began(ctx, e);
    if (e.injector->revertible()) e.state = State::applied;
    if (e.injector->step_interval()) schedule_step(ctx, e);
    if (e.injector->watch_interval()) schedule_watch(ctx, e);
    // A fault with nothing to undo still has a window (and what is timed from `X.end`) that ends
    // `duration` after it began, repeats or not.
    arm_end(ctx, e, e.injector->revertible() ? EndBy::revert : EndBy::window_only);
  }
  if (e.applies < planned_applies(inj))
    schedule_repeat(ctx, e);
  else if (!e.injector->revertible())
    e.state = State::done;
}

void FaultTimeline::schedule_repeat(RunContext& ctx, Entry& e) {
  const auto every = std::chrono::duration_cast<Clock::duration>(*repeat_every(*e.plan.injection));
  // Measured from when the first one was due, so lateness does not accumulate.
  e.timer->expires_at(e.start + every * e.applies);
  e.timer->async_wait([this, &ctx, &e](boost::system::error_code ec) {
    if (!ec) fire(ctx, e);
  });
}

void FaultTimeline::schedule_step(RunContext& ctx, Entry& e) {
  const auto interval = std::chrono::duration_cast<Clock::duration>(*e.injector->step_interval());
  if (!e.step_timer) e.step_timer = std::make_unique<asio::steady_timer>(ctx.io());
  e.step_timer->expires_at(e.start + interval * (e.steps + 1));
  e.step_timer->async_wait([this, &ctx, &e, interval](boost::system::error_code ec) {
    if (ec || e.state != State::applied) return;
    const auto& inj = *e.plan.injection;
    if (!ctx.main_pid(inj.into)) return;  // the exit hook reverts
    try {
      if (!take_step(ctx, e, target_of(ctx, e), e.start + interval * (e.steps + 1))) return;
    } catch (const Error& error) {
      if (!ctx.main_pid(inj.into)) return;
      ctx.fail_scenario("inject `" + inj.name + "` (" + inj.kind + "), ramp step: " + error.what());
      return;
    }
    schedule_step(ctx, e);
  });
}

bool FaultTimeline::take_step(RunContext& ctx, Entry& e, const injectors::Target& target, SteadyTime due) {
  const SteadyTime requested = Clock::now();
  const auto detail = e.injector->step(target);
  if (!detail) return false;
  ++e.steps;
  record_timed(ctx, "inject.step", *e.plan.injection, *detail, due, requested, Clock::now());
  return true;
}

// A ramp's steps due by the fault's planned end come before its revert: with `over` equal to
// `duration`, its last step and its end fall due at one instant, and their timers run in either
// order. Without that step the ramp never reaches its limit. A step that fails ends the
// scenario as one from its timer does; the revert still comes.
void FaultTimeline::take_steps_due_by(RunContext& ctx, Entry& e, const injectors::Target& target,
                                      Clock::time_point end) {
  const auto interval = e.injector->step_interval();
  if (!interval) return;
  const auto every = std::chrono::duration_cast<Clock::duration>(*interval);
  const auto& inj = *e.plan.injection;
  try {
    while (e.start + every * (e.steps + 1) <= end &&
           take_step(ctx, e, target, e.start + every * (e.steps + 1))) {
    }
  } catch (const Error& error) {
    ctx.fail_scenario("inject `" + inj.name + "` (" + inj.kind + "), ramp step: " + error.what());
  }
}

void FaultTimeline::schedule_watch(RunContext& ctx, Entry& e) {
  if (!e.watch_timer) e.watch_timer = std::make_unique<asio::steady_timer>(ctx.io());
  e.watch_timer->expires_after(std::chrono::duration_cast<Clock::duration>(*e.injector->watch_interval()));
  e.watch_timer->async_wait([this, &ctx, &e](boost::system::error_code ec) {
    if (ec || e.state != State::applied) return;
    if (!ctx.main_pid(e.plan.injection->into)) return;  // the exit hook reverts
    try {
      e.injector->watch(target_of(ctx, e));
    } catch (const Error&) {
      // The cgroup could not be listed just now; the next look, or the revert, reads it again.
    }
    schedule_watch(ctx, e);
  });
}

void FaultTimeline::revert(RunContext& ctx, Entry& e, const std::string& why, std::optional<SteadyTime> due) {
  if (e.state != State::applied) return;
  const SteadyTime requested = Clock::now();
  e.state = State::done;
  if (e.step_timer) e.step_timer->cancel();
  if (e.watch_timer) e.watch_timer->cancel();
  if (e.end_timer) e.end_timer->cancel();
  const auto& inj = *e.plan.injection;
  if (!inj.proxy.empty()) {
    revert_network(ctx, e, why, due);
    return;
  }
  cgroup::Cgroup* group = ctx.process_group(inj.into);
  if (!group) return ended(ctx, e);
  try {
    const injectors::Target target = target_of(ctx, e);
    if (due) take_steps_due_by(ctx, e, target, *due);
    // Overlapping faults on one knob end in any order: each injector restores the value it
    // found, so unwind the later ones first, restore ours, then put theirs back (they now
    // remember the value from before ours and restore that when they end).
    const auto later = later_on_same_knob(e);
    for (auto it = later.rbegin(); it != later.rend(); ++it) (*it)->injector->revert(target);
    std::string detail = e.injector->revert(target);
    for (Entry* l : later)
      detail += "; `" + l->plan.injection->name + "` still active, re-applied: " + l->injector->apply(target);
    const SteadyTime effective = Clock::now();
    if (!why.empty()) detail += (detail.empty() ? "" : " ") + std::string("(") + why + ")";
    record_timed(ctx, "inject.revert", inj, detail, due, requested, effective);
    if (const auto never_held = e.injector->never_held())
      ctx.record("inject.unheld", inj.into, inj.name, *never_held);
  } catch (const Error& error) {
    ctx.fail_scenario("reverting inject `" + inj.name + "` (" + inj.kind + "): " + error.what());
  }
  ended(ctx, e);
}

namespace {
bool ramps(const scenario::Injection& inj) {
  const auto* memory = std::get_if<scenario::MemoryFault>(&inj.params);
  return memory && memory->over;
}
}  // namespace

// Overlapping faults on one knob are unwound and re-applied at each end (later_on_same_knob), but
// a ramp cannot be re-applied where it stood: an overlap with a ramp on either side is refused.
const FaultTimeline::Entry* FaultTimeline::ramp_overlapping(const Entry& e) const {
  const auto& inj = *e.plan.injection;
  for (const auto& other : entries_) {
    const auto& o = *other->plan.injection;
    if (other.get() != &e && other->state == State::applied && o.into == inj.into && o.kind == inj.kind &&
        (ramps(inj) || ramps(o)))
      return other.get();
  }
  return nullptr;
}

std::vector<FaultTimeline::Entry*> FaultTimeline::later_on_same_knob(const Entry& e) {
  std::vector<Entry*> later;
  const auto& inj = *e.plan.injection;
  // Signals cannot be undone and every hog is a process of its own: only shared knobs count.
  // A ramp never overlaps another fault on its knob (ramp_overlapping refuses it at apply).
  // Each syscall fault is a rule of its own in the notifier.
  if (inj.kind == "signal" || inj.kind == "hog" || inj.kind == "syscall" || e.injector->step_interval())
    return later;
  for (auto& other : entries_) {
    const auto& o = *other->plan.injection;
    if (other.get() != &e && other->state == State::applied && other->applied_seq > e.applied_seq &&
        o.into == inj.into && o.kind == inj.kind && !other->injector->step_interval())
      later.push_back(other.get());
  }
  std::sort(later.begin(), later.end(),
            [](const Entry* a, const Entry* b) { return a->applied_seq < b->applied_seq; });
  return later;
}

void FaultTimeline::skip(RunContext& ctx, Entry& e, const std::string& reason) {
  if (e.timer) e.timer->cancel();
  if (e.step_timer) e.step_timer->cancel();
  if (e.watch_timer) e.watch_timer->cancel();
  if (e.end_timer) e.end_timer->cancel();
  e.state = State::done;
  ctx.record("inject.skip", e.plan.injection->into, e.plan.injection->name, reason);
  ended(ctx, e);
}

bool FaultTimeline::hog_killed(RunContext& ctx, Entry& e, bool by_oom_killer) {
  if (e.state != State::applied) return false;  // killed by its own revert
  e.state = State::done;
  if (e.end_timer) e.end_timer->cancel();
  // Its revert would find it gone: the neighbour stopped acting here, not at the end of `duration`.
  ctx.record("inject.revert", e.plan.injection->into, e.plan.injection->name,
             std::string(by_oom_killer ? "the OOM killer chose the hog"
                                       : "the hog was killed by SIGKILL, not by the OOM killer") +
                 " before its end: the neighbour is gone from here on");
  ended(ctx, e);
  return true;
}

void FaultTimeline::began(RunContext& ctx, Entry& e) {
  if (std::exchange(e.began, true)) return;
  ctx.injection_changed(e.plan.injection->name, true);
  anchor_reached(ctx, scenario::anchor_of(scenario::TimeRef::Kind::inject_start, e.plan.injection->name));
}

void FaultTimeline::ended(RunContext& ctx, Entry& e) {
  if (std::exchange(e.ended, true)) return;
  ctx.injection_changed(e.plan.injection->name, false);
  if (e.began)
    anchor_reached(ctx, scenario::anchor_of(scenario::TimeRef::Kind::inject_end, e.plan.injection->name));
  else
    fall_back_to_plan(ctx, e.plan.injection->name);
}

void FaultTimeline::on_process_exit(RunContext& ctx, const std::string& process) {
  // First the faults the exit starts (into other processes: this one is gone), then the
  // faults the exit ends.
  anchor_reached(ctx, scenario::anchor_of(scenario::TimeRef::Kind::process_exit, process));
  for (auto& ep : entries_) {
    Entry& e = *ep;
    if (e.plan.injection->into != process) continue;
    if (e.state == State::applied)
      revert(ctx, e, "target exited");
    else if (e.state == State::scheduled && e.applies > 0)
      skip(ctx, e,
           "`" + process + "` exited after " + std::to_string(e.applies) + " of " +
               std::to_string(planned_applies(*e.plan.injection)) + " repeats");
  }
}

void FaultTimeline::on_run_end(RunContext& ctx) {
  for (auto& ep : entries_) {
    Entry& e = *ep;
    if (e.timer) e.timer->cancel();
    if (e.step_timer) e.step_timer->cancel();
    if (e.watch_timer) e.watch_timer->cancel();
    if (e.end_timer) e.end_timer->cancel();
    if (e.state == State::applied) {
      revert(ctx, e, "run ended");
    } else if (on_since_spawn_unrecorded(ctx, e)) {
      record_on_since_spawn(ctx, e);  // a quick process ended the run before the first timer came
    } else if (e.state == State::scheduled && e.applies > 0) {
      skip(ctx, e,
           "the run ended after " + std::to_string(e.applies) + " of " +
               std::to_string(planned_applies(*e.plan.injection)) + " repeats");
    } else if (e.state == State::waiting || e.state == State::scheduled) {
      skip(ctx, e,
           "the run ended before " + timeline::to_string(e.plan.start) + " (`" + e.plan.injection->at.text +
               "`)");
    }
  }
}

std::unique_ptr<RunObserver> make_fault_timeline(const scenario::Scenario& scenario, Proxies* proxies) {
  if (scenario.injections.empty()) return nullptr;
  return std::make_unique<FaultTimeline>(scenario, proxies);
}

}  // namespace faultline::runner
