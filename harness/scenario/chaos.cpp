#include "scenario/chaos.h"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <string_view>

#include "common/error.h"
#include "common/units.h"
#include "scenario/spec.h"
#include "scenario/time_resolution.h"

namespace faultline::scenario {

std::uint64_t name_hash(std::string_view text) {
  std::uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a
  for (unsigned char c : text) h = (h ^ c) * 0x100000001b3ull;
  return h;
}

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

// How a key's values are drawn, from the key table (the element kind of chaos.<kind>.<key>): two
// values of a numeric kind are a [low, high] range, everything else a list of choices.
spec::Kind element_of(const std::string& fault, const std::string& key) {
  const spec::KeySpec* chaos = spec::scenario_spec().find("chaos");
  const spec::KeySpec* kind = chaos && chaos->table ? chaos->table->find(fault) : nullptr;
  const spec::KeySpec* range = kind && kind->table ? kind->table->find(key) : nullptr;
  return range ? range->element : spec::Kind::string;
}

// Ranges used when [chaos] names a kind without giving a range for a key it needs. Every network
// kind has a duration, so a drawn partition or black hole ends within the run.
const std::map<std::string, std::map<std::string, std::vector<std::string>>>& default_ranges() {
  static const std::vector<std::string> kDuration = {"500ms", "3s"};
  static const std::map<std::string, std::map<std::string, std::vector<std::string>>> d = {
      {"memory", {{"limit", {"64MiB", "256MiB"}}, {"duration", kDuration}}},
      {"cpu", {{"quota", {"5%", "50%"}}, {"duration", kDuration}}},
      {"fd", {{"nofile", {"16", "64"}}, {"duration", kDuration}}},
      {"pids", {{"limit", {"2", "16"}}, {"duration", kDuration}}},
      {"signal", {{"signal", {"SIGSTOP"}}}},
      {"freeze", {{"duration", {"100ms", "2s"}}}},
      {"hog", {{"memory", {"64MiB", "256MiB"}}, {"duration", kDuration}}},
      // A disk in trouble; `errno` is left out when the ranges give `return` or `delay` instead.
      {"syscall", {{"syscalls", {"write", "fsync"}}, {"errno", {"EIO", "ENOSPC"}}, {"duration", kDuration}}},
      {"latency", {{"latency", {"100ms", "1s"}}, {"duration", kDuration}}},
      {"bandwidth", {{"rate", {"16KiB", "256KiB"}}, {"duration", kDuration}}},
      {"timeout", {{"duration", kDuration}}},
      {"reset", {{"duration", kDuration}}},
      {"slow_close", {{"after", {"100ms", "1s"}}, {"duration", kDuration}}},
      {"slicer", {{"slice_average", {"1", "64"}}, {"slice_delay", {"1ms", "10ms"}}, {"duration", kDuration}}},
      {"limit_data", {{"limit", {"1KiB", "64KiB"}}, {"duration", kDuration}}},
      {"down", {{"duration", kDuration}}},
  };
  return d;
}

// The largest of MiB, KiB and bytes both ends are whole multiples of: memory draws stay in
// readable MiB, and a drawn value never falls outside a range such as ["100MB", "200MB"].
std::uint64_t size_step(std::uint64_t lo, std::uint64_t hi) {
  for (std::uint64_t step : {1ull << 20, 1ull << 10})
    if (lo % step == 0 && hi % step == 0) return step;
  return 1;
}

// One drawn value, as the scenario would have written it.
std::string draw_value(Draw& draw, const std::string& fault, const std::string& key,
                       const std::vector<std::string>& values) {
  if (values.empty()) throw Error("chaos." + fault + "." + key + ": no values to draw from");
  using spec::Kind;
  const Kind kind = element_of(fault, key);
  const bool numeric = spec::drawn_between(kind);
  if (values.size() != 2 || !numeric) return draw.pick(values);
  const std::string where = "chaos." + fault + "." + key;
  switch (kind) {
    case Kind::duration: {
      const auto lo = parse_duration(values[0]), hi = parse_duration(values[1]);
      if (!lo || !hi) throw Error(where + ": expected two durations");
      // Whole milliseconds keep plans readable.
      const auto ms = draw.between(static_cast<std::uint64_t>(lo->count() / 1000000),
                                   static_cast<std::uint64_t>(hi->count() / 1000000));
      return format_duration(std::chrono::milliseconds(ms));
    }
    case Kind::size: {
      const auto lo = parse_size(values[0]), hi = parse_size(values[1]);
      if (!lo || !hi) throw Error(where + ": expected two sizes");
      const std::uint64_t step = size_step(*lo, *hi);
      return format_size(draw.between(*lo / step, *hi / step) * step);
    }
    case Kind::cpu: {
      const auto lo = parse_cpu(values[0]), hi = parse_cpu(values[1]);
      if (!lo || !hi || std::isinf(*lo) || std::isinf(*hi)) throw Error(where + ": expected two CPU amounts");
      const double percent = std::round(draw.between(*lo * 100, *hi * 100));
      return format_cpu(percent / 100);
    }
    case Kind::ratio: {
      const double lo = std::stod(values[0]), hi = std::stod(values[1]);
      // Four decimals: a probability such as 0.001 survives, and the plan stays short.
      std::ostringstream text;
      text << std::round(draw.between(lo, hi) * 10000) / 10000;
      return text.str();
    }
    case Kind::integer: {
      // Signed (a syscall's `return` may be negative); the offset is drawn as before for
      // non-negative ranges, so existing seeds draw what they did.
      const std::int64_t lo = std::stoll(values[0]), hi = std::stoll(values[1]);
      if (hi <= lo) return std::to_string(lo);
      const std::uint64_t offset =
          draw.between(std::uint64_t{0}, static_cast<std::uint64_t>(hi) - static_cast<std::uint64_t>(lo));
      return std::to_string(static_cast<std::int64_t>(static_cast<std::uint64_t>(lo) + offset));
    }
    default:
      break;
  }
  return draw.pick(values);
}

// A value validated at load (or, for a model built by hand, a clear error).
template <typename T>
T parsed(std::optional<T> value, const std::string& fault, const char* key, const std::string& text) {
  if (!value) throw Error("chaos." + fault + "." + key + ": cannot use the drawn value \"" + text + "\"");
  return *value;
}

SyscallFault build_syscall(const std::string& fault, const std::map<std::string, std::string>& v) {
  auto get = [&](const char* key) -> const std::string* {
    auto it = v.find(key);
    return it == v.end() ? nullptr : &it->second;
  };
  SyscallFault f;
  if (auto x = get("syscalls")) f.syscalls = {*x};
  if (auto x = get("errno")) f.error = *x;
  if (auto x = get("return")) f.return_value = std::stoll(*x);
  if (auto x = get("path")) f.path_glob = *x;
  using Select = SyscallFault::Select;
  if (auto x = get("every")) f.select = Select::every, f.n = std::stoull(*x);
  if (auto x = get("nth")) f.select = Select::nth, f.n = std::stoull(*x);
  if (auto x = get("after")) f.select = Select::after, f.n = std::stoull(*x);
  if (auto x = get("probability")) f.select = Select::probability, f.probability = std::stod(*x);
  if (auto x = get("delay")) f.delay = parsed(parse_duration(*x), fault, "delay", *x);
  return f;
}

NetworkFault build_network(const std::string& fault, const std::map<std::string, std::string>& v) {
  auto get = [&](const char* key) -> const std::string* {
    auto it = v.find(key);
    return it == v.end() ? nullptr : &it->second;
  };
  auto duration = [&](const char* key) { return parsed(parse_duration(*get(key)), fault, key, *get(key)); };
  auto size = [&](const char* key) { return parsed(parse_size(*get(key)), fault, key, *get(key)); };
  NetworkFault n;
  if (auto x = get("direction"))
    n.direction = *x == "upstream" ? NetworkFault::Direction::upstream
                  : *x == "both"   ? NetworkFault::Direction::both
                                   : NetworkFault::Direction::downstream;
  if (auto x = get("toxicity")) n.toxicity = std::stod(*x);
  if (get("latency")) n.latency = duration("latency");
  if (get("jitter")) n.jitter = duration("jitter");
  if (get("rate")) n.rate = size("rate");
  if (get("after")) n.after = duration("after");
  if (auto x = get("slice_average")) n.slice_average = std::stoull(*x);
  if (auto x = get("slice_variation")) n.slice_variation = std::stoull(*x);
  if (get("slice_delay")) n.slice_delay = duration("slice_delay");
  if (get("limit")) n.limit = size("limit");
  return n;
}

// A memory fault's window counted from the base anchor its time resolves to; `end` unset: it
// holds until the run ends. Empty when the time does not resolve (the loader reports that).
struct MemoryWindow {
  std::string anchor;
  Duration start{0};
  std::optional<Duration> end;
};

std::optional<MemoryWindow> memory_window(const Scenario& scenario, const Injection& inj) {
  if (!std::holds_alternative<MemoryFault>(inj.params)) return std::nullopt;
  const auto at = resolve_time(scenario, inj.at, {.chain = {inj.name}});
  if (!at.time) return std::nullopt;
  MemoryWindow w{at.time->anchor, at.time->offset, std::nullopt};
  if (inj.duration) w.end = w.start + *inj.duration;
  return w;
}

// Windows counting from different anchors cannot be compared before the run and are taken to
// overlap; one ending as the other starts overlaps too (two timers due at one instant run in
// either order).
bool may_overlap(const std::optional<MemoryWindow>& a, const std::optional<MemoryWindow>& b) {
  if (!a || !b || a->anchor != b->anchor) return true;
  return (!a->end || *a->end >= b->start) && (!b->end || *b->end >= a->start);
}

bool ramps(const Injection& inj) {
  const auto* memory = std::get_if<MemoryFault>(&inj.params);
  return memory && memory->over;
}

// The run refuses a memory ramp that overlaps another memory fault of its process (a ramp cannot
// be applied again where it stood when the other ends), so a draw must not produce one:
// - a drawn memory fault that may overlap a ramp written in [[inject]] is left out;
// - a drawn ramp (`over` given in [chaos.memory]) that may overlap another memory fault of its
//   process, written or drawn, becomes a step to its limit.
void settle_memory_overlaps(const Scenario& scenario, std::vector<Injection>& drawn,
                            std::vector<std::string>* left_out_notes) {
  std::vector<std::optional<MemoryWindow>> windows;
  for (const auto& inj : drawn) windows.push_back(memory_window(scenario, inj));
  std::vector<bool> left_out(drawn.size(), false);
  std::vector<bool> steady(drawn.size(), false);
  for (std::size_t i = 0; i < drawn.size(); ++i) {
    if (!std::holds_alternative<MemoryFault>(drawn[i].params)) continue;
    for (const auto& written : scenario.injections) {
      if (!std::holds_alternative<MemoryFault>(written.params) || written.into != drawn[i].into ||
          !may_overlap(windows[i], memory_window(scenario, written)))
        continue;
      if (ramps(written) && !left_out[i]) {
        left_out[i] = true;
        if (left_out_notes)
          left_out_notes->push_back(drawn[i].name + " (memory into `" + drawn[i].into + "` at " +
                                    drawn[i].at.text + ") left out: it could overlap the memory ramp `" +
                                    written.name + "`, which the run refuses");
      }
      steady[i] = true;
    }
  }
  for (std::size_t i = 0; i < drawn.size(); ++i)
    for (std::size_t j = i + 1; j < drawn.size(); ++j) {
      if (left_out[i] || left_out[j] || !std::holds_alternative<MemoryFault>(drawn[i].params) ||
          !std::holds_alternative<MemoryFault>(drawn[j].params) || drawn[i].into != drawn[j].into ||
          !may_overlap(windows[i], windows[j]))
        continue;
      steady[i] = steady[j] = true;
    }
  std::vector<Injection> kept;
  for (std::size_t i = 0; i < drawn.size(); ++i) {
    if (left_out[i]) continue;
    if (steady[i])
      if (auto* memory = std::get_if<MemoryFault>(&drawn[i].params)) memory->over.reset();
    kept.push_back(std::move(drawn[i]));
  }
  drawn = std::move(kept);
}

// The loader refuses `max_memory` for a process a memory hog is written into (the peak is the
// cgroup's, the hog's memory included), so a drawn memory hog into such a process is left out.
void leave_out_hogs_beside_max_memory(const Scenario& scenario, std::vector<Injection>& drawn,
                                      std::vector<std::string>* left_out_notes) {
  std::erase_if(drawn, [&](const Injection& inj) {
    const auto* hog = std::get_if<HogFault>(&inj.params);
    if (!hog || !hog->memory) return false;
    const auto judged = std::find_if(scenario.expects.begin(), scenario.expects.end(), [&](const Expect& e) {
      return e.process == inj.into && e.max_memory.has_value();
    });
    if (judged == scenario.expects.end()) return false;
    if (left_out_notes)
      left_out_notes->push_back(inj.name + " (hog of " + format_size(*hog->memory) + " into `" + inj.into +
                                "` at " + inj.at.text + ") left out: `" + inj.into +
                                "`'s max_memory would count the hog's memory as the process's");
    return true;
  });
}

// A drawn squeeze at or above the limit its process starts under squeezes nothing (the injector
// skips it, and the draw tested nothing). Where the range reaches that limit, draws are scaled
// into the part of the range below it, evenly: scaled, not drawn again, so every other draw of
// the seed stays as it was. A limit lowered later by a written fault is still met by the
// injector's skip.
void fit_memory_draw_below_limits(const Scenario& scenario, Injection& inj,
                                  const std::map<std::string, std::vector<std::string>>& ranges) {
  auto* memory = std::get_if<MemoryFault>(&inj.params);
  const auto process = std::find_if(scenario.processes.begin(), scenario.processes.end(),
                                    [&](const ProcessSpec& p) { return p.name == inj.into; });
  if (!memory || process == scenario.processes.end()) return;
  const auto fit = [&](std::optional<std::uint64_t>& value, const std::string& key,
                       std::optional<std::uint64_t> in_force) {
    if (!value || !in_force || *in_force == kUnlimited) return;
    const auto range = ranges.find(key);
    if (range == ranges.end() || range->second.size() != 2) return;
    const auto lo = parse_size(range->second[0]), hi = parse_size(range->second[1]);
    if (!lo || !hi || *hi <= *lo || *hi < *in_force || *value < *lo || *value > *hi) return;
    const std::uint64_t step = size_step(*lo, *hi);
    if (*in_force <= *lo + step) return;  // below the limit the range has nothing to scale into
    const std::uint64_t top = (*in_force - 1) / step * step;
    const long double share = static_cast<long double>(*value - *lo) / static_cast<long double>(*hi - *lo);
    value = *lo + static_cast<std::uint64_t>(share * static_cast<long double>(top - *lo)) / step * step;
  };
  const Limits& limits = process->limits;
  fit(memory->limit, "limit", limits.memory);
  // memory.high binds only below memory.max as well.
  std::optional<std::uint64_t> high_in_force = limits.memory;
  if (limits.memory_high) high_in_force = std::min(*limits.memory_high, limits.memory.value_or(kUnlimited));
  fit(memory->high, "high", high_in_force);
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
    // Drawn apart, a ramp may come out longer than its fault: reverted before its last step, it
    // would never reach its limit (a load error when written, see loader_model.cpp).
    if (f.over && inj.duration && *f.over > *inj.duration) f.over = inj.duration;
    if (auto x = get("mode"); x && *x == "limit-only") f.mode = MemoryFault::Mode::limit_only;
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
  } else if (fault == "syscall") {
    inj.params = build_syscall(fault, v);
  } else if (is_network_kind(fault)) {
    inj.params = build_network(fault, v);
  } else {
    throw Error("chaos: unknown fault kind `" + fault + "`");
  }
  return inj;
}

}  // namespace

std::vector<Injection> draw_chaos(const Scenario& scenario, std::uint64_t seed,
                                  std::vector<std::string>* left_out) {
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
  std::vector<std::string> proxies = chaos.proxies;
  if (proxies.empty())
    for (const auto& p : scenario.proxies) proxies.push_back(p.name);

  Draw draw(seed ^ name_hash(scenario.name_as_written.empty() ? scenario.name : scenario.name_as_written));
  for (std::uint32_t i = 0; i < chaos.faults; ++i) {
    const std::string fault = draw.pick(kinds);
    std::map<std::string, std::vector<std::string>> ranges;
    if (auto d = default_ranges().find(fault); d != default_ranges().end()) ranges = d->second;
    if (auto r = chaos.ranges.find(fault); r != chaos.ranges.end()) {
      for (const auto& [key, range] : r->second) ranges[key] = range.values;
      // `return` or `delay` given instead of `errno`: the default errno would contradict them.
      if (fault == "syscall" && !r->second.contains("errno") &&
          (r->second.contains("return") || r->second.contains("delay")))
        ranges.erase("errno");
    }
    std::map<std::string, std::string> values;
    for (const auto& [key, range] : ranges) values[key] = draw_value(draw, fault, key, range);
    Injection inj = build(fault, values);
    inj.name = "chaos#" + std::to_string(i + 1);
    // A random draw may fall where the program makes no such call, no connection passes or the
    // process has already exited: no failure of the program, so one drawn fault that never took
    // effect does not fail the scenario (the report still shows it). A run where none of them did
    // tested nothing, and fails (runner/expectations).
    inj.optional = true;
    const bool network = is_network_kind(fault);
    const auto& targets = network ? proxies : into;
    if (targets.empty())
      throw Error("chaos: a " + fault + " fault hits " + (network ? "a [[proxy]]" : "a process") +
                  ", and the scenario has none");
    (network ? inj.proxy : inj.into) = draw.pick(targets);
    if (fault == "memory") fit_memory_draw_below_limits(scenario, inj, ranges);
    const auto from_ms = static_cast<std::uint64_t>(chaos.window.from.offset.count() / 1000000);
    const auto to_ms = static_cast<std::uint64_t>(chaos.window.to->offset.count() / 1000000);
    inj.at.anchor = chaos.window.from.anchor;
    inj.at.offset = std::chrono::milliseconds(draw.between(from_ms, to_ms > from_ms ? to_ms - 1 : from_ms));
    inj.at.text = (inj.at.anchor.empty() ? "" : inj.at.anchor + "+") + format_duration(inj.at.offset);
    inj.pos = chaos.pos;
    drawn.push_back(std::move(inj));
  }
  settle_memory_overlaps(scenario, drawn, left_out);
  leave_out_hogs_beside_max_memory(scenario, drawn, left_out);
  return drawn;
}

Scenario with_chaos(const Scenario& scenario, std::uint64_t seed) {
  Scenario copy = scenario;
  if (!copy.chaos) return copy;
  for (auto& inj : draw_chaos(scenario, seed, &copy.chaos->left_out))
    copy.injections.push_back(std::move(inj));
  return copy;
}

}  // namespace faultline::scenario
