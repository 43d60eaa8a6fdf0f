#include "timeline/schedule.h"

#include <algorithm>

#include "common/error.h"
#include "scenario/time_point.h"

namespace faultline::timeline {
namespace {

using scenario::Scenario;
using scenario::TimePoint;

std::string quoted(const std::string& text) { return "`" + text + "`"; }

std::string after_what(const std::string& anchor) {
  return anchor.empty() ? std::string("the scenario start") : quoted(anchor);
}

// The shared resolver's problem as the error `plan` and the runner report.
[[noreturn]] void fail(const scenario::TimeProblem& p) {
  using Kind = scenario::TimeProblem::Kind;
  const std::string written = quoted(p.at->text.empty() ? p.at->anchor : p.at->text);
  switch (p.kind) {
    case Kind::unknown_anchor:
      throw Error("time " + written + ": unknown anchor " + quoted(p.at->anchor) +
                  " (expected \"ready\", \"<process>.ready\", \"<process>.exit\", \"<inject>.start\" or "
                  "\"<inject>.end\")");
    case Kind::unknown_event:
      throw Error("time " + written + ": unknown event " + quoted(p.name) +
                  " (expected ready, exit, start or end)");
    case Kind::unknown_process:
      throw Error("time " + written + ": no process is named " + quoted(p.name));
    case Kind::unknown_injection:
      throw Error("time " + written + ": no injection is named " + quoted(p.name));
    case Kind::no_end:
      throw Error("time " + written + ": injection " + quoted(p.name) + " has no duration, so it has no end");
    case Kind::cycle: {
      std::string loop;
      for (const auto& c : p.chain) loop += (loop.empty() ? "" : " -> ") + c;
      throw Error("injections are timed relative to each other in a cycle: " + loop);
    }
    case Kind::too_late:
      throw Error("time " + written + " lies more than " + format_duration(kMaxDuration) + " after " +
                  after_what(p.base.anchor) + ", the longest timeline faultline plans");
    case Kind::too_early:
      throw Error("time " + written + " comes before " + quoted(p.name + ".start") +
                  ": a `-` offset counts back from an injection's end, at most its duration");
  }
  throw Error("time " + written + " does not resolve");
}

// base + offset; a time past kMaxDuration is an error rather than a wrapped (negative) offset.
Duration later(const Resolved& base, Duration offset, const std::string& written) {
  if (auto sum = add_durations(base.offset, offset)) return *sum;
  const TimePoint at{{}, offset, written};
  fail({scenario::TimeProblem::Kind::too_late, &at, {}, {}, base});
}

Resolved resolve_chain(const Scenario& s, const TimePoint& t, std::vector<std::string> chain) {
  auto r = scenario::resolve_time(s, t, {std::move(chain), true});
  if (!r.time) fail(*r.problem);
  return *r.time;
}

}  // namespace

std::size_t anchor_rank(const std::vector<const scenario::ProcessSpec*>& order, const std::string& anchor) {
  using Kind = scenario::TimeRef::Kind;
  const std::size_t n = order.size();
  const auto ref = scenario::time_ref({anchor, {}, {}});
  if (ref && ref->kind == Kind::run_start) return 0;
  if (ref && ref->names_process())
    for (std::size_t i = 0; i < n; ++i)
      if (order[i]->name == ref->name) return ref->kind == Kind::process_ready ? i + 1 : n + 2 + i;
  return n + 1;
}

std::size_t anchor_rank(const Scenario& s, const std::string& anchor) {
  std::vector<const scenario::ProcessSpec*> order;
  for (const auto& p : s.processes) order.push_back(&p);
  return anchor_rank(order, anchor);
}

std::optional<std::string> exiting_process(const std::string& anchor) {
  auto ref = scenario::time_ref({anchor, {}, {}});
  if (!ref || ref->kind != scenario::TimeRef::Kind::process_exit) return std::nullopt;
  return ref->name;
}

Resolved resolve(const Scenario& s, const TimePoint& t) { return resolve_chain(s, t, {}); }

std::vector<PlannedInjection> plan_injections(const Scenario& s) {
  std::vector<PlannedInjection> plan;
  plan.reserve(s.injections.size());
  for (const auto& inj : s.injections) {
    PlannedInjection p{&inj, {}, std::nullopt};
    try {
      p.start = resolve_chain(s, inj.at, {inj.name});
    } catch (const Error& e) {
      throw e.with_context("injection " + quoted(inj.name));
    }
    try {
      if (inj.duration) p.end = Resolved{p.start.anchor, later(p.start, *inj.duration, inj.name + ".end")};
    } catch (const Error& e) {
      throw e.with_context("injection " + quoted(inj.name));
    }
    plan.push_back(p);
  }
  std::stable_sort(plan.begin(), plan.end(), [&](const PlannedInjection& a, const PlannedInjection& b) {
    const auto ra = anchor_rank(s, a.start.anchor), rb = anchor_rank(s, b.start.anchor);
    if (ra != rb) return ra < rb;
    return a.start.offset < b.start.offset;
  });
  return plan;
}

std::string to_string(const Resolved& r) {
  if (r.anchor.empty()) return format_duration(r.offset);
  if (r.offset == Duration{0}) return r.anchor;
  if (r.offset < Duration{0}) return r.anchor + "-" + format_duration(-r.offset);
  return r.anchor + "+" + format_duration(r.offset);
}

}  // namespace faultline::timeline
