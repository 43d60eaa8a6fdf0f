#include "timeline/schedule.h"

#include <algorithm>

#include "common/error.h"

namespace faultline::timeline {
namespace {

using scenario::Injection;
using scenario::Scenario;
using scenario::TimePoint;

const Injection* find_injection(const Scenario& s, const std::string& name) {
  for (const auto& inj : s.injections)
    if (inj.name == name) return &inj;
  return nullptr;
}

std::string quoted(const std::string& text) { return "`" + text + "`"; }

// base + offset; a time past kMaxDuration is an error rather than a wrapped (negative) offset.
Duration later(const Resolved& base, Duration offset, const std::string& written) {
  if (auto sum = add_durations(base.offset, offset)) return *sum;
  throw Error("time " + quoted(written) + " lies more than " + format_duration(kMaxDuration) + " after " +
              (base.anchor.empty() ? std::string("the scenario start") : quoted(base.anchor)) +
              ", the longest timeline faultline plans");
}

Resolved resolve_chain(const Scenario& s, const TimePoint& t, std::vector<std::string>& chain) {
  const std::string written = t.text.empty() ? t.anchor : t.text;
  // `later` refuses negative offsets: only `<inj>.end-D` takes one (below).
  if (t.anchor.empty() || t.anchor == "ready") return {t.anchor, later({t.anchor, {}}, t.offset, written)};
  const std::size_t dot = t.anchor.rfind('.');
  if (dot == std::string::npos)
    throw Error("time " + quoted(written) + ": unknown anchor " + quoted(t.anchor) +
                " (expected \"ready\", \"<process>.ready\", \"<process>.exit\", \"<inject>.start\" or "
                "\"<inject>.end\")");
  const std::string name = t.anchor.substr(0, dot);
  const std::string event = t.anchor.substr(dot + 1);
  // A process's exit, like its readiness, is known only when the run gets there.
  if (event == "ready" || event == "exit") {
    if (!s.find_process(name))
      throw Error("time " + quoted(written) + ": no process is named " + quoted(name));
    return {t.anchor, later({t.anchor, {}}, t.offset, written)};
  }
  if (event != "start" && event != "end")
    throw Error("time " + quoted(written) + ": unknown event " + quoted(event) +
                " (expected ready, exit, start or end)");
  const Injection* inj = find_injection(s, name);
  if (!inj) throw Error("time " + quoted(written) + ": no injection is named " + quoted(name));
  if (std::find(chain.begin(), chain.end(), name) != chain.end()) {
    std::string loop;
    for (const auto& c : chain) loop += c + " -> ";
    throw Error("injections are timed relative to each other in a cycle: " + loop + name);
  }
  if (event == "end" && !inj->duration)
    throw Error("time " + quoted(written) + ": injection " + quoted(name) +
                " has no duration, so it has no end");
  chain.push_back(name);
  Resolved base = resolve_chain(s, inj->at, chain);
  chain.pop_back();
  if (event == "end") base.offset = later(base, *inj->duration, written);
  if (t.offset >= Duration{0}) {
    base.offset = later(base, t.offset, written);
    return base;
  }
  // `<inj>.end-D` counts back within the injection, never before its start (nor the anchor).
  if (event != "end" || -t.offset > *inj->duration)
    throw Error("time " + quoted(written) + " comes before " + quoted(name + ".start") +
                ": a `-` offset counts back from an injection's end, at most its duration");
  base.offset += t.offset;
  return base;
}

}  // namespace

std::size_t anchor_rank(const Scenario& s, const std::string& anchor) {
  if (anchor.empty()) return 0;
  const std::size_t n = s.processes.size();
  if (anchor == "ready") return n + 1;
  for (std::size_t i = 0; i < n; ++i) {
    if (anchor == s.processes[i].name + ".ready") return i + 1;
    if (anchor == s.processes[i].name + ".exit") return n + 2 + i;
  }
  return n + 1;
}

std::optional<std::string> exiting_process(const std::string& anchor) {
  if (!anchor.ends_with(".exit")) return std::nullopt;
  return anchor.substr(0, anchor.size() - 5);
}

Resolved resolve(const Scenario& s, const TimePoint& t) {
  std::vector<std::string> chain;
  return resolve_chain(s, t, chain);
}

std::vector<PlannedInjection> plan_injections(const Scenario& s) {
  std::vector<PlannedInjection> plan;
  plan.reserve(s.injections.size());
  for (const auto& inj : s.injections) {
    PlannedInjection p{&inj, {}, std::nullopt};
    std::vector<std::string> chain{inj.name};
    try {
      p.start = resolve_chain(s, inj.at, chain);
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
