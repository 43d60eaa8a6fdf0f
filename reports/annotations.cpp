#include "reports/annotations.h"

#include "reports/escape.h"

namespace faultline::report {
namespace {

std::string annotation(const ScenarioResult& s, std::uint32_t line, const std::string& message) {
  return "::error file=" + github_escape_property(s.file) + ",line=" + std::to_string(line ? line : 1) +
         ",title=" + github_escape_property(s.key()) + "::" + github_escape_message(message) + "\n";
}

std::string failure_message(const Failure& f) {
  std::string m = f.check;
  if (!f.process.empty()) m += " [" + f.process + "]";
  m += ": " + f.message;
  if (!f.expected.empty() || !f.actual.empty()) m += "\nexpected: " + f.expected + "\nactual:   " + f.actual;
  return m;
}

}  // namespace

std::string github_annotations(const RunReport& report) {
  std::string out;
  for (const auto& s : report.scenarios) {
    if (s.verdict != Verdict::fail && s.verdict != Verdict::error) continue;
    const std::string prefix = s.verdict == Verdict::error ? "error: " : "";
    if (s.failures.empty()) {
      out += annotation(
          s, s.reason_line,
          prefix + (s.reason.empty() ? "scenario " + std::string(to_string(s.verdict)) : s.reason));
      continue;
    }
    for (const auto& f : s.failures)
      out += annotation(s, f.line ? f.line : s.reason_line, prefix + failure_message(f));
  }
  return out;
}

}  // namespace faultline::report
