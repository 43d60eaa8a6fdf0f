// Reduces a scenario time to one of the anchors a run knows when it happens, plus an offset:
// "<inj>.start+1s" with inj.at = "ready+2s" is {"ready", 3s}. Pure, and shared: the loader turns
// its problems into positioned diagnostics, the timeline into errors for `plan` and the runner.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/units.h"
#include "scenario/model.h"

namespace faultline::scenario {

// A base anchor ("", "ready", "<process>.ready", "<process>.exit") and the offset after it.
struct ResolvedTime {
  std::string anchor;
  Duration offset{0};
  bool operator==(const ResolvedTime&) const = default;
};

// Why a time does not resolve, with what names the culprit.
struct TimeProblem {
  enum class Kind {
    unknown_anchor,     // no `.` and not "ready" (only in models built by code)
    unknown_event,      // `name` is the event after the last `.`
    unknown_process,    // `name` is no process
    unknown_injection,  // `name` is no injection
    no_end,             // `<name>.end` of an injection without duration
    cycle,              // `chain` holds the loop, its first name again at the end
    too_late,           // more than kMaxDuration after `base.anchor` (sums are checked, never wrapped)
    too_early,          // a `-` offset not after `<name>.end`, or longer than that injection
  };
  Kind kind;
  const TimePoint* at;  // the time that failed: the one asked about or one on its chain
  std::string name;
  std::vector<std::string> chain;
  ResolvedTime base;
};

struct TimeResolution {
  std::optional<ResolvedTime> time;
  std::optional<TimeProblem> problem;  // set exactly when `time` is not
};

struct ResolveOptions {
  // Injections already on the chain being followed (a plan starts with the injection itself).
  std::vector<std::string> chain;
  // Whether "<process>.ready"/".exit" must name a process; the loader checks names on its own.
  bool check_process_names = true;
};

// Follows injection references (`<inj>.start`, `<inj>.end`, which adds the injection's duration;
// `<inj>.end-D` may count back as far as the injection's start) down to a base anchor.
TimeResolution resolve_time(const Scenario& s, const TimePoint& t, ResolveOptions options = {});

}  // namespace faultline::scenario
