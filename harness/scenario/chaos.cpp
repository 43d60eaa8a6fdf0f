#include "scenario/chaos.h"

#include <cmath>
#include <string_view>

#include "common/error.h"
#include "common/units.h"

namespace faultline::scenario {
namespace {

// splitmix64: tiny, fast, and the same on every platform and standard library (unlike the
// std:: distributions), so a seed replays identically everywhere.
class Draw {
 public:
  explicit Draw(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  // Uniform in [low, high].
  std::uint64_t between(std::uint64_t low, std::uint64_t high) {
    if (high <= low) return low;
    const std::uint64_t span = high - low;
    return span == UINT64_MAX ? next() : low + next() % (span + 1);
  }
  double between(double low, double high) {
    const double unit = static_cast<double>(next() >> 11) / static_cast<double>(1ull << 53);
    return low + (high - low) * unit;
  }
  template <typename T>
  const T& pick(const std::vector<T>& items) {
    return items[next() % items.size()];
  }

 private:
  std::uint64_t state_;
};

std::uint64_t fnv1a(std::string_view text) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : text) h = (h ^ c) * 0x100000001b3ull;
  return h;
}

enum class ValueKind { duration, size, cpu, integer, choice };

ValueKind kind_of(const std::string& fault, const std::string& key) {
  if (key == "duration" || key == "over" || key == "period") return ValueKind::duration;
  if (key == "quota" || (fault == "hog" && key == "cpu")) return ValueKind::cpu;
  if (key == "nofile" || (fault == "pids" && key == "limit")) return ValueKind::integer;
  if (key == "limit" || key == "high" || key == "memory") return ValueKind::size;
  return ValueKind::choice;
}

// Ranges used when [chaos] names a kind without giving a range for a key it needs.
const std::map<std::string, std::map<std::string, std::vector<std::string>>>& default_ranges() {
  static const std::map<std::string, std::map<std::string, std::vector<std::string>>> d = {
      {"memory", {{"limit", {"64MiB", "256MiB"}}, {"duration", {"500ms", "3s"}}}},
      {"cpu", {{"quota", {"5%", "50%"}}, {"duration", {"500ms", "3s"}}}},
      {"fd", {{"nofile", {"16", "64"}}, {"duration", {"500ms", "3s"}}}},
      {"pids", {{"limit", {"2", "16"}}, {"duration", {"500ms", "3s"}}}},
      {"signal", {{"signal", {"SIGSTOP"}}}},
      {"freeze", {{"duration", {"100ms", "2s"}}}},
      {"hog", {{"memory", {"64MiB", "256MiB"}}, {"duration", {"500ms", "3s"}}}},
  };
  return d;
}

// One drawn value, as the scenario would have written it.
std::string draw_value(Draw& draw, const std::string& fault, const std::string& key,
                       const std::vector<std::string>& values) {
  if (values.empty()) throw Error("chaos." + fault + "." + key + ": no values to draw from");
  const ValueKind kind = kind_of(fault, key);
  if (values.size() != 2 || kind == ValueKind::choice) return draw.pick(values);
  const std::string where = "chaos." + fault + "." + key;
  switch (kind) {
    case ValueKind::duration: {
      const auto lo = parse_duration(values[0]), hi = parse_duration(values[1]);
      if (!lo || !hi) throw Error(where + ": expected two durations");
      // Whole milliseconds keep plans readable.
      const auto ms = draw.between(static_cast<std::uint64_t>(lo->count() / 1000000),
                                   static_cast<std::uint64_t>(hi->count() / 1000000));
      return format_duration(std::chrono::milliseconds(ms));
    }
    case ValueKind::size: {
      const auto lo = parse_size(values[0]), hi = parse_size(values[1]);
      if (!lo || !hi) throw Error(where + ": expected two sizes");
      const std::uint64_t mib = 1ull << 20;
      return format_size(draw.between(*lo / mib, *hi / mib) * mib);
    }
    case ValueKind::cpu: {
      const auto lo = parse_cpu(values[0]), hi = parse_cpu(values[1]);
      if (!lo || !hi || std::isinf(*lo) || std::isinf(*hi)) throw Error(where + ": expected two CPU amounts");
      const double percent = std::round(draw.between(*lo * 100, *hi * 100));
      return format_cpu(percent / 100);
    }
    case ValueKind::integer: {
      const std::uint64_t lo = std::stoull(values[0]), hi = std::stoull(values[1]);
      return std::to_string(draw.between(lo, hi));
    }
    case ValueKind::choice:
      break;
  }
  return draw.pick(values);
}

Injection build(const std::string& fault, const std::map<std::string, std::string>& v) {
  Injection inj;
  inj.kind = fault;
  auto get = [&](const char* key) -> const std::string* {
    auto it = v.find(key);
    return it == v.end() ? nullptr : &it->second;
  };
  if (auto d = get("duration")) inj.duration = parse_duration(*d);
  if (fault == "memory") {
    MemoryFault f;
    if (auto x = get("limit")) f.limit = parse_size(*x);
    if (auto x = get("high")) f.high = parse_size(*x);
    if (auto x = get("over")) f.over = parse_duration(*x);
    inj.params = f;
  } else if (fault == "cpu") {
    CpuFault f;
    if (auto x = get("quota")) f.quota = parse_cpu(*x);
    if (auto x = get("period")) f.period = parse_duration(*x);
    if (auto x = get("cpuset")) f.cpuset = *x;
    inj.params = f;
  } else if (fault == "fd") {
    inj.params = FdFault{std::stoull(*get("nofile"))};
  } else if (fault == "pids") {
    inj.params = PidsFault{std::stoull(*get("limit"))};
  } else if (fault == "signal") {
    SignalFault f;
    if (auto x = get("signal")) f.signal = parse_signal(*x).value_or(19);
    if (auto x = get("to")) f.to = *x == "all" ? SignalFault::To::all : SignalFault::To::main;
    inj.params = f;
  } else if (fault == "freeze") {
    inj.params = FreezeFault{};
  } else if (fault == "hog") {
    HogFault f;
    if (auto x = get("memory")) f.memory = parse_size(*x);
    if (auto x = get("cpu")) f.cpu = parse_cpu(*x);
    inj.params = f;
  } else {
    throw Error("chaos: unknown fault kind `" + fault + "`");
  }
  return inj;
}

}  // namespace

std::vector<Injection> draw_chaos(const Scenario& scenario, std::uint64_t seed) {
  std::vector<Injection> drawn;
  if (!scenario.chaos) return drawn;
  const Chaos& chaos = *scenario.chaos;
  if (!chaos.window.to) throw Error("chaos.window: `to` is needed to draw times before it");
  if (chaos.window.from.anchor != chaos.window.to->anchor)
    throw Error("chaos.window: `from` (" + chaos.window.from.text + ") and `to` (" + chaos.window.to->text +
                ") must count from the same point to draw times between them");
  std::vector<std::string> kinds = chaos.kinds;
  if (kinds.empty())
    for (const auto& [kind, _] : chaos.ranges) kinds.push_back(kind);
  if (kinds.empty()) kinds = {"cpu", "freeze", "memory"};
  std::vector<std::string> into = chaos.into;
  if (into.empty())
    for (const auto& p : scenario.processes) into.push_back(p.name);
  if (into.empty()) return drawn;

  Draw draw(seed ^ fnv1a(scenario.name));
  for (std::uint32_t i = 0; i < chaos.faults; ++i) {
    const std::string fault = draw.pick(kinds);
    std::map<std::string, std::vector<std::string>> ranges;
    if (auto d = default_ranges().find(fault); d != default_ranges().end()) ranges = d->second;
    if (auto r = chaos.ranges.find(fault); r != chaos.ranges.end())
      for (const auto& [key, range] : r->second) ranges[key] = range.values;
    std::map<std::string, std::string> values;
    for (const auto& [key, range] : ranges) values[key] = draw_value(draw, fault, key, range);
    Injection inj = build(fault, values);
    inj.name = "chaos#" + std::to_string(i + 1);
    inj.into = draw.pick(into);
    const auto from_ms = static_cast<std::uint64_t>(chaos.window.from.offset.count() / 1000000);
    const auto to_ms = static_cast<std::uint64_t>(chaos.window.to->offset.count() / 1000000);
    inj.at.anchor = chaos.window.from.anchor;
    inj.at.offset = std::chrono::milliseconds(draw.between(from_ms, to_ms > from_ms ? to_ms - 1 : from_ms));
    inj.at.text = (inj.at.anchor.empty() ? "" : inj.at.anchor + "+") + format_duration(inj.at.offset);
    inj.pos = chaos.pos;
    drawn.push_back(std::move(inj));
  }
  return drawn;
}

Scenario with_chaos(const Scenario& scenario, std::uint64_t seed) {
  Scenario copy = scenario;
  for (auto& inj : draw_chaos(scenario, seed)) copy.injections.push_back(std::move(inj));
  return copy;
}

}  // namespace faultline::scenario
