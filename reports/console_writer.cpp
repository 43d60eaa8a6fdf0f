#include "reports/console_writer.h"

#include <cstdio>

namespace faultline::report {
namespace {

std::string seconds(double ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1fs", ms / 1000.0);
  return buf;
}

const char* label(Verdict v) {
  switch (v) {
    case Verdict::pass: return "PASS ";
    case Verdict::fail: return "FAIL ";
    case Verdict::error: return "ERROR";
    case Verdict::skip: return "SKIP ";
  }
  return "ERROR";
}

}  // namespace

std::string console_line(const ScenarioResult& r) {
  std::string line = std::string(label(r.verdict)) + "  " + r.name + "  (" + seconds(r.duration_ms) + ")";
  if (r.verdict != Verdict::pass && !r.reason.empty()) line += ": " + r.reason;
  return line;
}

std::string console_details(const ScenarioResult& r) {
  std::string out;
  if (r.verdict == Verdict::pass) return out;
  out += "       " + r.file + "\n";
  for (const auto& f : r.failures) {
    out += "       - " + f.check + (f.process.empty() ? "" : " [" + f.process + "]") + ": " + f.message + "\n";
    if (!f.expected.empty() || !f.actual.empty())
      out += "           expected: " + f.expected + "\n           actual:   " + f.actual + "\n";
  }
  return out;
}

std::string summary_line(const Summary& s) {
  std::string line = std::to_string(s.passed) + " passed, " + std::to_string(s.failed) + " failed";
  if (s.errors) line += ", " + std::to_string(s.errors) + " errors";
  if (s.skipped) line += ", " + std::to_string(s.skipped) + " skipped";
  return line;
}

}  // namespace faultline::report
