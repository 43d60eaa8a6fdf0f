#include "reports/junit_writer.h"

#include "reports/atomic_file.h"
#include "reports/escape.h"
#include "reports/text_format.h"

namespace faultline::report {
namespace {

std::string attr(const char* name, const std::string& value) {
  return std::string(" ") + name + "=\"" + xml_attribute_escape(value) + "\"";
}

std::string seconds_attr(double ms) { return attr("time", format_fixed(ms / 1000.0, 3)); }

// The body of <failure>/<error>: every failed check with its expected and actual values.
std::string failure_text(const ScenarioResult& s) {
  std::string text;
  if (!s.reason.empty()) text += s.reason + "\n";
  for (const auto& f : s.failures) {
    text += "\n" + failure_summary(f) + "\n";
    if (!f.expected.empty() || !f.actual.empty())
      text += "  expected: " + f.expected + "\n  actual:   " + f.actual + "\n";
    for (const auto& c : f.consequences) text += "  therefore " + c + "\n";
  }
  text += "\nscenario file: " + s.file + (s.reason_line ? ":" + std::to_string(s.reason_line) : "") + "\n";
  for (const auto& [key, value] : s.diagnostics) text += "\n" + key + ":\n" + value + "\n";
  return text;
}

std::string tails(const ScenarioResult& s, bool stdout_stream) {
  std::string text;
  for (const auto& p : s.processes) {
    const std::string& tail = stdout_stream ? p.stdout_tail : p.stderr_tail;
    const std::uint64_t bytes = stdout_stream ? p.stdout_bytes : p.stderr_bytes;
    if (tail.empty()) continue;
    text += "=== " + p.name + " " + tail_label(stdout_stream ? "stdout" : "stderr", tail, bytes) + " ===\n";
    text += tail;
    if (text.back() != '\n') text += '\n';
  }
  return text;
}

// CI tools key a test's history on classname+name: the name is the one every run has (an
// `auto-port` number left as `${port}`). With --repeat every run of a scenario has the same file
// and name, so without the repeat number a passing run would hide a failing one.
std::string testcase_name(const ScenarioResult& s) {
  return s.repeat > 0 ? s.key() + " (repeat " + std::to_string(s.repeat) + ")" : s.key();
}

std::string testcase(const ScenarioResult& s) {
  std::string x = "    <testcase" + attr("classname", s.file) + attr("name", testcase_name(s)) +
                  seconds_attr(s.duration_ms) + attr("file", s.file);
  if (s.reason_line) x += attr("line", std::to_string(s.reason_line));
  x += ">\n";
  const std::string type = s.failures.empty() ? std::string(to_string(s.verdict)) : s.failures.front().check;
  switch (s.verdict) {
    case Verdict::pass:
      break;
    case Verdict::fail:
      x += "      <failure" + attr("message", s.reason) + attr("type", type) + ">" +
           xml_escape(failure_text(s)) + "</failure>\n";
      break;
    case Verdict::error:
      x += "      <error" + attr("message", s.reason) + attr("type", type) + ">" +
           xml_escape(failure_text(s)) + "</error>\n";
      break;
    case Verdict::skip:
      x += "      <skipped" + attr("message", s.reason) + "/>\n";
      break;
  }
  if (const auto out = tails(s, true); !out.empty())
    x += "      <system-out>" + xml_escape(out) + "</system-out>\n";
  if (const auto err = tails(s, false); !err.empty())
    x += "      <system-err>" + xml_escape(err) + "</system-err>\n";
  return x + "    </testcase>\n";
}

std::string counts(const RunReport& report) {
  const Summary sum = report.summary();
  return attr("tests", std::to_string(report.scenarios.size())) +
         attr("failures", std::to_string(sum.failed)) + attr("errors", std::to_string(sum.errors)) +
         attr("skipped", std::to_string(sum.skipped)) + seconds_attr(report.duration_ms);
}

std::string property(const char* name, const std::string& value) {
  return "      <property" + attr("name", name) + attr("value", value) + "/>\n";
}

}  // namespace

std::string to_junit(const RunReport& report) {
  std::string x = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  x += "<testsuites" + attr("name", "faultline") + counts(report) + ">\n";
  // Ant's schema wants the timestamp without a zone designator; it is UTC.
  std::string timestamp = report.started;
  if (!timestamp.empty() && timestamp.back() == 'Z') timestamp.pop_back();
  x += "  <testsuite" + attr("name", "faultline") + counts(report);
  if (!timestamp.empty()) x += attr("timestamp", timestamp);
  x += ">\n";
  x += "    <properties>\n";
  x += property("faultline.version", report.tool_version);
  x += property("host.cgroup", report.host.cgroup);
  x += property("host.kernel", report.host.kernel);
  x += property("host.cpus", std::to_string(report.host.cpus));
  if (report.seed) x += property("seed", std::to_string(*report.seed));
  if (report.interrupted) x += property("interrupted", "true");
  x += "    </properties>\n";
  for (const auto& s : report.scenarios) x += testcase(s);
  x += "  </testsuite>\n</testsuites>\n";
  return x;
}

void write_junit(const RunReport& report, const std::filesystem::path& path) {
  write_file_atomically(path, to_junit(report));
}

}  // namespace faultline::report
