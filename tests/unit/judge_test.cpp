// The verdict of a finished run, from its process results alone: which timeouts count, the
// one-line reason, and the driver-led stop folding.
#include <catch2/catch.hpp>

#include "runner/expectations.h"

using namespace faultline;
using namespace std::chrono_literals;

namespace {

report::ProcessResult process(const std::string& name, const std::string& outcome, int code = 0) {
  report::ProcessResult r;
  r.name = name;
  r.outcome = outcome;
  r.exit_code = code;
  return r;
}

scenario::Scenario two_processes() {
  scenario::Scenario s;
  s.timeout = 3s;
  for (const char* name : {"api", "load"}) {
    scenario::ProcessSpec p;
    p.name = name;
    s.processes.push_back(p);
  }
  return s;
}

runner::OutputSeen nothing_seen(const std::string&) { return {}; }

}  // namespace

TEST_CASE("judge: a run whose processes met every expectation passes") {
  auto s = two_processes();
  scenario::Expect e;
  e.process = "api";
  e.exit_codes = std::vector<int>{0};
  s.expects.push_back(e);
  report::ScenarioResult r;
  r.processes = {process("api", "exited", 0), process("load", "exited", 0)};
  runner::judge(s, r, nothing_seen);
  CHECK(r.verdict == report::Verdict::pass);
  CHECK(r.failures.empty());
  CHECK(r.reason.empty());
}

TEST_CASE("judge: a process that hit the deadline fails the run unless a timeout was expected") {
  auto s = two_processes();
  report::ScenarioResult r;
  r.processes = {process("api", "timed-out"), process("load", "exited", 0)};
  runner::judge(s, r, nothing_seen);
  REQUIRE(r.verdict == report::Verdict::fail);
  REQUIRE(r.failures.size() == 1);
  CHECK(r.failures[0].check == "timeout");
  CHECK(r.failures[0].process == "api");
  CHECK(r.reason == "timeout: timed out after 3s");

  scenario::Expect e;
  e.process = "api";
  e.outcome = scenario::ExpectedOutcome::timed_out;
  s.expects.push_back(e);
  report::ScenarioResult expected;
  expected.processes = r.processes;
  runner::judge(s, expected, nothing_seen);
  CHECK(expected.verdict == report::Verdict::pass);
}

TEST_CASE("judge: the reason names the first failure and counts the others") {
  auto s = two_processes();
  for (const char* name : {"api", "load"}) {
    scenario::Expect e;
    e.process = name;
    e.exit_codes = std::vector<int>{0};
    s.expects.push_back(e);
  }
  report::ScenarioResult r;
  r.processes = {process("api", "exited", 3), process("load", "exited", 4)};
  runner::judge(s, r, nothing_seen);
  REQUIRE(r.verdict == report::Verdict::fail);
  REQUIRE(r.failures.size() == 2);
  CHECK(r.failures[0].process == "api");
  CHECK(r.reason.find("(and 1 more)") != std::string::npos);
  CHECK(r.reason.rfind(r.failures[0].check + ": " + r.failures[0].message, 0) == 0);
}

TEST_CASE("judge: a stop driver that never exited leads the other processes' timeouts") {
  auto s = two_processes();
  s.stop = scenario::TimePoint{"load.exit", 0s, "load.exit"};
  report::ScenarioResult r;
  r.processes = {process("api", "timed-out"), process("load", "timed-out")};
  runner::judge(s, r, nothing_seen);
  REQUIRE(r.verdict == report::Verdict::fail);
  REQUIRE(r.failures.size() == 1);
  CHECK(r.failures[0].process == "load");
  CHECK(r.failures[0].message ==
        "timed out after 3s; it never exited, so `stop = \"load.exit\"` never began the stop phase");
  REQUIRE(r.failures[0].consequences.size() == 1);
  CHECK(r.failures[0].consequences[0] == "timeout [api]: timed out after 3s");
}
