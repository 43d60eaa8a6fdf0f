#include <catch2/catch.hpp>
#include <string>

#include "reports/junit_writer.h"
#include "tests/support/report_fixtures.h"

using namespace faultline::report;
using faultline::test::run_report;
using faultline::test::scenario_result;

namespace {

RunReport three_scenarios() {
  RunReport r = run_report({"hybrid", "6.1.0-test", 2}, 42, "2026-11-23T10:00:00Z", 4500);

  ScenarioResult pass = scenario_result("greets", "scenarios/greets.toml", Verdict::pass);
  pass.duration_ms = 1200;
  ProcessResult p;
  p.name = "target";
  p.stdout_tail = "hello\n";
  p.stdout_bytes = 6;
  pass.processes.push_back(p);

  ScenarioResult fail = scenario_result("drains <fast> & clean", "scenarios/drain.toml", Verdict::fail);
  fail.duration_ms = 2000;
  fail.reason = "expect.graceful: killed after grace";
  fail.reason_line = 12;
  fail.failures.push_back(
      {"expect.graceful", "api", "true", "false", "killed after the 700ms grace period", 12, {}});
  ProcessResult api;
  api.name = "api";
  api.stdout_tail = "ready\n";
  api.stdout_bytes = 6;
  api.stderr_tail = "still \x01 busy";
  api.stderr_bytes = 5000;
  fail.processes.push_back(api);

  ScenarioResult skip = scenario_result("needs v2", "scenarios/v2.toml", Verdict::skip);
  skip.reason = "memory_high needs cgroup v2";
  r.scenarios = {pass, fail, skip};
  return r;
}

}  // namespace

TEST_CASE("JUnit XML: one testsuite, a testcase per scenario, failure with expected and actual") {
  CHECK(to_junit(three_scenarios()) ==
        R"(<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="faultline" tests="3" failures="1" errors="0" skipped="1" time="4.500">
  <testsuite name="faultline" tests="3" failures="1" errors="0" skipped="1" time="4.500" timestamp="2026-11-23T10:00:00">
    <properties>
      <property name="faultline.version" value="0.1.0"/>
      <property name="host.cgroup" value="hybrid"/>
      <property name="host.kernel" value="6.1.0-test"/>
      <property name="host.cpus" value="2"/>
      <property name="seed" value="42"/>
    </properties>
    <testcase classname="scenarios/greets.toml" name="greets" time="1.200" file="scenarios/greets.toml">
      <system-out>=== target stdout (6 bytes) ===
hello
</system-out>
    </testcase>
    <testcase classname="scenarios/drain.toml" name="drains &lt;fast&gt; &amp; clean" time="2.000" file="scenarios/drain.toml" line="12">
      <failure message="expect.graceful: killed after grace" type="expect.graceful">expect.graceful: killed after grace

expect.graceful [api]: killed after the 700ms grace period
  expected: true
  actual:   false

scenario file: scenarios/drain.toml:12
</failure>
      <system-out>=== api stdout (6 bytes) ===
ready
</system-out>
      <system-err>=== api stderr (last 12 of 5000 bytes) ===
still )"
        "\xEF\xBF\xBD"
        R"( busy
</system-err>
    </testcase>
    <testcase classname="scenarios/v2.toml" name="needs v2" time="0.000" file="scenarios/v2.toml">
      <skipped message="memory_high needs cgroup v2"/>
    </testcase>
  </testsuite>
</testsuites>
)");
}

TEST_CASE("JUnit XML: an errored scenario is an <error>, with its diagnosis") {
  RunReport r;
  ScenarioResult s = scenario_result("hangs", "hang.toml", Verdict::error);
  s.reason = "timed out after 1s";
  s.diagnostics["pid 12 (sleep)"] = "state: S (sleeping)\nwchan: hrtimer_nanosleep";
  r.scenarios = {s};
  const std::string xml = to_junit(r);
  CHECK(xml.find("<testsuites name=\"faultline\" tests=\"1\" failures=\"0\" errors=\"1\" skipped=\"0\"") !=
        std::string::npos);
  CHECK(xml.find("<error message=\"timed out after 1s\" type=\"error\">timed out after 1s\n\nscenario file: "
                 "hang.toml\n\npid 12 (sleep):\nstate: S (sleeping)\nwchan: hrtimer_nanosleep\n</error>") !=
        std::string::npos);
  CHECK(xml.find("<failure") == std::string::npos);
}

TEST_CASE("JUnit XML: with --repeat every run is a testcase of its own name") {
  RunReport r;
  for (int repeat = 1; repeat <= 3; ++repeat) {
    ScenarioResult s = scenario_result("drains", "drain.toml", repeat == 2 ? Verdict::fail : Verdict::pass);
    s.repeat = repeat;
    r.scenarios.push_back(s);
  }
  const std::string xml = to_junit(r);
  CHECK(xml.find("<testcase classname=\"drain.toml\" name=\"drains (repeat 1)\"") != std::string::npos);
  CHECK(xml.find("<testcase classname=\"drain.toml\" name=\"drains (repeat 2)\"") != std::string::npos);
  CHECK(xml.find("<testcase classname=\"drain.toml\" name=\"drains (repeat 3)\"") != std::string::npos);
  CHECK(xml.find("name=\"drains\"") == std::string::npos);
}
