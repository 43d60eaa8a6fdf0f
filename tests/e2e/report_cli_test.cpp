// The report writers as users meet them: a real run writing JSON, JUnit and HTML, the GitHub
// annotations, `faultline report merge`, and the HTML opened in headless Chromium.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "reports/html_writer.h"
#include "reports/json_writer.h"
#include "tests/support/command.h"
#include "tests/support/report_fixtures.h"
#include "tests/support/report_schema.h"
#include "tests/support/scratch_dir.h"
#include "tests/support/skips.h"
#include "tests/support/test_env.h"

using namespace faultline::test;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

std::string scenario_path(const std::string& rel) { return source_dir() + "/scenarios/selftest/" + rel; }
const std::string kPass = "report-pass.toml";
const std::string kMarkup = "failing/report-markup-output.toml";
const std::string kExitCode = "failing/report-wrong-exit-code.toml";

// What the target of kMarkup prints; it must never run in a browser.
const std::string kInjected =
    "<script>document.title='pwned'</script><img src=x onerror=\"document.title='pwned'\">";

bool have(const std::string& probe_command) { return run_shell(probe_command).status == 0; }

// Screenshots stay in the build tree (the test's working directory) for people to look at.
fs::path screenshot_dir() {
  const fs::path dir = fs::current_path() / "report-screenshots";
  fs::create_directories(dir);
  return dir;
}

std::string chromium_helper() { return quote(source_dir() + "/tests/e2e/chromium/headless.sh"); }

// Chromium's serialisation of the DOM after it loaded `html` and ran whatever it would run.
CommandOutput dump_dom(const std::string& html) {
  return run_shell(chromium_helper() + " --dump-dom " + quote("file://" + html));
}

void screenshot(const std::string& html, const fs::path& png) {
  fs::remove(png);
  const auto shot = run_shell(chromium_helper() + " --screenshot=" + quote(png.string()) +
                              " --window-size=1280,2000 " + quote("file://" + html));
  INFO("chromium: " << shot.err);
  REQUIRE(shot.status == 0);
  REQUIRE(fs::exists(png));
  CHECK(fs::file_size(png) > 10000);  // a blank page compresses to a few hundred bytes
  std::cout << "report screenshot: " << png.string() << std::endl;
}

std::string title_of(const std::string& dom) {
  const auto open = dom.find("<title>");
  const auto close = dom.find("</title>", open);
  if (open == std::string::npos || close == std::string::npos) return "(no title)";
  return dom.substr(open + 7, close - open - 7);
}

// The JUnit file as a CI server reads it: python's XML parser, then counts and failure texts.
json junit_facts(const std::string& xml) {
  const std::string script =
      "import json, sys, xml.etree.ElementTree as ET\n"
      "root = ET.parse(sys.argv[1]).getroot()\n"
      "suites = [root] if root.tag == 'testsuite' else root.findall('testsuite')\n"
      "cases = [c for s in suites for c in s.findall('testcase')]\n"
      "def kind(c):\n"
      "  for k in ('failure', 'error', 'skipped'):\n"
      "    if c.find(k) is not None: return k\n"
      "  return 'pass'\n"
      "print(json.dumps({'root': root.tag, 'suites': len(suites), 'tests': int(root.get('tests')),\n"
      "  'failures': int(root.get('failures')), 'errors': int(root.get('errors')),\n"
      "  'cases': [{'classname': c.get('classname'), 'name': c.get('name'), 'kind': kind(c),\n"
      "    'message': (c.find(kind(c)).get('message') if kind(c) != 'pass' else ''),\n"
      "    'text': (c.find(kind(c)).text or '') if kind(c) != 'pass' else '',\n"
      "    'out': (c.findtext('system-out') or '')} for c in cases]}))\n";
  const auto r = run_shell("/usr/bin/python3 -c " + quote(script) + " " + quote(xml));
  INFO("python: " << r.err);
  REQUIRE(r.status == 0);
  return json::parse(r.out);
}

const json& case_named(const json& facts, const std::string& name) {
  for (const auto& c : facts["cases"])
    if (c["name"] == name) return c;
  FAIL("no testcase named " << name);
  throw;
}

}  // namespace

TEST_CASE("report: one pass and two failures give exit 1, JSON, JUnit, HTML and annotations") {
  ScratchDir dir;
  const auto run = run_shell("GITHUB_ACTIONS=true " + faultline_cmd() + " run " +
                             quote(scenario_path(kPass)) + " " + quote(scenario_path(kMarkup)) + " " +
                             quote(scenario_path(kExitCode)) + " --json " + quote(dir / "r.json") +
                             " --junit " + quote(dir / "r.xml") + " --html " + quote(dir / "r.html"));
  INFO("stdout: " << run.out << "\nstderr: " << run.err);
  CHECK(run.status == 1);
  CHECK(run.out.find("\n1 passed, 2 failed\n") != std::string::npos);
  // Plain lines, no live progress line: stdout is not a terminal here.
  CHECK(run.out.find('\r') == std::string::npos);

  SECTION("annotations point at the scenario file and the failing key's line") {
    CHECK(run.out.find(
              "::error file=" + scenario_path(kMarkup) +
              ",line=13,title=a target prints markup <b>and a script</b>::expect.stdout.contains [target]: "
              "stdout never contained \"a greeting that never comes\" (in 1 line(s), 84 bytes)%0A") !=
          std::string::npos);
    CHECK(run.out.find(
              "::error file=" + scenario_path(kExitCode) +
              ",line=11,title=a job exits 3 where 0 is expected::expect.exit_codes [target]: exit code 3 not "
              "in [0]%0Aexpected: exit code in [0]%0Aactual:   exited(3)\n") != std::string::npos);
    CHECK(run.out.find("::error file=" + scenario_path(kPass)) == std::string::npos);
  }

  SECTION("the JSON report has the summary and validates against docs/report.schema.json") {
    const json report = json::parse(read_file(dir / "r.json"));
    CHECK(report["format"] == "faultline-report/1");
    CHECK(report["summary"] == json({{"passed", 1}, {"failed", 2}, {"errors", 0}, {"skipped", 0}}));
    if (!have("/usr/bin/python3 -c 'import jsonschema'")) {
      FAULTLINE_SKIP(
          "schema validation: python3-jsonschema is not installed (apt-get install python3-jsonschema)");
    }
    CHECK(report_schema_errors(dir / "r.json") == "");
    // The validation can fail: a report with a bad result value does not pass.
    json broken = report;
    broken["scenarios"][0]["result"] = "maybe";
    std::ofstream(dir / "broken.json") << broken.dump();
    CHECK(report_schema_errors(dir / "broken.json") ==
          "scenarios/0/result: 'maybe' is not one of ['pass', 'fail', 'error', 'skip']\n");
  }

  SECTION("the JUnit XML has 3 tests and 2 failures, each saying why") {
    if (!have("/usr/bin/python3 -c ''")) {
      FAULTLINE_SKIP("the JUnit parse: python3 is not installed (apt-get install python3)");
    }
    const json facts = junit_facts(dir / "r.xml");
    CHECK(facts["root"] == "testsuites");
    CHECK(facts["suites"] == 1);
    CHECK(facts["tests"] == 3);
    CHECK(facts["failures"] == 2);
    CHECK(facts["errors"] == 0);
    const json& markup = case_named(facts, "a target prints markup <b>and a script</b>");
    CHECK(markup["classname"] == scenario_path(kMarkup));
    CHECK(markup["kind"] == "failure");
    CHECK(markup["message"] ==
          "expect.stdout.contains: stdout never contained \"a greeting that never comes\" (in 1 line(s), 84 "
          "bytes)");
    CHECK(markup["out"] == "=== target stdout (84 bytes) ===\n" + kInjected + "\n");
    const json& exit_code = case_named(facts, "a job exits 3 where 0 is expected");
    CHECK(exit_code["kind"] == "failure");
    CHECK(exit_code["message"] == "expect.exit_codes: exit code 3 not in [0]");
    CHECK_THAT(exit_code["text"].get<std::string>(),
               Catch::Contains("  expected: exit code in [0]\n  actual:   exited(3)\n"));
    CHECK(case_named(facts, "a job that prints its greeting and exits 0")["kind"] == "pass");
    if (have("command -v xmllint")) CHECK(run_shell("xmllint --noout " + quote(dir / "r.xml")).status == 0);
    WARN(
        "no JUnit XSD is packaged in Debian 12 (searched apt-cache for junit and xsd): checked by parsing "
        "only");
  }

  SECTION("the HTML is one file, shows the injected markup as text, and runs none of it in Chromium") {
    const std::string html = read_file(dir / "r.html");
    CHECK(html.find("<script") == std::string::npos);
    CHECK(html.find("<svg class=\"timeline\"") != std::string::npos);
    CHECK(html.find("http://") == std::string::npos);
    CHECK(html.find("https://") == std::string::npos);
    CHECK(html.find("&lt;script&gt;document.title=&#39;pwned&#39;&lt;/script&gt;") != std::string::npos);
    if (!have("command -v chromium")) {
      FAULTLINE_SKIP("the browser check: chromium is not installed (apt-get install chromium)");
    }
    // First prove that this Chromium would run an injected script, so its absence below means something.
    std::ofstream(dir / "control.html") << "<!DOCTYPE html><title>clean</title>" << kInjected;
    const auto control = dump_dom(dir / "control.html");
    INFO("control page: " << control.err);
    REQUIRE(control.status == 0);
    REQUIRE(title_of(control.out) == "pwned");

    const auto dom = dump_dom(dir / "r.html");
    INFO("chromium: " << dom.err);
    REQUIRE(dom.status == 0);
    CHECK(title_of(dom.out) == "faultline: 1 passed, 2 failed");
    CHECK(dom.out.find("<script") == std::string::npos);
    CHECK(dom.out.find("<img") == std::string::npos);
    // The DOM serialiser re-escapes text nodes: the markup is there as text, in the output tail.
    CHECK(dom.out.find("<pre>&lt;script&gt;document.title='pwned'&lt;/script&gt;&lt;img src=x "
                       "onerror=\"document.title='pwned'\"&gt;\n</pre>") != std::string::npos);
    screenshot(dir / "r.html", screenshot_dir() / "one-pass-two-failures.png");
  }
}

TEST_CASE("report merge: two single-scenario reports give the summed summary") {
  ScratchDir dir;
  const auto a =
      run_shell(faultline_cmd() + " run " + quote(scenario_path(kPass)) + " --json " + quote(dir / "a.json"));
  const auto b = run_shell(faultline_cmd() + " run " + quote(scenario_path(kExitCode)) + " --json " +
                           quote(dir / "b.json"));
  INFO("a: " << a.out << a.err << "\nb: " << b.out << b.err);
  REQUIRE(a.status == 0);
  REQUIRE(b.status == 1);

  const auto merge = run_shell(faultline_cmd() + " report merge " + quote(dir / "a.json") + " " +
                               quote(dir / "b.json") + " --json " + quote(dir / "m.json") + " --junit " +
                               quote(dir / "m.xml") + " --html " + quote(dir / "m.html"));
  INFO("merge: " << merge.out << merge.err);
  CHECK(merge.status == 1);
  CHECK_THAT(merge.out, Catch::EndsWith("\n1 passed, 1 failed\n"));
  const json merged = json::parse(read_file(dir / "m.json"));
  CHECK(merged["summary"] == json({{"passed", 1}, {"failed", 1}, {"errors", 0}, {"skipped", 0}}));
  REQUIRE(merged["scenarios"].size() == 2);
  CHECK(merged["scenarios"][0]["name"] == "a job that prints its greeting and exits 0");
  CHECK(merged["scenarios"][1]["name"] == "a job exits 3 where 0 is expected");
  CHECK(merged["scenarios"][1]["failures"][0]["line"] == 11);
  if (have("/usr/bin/python3 -c ''")) {
    const json facts = junit_facts(dir / "m.xml");
    CHECK(facts["tests"] == 2);
    CHECK(facts["failures"] == 1);
  } else {
    record_skip("the JUnit parse: python3 is not installed (apt-get install python3)");
  }
  CHECK(read_file(dir / "m.html").find("<title>faultline: 1 passed, 1 failed</title>") != std::string::npos);
  if (have("/usr/bin/python3 -c 'import jsonschema'"))
    CHECK(report_schema_errors(dir / "m.json") == "");
  else
    record_skip(
        "schema validation: python3-jsonschema is not installed (apt-get install python3-jsonschema)");

  // Merging only the passing shard succeeds.
  CHECK(run_shell(faultline_cmd() + " report merge " + quote(dir / "a.json")).status == 0);
}

TEST_CASE("report merge: unreadable inputs are reported with their file") {
  ScratchDir dir;
  auto missing = run_shell(faultline_cmd() + " report merge " + quote(dir / "nope.json"));
  CHECK(missing.status == 2);
  CHECK(missing.err == "faultline: open " + dir / "nope.json" + ": No such file or directory\n");

  std::ofstream(dir / "other.json") << "{\"hello\": 1}";
  auto other = run_shell(faultline_cmd() + " report merge " + quote(dir / "other.json"));
  CHECK(other.status == 2);
  CHECK(other.err == "faultline: " + dir / "other.json" + ": not a faultline report: no \"format\" key\n");

  CHECK(run_shell(faultline_cmd() + " report merge").status == 2);  // no inputs: usage error
}

TEST_CASE("report merge: an interrupted shard makes the merge exit 130 and names the shard") {
  using namespace faultline::report;
  ScratchDir dir;
  // What an interrupted `run` leaves: only the scenarios that finished, all passing.
  RunReport a = run_report({"v2", "6.1", 2}, 42, "2026-11-23T10:00:00Z", 1000);
  a.scenarios = {scenario_result("first", "a.toml", Verdict::pass)};
  RunReport b = a;
  b.scenarios = {scenario_result("second", "b.toml", Verdict::pass)};
  b.interrupted = true;
  write_json(a, dir / "a.json");
  write_json(b, dir / "b.json");

  const auto merge = run_shell(faultline_cmd() + " report merge " + quote(dir / "a.json") + " " +
                               quote(dir / "b.json") + " --json " + quote(dir / "m.json"));
  INFO("merge: " << merge.out << merge.err);
  CHECK(merge.status == 130);  // what `run` exits with when interrupted
  CHECK(merge.out == "interrupted: " + dir / "b.json" +
                         " is the report of an interrupted run; not everything it selected ran to its end\n"
                         "2 passed, 0 failed\n");
  CHECK(json::parse(read_file(dir / "m.json"))["interrupted"] == true);
}

TEST_CASE("report merge: a shard whose summary disagrees with its scenarios is rejected") {
  using namespace faultline::report;
  ScratchDir dir;
  json doc = json::parse(to_json(run_report({"v2", "6.1", 2}, 42, "2026-11-23T10:00:00Z", 1000)));
  doc["summary"]["errors"] = 1;  // scenarios[] is empty: the error is not there to count
  std::ofstream(dir / "cut.json") << doc.dump();
  const auto merge = run_shell(faultline_cmd() + " report merge " + quote(dir / "cut.json"));
  INFO("merge: " << merge.out << merge.err);
  CHECK(merge.status == 2);
  CHECK(merge.err == "faultline: " + dir / "cut.json" +
                         ": summary (0 passed, 0 failed, 1 errors, 0 skipped) disagrees with scenarios[] (0 "
                         "passed, 0 failed, 0 errors, 0 skipped): the report was edited or cut short\n");
}

TEST_CASE("report merge: --junit and --json write into a FIFO and through a symlink, replacing neither") {
  using namespace faultline::report;
  ScratchDir dir;
  RunReport a = run_report({"v2", "6.1", 2}, 42, "2026-11-23T10:00:00Z", 1000);
  a.scenarios = {scenario_result("first", "a.toml", Verdict::pass)};
  write_json(a, dir / "a.json");
  REQUIRE(::mkfifo((dir / "junit.fifo").c_str(), 0600) == 0);
  std::ofstream(dir / "target.json") << "old";
  fs::create_symlink(dir / "target.json", dir / "link.json");

  // `cat` is the FIFO's reader; the merge blocks in open() until it is there.
  const auto merge =
      run_shell("timeout 10 cat " + quote(dir / "junit.fifo") + " > " + quote(dir / "junit.xml") + " & " +
                faultline_cmd() + " report merge " + quote(dir / "a.json") + " --junit " +
                quote(dir / "junit.fifo") + " --json " + quote(dir / "link.json") + "; s=$?; wait; exit $s");
  INFO("merge: " << merge.out << merge.err);
  CHECK(merge.status == 0);
  CHECK(fs::is_fifo(fs::symlink_status(dir / "junit.fifo")));
  CHECK(read_file(dir / "junit.xml").find("<testcase classname=\"a.toml\" name=\"first\"") !=
        std::string::npos);
  CHECK(fs::is_symlink(fs::symlink_status(dir / "link.json")));
  CHECK(json::parse(read_file(dir / "target.json"))["scenarios"][0]["name"] == "first");
}

TEST_CASE("report: --baseline lists scenarios gone since the baseline and still exits 0") {
  using namespace faultline::report;
  ScratchDir dir;
  // Last night's report: the passing scenario, and a failing one that is not run tonight.
  RunReport old = run_report({"v2", "6.1", 2}, 42, "2026-11-23T10:00:00Z", 1000);
  old.scenarios = {
      scenario_result("a job that prints its greeting and exits 0", scenario_path(kPass), Verdict::pass),
      scenario_result("a scenario <renamed> since", "gone.toml", Verdict::fail)};
  write_json(old, dir / "old.json");

  const auto run = run_shell(faultline_cmd() + " run " + quote(scenario_path(kPass)) + " --baseline " +
                             quote(dir / "old.json") + " --json " + quote(dir / "r.json") + " --html " +
                             quote(dir / "r.html"));
  INFO("stdout: " << run.out << "\nstderr: " << run.err);
  CHECK(run.status == 0);  // gone is listed, not a failure: a filtered run runs fewer
  CHECK(run.out.find("baseline " + dir / "old.json" +
                     ": 0 new failures, 0 fixed, 0 regressions, 1 gone\n"
                     "  gone: a scenario <renamed> since: fail in the baseline, not in this run\n") !=
        std::string::npos);
  CHECK_THAT(run.out, Catch::EndsWith("\n1 passed, 0 failed\n"));

  const json report = json::parse(read_file(dir / "r.json"));
  CHECK(report["baseline"]["gone"] ==
        json::parse(R"([{"scenario": "a scenario <renamed> since", "result": "fail"}])"));
  CHECK(report["baseline"]["new_failures"] == 0);
  CHECK(read_file(dir / "r.html").find("<tr><td>gone</td><td>a scenario &lt;renamed&gt; since</td>") !=
        std::string::npos);

  // Tonight's report reads back as a baseline itself, and so does one written before `gone`.
  json older = report;
  older["baseline"].erase("gone");
  std::ofstream(dir / "older.json") << older.dump();
  for (const std::string& baseline : {dir / "r.json", dir / "older.json"}) {
    const auto again =
        run_shell(faultline_cmd() + " run " + quote(scenario_path(kPass)) + " --baseline " + quote(baseline));
    INFO("baseline " << baseline << ": " << again.out << again.err);
    CHECK(again.status == 0);
    CHECK(again.out.find("baseline " + baseline + ": 0 new failures, 0 fixed, 0 regressions\n") !=
          std::string::npos);
  }

  if (!have("/usr/bin/python3 -c 'import jsonschema'")) {
    FAULTLINE_SKIP(
        "schema validation: python3-jsonschema is not installed (apt-get install python3-jsonschema)");
  }
  CHECK(report_schema_errors(dir / "r.json") == "");
  CHECK(report_schema_errors(dir / "older.json") == "");
}

TEST_CASE("report: a --baseline cut short is refused, not compared without its failures") {
  using namespace faultline::report;
  ScratchDir dir;
  RunReport old = run_report({"v2", "6.1", 2}, 42, "2026-11-23T10:00:00Z", 1000);
  old.scenarios = {
      scenario_result("a job that prints its greeting and exits 0", scenario_path(kPass), Verdict::pass),
      scenario_result("a scenario that failed last night", "gone.toml", Verdict::fail)};
  json cut = json::parse(to_json(old));
  cut["scenarios"].erase(1);  // the summary still counts the failure
  std::ofstream(dir / "cut.json") << cut.dump();
  const auto run = run_shell(faultline_cmd() + " run " + quote(scenario_path(kPass)) + " --baseline " +
                             quote(dir / "cut.json"));
  INFO("stdout: " << run.out << "\nstderr: " << run.err);
  CHECK(run.status == 2);
  CHECK(run.err ==
        "faultline: --baseline: " + dir / "cut.json" +
            ": summary (1 passed, 1 failed, 0 errors, 0 skipped) disagrees with scenarios[] (1 passed, "
            "0 failed, 0 errors, 0 skipped): the report was edited or cut short\n");
  // Whole, the same baseline lists the failure as gone.
  write_json(old, dir / "whole.json");
  const auto whole = run_shell(faultline_cmd() + " run " + quote(scenario_path(kPass)) + " --baseline " +
                               quote(dir / "whole.json"));
  CHECK(whole.status == 0);
  CHECK(
      whole.out.find("  gone: a scenario that failed last night: fail in the baseline, not in this run\n") !=
      std::string::npos);
}

TEST_CASE("report: a timeline chart with samples, fault windows and probe marks renders in Chromium") {
  using namespace faultline::report;
  RunReport r = run_report({"hybrid", "6.1.0", 2}, 42, "2026-11-23T10:00:00Z", 6200);
  ScenarioResult s = scenario_result("orders fail fast while the database is squeezed",
                                     "scenarios/orders.toml", Verdict::fail);
  s.tags = {"gate", "circuit-breaker"};
  s.duration_ms = 6000;
  s.reason = "probe: 4 of 20 attempts failed";
  s.reason_line = 31;
  s.failures.push_back({"probe",
                        "api",
                        "status in [503]",
                        "timed out after 2s (4 attempts)",
                        "orders did not fail fast while db-hang was active",
                        31,
                        {}});
  for (const char* name : {"api", "db"}) {
    ProcessResult p;
    p.name = name;
    p.outcome = "exited";
    p.exit_code = 0;
    p.graceful = true;
    p.peak_memory_bytes = std::string(name) == "api" ? 96u << 20 : 40u << 20;
    p.stdout_tail = std::string("listening\n") + kInjected + "\n";
    p.stdout_bytes = p.stdout_tail.size();
    s.processes.push_back(p);
  }
  std::uint64_t api_cpu = 0, api_throttled = 0, db_cpu = 0;
  for (int i = 0; i <= 60; ++i) {
    const double t = i * 100.0;
    const bool squeezed = t >= 1500 && t < 3500;
    api_cpu += squeezed ? 20000 : 60000 + (i % 5) * 4000;
    api_throttled += squeezed ? 70000 : 0;
    db_cpu += t >= 2000 && t < 4000 ? 0 : 15000;
    const std::uint64_t api_mem = (30u << 20) + static_cast<std::uint64_t>(std::min(i, 35)) * (2u << 20);
    s.samples.push_back({t, "api", squeezed ? std::min<std::uint64_t>(api_mem, 64u << 20) : api_mem, api_cpu,
                         api_throttled, 4});
    s.samples.push_back(
        {t, "db", (38u << 20) + static_cast<std::uint64_t>(i % 7) * (256u << 10), db_cpu, 0, 2});
  }
  s.timeline = {{0, "process.start", "db", "", "pid 100"},
                {150, "process.ready", "db", "", ""},
                {160, "process.start", "api", "", "pid 101"},
                {400, "process.ready", "api", "", ""},
                {1500, "inject.apply", "api", "squeeze", "memory.max 64MiB, cpu 20%"},
                {3500, "inject.revert", "api", "squeeze", ""},
                {2000, "inject.apply", "db", "db-hang", "freeze"},
                {4000, "inject.revert", "db", "db-hang", ""},
                {4500, "inject.apply", "api", "nudge", "SIGHUP"},
                {5000, "stop.signal", "api", "", "SIGTERM"},
                {5300, "process.exit", "api", "", "exited 0"},
                {5400, "stop.signal", "db", "", "SIGTERM"},
                {5600, "process.exit", "db", "", "exited 0"}};
  ProbeResult probe;
  probe.name = "orders fail fast";
  probe.pass_ratio = 0.8;
  for (int i = 0; i < 20; ++i) {
    const double t = 2000 + i * 100.0;
    const bool failed = i >= 3 && i < 7;
    probe.attempts.push_back({t, !failed, failed ? 2000.0 : 3.5,
                              failed ? std::nullopt : std::optional<int>(503),
                              failed ? std::optional<std::string>("timed out after 2s") : std::nullopt});
  }
  s.probes.push_back(probe);
  s.diagnostics["pid 101 (api)"] = "state: S (sleeping)\nwchan: do_epoll_wait";
  r.scenarios.push_back(s);

  ScratchDir dir;
  write_html(r, dir / "chart.html");
  const std::string html = read_file(dir / "chart.html");
  CHECK(html.find("<rect class=\"fault-window\" data-inject=\"squeeze\"") != std::string::npos);
  CHECK(html.find("<rect class=\"fault-window\" data-inject=\"db-hang\"") != std::string::npos);
  CHECK(html.find("<rect class=\"fault-window\" data-inject=\"nudge\"") !=
        std::string::npos);  // never reverted
  if (!have("command -v chromium")) {
    FAULTLINE_SKIP("the browser check: chromium is not installed (apt-get install chromium)");
  }
  const auto dom = dump_dom(dir / "chart.html");
  REQUIRE(dom.status == 0);
  CHECK(title_of(dom.out) == "faultline: 0 passed, 1 failed");
  CHECK(dom.out.find("<circle class=\"attempt-failed\"") != std::string::npos);
  screenshot(dir / "chart.html", screenshot_dir() / "timeline-chart.png");
}

TEST_CASE("report: syscall fault lanes, proxy lanes and the first-byte histogram render in Chromium") {
  using namespace faultline::report;
  RunReport r = run_report({"hybrid", "6.1.0", 2}, 42, "2026-11-23T10:00:00Z", 6200);
  ScenarioResult s = scenario_result("the store survives a full disk behind a slow proxy",
                                     "scenarios/store.toml", Verdict::fail);
  s.duration_ms = 6000;
  s.reason = "probe: 3 of 20 attempts failed";
  s.failures.push_back({"probe", "", "ok", "3 failed", "orders failed while the proxy was slow", 20, {}});
  ProcessResult db;
  db.name = "db";
  db.outcome = "exited";
  db.exit_code = 0;
  s.processes.push_back(db);
  std::uint64_t cpu = 0;
  for (int i = 0; i <= 60; ++i) {
    cpu += 30000;
    s.samples.push_back(
        {i * 100.0, "db", (40u << 20) + static_cast<std::uint64_t>(i % 5) * (1u << 20), cpu, 0, 3});
  }
  s.timeline = {
      {0, "process.start", "db", "", "pid 100"},
      {200, "process.ready", "db", "", ""},
      {250, "proxy.listen", "", "", "db-proxy 127.0.0.1:7000 -> 127.0.0.1:5432"},
      {1000, "inject.apply", "db", "disk-full", "rule on: write,pwrite64 trapped calls are hit"},
      {3000, "inject.revert", "db", "disk-full", "rule off: write,pwrite64 pass untouched"},
      {3500, "inject.apply", "", "slow", "proxy db-proxy toxics none -> slow: latency 300ms downstream"},
      {5000, "inject.revert", "", "slow", "proxy db-proxy toxics slow: latency 300ms downstream -> none"},
      {5800, "proxy.stop", "", "", "db-proxy"}};
  // A rule that fired 4,000 times: the first and last 100 calls listed, one note between them.
  for (int i = 0; i < 100; ++i)
    s.timeline.push_back(
        {1000 + i * 0.5, "syscall.fail", "db", "disk-full", "pid 100 write /var/lib/db/wal -> ENOSPC"});
  s.timeline.push_back(
      {2900, "syscall.elided", "db", "disk-full", "3800 more calls hit, not listed one by one"});
  for (int i = 0; i < 100; ++i)
    s.timeline.push_back(
        {2900 + i * 0.9, "syscall.fail", "db", "disk-full", "pid 100 write /var/lib/db/wal -> ENOSPC"});
  s.timeline.push_back(
      {5900, "syscall.count", "db", "disk-full", "4000 of 4100 matching calls hit while active"});
  std::stable_sort(s.timeline.begin(), s.timeline.end(),
                   [](const TimelineEvent& a, const TimelineEvent& b) { return a.t_ms < b.t_ms; });
  s.syscall_faults = {{"disk-full", "db", 4100, 4000}};
  ProxyResult proxy;
  proxy.name = "db-proxy";
  proxy.listen = "127.0.0.1:7000";
  proxy.upstream = "127.0.0.1:5432";
  proxy.accepted = 180;
  proxy.closed = 180;
  proxy.reset = 3;
  proxy.bytes_upstream = 96u << 10;
  proxy.bytes_downstream = 12u << 20;
  proxy.first_byte_p50_ms = 0.7;
  proxy.first_byte_p99_ms = 320;
  proxy.first_byte_max_ms = 340;
  const std::vector<std::uint64_t> counts = {120, 14, 4, 2, 0, 0, 0, 0, 37, 0, 0, 0, 0, 0};
  const std::vector<double> bounds = {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000};
  for (std::size_t i = 0; i < counts.size(); ++i)
    proxy.first_byte_histogram.push_back(
        {i < bounds.size() ? std::optional<double>(bounds[i]) : std::nullopt, counts[i]});
  proxy.toxics_touched = {{"slow", 37}};
  s.proxies.push_back(proxy);
  ProbeResult probe;
  probe.name = "orders";
  for (int i = 0; i < 20; ++i)
    probe.attempts.push_back({500 + i * 250.0, !(i >= 12 && i < 15), 3.0, 200, std::nullopt});
  s.probes.push_back(probe);
  r.scenarios.push_back(s);

  ScratchDir dir;
  write_html(r, dir / "faults.html");
  const std::string html = read_file(dir / "faults.html");
  CHECK(html.find("<g class=\"syscall-lane\" data-inject=\"disk-full\">") != std::string::npos);
  CHECK(html.find("<g class=\"proxy-lane\" data-proxy=\"db-proxy\">") != std::string::npos);
  if (!have("command -v chromium")) {
    FAULTLINE_SKIP("the browser check: chromium is not installed (apt-get install chromium)");
  }
  const auto dom = dump_dom(dir / "faults.html");
  INFO("chromium: " << dom.err);
  REQUIRE(dom.status == 0);
  // Chromium parsed the marks as SVG elements: each listed call, the note, the proxy and its bars.
  const auto occurrences = [&](const std::string& needle) {
    std::size_t n = 0;
    for (auto at = dom.out.find(needle); at != std::string::npos; at = dom.out.find(needle, at + 1)) ++n;
    return n;
  };
  CHECK(occurrences("<line class=\"syscall-fail\"") == 200);
  CHECK(occurrences("<rect class=\"syscall-elided\"") == 1);
  CHECK(occurrences("<rect class=\"proxy-up\"") == 1);
  CHECK(occurrences("<rect class=\"bar\"") == 5);
  CHECK(dom.out.find("4000 calls listed") == std::string::npos);
  CHECK(dom.out.find("200 calls listed, 3800 between them left out") != std::string::npos);
  screenshot(dir / "faults.html", screenshot_dir() / "syscall-and-proxy.png");
}

TEST_CASE("report merge: a shard missing or given twice is refused, not merged green") {
  ScratchDir dir;
  fs::create_directories(dir / "suite");
  for (const char* name : {"a", "b", "c"})
    std::ofstream(dir / ("suite/" + std::string(name) + ".toml"))
        << "name = \"" << name << "\"\n[target]\ncommand = [\"true\"]\n";
  for (const char* shard : {"1", "2"}) {
    const auto r = run_shell(faultline_cmd() + " run " + quote(dir / "suite") + " --shard " + shard +
                             "/2 --json " + quote(dir / ("s" + std::string(shard) + ".json")));
    INFO(r.out << r.err);
    REQUIRE(r.status == 0);
  }
  const json s1 = json::parse(read_file(dir / "s1.json"))["shard"],
             s2 = json::parse(read_file(dir / "s2.json"))["shard"];
  CHECK(s2["index"] == 2);
  CHECK(s2["count"] == 2);
  // Part by part, so that a refused merge can say which part differs.
  CHECK(s2["selection"].get<std::string>().rfind("files=", 0) == 0);
  CHECK(s2["selection"].get<std::string>().find(" repeat=1 seed=-") != std::string::npos);
  CHECK(s1["selection"] == s2["selection"]);  // one run: the same selection in each shard
  const auto both = run_shell(faultline_cmd() + " report merge " + quote(dir / "s1.json") + " " +
                              quote(dir / "s2.json") + " --json " + quote(dir / "m.json"));
  INFO(both.out << both.err);
  CHECK(both.status == 0);
  CHECK(json::parse(read_file(dir / "m.json"))["summary"]["passed"] == 3);

  const auto missing = run_shell(faultline_cmd() + " report merge " + quote(dir / "s1.json"));
  CHECK(missing.status == 2);
  CHECK(missing.err.find("shard(s) 2/2 missing") != std::string::npos);
  const auto twice =
      run_shell(faultline_cmd() + " report merge " + quote(dir / "s1.json") + " " + quote(dir / "s1.json"));
  CHECK(twice.status == 2);
  CHECK(twice.err.find("are the same run") != std::string::npos);
}

TEST_CASE("report merge: a shard of another run is refused: other files, or another --run-id") {
  ScratchDir dir;
  fs::create_directories(dir / "suite");
  const auto write_suite = [&](const std::string& last) {
    for (const char* name : {"a", "b", "c"})
      std::ofstream(dir / ("suite/" + std::string(name) + ".toml"))
          << "name = \"" << name << "\"\n[target]\ncommand = [\"true\"]\n";
    std::ofstream(dir / "suite/d.toml") << "name = \"d\"\n[target]\ncommand = [\"" << last << "\"]\n";
  };
  const auto run_shard = [&](const std::string& shard, const std::string& out,
                             const std::string& extra = "") {
    return run_shell(faultline_cmd() + " run " + quote(dir / "suite") + " --shard " + shard + "/2 --json " +
                     quote(dir / out) + extra)
        .status;
  };
  const auto merge = [&](const std::string& a, const std::string& b) {
    return run_shell(faultline_cmd() + " report merge " + quote(dir / a) + " " + quote(dir / b));
  };
  // Last night both shards passed; tonight a scenario fails in shard 2.
  write_suite("true");
  REQUIRE(run_shard("1", "y1.json") == 0);
  REQUIRE(run_shard("2", "y2.json") == 0);
  write_suite("false");
  REQUIRE(run_shard("1", "t1.json") == 0);
  REQUIRE(run_shard("2", "t2.json") == 1);
  const auto stale = merge("t1.json", "y2.json");
  CHECK(stale.status == 2);
  CHECK(stale.err.find("y2.json (shard 2/2) ran other scenario files than " + dir / "t1.json" +
                       " (or the same files with other contents") != std::string::npos);
  CHECK(merge("t1.json", "t2.json").status == 1);
  // The same files and filters, another --repeat or --seed: the message names the part.
  REQUIRE(run_shard("2", "r2.json", " --repeat 2") == 1);
  const auto repeated = merge("t1.json", "r2.json");
  CHECK(repeated.status == 2);
  CHECK(repeated.err.find("r2.json (shard 2/2) ran with --repeat 2, " + dir / "t1.json" +
                          " with --repeat 1") != std::string::npos);
  REQUIRE(run_shard("2", "e2.json", " --seed 7") == 1);
  const auto seeded = merge("t1.json", "e2.json");
  CHECK(seeded.status == 2);
  CHECK(seeded.err.find("e2.json (shard 2/2) ran with --seed 7, " + dir / "t1.json" + " with no --seed") !=
        std::string::npos);
  REQUIRE(run_shard("2", "f2.json", " --exclude-tag nightly") == 1);
  const auto filtered = merge("t1.json", "f2.json");
  CHECK(filtered.status == 2);
  CHECK(filtered.err.find("f2.json (shard 2/2) ran with other --tag or --exclude-tag filters than") !=
        std::string::npos);
  // A checkout with CRLF line endings (git's autocrlf on another runner) holds the same scenarios.
  for (const char* name : {"a", "b", "c", "d"}) {
    const auto path = dir / ("suite/" + std::string(name) + ".toml");
    std::string text = read_file(path), crlf;
    for (char c : text) crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
    std::ofstream(path, std::ios::trunc) << crlf;
  }
  REQUIRE(run_shard("2", "w2.json") == 1);
  const auto crlf_merge = merge("t1.json", "w2.json");
  INFO(crlf_merge.err);
  CHECK(crlf_merge.status == 1);  // merged: the failure of shard 2 is tonight's
  // The same files on two nights: only the run id tells the shards apart.
  REQUIRE(run_shard("1", "n1.json", " --run-id 41") == 0);
  REQUIRE(run_shard("2", "n2.json", " --run-id 41") == 1);
  REQUIRE(run_shard("1", "m1.json", " --run-id 42") == 0);
  const auto other_night = merge("m1.json", "n2.json");
  CHECK(other_night.status == 2);
  CHECK(other_night.err.find("(shard 2/2) is of run `41`, " + dir / "m1.json" + " of run `42`") !=
        std::string::npos);
  const auto without = merge("m1.json", "t2.json");
  CHECK(without.status == 2);
  CHECK(without.err.find("is of a run without --run-id") != std::string::npos);
  CHECK(merge("n1.json", "n2.json").status == 1);
  // A shard with its failure cut out and its summary removed, so no count disagrees.
  json edited = json::parse(read_file(dir / "n2.json"));
  edited.erase("summary");
  edited["scenarios"] = json::array();
  std::ofstream(dir / "n2.json") << edited.dump();
  const auto cut = merge("n1.json", "n2.json");
  CHECK(cut.status == 2);
  CHECK(cut.err.find("n2.json: the report of a shard without its summary") != std::string::npos);
}

TEST_CASE("report merge: a shard that ends before its report leaves no earlier report to merge green") {
  ScratchDir dir;
  fs::create_directories(dir / "suite");
  for (const char* name : {"a", "b", "c", "d"})
    std::ofstream(dir / ("suite/" + std::string(name) + ".toml"))
        << "name = \"" << name << "\"\n[target]\ncommand = [\"true\"]\n";
  const auto run_shard = [&](const char* shard) {
    return run_shell(faultline_cmd() + " run " + quote(dir / "suite") + " --shard " + shard + "/2 --json " +
                     quote(dir / ("s" + std::string(shard) + ".json")) + " --junit " +
                     quote(dir / ("s" + std::string(shard) + ".xml")));
  };
  for (const char* shard : {"1", "2"}) REQUIRE(run_shard(shard).status == 0);
  const auto merge = [&] {
    return run_shell(faultline_cmd() + " report merge " + quote(dir / "s1.json") + " " +
                     quote(dir / "s2.json"));
  };
  REQUIRE(merge().status == 0);

  // The next night every file is broken: each shard stops at loading, before writing a report.
  for (const char* name : {"a", "b", "c", "d"})
    std::ofstream(dir / ("suite/" + std::string(name) + ".toml")) << "name = \"" << name << "\"\n[target\n";
  const auto broken = run_shard("2");
  INFO(broken.out << broken.err);
  CHECK(broken.status == 2);
  CHECK(fs::file_size(dir / "s2.json") == 0);  // last night's green shard is gone
  CHECK(fs::file_size(dir / "s2.xml") == 0);
  const auto stale = merge();
  INFO(stale.out << stale.err);
  CHECK(stale.status == 2);
  CHECK(stale.err.find("s2.json") != std::string::npos);

  // A usage error does the same.
  std::ofstream(dir / "s1.json") << "{}";
  CHECK(run_shell(faultline_cmd() + " run " + quote(dir / "suite") + " --shard 3/2 --json " +
                  quote(dir / "s1.json"))
            .status == 2);
  CHECK(fs::file_size(dir / "s1.json") == 0);
  // So does one the option parser finds, before `run` itself starts: a bad --seed, an unknown
  // option, reports named before or after the mistake.
  for (const std::string mistake : {"--seed -1", "--shrad 1/2", "--repeat x"}) {
    INFO(mistake);
    std::ofstream(dir / "s1.json") << "{}";
    std::ofstream(dir / "s1.xml") << "<testsuites/>";
    CHECK(run_shell(faultline_cmd() + " run " + quote(dir / "suite") + " --json " + quote(dir / "s1.json") +
                    " " + mistake + " --junit " + quote(dir / "s1.xml"))
              .status == 2);
    CHECK(fs::file_size(dir / "s1.json") == 0);
    CHECK(fs::file_size(dir / "s1.xml") == 0);
  }

  // A merge refused (a shard missing) leaves no earlier merged report where CI publishes this one.
  std::ofstream(dir / "ok-a.toml") << "name = \"a\"\n[target]\ncommand = [\"true\"]\n";
  REQUIRE(run_shell(faultline_cmd() + " run " + quote(dir / "ok-a.toml") + " --shard 1/2 --json " +
                    quote(dir / "m1.json"))
              .status == 0);
  std::ofstream(dir / "merged.json") << "{\"summary\": {\"passed\": 4}}";
  std::ofstream(dir / "merged.xml") << "<testsuites failures=\"0\"/>";
  const auto refused = run_shell(faultline_cmd() + " report merge " + quote(dir / "m1.json") + " --json " +
                                 quote(dir / "merged.json") + " --junit " + quote(dir / "merged.xml"));
  CHECK(refused.status == 2);
  CHECK(fs::file_size(dir / "merged.json") == 0);
  CHECK(fs::file_size(dir / "merged.xml") == 0);
  // And one refused for an output it cannot write: the others are emptied all the same.
  std::ofstream(dir / "merged.json") << "{}";
  CHECK(run_shell(faultline_cmd() + " report merge " + quote(dir / "m1.json") + " --json " +
                  quote(dir / "merged.json") + " --html " + quote(dir / "no-such-dir/m.html"))
            .status == 2);
  CHECK(fs::file_size(dir / "merged.json") == 0);
  // An output that names an input is not emptied before it is read.
  const auto input_size = fs::file_size(dir / "m1.json");
  CHECK(run_shell(faultline_cmd() + " report merge " + quote(dir / "m1.json") + " --json " +
                  quote(dir / "m1.json"))
            .status == 2);
  CHECK(fs::file_size(dir / "m1.json") == input_size);
  // And one the option parser refuses.
  std::ofstream(dir / "merged.json") << "{}";
  CHECK(run_shell(faultline_cmd() + " report merge " + quote(dir / "m1.json") + " --json " +
                  quote(dir / "merged.json") + " --bogus")
            .status == 2);
  CHECK(fs::file_size(dir / "merged.json") == 0);

  // A report path that is a symlink stays one: the report is written through it.
  fs::create_directories(dir / "runs");
  fs::create_symlink(dir / "runs/42.json", dir / "latest.json");
  std::ofstream(dir / "runs/42.json") << "{\"stale\": true}";
  std::ofstream(dir / "ok.toml") << "name = \"ok\"\n[target]\ncommand = [\"true\"]\n";
  CHECK(
      run_shell(faultline_cmd() + " run " + quote(dir / "ok.toml") + " --json " + quote(dir / "latest.json"))
          .status == 0);
  CHECK(fs::is_symlink(dir / "latest.json"));
  CHECK(json::parse(read_file(dir / "runs/42.json"))["summary"]["passed"] == 1);
}

TEST_CASE("report merge: shards that each skipped all they had merge into nothing tested, exit 3") {
  using namespace faultline::report;
  ScratchDir dir;
  for (const int index : {1, 2}) {
    RunReport shard;
    shard.started = "2026-12-01T00:00:0" + std::to_string(index) + "Z";
    shard.shard = ShardInfo{index, 2, {}, {}};
    ScenarioResult skipped;
    skipped.name = "needs v2 " + std::to_string(index);
    skipped.file = "s" + std::to_string(index) + ".toml";
    skipped.verdict = Verdict::skip;
    skipped.reason = "memory_high needs cgroup v2";
    shard.scenarios.push_back(skipped);
    write_json(shard, dir / ("s" + std::to_string(index) + ".json"));
  }
  const auto merged =
      run_shell(faultline_cmd() + " report merge " + quote(dir / "s1.json") + " " + quote(dir / "s2.json"));
  INFO(merged.out << merged.err);
  CHECK(merged.status == 3);
  CHECK(merged.out.find("nothing was tested") != std::string::npos);
}
