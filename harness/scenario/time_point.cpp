#include "scenario/time_point.h"

#include <array>
#include <cctype>

namespace faultline::scenario {
namespace {

using RefKind = TimeRef::Kind;

struct Event {
  std::string_view text;
  RefKind kind;
};
constexpr std::array<Event, 4> kEvents{{{"ready", RefKind::process_ready},
                                        {"exit", RefKind::process_exit},
                                        {"start", RefKind::inject_start},
                                        {"end", RefKind::inject_end}}};

// "", "ready", "<name>.<event>"; the name is everything before the last `.`.
std::optional<TimeRef> split_anchor(std::string_view anchor,
                                    std::optional<std::string_view>* unknown_event = nullptr) {
  if (anchor.empty()) return TimeRef{RefKind::run_start, {}, {}};
  if (anchor == "ready") return TimeRef{RefKind::all_ready, {}, {}};
  const std::size_t dot = anchor.rfind('.');
  if (dot == std::string_view::npos) return std::nullopt;
  const std::string_view event = anchor.substr(dot + 1);
  for (const auto& e : kEvents)
    if (e.text == event) return TimeRef{e.kind, std::string(anchor.substr(0, dot)), {}};
  if (unknown_event) *unknown_event = event;
  return std::nullopt;
}

std::string quote(std::string_view s) { return "\"" + std::string(s) + "\""; }

}  // namespace

std::string_view TimeRef::event() const {
  for (const auto& e : kEvents)
    if (e.kind == kind) return e.text;
  return {};
}

std::string TimeRef::anchor() const {
  if (kind == RefKind::run_start) return "";
  if (kind == RefKind::all_ready) return "ready";
  return anchor_of(kind, name);
}

std::string anchor_of(TimeRef::Kind kind, const std::string& name) {
  return name + "." + std::string(TimeRef{kind, {}, {}}.event());
}

std::optional<TimeRef> parse_time_point(std::string_view written, std::string* why) {
  const std::string text(written);
  const auto fail = [&](std::string_view reason = {}) -> std::optional<TimeRef> {
    *why = std::string(kTimeExpected) + ", got " + quote(text);
    if (!reason.empty()) *why += " (" + std::string(reason) + ")";
    return std::nullopt;
  };
  // Names hold no `.` or `+`, so the first `+`, or a `-` right after the event, splits the offset.
  // Events come first: a process may be named `ready-db`, and "ready-db.ready" has no offset.
  std::size_t split = text.find('+');
  bool minus = false;
  if (split == std::string::npos) {
    for (std::string_view event : {".end-", ".start-", ".ready-", ".exit-"})
      if (const std::size_t at = text.find(event); split == std::string::npos && at != std::string::npos)
        split = at + event.size() - 1;
    const bool names_an_event = text.ends_with(".ready") || text.ends_with(".exit") ||
                                text.ends_with(".start") || text.ends_with(".end");
    if (split == std::string::npos && text.starts_with("ready-") && !names_an_event) split = 5;
    minus = split != std::string::npos;
  }
  const std::string anchor = text.substr(0, split);
  Duration offset{0};
  if (split == std::string::npos) {
    if (!anchor.empty() && std::isdigit(static_cast<unsigned char>(anchor[0]))) {
      std::string duration_why;
      auto at = parse_duration(anchor, &duration_why);
      if (!at && duration_why.ends_with("(365 days))"))
        return fail("too large; durations go up to " + format_duration(kMaxDuration) + " (365 days)");
      if (!at)
        return fail(anchor.find_first_not_of("0123456789.") == std::string::npos ? "durations need a unit"
                                                                                 : "");
      return TimeRef{RefKind::run_start, {}, *at};
    }
  } else {
    if (minus && !anchor.ends_with(".end"))
      return fail(
          "a `-` offset counts back from an injection's end, as in \"squeeze.end-300ms\"; "
          "other anchors take `+` offsets only");
    std::string duration_why;
    auto amount = parse_duration(text.substr(split + 1), &duration_why);
    if (!amount && duration_why.ends_with("(365 days))"))
      return fail("the offset is too large; durations go up to " + format_duration(kMaxDuration) +
                  " (365 days)");
    if (!amount)
      return fail(minus ? "the part after `-` must be a duration" : "the part after `+` must be a duration");
    offset = minus ? -*amount : *amount;
  }
  // A bare offset was read above; an anchor needs a name before its event.
  if (anchor.empty() || anchor.starts_with('.')) return fail();
  auto ref = split_anchor(anchor);
  if (!ref) return fail();
  ref->offset = offset;
  return ref;
}

TimePoint to_time_point(const TimeRef& ref, std::string text) {
  return TimePoint{ref.anchor(), ref.offset, std::move(text)};
}

std::optional<TimeRef> time_ref(const TimePoint& t, std::string* unknown_event) {
  std::optional<std::string_view> event;
  auto ref = split_anchor(t.anchor, &event);
  if (ref) ref->offset = t.offset;
  if (!ref && unknown_event && event) *unknown_event = std::string(*event);
  return ref;
}

}  // namespace faultline::scenario
