#include "scenario/time_resolution.h"

#include <algorithm>

#include "scenario/time_point.h"

namespace faultline::scenario {
namespace {

using ProblemKind = TimeProblem::Kind;

TimeResolution problem(ProblemKind kind, const TimePoint& at, std::string name = {}, ResolvedTime base = {}) {
  return {std::nullopt, TimeProblem{kind, &at, std::move(name), {}, std::move(base)}};
}

// base + offset; a time past kMaxDuration (or a negative offset) is a problem, never a wrap.
TimeResolution later(const ResolvedTime& base, Duration offset, const TimePoint& at) {
  if (auto sum = add_durations(base.offset, offset)) return {ResolvedTime{base.anchor, *sum}, std::nullopt};
  return problem(ProblemKind::too_late, at, {}, base);
}

TimeResolution resolve_chain(const Scenario& s, const TimePoint& t, ResolveOptions& options) {
  std::string event;
  const auto ref = time_ref(t, &event);
  if (!ref)
    return problem(event.empty() ? ProblemKind::unknown_anchor : ProblemKind::unknown_event, t, event);
  // A process's exit, like its readiness, is known only when the run gets there.
  if (!ref->names_injection()) {
    if (ref->names_process() && options.check_process_names && !s.find_process(ref->name))
      return problem(ProblemKind::unknown_process, t, ref->name);
    return later({t.anchor, {}}, t.offset, t);
  }
  const std::string& name = ref->name;
  const auto inj = std::find_if(s.injections.begin(), s.injections.end(),
                                [&](const Injection& i) { return i.name == name; });
  if (inj == s.injections.end()) return problem(ProblemKind::unknown_injection, t, name);
  auto& chain = options.chain;
  if (std::find(chain.begin(), chain.end(), name) != chain.end()) {
    TimeResolution loop = problem(ProblemKind::cycle, t, name);
    loop.problem->chain = chain;
    loop.problem->chain.push_back(name);
    return loop;
  }
  chain.push_back(name);
  TimeResolution base = resolve_chain(s, inj->at, options);
  chain.pop_back();
  if (!base.time) return base;
  const bool end = ref->kind == TimeRef::Kind::inject_end;
  if (end) {
    if (!inj->duration) return problem(ProblemKind::no_end, t, name);
    base = later(*base.time, *inj->duration, t);
    if (!base.time) return base;
  }
  if (t.offset >= Duration{0}) return later(*base.time, t.offset, t);
  // `<inj>.end-D` counts back within the injection, never before its start (nor the anchor).
  if (!end || -t.offset > *inj->duration) return problem(ProblemKind::too_early, t, name, *base.time);
  base.time->offset += t.offset;
  return base;
}

}  // namespace

TimeResolution resolve_time(const Scenario& s, const TimePoint& t, ResolveOptions options) {
  return resolve_chain(s, t, options);
}

}  // namespace faultline::scenario
