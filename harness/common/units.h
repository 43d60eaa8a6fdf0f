// Parsing and printing of the value syntaxes shared by scenario files and command-line flags:
// durations ("250ms", "1m30s"), sizes ("64MiB", "100MB", "max"), CPU ("50%", "1.5", "max")
// and signals ("SIGTERM", "TERM", "15").
#pragma once

#include <chrono>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

namespace faultline {

using Duration = std::chrono::nanoseconds;

// Sizes are bytes; kUnlimited stands for "max".
inline constexpr std::uint64_t kUnlimited = std::numeric_limits<std::uint64_t>::max();

// Each parser returns nullopt and sets `why` (what was expected) on a malformed value.
std::optional<Duration> parse_duration(std::string_view text, std::string* why = nullptr);
std::optional<std::uint64_t> parse_size(std::string_view text, std::string* why = nullptr);
// CPUs as a fraction of one CPU: "50%" -> 0.5, "1.5" -> 1.5, "max" -> +infinity.
std::optional<double> parse_cpu(std::string_view text, std::string* why = nullptr);
// "SIGTERM", "TERM", "sigterm" or "15" -> 15.
std::optional<int> parse_signal(std::string_view text, std::string* why = nullptr);

std::string format_duration(Duration d);       // "1.5s", "250ms", "1m30s"
std::string format_size(std::uint64_t bytes);  // "64MiB", "1.5GiB", "max"
std::string format_cpu(double cpus);           // "50%", "max"
std::string signal_name(int signo);            // "SIGTERM", or "signal 42"

}  // namespace faultline
