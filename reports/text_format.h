// Small formatting helpers shared by the human-facing writers (console, JUnit, HTML).
#pragma once

#include <cstdint>
#include <string>

#include "reports/model.h"

namespace faultline::report {

std::string format_seconds(double ms);          // "1.2s", "0.0s"
std::string format_bytes(std::uint64_t bytes);  // "512B", "1.5KiB", "64.0MiB"
std::string format_fixed(double value, int decimals);
std::string svg_number(double value);   // an SVG coordinate or length: "12.5"
std::string format_latency(double ms);  // "0.4ms", "12ms", "2.5s"
// "< 5ms", ">= 10s": what one bucket of a latency histogram holds.
std::string bucket_label(const LatencyBucket& bucket, const LatencyBucket* previous);
// "check [process]: message", the one-line form of a failure.
std::string failure_summary(const Failure& failure);
// What a process's output tail is: "stdout (last 4096 of 9000 bytes)" / "stdout (120 bytes)".
std::string tail_label(const char* stream, const std::string& tail, std::uint64_t total_bytes);

}  // namespace faultline::report
