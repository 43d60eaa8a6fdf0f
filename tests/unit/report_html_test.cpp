#include <catch2/catch.hpp>
#include <string>

#include "reports/html_writer.h"
#include "reports/timeline_chart.h"
#include "tests/support/report_fixtures.h"

using namespace faultline::report;

namespace {

std::size_t count(const std::string& haystack, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = haystack.find(needle); at != std::string::npos; at = haystack.find(needle, at + 1)) ++n;
  return n;
}

ScenarioResult charted_scenario() {
  ScenarioResult s = faultline::test::scenario_result("api sheds load while squeezed",
                                                      "scenarios/squeeze.toml", Verdict::fail);
  s.duration_ms = 4000;
  s.reason = "probe: 3 of 8 attempts failed";
  ProcessResult api;
  api.name = "api";
  s.processes.push_back(api);
  for (int i = 0; i <= 40; ++i) {
    const double t = i * 100.0;
    s.samples.push_back({t, "api", static_cast<std::uint64_t>((10 + i) << 20),
                         static_cast<std::uint64_t>(i * 50000),
                         static_cast<std::uint64_t>(i > 20 ? (i - 20) * 20000 : 0), 3});
  }
  s.timeline = {{0, "process.start", "api", "", ""},
                {300, "process.ready", "api", "", ""},
                {1000, "inject.apply", "api", "squeeze", "memory.max 64MiB"},
                {2500, "inject.revert", "api", "squeeze", ""},
                {2000, "inject.apply", "api", "term", "SIGTERM"},
                {2200, "inject.apply", "api", "term", "SIGTERM"},
                {3000, "inject.apply", "api", "hog", "cpu 1.0"},
                {3900, "timeout", "", "", "scenario timeout 4s"}};
  ProbeResult probe;
  probe.name = "health";
  probe.attempts = {{1100, true, 1.0, 200, std::nullopt},
                    {1200, false, 2000, std::nullopt, "timed out"},
                    {1300, false, 5, 503, std::nullopt}};
  s.probes.push_back(probe);
  return s;
}

}  // namespace

TEST_CASE("fault windows pair inject.apply with the revert of the same inject") {
  const auto windows = fault_windows(charted_scenario());
  REQUIRE(windows.size() == 4);
  CHECK(windows[0].inject == "squeeze");
  CHECK(windows[0].start_ms == 1000);
  CHECK(windows[0].end_ms == 2500);
  CHECK_FALSE(windows[0].open);
  // A signal applied twice without a revert: the first was instantaneous.
  CHECK(windows[1].inject == "term");
  CHECK(windows[1].end_ms == 2000);
  CHECK_FALSE(windows[1].open);
  CHECK(windows[2].start_ms == 2200);
  CHECK(windows[2].open);
  CHECK(windows[3].inject == "hog");
  CHECK(windows[3].open);
}

TEST_CASE("CPU and throttling rates come from counter deltas per interval") {
  const std::vector<Sample> samples = {{0, "a", 0, 0, 0, 1},
                                       {100, "a", 0, 50000, 10000, 1},
                                       {300, "a", 0, 250000, 10000, 1},
                                       {400, "a", 0, 10, 0, 1}};
  const auto r = rates(samples);
  REQUIRE(r.size() == 3);
  CHECK(r[0].cpu_percent == Approx(50));  // 50ms of CPU in 100ms
  CHECK(r[0].throttled_percent == Approx(10));
  CHECK(r[1].cpu_percent == Approx(100));  // 200ms in 200ms
  CHECK(r[1].throttled_percent == Approx(0));
  CHECK(r[2].cpu_percent == Approx(0));  // the counter went back: no rate, not a huge one
}

TEST_CASE("the chart has panels, bands, instantaneous marks and probe marks") {
  const std::string chart = timeline_chart_html(charted_scenario());
  CHECK(chart.rfind("<figure class=\"chart\"><svg class=\"timeline\"", 0) == 0);
  CHECK(count(chart, "<g class=\"panel\"") == 3);
  CHECK(chart.find("data-panel=\"Memory\"") != std::string::npos);
  CHECK(chart.find("data-panel=\"CPU\"") != std::string::npos);
  CHECK(chart.find("data-panel=\"Throttled\"") != std::string::npos);
  CHECK(count(chart, "<polyline class=\"series\" data-process=\"api\"") == 3);
  CHECK(count(chart, "<rect class=\"fault-window\"") == 3);  // squeeze, the last term (open), hog (open)
  CHECK(count(chart, "<line class=\"fault-instant\"") == 1);
  CHECK(count(chart, "<circle class=\"attempt-ok\"") == 1);
  CHECK(count(chart, "<circle class=\"attempt-failed\"") == 2);
  CHECK(chart.find("<title>health at 1.2s: FAILED, 2000.0 ms, timed out</title>") != std::string::npos);
  CHECK(count(chart, "<line class=\"alarm\"") == 1);  // the timeout
  // The squeeze band starts a quarter of the way along: x = 104 + 0.25 * 840.
  CHECK(chart.find("data-inject=\"squeeze\" x=\"314.0\"") != std::string::npos);
}

TEST_CASE("a scenario with nothing recorded over time has no chart") {
  ScenarioResult s;
  s.name = "nothing";
  CHECK(timeline_chart_html(s).empty());
  RunReport r;
  r.scenarios = {s};
  CHECK(to_html(r).find("nothing was recorded over time") != std::string::npos);
}

TEST_CASE("the HTML report is one file with no script and no external resource") {
  RunReport r;
  r.tool_version = "0.1.0";
  r.scenarios = {charted_scenario()};
  const std::string html = to_html(r);
  CHECK(html.rfind("<!DOCTYPE html>\n", 0) == 0);
  CHECK(html.find("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src "
                  "'unsafe-inline'; img-src data:\">") != std::string::npos);
  CHECK(html.find("<script") == std::string::npos);
  CHECK(html.find("src=") == std::string::npos);
  CHECK(html.find("href=\"http") == std::string::npos);
  CHECK(html.find("<title>faultline: 0 passed, 1 failed</title>") != std::string::npos);
  CHECK(html.find("<div class=\"verdict\">FAILED</div>") != std::string::npos);
}

TEST_CASE("everything from targets and scenario files is escaped in the HTML") {
  const std::string evil =
      "<script>document.title='pwned'</script><img src=x onerror=\"document.title='pwned'\">";
  const std::string escaped =
      "&lt;script&gt;document.title=&#39;pwned&#39;&lt;/script&gt;&lt;img src=x "
      "onerror=&quot;document.title=&#39;"
      "pwned&#39;&quot;&gt;";
  ScenarioResult s = charted_scenario();
  s.name = evil;
  s.file = evil;
  s.tags = {evil};
  s.reason = evil;
  s.failures.push_back({evil, evil, evil, evil, evil, 3, {}});
  s.processes[0].name = evil;
  s.processes[0].command = {evil};
  s.processes[0].stdout_tail = evil;
  s.processes[0].stderr_tail = evil;
  s.processes[0].orphans = {evil};
  s.processes[0].start_error = evil;
  s.timeline.push_back({10, "process.exit", evil, evil, evil});
  s.timeline.push_back({20, "inject.apply", evil, evil, evil});
  for (auto& sample : s.samples) sample.process = evil;
  s.probes[0].name = evil;
  s.probes[0].attempts[1].error = evil;
  s.diagnostics[evil] = evil;
  RunReport r;
  r.tool_version = evil;
  r.host = {evil, evil, 2};
  r.started = evil;
  r.scenarios = {s};
  const std::string html = to_html(r);
  CHECK(html.find("<script") == std::string::npos);
  CHECK(html.find("<img") == std::string::npos);
  CHECK(html.find("onerror=\"") == std::string::npos);
  CHECK(count(html, escaped) >= 20);
}

TEST_CASE("html: the baseline comparison and flaky scenarios are shown, escaped") {
  using namespace faultline::report;
  RunReport report;
  ScenarioResult pass, fail;
  pass.name = fail.name = "flaky <one>";
  pass.file = fail.file = "a.toml";
  pass.verdict = Verdict::pass;
  fail.verdict = Verdict::fail;
  report.scenarios = {pass, fail};
  BaselineComparison b;
  b.file = "old.json";
  b.regressions = 1;
  b.changes.push_back({"regression", "api <drain>", "api", "shutdown_ms", 100, 900,
                       "shutdown_ms of `api` grew from 100.0 ms to 900.0 ms"});
  report.baseline = b;
  const std::string html = to_html(report);
  CHECK(html.find("<h3>Flaky</h3><ul class=\"flaky\"><li>flaky &lt;one&gt; (1/2 passed)</li></ul>") !=
        std::string::npos);
  CHECK(html.find("<h3>Compared with old.json</h3><p>0 new failure(s), 0 fixed, 1 regression(s)</p>") !=
        std::string::npos);
  CHECK(html.find("<td>api &lt;drain&gt;</td>") != std::string::npos);
}
