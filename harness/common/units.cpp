#include "common/units.h"

#include <algorithm>
#include <array>
#include <bitset>
#include <cctype>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <string>

namespace faultline {
namespace {

constexpr const char* kDurationExpected = R"(expected a duration such as "250ms", "2s" or "1m30s")";
constexpr const char* kSizeExpected =
    R"(expected a size such as "64MiB", "512KiB", "100MB", "max" or a number of bytes)";
constexpr const char* kCpuExpected = R"(expected a CPU amount such as "50%", "1.5" or "max")";
constexpr const char* kSignalExpected = R"(expected a signal such as "SIGTERM", "TERM" or "15")";

// Sets `why` to "expected ..., got "text"" plus an optional reason in parentheses.
void explain(std::string* why, const char* expected, std::string_view text, std::string_view reason = {}) {
  if (!why) return;
  *why = std::string(expected) + ", got \"" + std::string(text) + "\"";
  if (!reason.empty()) *why += " (" + std::string(reason) + ")";
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// A decimal "12" or "1.25" at the front of `text`: the integer part exactly, the fraction as a double.
struct Decimal {
  unsigned __int128 whole = 0;
  double fraction = 0;
  bool overflow = false;
};

std::optional<Decimal> take_decimal(std::string_view& text) {
  Decimal d;
  std::size_t i = 0;
  while (i < text.size() && is_digit(text[i])) {
    d.whole = d.whole * 10 + static_cast<unsigned>(text[i] - '0');
    if (d.whole > (static_cast<unsigned __int128>(1) << 100)) d.overflow = true;
    ++i;
  }
  if (i == 0) return std::nullopt;
  if (i < text.size() && text[i] == '.') {
    std::size_t start = ++i;
    double scale = 0.1;
    while (i < text.size() && is_digit(text[i])) {
      d.fraction += (text[i] - '0') * scale;
      scale /= 10;
      ++i;
    }
    if (i == start) return std::nullopt;  // "1." has no fraction digits
  }
  text.remove_prefix(i);
  return d;
}

// Multiplies a decimal by an integer unit, nullopt when the result passes `max`. The product is
// checked before it is formed: 2^100 digits times a 2^42 unit would wrap even in 128 bits.
std::optional<std::uint64_t> scale(const Decimal& d, std::uint64_t unit, std::uint64_t max) {
  if (d.overflow || d.whole > max / unit) return std::nullopt;
  unsigned __int128 whole = d.whole * unit;
  if (whole > max) return std::nullopt;
  double frac = std::round(d.fraction * static_cast<double>(unit));
  unsigned __int128 total = whole + static_cast<unsigned __int128>(frac);
  if (total > max) return std::nullopt;
  return static_cast<std::uint64_t>(total);
}

// "67,108,864": byte counts in messages, where a reader compares two of them.
std::string group_thousands(std::uint64_t n) {
  std::string digits = std::to_string(n), out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string trim_decimal(double value, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, value);
  std::string s = buf;
  if (s.find('.') != std::string::npos) {
    while (s.back() == '0') s.pop_back();
    if (s.back() == '.') s.pop_back();
  }
  return s;
}

struct SignalEntry {
  const char* name;  // without "SIG"
  int number;
};

const std::array<SignalEntry, 34> kSignals = {{
    {"HUP", SIGHUP},   {"INT", SIGINT},       {"QUIT", SIGQUIT},     {"ILL", SIGILL},   {"TRAP", SIGTRAP},
    {"ABRT", SIGABRT}, {"IOT", SIGIOT},       {"BUS", SIGBUS},       {"FPE", SIGFPE},   {"KILL", SIGKILL},
    {"USR1", SIGUSR1}, {"SEGV", SIGSEGV},     {"USR2", SIGUSR2},     {"PIPE", SIGPIPE}, {"ALRM", SIGALRM},
    {"TERM", SIGTERM}, {"STKFLT", SIGSTKFLT}, {"CHLD", SIGCHLD},     {"CLD", SIGCHLD},  {"CONT", SIGCONT},
    {"STOP", SIGSTOP}, {"TSTP", SIGTSTP},     {"TTIN", SIGTTIN},     {"TTOU", SIGTTOU}, {"URG", SIGURG},
    {"XCPU", SIGXCPU}, {"XFSZ", SIGXFSZ},     {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF}, {"WINCH", SIGWINCH},
    {"IO", SIGIO},     {"POLL", SIGPOLL},     {"PWR", SIGPWR},       {"SYS", SIGSYS},
}};

std::optional<int> signal_by_name(const std::string& upper_name) {
  for (const auto& s : kSignals)
    if (upper_name == s.name) return s.number;
  // Real-time signals: RTMIN, RTMIN+n, RTMAX, RTMAX-n.
  struct RealTime {
    std::string_view prefix;
    int base;
    int sign;
  };
  for (const RealTime& rt : {RealTime{"RTMIN", SIGRTMIN, 1}, RealTime{"RTMAX", SIGRTMAX, -1}}) {
    const auto& [prefix, base, sign] = rt;
    std::string_view rest(upper_name);
    if (!rest.starts_with(prefix)) continue;
    rest.remove_prefix(prefix.size());
    if (rest.empty()) return base;
    if (rest.front() != (sign > 0 ? '+' : '-')) return std::nullopt;
    rest.remove_prefix(1);
    if (rest.empty() || rest.size() > 2 || !std::all_of(rest.begin(), rest.end(), is_digit))
      return std::nullopt;
    int n = std::stoi(std::string(rest));
    int signo = base + sign * n;
    if (signo < SIGRTMIN || signo > SIGRTMAX) return std::nullopt;
    return signo;
  }
  return std::nullopt;
}

// Why `suffix` is not a size unit. A unit that is one of ours but for its case ("mb", "Mb", "m",
// "kib") is ambiguous between the SI and the binary reading, so both are spelled out.
std::string unknown_size_unit(const Decimal& number, std::string_view amount, std::string_view suffix) {
  std::string folded = ascii_lower(suffix);
  if (folded == "b") return "units are case-sensitive: write \"" + std::string(amount) + "B\" for bytes";
  if (folded.size() >= 1 && folded.size() <= 3 &&
      std::string_view("kmgt").find(folded[0]) != std::string::npos &&
      (folded.size() == 1 || folded.substr(1) == "b" || folded.substr(1) == "ib")) {
    const char prefix = static_cast<char>(std::toupper(static_cast<unsigned char>(folded[0])));
    const int power = static_cast<int>(std::string_view("kmgt").find(folded[0])) + 1;
    std::uint64_t si = 1, binary = 1;
    for (int i = 0; i < power; ++i) si *= 1000, binary *= 1024;
    const auto reading = [&](const std::string& unit, std::uint64_t unit_bytes) {
      std::string out = "\"" + std::string(amount) + unit + "\"";
      if (auto bytes = scale(number, unit_bytes, kMaxSize)) out += " (" + group_thousands(*bytes) + " bytes)";
      return out;
    };
    return "`" + std::string(suffix) + "` is ambiguous: write " + reading(std::string(1, prefix) + "B", si) +
           " or " + reading(std::string(1, prefix) + "iB", binary) + "; units are case-sensitive";
  }
  return "unknown unit `" + std::string(suffix) + "`; units are B, KB, MB, GB, TB, KiB, MiB, GiB, TiB";
}

}  // namespace

std::string ascii_lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::optional<Duration> add_durations(Duration a, Duration b) {
  if (a.count() < 0 || b.count() < 0 || a > kMaxDuration || b > kMaxDuration - a) return std::nullopt;
  return a + b;
}

std::optional<Duration> parse_duration(std::string_view text, std::string* why) {
  struct Unit {
    std::string_view suffix;
    std::uint64_t ns;
  };
  // Longest suffixes first so that "ms" is not read as "m" followed by garbage.
  static constexpr Unit kUnits[] = {{"ns", 1},
                                    {"us", 1'000},
                                    {"µs", 1'000},
                                    {"ms", 1'000'000},
                                    {"s", 1'000'000'000},
                                    {"m", 60'000'000'000},
                                    {"h", 3'600'000'000'000}};
  const std::string_view original = text;
  if (text.empty()) return explain(why, kDurationExpected, original, "empty"), std::nullopt;
  if (text.front() == '-')
    return explain(why, kDurationExpected, original, "durations cannot be negative"), std::nullopt;
  constexpr auto kMax = static_cast<std::uint64_t>(kMaxDuration.count());
  std::uint64_t total = 0;
  while (!text.empty()) {
    auto number = take_decimal(text);
    if (!number) return explain(why, kDurationExpected, original), std::nullopt;
    if (text.empty()) {
      return explain(why, kDurationExpected, original, "durations need a unit"), std::nullopt;
    }
    const Unit* unit = nullptr;
    for (const auto& u : kUnits) {
      if (text.starts_with(u.suffix) && (text.size() == u.suffix.size() || is_digit(text[u.suffix.size()]))) {
        unit = &u;
        break;
      }
    }
    if (!unit) {
      std::size_t end = 0;
      while (end < text.size() && !is_digit(text[end])) ++end;
      return explain(
                 why, kDurationExpected, original,
                 "unknown unit `" + std::string(text.substr(0, end)) + "`; units are ns, us, ms, s, m, h"),
             std::nullopt;
    }
    text.remove_prefix(unit->suffix.size());
    auto part = scale(*number, unit->ns, kMax);
    if (!part || *part > kMax - total)
      return explain(why, kDurationExpected, original,
                     "too large; durations go up to " + format_duration(kMaxDuration) + " (365 days)"),
             std::nullopt;
    total += *part;
  }
  return Duration(static_cast<Duration::rep>(total));
}

std::optional<std::uint64_t> parse_size(std::string_view text, std::string* why) {
  struct Unit {
    std::string_view suffix;  // exactly as it must be written
    std::uint64_t bytes;
  };
  static constexpr Unit kUnits[] = {
      {"B", 1},
      {"KB", 1'000},
      {"MB", 1'000'000},
      {"GB", 1'000'000'000},
      {"TB", 1'000'000'000'000},
      {"KiB", 1ull << 10},
      {"MiB", 1ull << 20},
      {"GiB", 1ull << 30},
      {"TiB", 1ull << 40},
  };
  const std::string_view original = text;
  if (text == "max") return kUnlimited;
  if (text.empty()) return explain(why, kSizeExpected, original, "empty"), std::nullopt;
  if (text.front() == '-')
    return explain(why, kSizeExpected, original, "sizes cannot be negative"), std::nullopt;
  auto number = take_decimal(text);
  if (!number) return explain(why, kSizeExpected, original), std::nullopt;
  std::uint64_t unit_bytes = 1;
  if (!text.empty()) {
    const Unit* unit = nullptr;
    for (const auto& u : kUnits)
      if (text == u.suffix) unit = &u;
    if (!unit) {
      const std::string_view amount = original.substr(0, original.size() - text.size());
      return explain(why, kSizeExpected, original, unknown_size_unit(*number, amount, text)), std::nullopt;
    }
    unit_bytes = unit->bytes;
  } else if (number->fraction != 0) {
    return explain(why, kSizeExpected, original, "a number of bytes must be whole"), std::nullopt;
  }
  auto bytes = scale(*number, unit_bytes, kMaxSize);
  if (!bytes)
    return explain(
               why, kSizeExpected, original,
               "too large; sizes go up to " + group_thousands(kMaxSize) + R"( bytes, "max" means no limit)"),
           std::nullopt;
  return bytes;
}

std::optional<double> parse_cpu(std::string_view text, std::string* why) {
  const std::string_view original = text;
  if (text == "max") return std::numeric_limits<double>::infinity();
  if (text.empty()) return explain(why, kCpuExpected, original, "empty"), std::nullopt;
  if (text.front() == '-')
    return explain(why, kCpuExpected, original, "CPU amounts cannot be negative"), std::nullopt;
  auto number = take_decimal(text);
  bool percent = text == "%";
  if (!number || (!text.empty() && !percent)) return explain(why, kCpuExpected, original), std::nullopt;
  if (number->overflow || number->whole > 1'000'000)
    return explain(why, kCpuExpected, original, "too large"), std::nullopt;
  double cpus = static_cast<double>(number->whole) + number->fraction;
  if (percent) cpus /= 100;
  if (cpus <= 0) return explain(why, kCpuExpected, original, "must be more than 0"), std::nullopt;
  return cpus;
}

std::optional<std::set<int>> parse_cpu_list(std::string_view text, std::string* why) {
  constexpr const char* expected = R"(expected CPU numbers and ranges such as "0", "0-3,6" or "0-7:2/4")";
  // The number at `at`, advancing past it; at most 4 digits, so no CPU number overflows.
  auto number = [&](std::size_t& at) -> std::optional<int> {
    const std::size_t begin = at;
    while (at < text.size() && is_digit(text[at]) && at - begin < 5) ++at;
    if (at == begin || at - begin > 4) return std::nullopt;
    return std::stoi(std::string(text.substr(begin, at - begin)));
  };
  // A bitset, not a set: "0-9999" repeated over a long line costs no more than a pass over it.
  std::bitset<10000> cpus;
  std::size_t at = 0;
  while (true) {
    const auto first = number(at);
    if (!first) return explain(why, expected, text), std::nullopt;
    int last = *first, used = 1, group = 1;
    if (at < text.size() && text[at] == '-') {
      ++at;
      const auto end = number(at);
      if (!end) return explain(why, expected, text), std::nullopt;
      last = *end;
      if (last < *first) return explain(why, expected, text, "a range runs from low to high"), std::nullopt;
      if (at < text.size() && text[at] == ':') {
        ++at;
        const auto u = number(at);
        if (!u || at >= text.size() || text[at] != '/') return explain(why, expected, text), std::nullopt;
        ++at;
        const auto g = number(at);
        if (!g) return explain(why, expected, text), std::nullopt;
        if (*u < 1 || *g < 1 || *u > *g)
          return explain(why, expected, text, "in used/group, 1 <= used <= group"), std::nullopt;
        used = *u, group = *g;
      }
    }
    for (int cpu = *first; cpu <= last; ++cpu)
      if ((cpu - *first) % group < used) cpus.set(static_cast<std::size_t>(cpu));
    if (at == text.size()) break;
    if (text[at] != ',') return explain(why, expected, text), std::nullopt;
    ++at;
  }
  std::set<int> listed;
  for (std::size_t cpu = 0; cpu < cpus.size(); ++cpu)
    if (cpus.test(cpu)) listed.insert(static_cast<int>(cpu));
  return listed;
}

std::optional<int> parse_signal(std::string_view text, std::string* why) {
  const std::string_view original = text;
  if (text.empty()) return explain(why, kSignalExpected, original, "empty"), std::nullopt;
  if (std::all_of(text.begin(), text.end(), is_digit)) {
    if (text.size() <= 2) {
      int n = std::stoi(std::string(text));
      if (n >= 1 && n <= SIGRTMAX) return n;
    }
    return explain(why, kSignalExpected, original, "signal numbers go from 1 to " + std::to_string(SIGRTMAX)),
           std::nullopt;
  }
  std::string name = ascii_lower(text);
  for (char& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  std::string_view bare(name);
  if (bare.starts_with("SIG")) bare.remove_prefix(3);
  if (auto signo = signal_by_name(std::string(bare))) return signo;
  return explain(why, kSignalExpected, original, "unknown signal"), std::nullopt;
}

std::string format_duration(Duration d) {
  using std::chrono::nanoseconds;
  const auto ns = d.count();
  if (ns < 0) return "-" + format_duration(Duration(-ns));
  if (ns == 0) return "0s";
  if (ns < 1'000) return std::to_string(ns) + "ns";
  if (ns < 1'000'000) return trim_decimal(ns / 1e3, 3) + "us";
  if (ns < 1'000'000'000) return trim_decimal(ns / 1e6, 6) + "ms";
  if (ns < 60'000'000'000) return trim_decimal(ns / 1e9, 9) + "s";
  std::string out;
  const long long hours = ns / 3'600'000'000'000;
  const long long minutes = (ns / 60'000'000'000) % 60;
  const long long rest_ns = ns % 60'000'000'000;
  if (hours) out += std::to_string(hours) + "h";
  if (minutes) out += std::to_string(minutes) + "m";
  if (rest_ns) out += trim_decimal(rest_ns / 1e9, 9) + "s";
  return out;
}

std::string format_size(std::uint64_t bytes) {
  if (bytes == kUnlimited) return "max";
  static constexpr std::pair<std::uint64_t, const char*> kUnits[] = {
      {1ull << 40, "TiB"}, {1ull << 30, "GiB"}, {1ull << 20, "MiB"}, {1ull << 10, "KiB"}};
  // The largest unit that shows the size exactly with at most two decimals ("1.5GiB").
  for (const auto& [unit, name] : kUnits)
    if (bytes >= unit && (static_cast<unsigned __int128>(bytes) * 100) % unit == 0)
      return trim_decimal(static_cast<double>(bytes) / static_cast<double>(unit), 2) + name;
  for (const auto& [unit, name] : kUnits)
    if (bytes >= unit) return trim_decimal(static_cast<double>(bytes) / static_cast<double>(unit), 2) + name;
  return std::to_string(bytes) + "B";
}

std::string format_cpu(double cpus) {
  if (std::isinf(cpus)) return "max";
  return trim_decimal(cpus * 100, 2) + "%";
}

std::optional<CpuQuotaProblem> cpu_quota_problem(double cpus, Duration period) {
  if (std::isinf(cpus) || period <= Duration::zero()) return std::nullopt;
  // Whole microseconds, as the kernel takes them.
  const auto quota_us = std::llround(cpus * static_cast<double>(period.count()) / 1e3);
  const auto min_us = std::chrono::duration_cast<std::chrono::microseconds>(kMinCpuQuota).count();
  if (quota_us >= min_us) return std::nullopt;
  CpuQuotaProblem problem;
  problem.what = "\"" + format_cpu(cpus) + "\" of a " + format_duration(period) + " period is a quota of " +
                 format_duration(std::chrono::microseconds(quota_us)) +
                 ", below the kernel's smallest quota of " + format_duration(kMinCpuQuota) + " per period";
  // Rounded up to the hundredth of a percent format_cpu shows: rounded to nearest, "0.33%" of a
  // 300ms period would be a hint that is itself below the smallest quota.
  const double min_cpus =
      std::ceil(static_cast<double>(kMinCpuQuota.count()) / static_cast<double>(period.count()) * 1e4 -
                1e-9) /
      1e4;
  const std::string larger_quota = "a quota of at least " + format_cpu(min_cpus) + " at this period";
  constexpr auto kLongestPeriod = std::chrono::seconds(1);
  if (cpus > 0 && static_cast<double>(kMinCpuQuota.count()) / cpus <=
                      static_cast<double>(Duration(kLongestPeriod).count())) {
    // The shortest whole-millisecond period at which `cpus` is a quota of at least 1ms.
    const auto period_ms = static_cast<long long>(std::ceil(1.0 / cpus - 1e-9));
    problem.fix = "use a period of at least " + format_duration(std::chrono::milliseconds(period_ms)) +
                  ", or " + larger_quota;
  } else {
    problem.fix = "use " + larger_quota + " (no period up to the longest, " +
                  format_duration(kLongestPeriod) + ", makes " + format_cpu(cpus) + " a quota of " +
                  format_duration(kMinCpuQuota) + ")";
  }
  return problem;
}

std::string signal_name(int signo) {
  for (const auto& s : kSignals) {
    if (s.number == signo) return std::string("SIG") + s.name;
  }
  if (signo == SIGRTMAX) return "SIGRTMAX";
  if (signo == SIGRTMIN) return "SIGRTMIN";
  if (signo > SIGRTMIN && signo < SIGRTMAX) return "SIGRTMIN+" + std::to_string(signo - SIGRTMIN);
  return "signal " + std::to_string(signo);
}

}  // namespace faultline
