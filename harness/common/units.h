// Parsing and printing of the value syntaxes shared by scenario files and command-line flags:
// durations ("250ms", "1m30s"), sizes ("64MiB", "100MB", "max"), CPU ("50%", "1.5", "max")
// and signals ("SIGTERM", "TERM", "15").
#pragma once

#include <chrono>
#include <cstdint>
#include <limits>
#include <optional>
#include <set>
#include <string>
#include <string_view>

namespace faultline {

using Duration = std::chrono::nanoseconds;

// Sizes are bytes; kUnlimited stands for "max".
inline constexpr std::uint64_t kUnlimited = std::numeric_limits<std::uint64_t>::max();
// The largest size: cgroup memory files and the kernel's counters hold signed 64-bit bytes.
inline constexpr std::uint64_t kMaxSize =
    static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
// The longest duration, and the latest time on a scenario's timeline: one year. Anything longer
// is a typo, and the bound keeps every sum of times and every deadline (now + offset) in range.
inline constexpr Duration kMaxDuration = std::chrono::hours(24 * 365);

// a + b, or nullopt when either is negative or the sum passes kMaxDuration.
std::optional<Duration> add_durations(Duration a, Duration b);

// Each parser returns nullopt and sets `why` (what was expected) on a malformed value. Sizes
// take exactly B, KB, MB, GB, TB (powers of 1000) or KiB, MiB, GiB, TiB (powers of 1024): "64mb"
// or "64m" could mean either (Docker reads `-m 64m` as MiB), so they are refused with both readings.
std::optional<Duration> parse_duration(std::string_view text, std::string* why = nullptr);
std::optional<std::uint64_t> parse_size(std::string_view text, std::string* why = nullptr);
// CPUs as a fraction of one CPU: "50%" -> 0.5, "1.5" -> 1.5, "max" -> +infinity.
std::optional<double> parse_cpu(std::string_view text, std::string* why = nullptr);
// "SIGTERM", "TERM", "sigterm" or "15" -> 15.
std::optional<int> parse_signal(std::string_view text, std::string* why = nullptr);
// A cpuset in the kernel's list syntax: "0-3,6", also with its stride groups ("0-7:2/4" is
// 0,1,4,5: the first 2 of every 4). A subset of what the kernel reads: CPU numbers of at most 4
// digits, no empty items, no spaces, no "all" or "N"; empty and backward ranges are refused (an
// empty set runs nothing).
std::optional<std::set<int>> parse_cpu_list(std::string_view text, std::string* why = nullptr);

// The kernel's smallest CPU quota per period (cpu.max, cpu.cfs_quota_us): a smaller one is
// refused, so "10%" of a 1ms period cannot be had at all.
inline constexpr Duration kMinCpuQuota = std::chrono::milliseconds(1);
// The period a quota is over when none is given: the kernel's default.
inline constexpr Duration kDefaultCpuPeriod = std::chrono::milliseconds(100);
struct CpuQuotaProblem {
  std::string what;  // "\"10%\" of a 1ms period is a quota of 100us, below the kernel's smallest ..."
  std::string fix;   // "use a period of at least 10ms, or a quota of at least 100% at this period"
};
// Why `cpus` per `period` cannot be set, or nullopt when it can ("max" always can).
std::optional<CpuQuotaProblem> cpu_quota_problem(double cpus, Duration period);

std::string format_duration(Duration d);       // "1.5s", "250ms", "1m30s"
std::string format_size(std::uint64_t bytes);  // "64MiB", "1.5GiB", "max"
std::string format_cpu(double cpus);           // "50%", "max"
std::string signal_name(int signo);            // "SIGTERM", or "signal 42"

// ASCII letters in lower case (the way names users type are compared: units, signals, keys).
std::string ascii_lower(std::string_view text);

}  // namespace faultline
