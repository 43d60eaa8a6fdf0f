#include "runner/syscall_faults.h"

#include <algorithm>
#include <functional>

#include "common/error.h"
#include "common/units.h"
#include "scenario/chaos.h"

namespace faultline::runner {

namespace {

syscall::Rule rule_of(const scenario::Injection& inj, const std::string& scenario_name, std::uint64_t seed) {
  const auto& f = std::get<scenario::SyscallFault>(inj.params);
  syscall::RuleSpec spec;
  spec.name = inj.name;
  spec.syscalls = f.syscalls;
  spec.errno_name = f.error;
  spec.return_value = f.return_value;
  spec.delay = f.delay;
  spec.path_glob = f.path_glob;
  spec.fds = f.fds == scenario::SyscallFault::Fds::sockets ? syscall::FdKind::sockets
             : f.fds == scenario::SyscallFault::Fds::files ? syscall::FdKind::files
                                                           : syscall::FdKind::any;
  using Select = scenario::SyscallFault::Select;
  using Kind = syscall::Selection::Kind;
  spec.selection.n = f.n;
  // The fault's own name in the seed: two faults of one seed (in two processes, or two scenarios)
  // draw independently instead of failing the same call numbers.
  spec.selection.seed = seed ^ scenario::name_hash(scenario_name + "\n" + inj.name);
  spec.selection.probability = f.probability;
  switch (f.select) {
    case Select::every_call:
      spec.selection.kind = Kind::every_call;
      break;
    case Select::every:
      spec.selection.kind = Kind::every;
      break;
    case Select::nth:
      spec.selection.kind = Kind::nth;
      break;
    case Select::after:
      spec.selection.kind = Kind::after;
      break;
    case Select::probability:
      spec.selection.kind = Kind::probability;
      break;
  }
  try {
    return syscall::make_rule(spec);
  } catch (const Error& e) {
    throw e.with_context("inject `" + inj.name + "` (syscall, line " + std::to_string(inj.pos.line) + ")");
  }
}

std::string event_detail(const syscall::FaultEvent& e) {
  std::string out = "pid " + std::to_string(e.pid) + " " + e.syscall;
  if (!e.subject.empty()) out += " " + e.subject;
  // Each rule's own part: a delay-only rule held the call, and its answer (the call's own result,
  // or another rule's errno or value) is not this rule's to tell.
  if (e.delay.count() > 0) out += " delayed " + format_duration(e.delay);
  if (e.error)
    out += " -> " + syscall::errno_name(e.error);
  else if (e.return_value)
    out += " -> " + std::to_string(*e.return_value);
  // Another rule delayed the same call: what the process waited is the sum.
  if (e.held > e.delay) out += " (held " + format_duration(e.held) + " in all by the rules on it)";
  return out;
}

}  // namespace

SyscallFaults::SyscallFaults(const scenario::Scenario& scenario, std::uint64_t seed) {
  for (const auto& inj : scenario.injections) {
    if (!std::holds_alternative<scenario::SyscallFault>(inj.params) || inj.into.empty()) continue;
    PerProcess& p = processes_[inj.into];
    p.rules.push_back(
        rule_of(inj, scenario.name_as_written.empty() ? scenario.name : scenario.name_as_written, seed));
    p.injections.push_back(&inj);
  }
}

SyscallFaults::~SyscallFaults() {
  for (auto& [name, p] : processes_)
    if (p.notifier) p.notifier->stop();
}

void SyscallFaults::prepare_spawn(const std::string& process, supervisor::SpawnRequest& request) {
  auto it = processes_.find(process);
  if (it == processes_.end()) return;
  PerProcess& p = it->second;
  p.channel = syscall::ListenerChannel::create();
  p.notifier = std::make_unique<syscall::Notifier>(p.rules, std::move(p.channel->harness_end));
  // `at = "0s"` means from the target's first instruction: the fault timeline switches rules on
  // from a timer, which runs only after this spawn, when a quick target may be done already.
  for (std::size_t i = 0; i < p.injections.size() && !run_start_spawned_; ++i) {
    const auto& at = p.injections[i]->at;
    if (at.anchor.empty() && at.offset.count() == 0) p.notifier->set_active(i, true);
  }
  p.filter.emplace(p.notifier->filter(p.channel->child_end.get()));
  request.notify_filter = p.filter->program();
  request.notify_socket = p.channel->child_end.get();
  request.announce_own_execs = [notifier = p.notifier.get()](const auto& calls) {
    notifier->expect_own_execs(calls);
  };
}

void SyscallFaults::spawned(const std::string& process) {
  auto it = processes_.find(process);
  if (it != processes_.end() && it->second.channel) it->second.channel->child_end.reset();
}

std::string SyscallFaults::set_active(const std::string& injection, bool active) {
  for (auto& [name, p] : processes_)
    for (std::size_t i = 0; i < p.injections.size(); ++i) {
      if (p.injections[i]->name != injection) continue;
      if (!p.notifier) throw Error("process `" + name + "` was not started under the syscall filter");
      p.notifier->set_active(i, active);
      std::string calls;
      for (const auto& s : std::get<scenario::SyscallFault>(p.injections[i]->params).syscalls)
        calls += (calls.empty() ? "" : ",") + s;
      return active ? "rule on: " + calls + " trapped calls are hit"
                    : "rule off: " + calls + " pass untouched";
    }
  throw Error("inject `" + injection + "` is not a syscall fault of this run");
}

bool SyscallFaults::is_on(const std::string& injection) const {
  for (const auto& [name, p] : processes_)
    for (std::size_t i = 0; i < p.injections.size(); ++i)
      if (p.injections[i]->name == injection) return p.notifier && p.notifier->active(i);
  return false;
}

void SyscallFaults::stop_phase_began() {
  const auto now = std::chrono::steady_clock::now();
  for (auto& [name, p] : processes_)
    if (p.notifier) p.notifier->records().mark_stop(now);
}

void SyscallFaults::finish(RunContext& ctx) {
  if (finished_) return;
  finished_ = true;
  auto& timeline = ctx.result().timeline;
  const std::size_t before = timeline.size();
  for (auto& [process, p] : processes_) {
    if (!p.notifier) continue;
    p.notifier->stop();
    const auto records = p.notifier->records().snapshot();
    for (std::size_t i = 0; i < records.size() && i < p.injections.size(); ++i) {
      const auto& inj = *p.injections[i];
      const auto& r = records[i];
      const auto t_ms_of = [&](const syscall::FaultEvent& e) {
        return std::chrono::duration<double, std::milli>(e.time - ctx.t0()).count();
      };
      const auto add = [&](const syscall::FaultEvent& e) {
        timeline.emplace_back(t_ms_of(e), "syscall.fail", process, inj.name, event_detail(e));
      };
      for (const auto& e : r.first) add(e);
      const std::uint64_t kept = r.first.size() + r.last.size();
      // The note stands where the calls it replaces happened: after the first kept events and at
      // the first of the last ones (the stable sort below keeps it before that one).
      const std::uint64_t acted = r.acted + r.acted_while_stopping;
      if (acted > kept)
        timeline.emplace_back(!r.last.empty()    ? t_ms_of(r.last.front())
                              : !r.first.empty() ? t_ms_of(r.first.back())
                                                 : ctx.now_ms(),
                              "syscall.elided", process, inj.name,
                              std::to_string(acted - kept) + " more calls hit, not listed one by one");
      for (const auto& e : r.last) add(e);
      std::string count =
          std::to_string(r.acted) + " of " + std::to_string(r.matched) + " matching calls hit while active";
      if (r.matched_while_stopping > 0)
        count += "; " + std::to_string(r.acted_while_stopping) + " of " +
                 std::to_string(r.matched_while_stopping) +
                 " more after the stop phase began, not counted (the shutdown, not the run)";
      timeline.emplace_back(ctx.now_ms(), "syscall.count", process, inj.name, std::move(count));
      ctx.result().syscall_faults.push_back({inj.name, process, r.matched, r.acted, r.acted_while_stopping});
    }
  }
  // Calls were recorded by the notifier's threads; they go where they happened on the timeline.
  std::stable_sort(timeline.begin() + static_cast<std::ptrdiff_t>(before), timeline.end(),
                   [](const auto& a, const auto& b) { return a.t_ms < b.t_ms; });
  std::inplace_merge(timeline.begin(), timeline.begin() + static_cast<std::ptrdiff_t>(before), timeline.end(),
                     [](const auto& a, const auto& b) { return a.t_ms < b.t_ms; });
}

std::unique_ptr<SyscallFaults> make_syscall_faults(const scenario::Scenario& scenario, std::uint64_t seed) {
  for (const auto& inj : scenario.injections)
    if (std::holds_alternative<scenario::SyscallFault>(inj.params))
      return std::make_unique<SyscallFaults>(scenario, seed);
  return nullptr;
}

}  // namespace faultline::runner
