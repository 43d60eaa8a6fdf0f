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

std::vector<LatencyBucket> first_byte_buckets() {
  const std::vector<std::optional<double>> bounds = {1,   2,   5,    10,   20,   50,    100,
                                                     200, 500, 1000, 2000, 5000, 10000, std::nullopt};
  std::vector<LatencyBucket> buckets;
  for (const auto& b : bounds) buckets.push_back({b, 0});
  buckets[0].count = 30;  // < 1ms
  buckets[8].count = 9;   // < 500ms
  buckets[13].count = 1;  // >= 10s
  return buckets;
}

// A scenario with a syscall fault that fired often (first and last calls listed, a note for the
// rest), one that never fired, and a proxy.
ScenarioResult faulted_scenario() {
  ScenarioResult s =
      faultline::test::scenario_result("db survives a full disk", "scenarios/disk.toml", Verdict::pass);
  s.duration_ms = 4000;
  ProcessResult db;
  db.name = "db";
  s.processes.push_back(db);
  s.timeline = {{0, "process.start", "db", "", ""},
                {100, "proxy.listen", "", "", "db-proxy 127.0.0.1:7000 -> 127.0.0.1:5432"},
                {1000, "inject.apply", "db", "disk-full", "rule on"},
                {1000, "syscall.fail", "db", "disk-full", "pid 7 write /data/x -> ENOSPC"},
                {1010, "syscall.fail", "db", "disk-full", "pid 7 write /data/x -> ENOSPC"},
                {2000, "syscall.elided", "db", "disk-full", "246 more calls hit, not listed one by one"},
                {2000, "syscall.fail", "db", "disk-full", "pid 7 write /data/x -> ENOSPC"},
                {2010, "syscall.fail", "db", "disk-full", "pid 7 write /data/x -> ENOSPC"},
                {3000, "inject.revert", "db", "disk-full", "rule off"},
                {3800, "proxy.stop", "", "", "db-proxy"},
                {3900, "syscall.count", "db", "disk-full", "250 of 300 matching calls hit while active"}};
  s.syscall_faults = {{"disk-full", "db", 300, 250}, {"maybe", "db", 5, 0}};
  ProxyResult proxy;
  proxy.name = "db-proxy";
  proxy.listen = "127.0.0.1:7000";
  proxy.upstream = "127.0.0.1:5432";
  proxy.accepted = 40;
  proxy.closed = 40;
  proxy.reset = 2;
  proxy.bytes_upstream = 1200;
  proxy.bytes_downstream = 3 << 20;
  proxy.first_byte_p50_ms = 0.84;
  proxy.first_byte_p99_ms = 301.2;
  proxy.first_byte_max_ms = 12503;
  proxy.first_byte_histogram = first_byte_buckets();
  proxy.toxics_touched = {{"slow", 9}};
  s.proxies.push_back(proxy);
  return s;
}

}  // namespace

TEST_CASE("html: each syscall fault has a lane with its failed calls and the calls left out") {
  const std::string chart = timeline_chart_html(faulted_scenario());
  CHECK(count(chart, "<g class=\"syscall-lane\"") == 2);
  CHECK(chart.find("<g class=\"syscall-lane\" data-inject=\"maybe\">") != std::string::npos);
  CHECK(count(chart, "<line class=\"syscall-fail\"") == 4);
  CHECK(chart.find("<title>syscall.fail at 1.0s [db]: pid 7 write /data/x -&gt; ENOSPC</title>") !=
        std::string::npos);
  // The note spans from the last call listed before it (1010 ms) to where it stands (2000 ms):
  // x = 104 + t / 4000 * 840.
  CHECK(chart.find("<rect class=\"syscall-elided\" x=\"316.1\" y=") != std::string::npos);
  CHECK(chart.find("width=\"207.9\" height=\"10\"><title>disk-full: 246 more calls hit, not listed one by "
                   "one</title>") != std::string::npos);
  CHECK(chart.find(">hit 250 of 300</text>") != std::string::npos);
  CHECK(chart.find(">hit 0 of 5</text>") != std::string::npos);
}

TEST_CASE("html: each proxy has a lane from listen to stop with its figures") {
  const std::string chart = timeline_chart_html(faulted_scenario());
  CHECK(count(chart, "<g class=\"proxy-lane\"") == 1);
  CHECK(chart.find("<rect class=\"proxy-up\" x=\"125.0\"") != std::string::npos);
  CHECK(chart.find("width=\"777.0\" height=\"10\"><title>db-proxy: 40 connections (40 closed, 2 reset), "
                   "1.2KiB up, 3.0MiB down, first byte p50 0.8ms p99 301ms max 12.5s</title>") !=
        std::string::npos);
  CHECK(chart.find(">40 conn, 2 reset, first byte p50 0.8ms p99 301ms</text>") != std::string::npos);

  CHECK(count(chart, "<g class=\"proxy-series\"") == 0);  // no series: no lanes for one

  SECTION("a proxy's series: open connections and the slowest first byte per slot") {
    ScenarioResult s = faulted_scenario();
    auto& p = s.proxies.at(0);
    p.series_slot_ms = 1000;
    // t, accepted, closed, peak open, first bytes, slowest, mean
    p.series = {{0, 4, 0, 4, 4, 1, 0.5}, {1000, 0, 0, 4, 0, 0, 0}, {2000, 2, 6, 6, 2, 2000, 1500}};
    const std::string html = timeline_chart_html(s);
    CHECK(count(html, "<g class=\"proxy-series\" data-proxy=\"db-proxy\">") == 1);
    CHECK(count(html, "<rect class=\"proxy-open\"") == 3);  // slot 1 had 4 open and no event
    CHECK(count(html, "<rect class=\"proxy-first-byte\"") == 2);
    // Slot 2 holds the peak: a full bar (16 high) from x = 104 + 2000 / 4000 * 840.
    CHECK(html.find("<rect class=\"proxy-open\" data-t=\"2000.0\" data-open=\"6\" x=\"524.0\" y=\"") !=
          std::string::npos);
    CHECK(html.find("height=\"16.0\"><title>db-proxy 2.0s \u2013 3.0s: 6 open at most, 2 accepted, 6 "
                    "closed</title>") != std::string::npos);
    CHECK(html.find("<title>db-proxy 2.0s \u2013 3.0s: 2 first bytes, slowest 2.0s, mean 1.5s</title>") !=
          std::string::npos);
    // Log scale from 0.1 ms to the slowest (2 s): 1 ms stands at log(10) / log(20000) of the bar.
    CHECK(html.find("data-max-ms=\"1.0\" x=\"104.0\" y=\"") != std::string::npos);
    CHECK(html.find(">peak 6 open</text>") != std::string::npos);
    CHECK(html.find(">slowest 2.0s (log scale)</text>") != std::string::npos);
    CHECK(html.find("slowest first byte</span>") != std::string::npos);
  }

  SECTION("a proxy alone, with nothing else recorded, still gets a chart") {
    ScenarioResult s = faulted_scenario();
    s.timeline.clear();
    s.syscall_faults.clear();
    const std::string alone = timeline_chart_html(s);
    CHECK(count(alone, "<g class=\"proxy-lane\"") == 1);
    CHECK(alone.find("<rect class=\"proxy-up\" x=\"104.0\"") != std::string::npos);  // from the start
  }
}

TEST_CASE("html: syscall fault counts and proxy figures as tables, the first-byte histogram as bars") {
  RunReport r;
  r.scenarios = {faulted_scenario()};
  const std::string html = to_html(r);
  CHECK(html.find("<tr data-inject=\"disk-full\"><td>disk-full</td><td>db</td><td class=\"num\">250</td>"
                  "<td class=\"num\">300</td><td>4 calls listed, 246 between them left out</td></tr>") !=
        std::string::npos);
  CHECK(html.find("<tr data-inject=\"maybe\"><td>maybe</td><td>db</td><td class=\"num\">0</td>"
                  "<td class=\"num\">5</td><td>0 calls listed</td></tr>") != std::string::npos);
  CHECK(html.find(
            "<td class=\"num\">40</td><td class=\"num\">40</td><td class=\"num\">2</td>"
            "<td class=\"num\">1.2KiB</td><td class=\"num\">3.0MiB</td><td class=\"num\">0.8ms</td>"
            "<td class=\"num\">301ms</td><td class=\"num\">12.5s</td><td>slow: 9 connections</td></tr>") !=
        std::string::npos);
  CHECK(count(html, "<svg class=\"histogram\"") == 1);
  CHECK(count(html, "<rect class=\"bar\"") == 3);  // the buckets that count anything
  CHECK(html.find("data-bucket=\"&lt; 1ms\" data-count=\"30\"") != std::string::npos);
  CHECK(html.find("data-bucket=\"&lt; 500ms\" data-count=\"9\"") != std::string::npos);
  CHECK(html.find("data-bucket=\"&gt;= 10s\" data-count=\"1\"") != std::string::npos);
  CHECK(count(html, "<text class=\"bar-label\"") == 14);  // every bucket labelled, the scale fixed
  CHECK(html.find(">&lt; 2.5s<") == std::string::npos);   // bounds are 1-2-5: no 2.5 s bucket here
  CHECK(html.find(">&lt; 2s</text>") != std::string::npos);

  SECTION("no histogram when no connection got a first byte") {
    for (auto& b : r.scenarios[0].proxies[0].first_byte_histogram) b.count = 0;
    CHECK(to_html(r).find("<svg class=\"histogram\"") == std::string::npos);
  }
}

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

TEST_CASE("html: a run that tested nothing is not shown as PASSED") {
  // Every scenario skipped: `run` exits 3 ("nothing was tested"), and the headline said PASSED.
  ScenarioResult skipped;
  skipped.name = "needs memory.high";
  skipped.verdict = Verdict::skip;
  RunReport r;
  r.scenarios = {skipped};
  const std::string html = to_html(r);
  CHECK(html.find("<div class=\"verdict\">NOTHING TESTED</div>") != std::string::npos);
  CHECK(html.find("<section class=\"card summary nothing\"") != std::string::npos);
  CHECK(to_html(RunReport{}).find("<div class=\"verdict\">NOTHING TESTED</div>") != std::string::npos);
  // One pass beside the skip: tested, and green.
  ScenarioResult passed;
  passed.name = "runs here";
  passed.verdict = Verdict::pass;
  r.scenarios.push_back(passed);
  CHECK(to_html(r).find("<div class=\"verdict\">PASSED</div>") != std::string::npos);
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

TEST_CASE("html: scenarios gone since the baseline are counted and listed, escaped") {
  using namespace faultline::report;
  RunReport report;
  report.scenarios = {faultline::test::scenario_result("kept", "a.toml", Verdict::pass)};
  BaselineComparison b;
  b.file = "old.json";
  b.gone.push_back({"renamed <away>", Verdict::fail});
  report.baseline = b;
  const std::string html = to_html(report);
  CHECK(
      html.find("<h3>Compared with old.json</h3><p>0 new failure(s), 0 fixed, 0 regression(s), 1 gone</p>") !=
      std::string::npos);
  CHECK(html.find("<tr><td>gone</td><td>renamed &lt;away&gt;</td><td>fail in the baseline, not in this "
                  "run</td></tr>") != std::string::npos);
}

TEST_CASE("html: counters the kernel did not keep show as unknown, not as 0") {
  ScenarioResult s = faultline::test::scenario_result("no memory controller", "x.toml", Verdict::pass);
  ProcessResult p;
  p.name = "api";
  p.outcome = "exited";
  p.exit_code = 0;
  p.peak_memory_bytes = 3 << 20;
  p.peak_memory_known = false;
  p.oom_kills_known = false;
  s.processes.push_back(p);
  RunReport r;
  r.scenarios = {s};
  const std::string html = to_html(r);
  CHECK(count(html, "<td class=\"num\">unknown</td>") == 2);
  CHECK(html.find("3.0MiB") == std::string::npos);

  r.scenarios[0].processes[0].peak_memory_known = true;
  r.scenarios[0].processes[0].oom_kills_known = true;
  CHECK(count(to_html(r), "<td class=\"num\">unknown</td>") == 0);
}
