#include "reports/text_format.h"

#include <cmath>
#include <cstdio>

namespace faultline::report {

std::string format_fixed(double value, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, value);
  return buf;
}

std::string svg_number(double value) { return format_fixed(value, 1); }

std::string format_latency(double ms) {
  if (ms < 10) return format_fixed(ms, 1) + "ms";
  if (ms < 1000) return format_fixed(ms, 0) + "ms";
  return format_fixed(ms / 1000.0, 1) + "s";
}

namespace {
// A bucket bound as written under a histogram: "5ms", "1s", "2.5s".
std::string bound_label(double ms) {
  if (ms < 1000) return format_fixed(ms, ms < 1 ? 1 : 0) + "ms";
  return format_fixed(ms / 1000.0, std::fmod(ms, 1000.0) == 0 ? 0 : 1) + "s";
}
}  // namespace

std::string bucket_label(const LatencyBucket& bucket, const LatencyBucket* previous) {
  if (bucket.lt_ms) return "< " + bound_label(*bucket.lt_ms);
  if (previous && previous->lt_ms) return ">= " + bound_label(*previous->lt_ms);
  return "all";
}

std::string format_seconds(double ms) { return format_fixed(ms / 1000.0, 1) + "s"; }

std::string format_bytes(std::uint64_t bytes) {
  static const char* const units[] = {"KiB", "MiB", "GiB", "TiB"};
  if (bytes < 1024) return std::to_string(bytes) + "B";
  double value = static_cast<double>(bytes) / 1024.0;
  int unit = 0;
  while (value >= 1024.0 && unit < 3) {
    value /= 1024.0;
    ++unit;
  }
  return format_fixed(value, 1) + units[unit];
}

std::string failure_summary(const Failure& f) {
  std::string s = f.check;
  if (!f.process.empty()) s += " [" + f.process + "]";
  if (!f.message.empty()) s += ": " + f.message;
  return s;
}

std::string tail_label(const char* stream, const std::string& tail, std::uint64_t total_bytes) {
  if (total_bytes > tail.size())
    return std::string(stream) + " (last " + std::to_string(tail.size()) + " of " +
           std::to_string(total_bytes) + " bytes)";
  return std::string(stream) + " (" + std::to_string(tail.size()) + " bytes)";
}

}  // namespace faultline::report
