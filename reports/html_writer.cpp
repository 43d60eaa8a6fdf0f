#include "reports/html_writer.h"

#include "reports/atomic_file.h"
#include "reports/baseline.h"
#include "reports/console_writer.h"
#include "reports/escape.h"
#include "reports/latency_histogram.h"
#include "reports/text_format.h"
#include "reports/timeline_chart.h"

namespace faultline::report {
namespace {

// No script at all, styles only inline, images only as data: URIs; nothing can load or run.
constexpr const char* kPolicy = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

constexpr const char* kStyle = R"css(
:root{--pass:#15803d;--fail:#dc2626;--error:#9333ea;--skip:#b45309;--muted:#6b7280;--line:#e5e7eb}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:#111827;
  background:#f3f4f6;margin:0;padding:24px}
main{max-width:1080px;margin:0 auto}
h1{font-size:22px;margin:0 0 4px}
h2{font-size:18px;margin:0;display:flex;gap:10px;align-items:center;flex-wrap:wrap}
h3{font-size:13px;text-transform:uppercase;letter-spacing:.04em;color:var(--muted);margin:18px 0 6px}
.card{background:#fff;border:1px solid var(--line);border-radius:10px;padding:18px 20px;margin:0 0 18px}
.summary{border-left:8px solid var(--pass)}
.summary.failed{border-left-color:var(--fail)} .summary.nothing{border-left-color:var(--skip)}
.headline{display:flex;align-items:baseline;gap:16px;flex-wrap:wrap}
.verdict{font-size:28px;font-weight:700}
.summary .verdict{color:var(--pass)} .summary.failed .verdict{color:var(--fail)}
.summary.nothing .verdict{color:var(--skip)}
.counts span{display:inline-block;margin-right:14px;font-size:16px;font-weight:600}
.counts .n-pass{color:var(--pass)} .counts .n-fail{color:var(--fail)} .counts .n-error{color:var(--error)}
.counts .n-skip{color:var(--skip)} .counts .zero{color:var(--muted);font-weight:400}
.meta{color:var(--muted);margin-top:8px;display:flex;flex-wrap:wrap;gap:4px 16px}
.meta span{white-space:nowrap}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:5px 8px;border-bottom:1px solid var(--line);vertical-align:top}
th{font-size:12px;color:var(--muted);font-weight:600}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.badge{display:inline-block;min-width:52px;text-align:center;border-radius:5px;padding:1px 8px;color:#fff;
  font-size:12px;font-weight:700;letter-spacing:.04em}
.badge.pass{background:var(--pass)} .badge.fail{background:var(--fail)} .badge.error{background:var(--error)}
.badge.skip{background:var(--skip)}
.scenario{border-left:6px solid var(--pass)}
.scenario.fail{border-left-color:var(--fail)} .scenario.error{border-left-color:var(--error)}
.scenario.skip{border-left-color:var(--skip)}
.where{color:var(--muted);margin:4px 0 0;word-break:break-all}
.tag{display:inline-block;background:#eef2ff;color:#3730a3;border-radius:4px;padding:0 6px;margin-left:4px;
  font-size:12px}
.reason{margin:10px 0 0;font-weight:600}
.scenario.fail .reason{color:var(--fail)} .scenario.error .reason{color:var(--error)}
code,pre,.mono{font-family:ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:12.5px}
pre{background:#0f172a;color:#e2e8f0;padding:10px 12px;border-radius:6px;overflow:auto;max-height:360px;
  white-space:pre-wrap;word-break:break-all;margin:6px 0}
.failures td.expected{color:var(--pass)} .failures td.actual{color:var(--fail)}
.failures td{word-break:break-word}
details{margin:6px 0}
details.more{margin-top:10px}
details.more>summary{color:var(--muted);font-weight:400}
summary{cursor:pointer;font-weight:600}
.chart{margin:8px 0 0}
figcaption{color:var(--muted);font-size:12px;margin:10px 0 2px}
svg.timeline{width:100%;height:auto;display:block;font:11px system-ui,sans-serif}
svg .plot{fill:#fafafa;stroke:var(--line)}
svg .grid{stroke:#e5e7eb;stroke-dasharray:3 3}
svg .series{fill:none;stroke-width:1.8;stroke-linejoin:round}
svg .panel-title{font-weight:600;fill:#374151;font-size:12px}
svg .probe-name{fill:#374151}
svg .tick{fill:var(--muted)}
svg .axis line{stroke:#9ca3af}
svg .lane{stroke:#e5e7eb}
svg .fault-window{fill:#f59e0b;fill-opacity:.16;stroke:#f59e0b;stroke-opacity:.6}
svg .fault-instant{stroke:#d97706;stroke-width:1.5;stroke-dasharray:4 3}
svg .fault-label{fill:#b45309;font-weight:600}
svg .event{stroke-width:2}
svg .event-label{font-size:10px}
svg .alarm{stroke:#dc2626;stroke-dasharray:2 3;stroke-opacity:.7}
svg .syscall-fail{stroke:#b91c1c;stroke-width:1.2}
svg .syscall-elided{fill:#b91c1c;fill-opacity:.18;stroke:#b91c1c;stroke-opacity:.5;stroke-dasharray:2 2}
svg .proxy-up{fill:#0891b2;fill-opacity:.18;stroke:#0891b2;stroke-opacity:.7}
svg .proxy-open{fill:#0891b2;fill-opacity:.55}
svg .proxy-first-byte{fill:#b45309;fill-opacity:.7}
svg .lane-note{fill:#374151;font-size:10px}
svg.histogram{width:100%;max-width:760px;height:auto;display:block;font:10px system-ui,sans-serif}
svg .bar{fill:#0891b2}
svg .bar-count{fill:#374151;font-size:10px}
svg .bar-label{fill:var(--muted);font-size:10px}
svg .baseline{stroke:#9ca3af}
svg .attempt-ok{fill:#16a34a}
svg .attempt-failed{fill:#dc2626;stroke:#7f1d1d}
.legend{display:flex;gap:16px;flex-wrap:wrap;color:#374151;font-size:12px;margin-top:4px}
.legend .swatch{display:inline-block;width:14px;height:4px;border-radius:2px;margin-right:5px;
  vertical-align:middle}
.legend .swatch.fault{height:12px;background:rgba(245,158,11,.25);border:1px solid #f59e0b}
.legend .swatch.syscall{width:3px;height:12px;background:#b91c1c}
.legend .swatch.elided{height:10px;background:rgba(185,28,28,.18);border:1px dashed #b91c1c}
.legend .swatch.proxy{height:10px;background:rgba(8,145,178,.18);border:1px solid #0891b2}
.legend .swatch.proxy-open{height:10px;background:rgba(8,145,178,.55)}
.legend .swatch.proxy-first-byte{height:10px;background:rgba(180,83,9,.7)}
.legend .dot{display:inline-block;width:9px;height:9px;border-radius:50%;margin-right:5px;
  vertical-align:middle}
.legend .dot.ok{background:#16a34a} .legend .dot.failed{background:#dc2626}
.legend .note{color:var(--muted)}
.empty{color:var(--muted);font-style:italic}
a{color:#1d4ed8;text-decoration:none} a:hover{text-decoration:underline}
)css";

std::string esc(const std::string& s) { return html_escape(s); }

std::string badge(Verdict v) {
  return std::string("<span class=\"badge ") + to_string(v) + "\">" +
         (v == Verdict::pass    ? "PASS"
          : v == Verdict::fail  ? "FAIL"
          : v == Verdict::error ? "ERROR"
                                : "SKIP") +
         "</span>";
}

std::string count_span(int n, const char* what, const char* cls) {
  return std::string("<span class=\"") + cls + (n == 0 ? " zero" : "") + "\">" + std::to_string(n) + " " +
         what + "</span>";
}

std::string summary_card(const RunReport& report) {
  const Summary sum = report.summary();
  const bool failed = sum.failed + sum.errors > 0;
  // Every scenario skipped (or none at all) tested nothing: `run` exits 3 for it, and a green
  // PASSED here would say the opposite.
  const bool nothing_tested = !failed && sum.passed == 0;
  std::string h = std::string("<section class=\"card summary") +
                  (failed || report.interrupted ? " failed"
                   : nothing_tested             ? " nothing"
                                                : "") +
                  "\" id=\"summary\">";
  h += "<h1>faultline report</h1><div class=\"headline\"><div class=\"verdict\">";
  h += report.interrupted ? "INTERRUPTED" : failed ? "FAILED" : nothing_tested ? "NOTHING TESTED" : "PASSED";
  h += "</div><div class=\"counts\">" + count_span(sum.passed, "passed", "n-pass") +
       count_span(sum.failed, "failed", "n-fail") + count_span(sum.errors, "errors", "n-error") +
       count_span(sum.skipped, "skipped", "n-skip") + "</div></div>";
  h += "<div class=\"meta\">";
  if (!report.started.empty()) h += "<span>started " + esc(report.started) + "</span>";
  h += "<span>took " + esc(format_seconds(report.duration_ms)) + "</span>";
  h += "<span>" + std::to_string(report.scenarios.size()) + " scenario runs</span>";
  if (report.seed) h += "<span>seed " + std::to_string(*report.seed) + "</span>";
  h += "<span>cgroup " + esc(report.host.cgroup) + ", kernel " + esc(report.host.kernel) + ", " +
       std::to_string(report.host.cpus) + " CPUs</span>";
  h += "<span>faultline " + esc(report.tool_version) + "</span></div>";

  if (!report.scenarios.empty()) {
    h += "<h3>Scenarios</h3><table class=\"overview\"><thead><tr><th>Result</th><th>Scenario</th><th>Why</th>"
         "<th class=\"num\">Time</th></tr></thead><tbody>";
    for (std::size_t i = 0; i < report.scenarios.size(); ++i) {
      const auto& s = report.scenarios[i];
      h += "<tr><td>" + badge(s.verdict) + "</td><td><a href=\"#scenario-" + std::to_string(i + 1) + "\">" +
           esc(s.name) + "</a></td><td>" + (s.verdict == Verdict::pass ? "" : esc(s.reason)) +
           "</td><td class=\"num\">" + esc(format_seconds(s.duration_ms)) + "</td></tr>";
    }
    h += "</tbody></table>";
  }
  if (const auto flaky = report.flaky(); !flaky.empty()) {
    h += "<h3>Flaky</h3><ul class=\"flaky\">";
    for (const auto& f : flaky) h += "<li>" + esc(f) + "</li>";
    h += "</ul>";
  }
  if (report.baseline) {
    const auto& b = *report.baseline;
    h += "<h3>Compared with " + esc(b.file) + "</h3><p>" + std::to_string(b.new_failures) +
         " new failure(s), " + std::to_string(b.fixed) + " fixed, " + std::to_string(b.regressions) +
         " regression(s)" + (b.gone.empty() ? "" : ", " + std::to_string(b.gone.size()) + " gone") + "</p>";
    if (!b.changes.empty() || !b.gone.empty()) {
      h += "<table "
           "class=\"baseline\"><thead><tr><th>Change</th><th>Scenario</th><th>What</th></tr></thead><tbody>";
      for (const auto& c : b.changes)
        h += "<tr><td>" + esc(c.kind) + "</td><td>" + esc(c.scenario) + "</td><td>" + esc(c.message) +
             "</td></tr>";
      for (const auto& g : b.gone)
        h += "<tr><td>gone</td><td>" + esc(g.scenario) + "</td><td>" + esc(gone_message(g)) + "</td></tr>";
      h += "</tbody></table>";
    }
  }
  return h + "</section>";
}

std::string failures_table(const ScenarioResult& s) {
  if (s.failures.empty()) return "";
  std::string h =
      "<h3>Failures</h3><table class=\"failures\"><thead><tr><th>Check</th><th>Process</th>"
      "<th>Expected</th><th>Actual</th><th>Message</th><th class=\"num\">Line</th></tr></thead><tbody>";
  for (const auto& f : s.failures)
    h += "<tr><td class=\"mono\">" + esc(f.check) + "</td><td>" + esc(f.process) +
         "</td><td class=\"expected mono\">" + esc(f.expected) + "</td><td class=\"actual mono\">" +
         esc(f.actual) + "</td><td>" + esc(f.message) + "</td><td class=\"num\">" +
         (f.line ? std::to_string(f.line) : "") + "</td></tr>";
  return h + "</tbody></table>";
}

std::string optional_number(const std::optional<int>& v) { return v ? std::to_string(*v) : ""; }

std::string processes_table(const ScenarioResult& s) {
  if (s.processes.empty()) return "";
  std::string h =
      "<h3>Processes</h3><table class=\"processes\"><thead><tr><th>Process</th><th>Outcome</th>"
      "<th class=\"num\">Exit</th><th class=\"num\">Signal</th><th>Graceful</th>"
      "<th class=\"num\">Peak memory</th><th class=\"num\">CPU</th><th class=\"num\">Throttled</th>"
      "<th class=\"num\">OOM kills</th><th class=\"num\">Runtime</th></tr></thead><tbody>";
  const auto cell = [](const std::string& html) { return "<td>" + html + "</td>"; };
  const auto number = [](const std::string& text) { return "<td class=\"num\">" + esc(text) + "</td>"; };
  const auto milliseconds = [](std::uint64_t usec) { return format_fixed(double(usec) / 1000.0, 0) + " ms"; };
  for (const auto& p : s.processes) {
    std::string command;
    for (const auto& arg : p.command) command += (command.empty() ? "" : " ") + arg;
    std::string outcome = esc(p.outcome);
    if (!p.start_error.empty()) outcome += "<br><span class=\"mono\">" + esc(p.start_error) + "</span>";
    h += "<tr><td title=\"" + esc(command) + "\">" + esc(p.name) + "</td>" + cell(outcome);
    h += number(optional_number(p.exit_code)) + number(optional_number(p.signal));
    h += cell(p.graceful ? (*p.graceful ? "yes" : "no") : "");
    h += number(p.peak_memory_known ? format_bytes(p.peak_memory_bytes) : "unknown") +
         number(milliseconds(p.cpu_usage_usec)) + number(milliseconds(p.throttled_usec)) +
         number(p.oom_kills_known ? std::to_string(p.oom_kills) : "unknown") +
         number(format_seconds(p.runtime_ms)) + "</tr>";
    if (!p.orphans.empty()) {
      std::string list;
      for (const auto& o : p.orphans) list += (list.empty() ? "" : ", ") + o;
      h += "<tr><td></td><td colspan=\"9\">left behind: <span class=\"mono\">" + esc(list) +
           "</span></td></tr>";
    }
  }
  return h + "</tbody></table>";
}

std::string probes_table(const ScenarioResult& s) {
  if (s.probes.empty()) return "";
  std::string h =
      "<h3>Probes</h3><table class=\"probes\"><thead><tr><th>Probe</th><th>Result</th>"
      "<th class=\"num\">Passed</th><th class=\"num\">Attempts</th><th>Last failure</th></tr></thead><tbody>";
  for (const auto& p : s.probes) {
    std::size_t failed = 0;
    std::string last_failure;
    for (const auto& a : p.attempts)
      if (!a.ok) {
        ++failed;
        last_failure = "at " + format_seconds(a.t_ms) +
                       (a.status ? ": status " + std::to_string(*a.status) : "") +
                       (a.error ? ": " + *a.error : "");
      }
    h += "<tr><td>" + esc(p.name) + "</td><td>" + badge(p.passed ? Verdict::pass : Verdict::fail) +
         "</td><td class=\"num\">" + format_fixed(p.pass_ratio * 100, 0) + "%</td><td class=\"num\">" +
         std::to_string(p.attempts.size()) + (failed ? " (" + std::to_string(failed) + " failed)" : "") +
         "</td><td>" + esc(last_failure) + "</td></tr>";
  }
  return h + "</tbody></table>";
}

std::string syscall_faults_table(const ScenarioResult& s) {
  if (s.syscall_faults.empty()) return "";
  std::string h =
      "<h3>Syscall faults</h3><table class=\"syscall-faults\"><thead><tr><th>Injection</th><th>Process</th>"
      "<th class=\"num\">Hit</th><th class=\"num\">Matched</th><th>On the timeline</th></tr></thead><tbody>";
  for (const auto& lane : syscall_lanes(s)) {
    std::string listed = std::to_string(lane.failures.size()) + " calls listed";
    // The runner lists the first and last calls of a rule that fires often, and counts them all.
    const std::uint64_t all_hit = lane.hit + lane.hit_while_stopping;
    if (all_hit > lane.failures.size())
      listed += ", " + std::to_string(all_hit - lane.failures.size()) + " between them left out";
    if (lane.hit_while_stopping)
      listed += "; " + std::to_string(lane.hit_while_stopping) + " in the shutdown, not counted";
    h += "<tr data-inject=\"" + esc(lane.inject) + "\"><td>" + esc(lane.inject) + "</td><td>" +
         esc(lane.process) + "</td><td class=\"num\">" + std::to_string(lane.hit) +
         "</td><td class=\"num\">" + std::to_string(lane.matched) + "</td><td>" + esc(listed) + "</td></tr>";
  }
  return h + "</tbody></table>";
}

std::string proxies_table(const ScenarioResult& s) {
  if (s.proxies.empty()) return "";
  std::string h =
      "<h3>Proxies</h3><table class=\"proxies\"><thead><tr><th>Proxy</th><th class=\"num\">Accepted</th>"
      "<th class=\"num\">Closed</th><th class=\"num\">Reset</th><th class=\"num\">Bytes up</th>"
      "<th class=\"num\">Bytes down</th><th class=\"num\">First byte p50</th><th class=\"num\">p99</th>"
      "<th class=\"num\">max</th><th>Faults touched</th></tr></thead><tbody>";
  const auto number = [](const std::string& text) { return "<td class=\"num\">" + esc(text) + "</td>"; };
  std::string histograms;
  for (const auto& p : s.proxies) {
    std::string touched;
    for (const auto& [name, n] : p.toxics_touched)
      touched += (touched.empty() ? "" : ", ") + name + ": " + std::to_string(n) + " connections";
    if (p.refused.value_or(0) > 0)
      touched += " (" + std::to_string(*p.refused) + " connects refused during a partition)";
    if (!p.refused_unseen.empty()) touched += " (refused connects not seen: " + p.refused_unseen + ")";
    h += "<tr data-proxy=\"" + esc(p.name) + "\"><td>" + esc(p.name) + "<br><span class=\"mono where\">" +
         esc(p.listen) + " \u2192 " + esc(p.upstream) + "</span></td>" + number(std::to_string(p.accepted)) +
         number(std::to_string(p.closed)) + number(std::to_string(p.reset)) +
         number(format_bytes(p.bytes_upstream)) + number(format_bytes(p.bytes_downstream)) +
         number(format_latency(p.first_byte_p50_ms)) + number(format_latency(p.first_byte_p99_ms)) +
         number(format_latency(p.first_byte_max_ms)) + "<td>" + esc(touched) + "</td></tr>";
    const std::string chart =
        latency_histogram_svg(p.first_byte_histogram, "time to first byte through " + p.name, "connections");
    if (!chart.empty())
      histograms += "<figure class=\"chart\" data-proxy=\"" + esc(p.name) +
                    "\"><figcaption>Time to first byte through " + esc(p.name) +
                    ", connections per bucket</figcaption>" + chart + "</figure>";
  }
  return h + "</tbody></table>" + histograms;
}

std::string diagnostics_block(const ScenarioResult& s) {
  if (s.diagnostics.empty()) return "";
  std::string h = "<h3>Diagnosis</h3>";
  for (const auto& [key, value] : s.diagnostics)
    h += "<details class=\"diagnosis\" open><summary>" + esc(key) + "</summary><pre>" + esc(value) +
         "</pre></details>";
  return h;
}

std::string output_block(const ScenarioResult& s) {
  std::string h;
  const bool open = s.verdict != Verdict::pass;
  for (const auto& p : s.processes)
    for (const bool is_stdout : {true, false}) {
      const std::string& tail = is_stdout ? p.stdout_tail : p.stderr_tail;
      if (tail.empty()) continue;
      const std::string label =
          p.name + " " +
          tail_label(is_stdout ? "stdout" : "stderr", tail, is_stdout ? p.stdout_bytes : p.stderr_bytes);
      h += std::string("<details class=\"output\"") + (open ? " open" : "") + "><summary>" + esc(label) +
           "</summary><pre>" + esc(tail) + "</pre></details>";
    }
  return h.empty() ? "" : "<h3>Output</h3>" + h;
}

std::string scenario_card(const ScenarioResult& s, std::size_t index) {
  std::string h = "<section class=\"card scenario " + std::string(to_string(s.verdict)) +
                  "\" id=\"scenario-" + std::to_string(index) + "\">";
  h += "<h2>" + badge(s.verdict) + "<span class=\"name\">" + esc(s.name) + "</span></h2>";
  h += "<p class=\"where\"><span class=\"mono\">" + esc(s.file) +
       (s.reason_line ? ":" + std::to_string(s.reason_line) : "") + "</span> \u00b7 " +
       esc(format_seconds(s.duration_ms));
  for (const auto& t : s.tags) h += "<span class=\"tag\">" + esc(t) + "</span>";
  h += "</p>";
  if (!s.reason.empty() && s.verdict != Verdict::pass) h += "<p class=\"reason\">" + esc(s.reason) + "</p>";
  if (s.interrupted) h += "<p class=\"reason\">interrupted before it finished</p>";
  h += failures_table(s);
  const std::string chart = timeline_chart_html(s);
  std::string body =
      "<h3>Timeline</h3>" + (chart.empty() ? "<p class=\"empty\">nothing was recorded over time</p>" : chart);
  body += syscall_faults_table(s);
  body += proxies_table(s);
  body += processes_table(s);
  body += probes_table(s);
  body += diagnostics_block(s);
  body += output_block(s);
  // A pass needs no reading: its details stay folded so the failures stand out.
  if (s.verdict == Verdict::pass)
    body = "<details class=\"more\"><summary>Timeline, processes and output</summary>" + body + "</details>";
  return h + body + "</section>";
}

}  // namespace

std::string to_html(const RunReport& report) {
  const Summary sum = report.summary();
  std::string h = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">";
  h += std::string("<meta http-equiv=\"Content-Security-Policy\" content=\"") + kPolicy + "\">";
  h += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">";
  h += "<title>faultline: " + esc(summary_line(sum)) + "</title>";
  h += std::string("<style>") + kStyle + "</style></head>\n<body><main>\n";
  h += summary_card(report) + "\n";
  for (std::size_t i = 0; i < report.scenarios.size(); ++i)
    h += scenario_card(report.scenarios[i], i + 1) + "\n";
  h += "</main></body></html>\n";
  return h;
}

void write_html(const RunReport& report, const std::filesystem::path& path) {
  write_file_atomically(path, to_html(report));
}

}  // namespace faultline::report
