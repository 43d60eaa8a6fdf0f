// The time grammar of a scenario, parsed in one place: "2s", "ready", "ready+2s", "api.ready+1s",
// "load.exit+2s", "squeeze.start+1s", "squeeze.end", "squeeze.end-300ms". The loader parses what
// a file says; the timeline, `plan` and the runner ask the same functions what an anchor names
// instead of splitting its text again.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/units.h"
#include "scenario/model.h"

namespace faultline::scenario {

// What the loader says when a time does not parse, before "got ...".
inline constexpr const char* kTimeExpected =
    R"(expected a time such as "2s", "ready+2s", "api.ready+1s" or "squeeze.end")";

// A time with its anchor taken apart: what it counts from, whose event that is, and how far after
// it (before it only for `<inj>.end-D`).
struct TimeRef {
  enum class Kind { run_start, all_ready, process_ready, process_exit, inject_start, inject_end };
  Kind kind = Kind::run_start;
  std::string name;  // the process or injection; empty for run_start and all_ready
  Duration offset{0};

  bool names_process() const { return kind == Kind::process_ready || kind == Kind::process_exit; }
  bool names_injection() const { return kind == Kind::inject_start || kind == Kind::inject_end; }
  // "ready", "exit", "start" or "end" after the name; empty for run_start and all_ready.
  std::string_view event() const;
  // The anchor as a scenario writes it: "", "ready", "api.ready", "squeeze.end".
  std::string anchor() const;
  bool operator==(const TimeRef&) const = default;
};

// Parses a time as written in a scenario. A `-` offset counts back from an injection's end only:
// anything earlier than another anchor (`ready-1s`, `load.exit-1s`) names a moment the runner has
// already passed when the anchor happens. On failure `why` says what was expected and why not.
std::optional<TimeRef> parse_time_point(std::string_view text, std::string* why);

// The same time as the model keeps it (`anchor`, `offset`, `text` as written).
TimePoint to_time_point(const TimeRef& ref, std::string text);

// What a model time counts from. nullopt when its anchor is none of the forms above (a model built
// by code rather than by the loader); then `unknown_event` gets the part after the last `.`, or
// stays untouched when there is no `.` at all.
std::optional<TimeRef> time_ref(const TimePoint& t, std::string* unknown_event = nullptr);

// The anchor text of an event of one process or injection: anchor_of(Kind::process_ready, "api")
// is "api.ready".
std::string anchor_of(TimeRef::Kind kind, const std::string& name);

}  // namespace faultline::scenario
