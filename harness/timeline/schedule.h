// Time resolution for the fault timeline: every time written in a scenario (`at`, window
// bounds) reduced to one of the anchors the runner knows when it happens, plus an offset.
// Pure: used by the runner's scheduler and by `faultline plan`, which runs nothing.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/units.h"
#include "scenario/model.h"
#include "scenario/time_resolution.h"

namespace faultline::timeline {

// A time reduced to a base anchor: "" (scenario start), "ready" (all processes ready),
// "<process>.ready" or "<process>.exit", plus an offset. "<inj>.start+1s" with inj.at = "ready+2s"
// -> {"ready", 3s}; "<inj>.end" adds the injection's duration; "<inj>.end-300ms" then takes 300ms
// off, and may go back as far as the injection's start, never before it.
using Resolved = scenario::ResolvedTime;

// Throws Error on a reference to an unknown process or injection, on `<inj>.end` of an
// injection without `duration`, on injections timed relative to each other in a cycle, on a `-`
// offset anywhere but after `<inj>.end` or longer than that injection, and on a
// time more than kMaxDuration after its base anchor (sums are checked, never wrapped).
Resolved resolve(const scenario::Scenario& s, const scenario::TimePoint& t);

struct PlannedInjection {
  const scenario::Injection* injection;
  Resolved start;
  std::optional<Resolved> end;  // set when it has a duration
};

// Where an anchor sorts in a plan: "" first, then each "<process>.ready" in declaration order,
// then "ready", then each "<process>.exit" in declaration order. Only a reading aid: a process
// may exit before it is ready, or before the others are.
std::size_t anchor_rank(const scenario::Scenario& s, const std::string& anchor);
// The same with the processes in another order (`plan` lists them in start order).
std::size_t anchor_rank(const std::vector<const scenario::ProcessSpec*>& order, const std::string& anchor);

// "load" for "load.exit"; nullopt for any other anchor.
std::optional<std::string> exiting_process(const std::string& anchor);

// Every injection, ordered by anchor_rank and by offset within one anchor; ties keep the file's order. Times
// on different anchors are not comparable before a run, so this order is only a reading aid there.
std::vector<PlannedInjection> plan_injections(const scenario::Scenario& s);

// "ready+3s", "2s", "api.ready": the resolved time as a scenario would write it.
std::string to_string(const Resolved& r);

}  // namespace faultline::timeline
