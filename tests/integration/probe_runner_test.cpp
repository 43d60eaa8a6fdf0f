// Probes run by the scenario runner against real processes in real cgroups: tcp and exec
// probes, attempts that never overlap, pass ratios and the failures a failing probe leaves.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>

#include "cgroup/backend.h"
#include "runner/hang_diagnosis.h"
#include "runner/scenario_runner.h"
#include "tests/support/raw_http_server.h"
#include "tests/support/scratch_dir.h"
#include "tests/support/skips.h"
#include "tests/support/test_env.h"

using namespace faultline;
using namespace std::chrono_literals;

namespace {

#define PROBE_PRECONDITIONS() \
  if (::geteuid() != 0) FAULTLINE_SKIP("not root: scenarios need to create cgroups")

scenario::Scenario sleeper_scenario(Duration duration) {
  scenario::Scenario s;
  s.name = "probe runner test";
  s.timeout = 20s;
  s.duration = duration;
  scenario::ProcessSpec p;
  p.name = "sleeper";
  p.command = {"/bin/sleep", "30"};
  p.stop_signal = SIGTERM;
  p.stop_grace = 2s;
  s.processes.push_back(p);
  return s;
}

scenario::Probe exec_probe(const std::string& name, std::vector<std::string> argv, std::uint32_t line) {
  scenario::Probe p;
  p.name = name;
  p.kind = scenario::Probe::Kind::exec;
  p.exec = std::move(argv);
  p.every = 100ms;
  p.timeout = 2s;
  p.pos.line = line;
  return p;
}

const report::ProbeResult& probe_named(const report::ScenarioResult& r, const std::string& name) {
  for (const auto& p : r.probes)
    if (p.name == name) return p;
  FAIL("no probe result named " << name);
  throw;
}

report::ScenarioResult run(const scenario::Scenario& s) {
  auto backend = cgroup::open_backend();
  return runner::run_scenario(s, *backend);
}

}  // namespace

TEST_CASE("exec probes: exit status decides, a failing probe is a named failure", "[probe][integration]") {
  PROBE_PRECONDITIONS();
  auto s = sleeper_scenario(800ms);
  s.probes.push_back(exec_probe("true passes", {"/bin/true"}, 7));
  s.probes.push_back(exec_probe("false fails", {"/bin/false"}, 12));
  auto expected_failure = exec_probe("false expected to fail", {"/bin/false"}, 17);
  expected_failure.expect_success = false;
  s.probes.push_back(expected_failure);

  const auto r = run(s);
  INFO(r.reason);
  REQUIRE(r.probes.size() == 3);
  const auto& pass = probe_named(r, "true passes");
  CHECK(pass.passed);
  CHECK(pass.pass_ratio == 1.0);
  CHECK(pass.attempts.size() >= 2);  // it repeats; how often depends on the machine's load
  const auto& fail = probe_named(r, "false fails");
  CHECK_FALSE(fail.passed);
  CHECK(fail.pass_ratio == 0.0);
  REQUIRE_FALSE(fail.attempts.empty());
  CHECK(fail.attempts[0].error.value_or("").find("`/bin/false`") != std::string::npos);
  CHECK(probe_named(r, "false expected to fail").passed);

  CHECK(r.verdict == report::Verdict::fail);
  REQUIRE(r.failures.size() == 1);
  const auto& f = r.failures[0];
  CHECK(f.check == "probe");
  CHECK(f.process.empty());
  CHECK(f.line == 12);
  CHECK(f.expected == "exit code 0 in at least 1.00 of the attempts during start .. stop");
  const std::string ratio = "pass ratio 0.00 (0/" + std::to_string(fail.attempts.size()) + ")";
  CHECK(f.actual.rfind(ratio + "; last failing attempt at ", 0) == 0);
  CHECK(f.message == "probe `false fails` failed: " + f.actual);
}

TEST_CASE("a pass ratio bound finer than two decimals is written as given in the failure",
          "[probe][integration]") {
  PROBE_PRECONDITIONS();
  auto s = sleeper_scenario(300ms);
  auto tiny = exec_probe("false at a tiny ratio", {"/bin/false"}, 9);
  tiny.pass_ratio = scenario::Comparison{scenario::Comparison::Op::ge, 0.000001};
  s.probes.push_back(tiny);
  const auto r = run(s);
  REQUIRE(r.failures.size() == 1);
  // Not "at least 0.00", which no share of attempts could fail.
  CHECK(r.failures[0].expected == "exit code 0 in at least 0.000001 of the attempts during start .. stop");
}

TEST_CASE("a slow attempt delays the next one instead of overlapping it", "[probe][integration]") {
  PROBE_PRECONDITIONS();
  auto s = sleeper_scenario(1500ms);
  auto slow = exec_probe("slow command", {"/bin/sleep", "0.3"}, 3);
  slow.during.from = {"", 0ms, "0s"};
  slow.during.to = {"", 1200ms, "1200ms"};
  s.probes.push_back(slow);

  const auto r = run(s);
  const auto& p = probe_named(r, "slow command");
  INFO(r.reason);
  REQUIRE(p.attempts.size() >= 2);
  CHECK(p.attempts.size() <= 4);  // 1.2s / 300ms; 12 if attempts piled up every 100ms
  for (std::size_t i = 1; i < p.attempts.size(); ++i) {
    CHECK(p.attempts[i].t_ms - p.attempts[i - 1].t_ms >= p.attempts[i - 1].latency_ms - 1);
    CHECK(p.attempts[i - 1].latency_ms >= 290);
  }
  CHECK(p.passed);
}

TEST_CASE("an attempt belongs to the window it started in and is cut off at its end",
          "[probe][integration]") {
  PROBE_PRECONDITIONS();
  // Attempts take 2s in a 3s window: the first ends inside it (with up to 1s for starting the
  // command on a loaded machine), the second is still running at the window end. Judged, its
  // result would say nothing about the window (a fault reverted mid-attempt): it is cut off, and
  // the timeline and the probe record agree on what counted.
  auto s = sleeper_scenario(4500ms);
  auto slow = exec_probe("slow command", {"/bin/sleep", "2"}, 3);
  slow.timeout = 5s;  // an attempt's own limit stays out of the way: the window ends it
  slow.during.from = {"", 0ms, "0s"};
  slow.during.to = {"", 3000ms, "3s"};
  s.probes.push_back(slow);

  const auto r = run(s);
  INFO(r.reason);
  const auto& p = probe_named(r, "slow command");
  const report::TimelineEvent* close = nullptr;
  for (const auto& e : r.timeline)
    if (e.event == "probe.window.close") close = &e;
  REQUIRE(close);
  INFO(close->detail);
  REQUIRE_FALSE(p.attempts.empty());
  CHECK(close->detail.find("window end, " + std::to_string(p.attempts.size()) + " attempt(s), 1 cut off") !=
        std::string::npos);
  for (const auto& a : p.attempts) CHECK(a.t_ms + a.latency_ms <= close->t_ms + 1);
  CHECK(p.passed);
}

TEST_CASE("tcp probes: a refused connection passes only when failure is expected", "[probe][integration]") {
  PROBE_PRECONDITIONS();
  auto s = sleeper_scenario(500ms);
  scenario::Probe refused;
  refused.name = "nothing listens";
  refused.kind = scenario::Probe::Kind::tcp;
  refused.target = "127.0.0.1:1";
  refused.every = 100ms;
  refused.expect_success = false;
  s.probes.push_back(refused);
  auto wants_connection = refused;
  wants_connection.name = "wants a connection";
  wants_connection.expect_success.reset();
  wants_connection.pass_ratio = {scenario::Comparison::Op::ge, 0.5};
  s.probes.push_back(wants_connection);

  const auto r = run(s);
  const auto& ok = probe_named(r, "nothing listens");
  CHECK(ok.passed);
  REQUIRE_FALSE(ok.attempts.empty());
  CHECK(ok.attempts[0].error.value_or("").find("Connection refused") != std::string::npos);
  const auto& bad = probe_named(r, "wants a connection");
  CHECK_FALSE(bad.passed);
  REQUIRE(r.failures.size() == 1);
  CHECK(r.failures[0].expected == "a connection in at least 0.50 of the attempts during start .. stop");
}

TEST_CASE("http probes: a 200 whose body is cut short or malformed is a failed attempt",
          "[probe][integration]") {
  PROBE_PRECONDITIONS();
  // A service that crashes mid-answer: the status line is fine, the body never completes.
  test::RawServer truncated("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"status\":\"up");
  test::RawServer bad_chunk("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nZZ\r\n");
  test::RawServer whole("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello");
  auto s = sleeper_scenario(500ms);
  scenario::Probe probe;
  probe.kind = scenario::Probe::Kind::http;
  probe.every = 100ms;
  probe.timeout = 2s;
  probe.expect_body_contains = "hello";
  const std::pair<const char*, const test::RawServer*> servers[] = {
      {"truncated", &truncated}, {"bad chunk", &bad_chunk}, {"whole", &whole}};
  for (const auto& [name, server] : servers) {
    probe.name = name;
    probe.target = server->url();
    s.probes.push_back(probe);
  }

  const auto r = run(s);
  INFO(r.reason);
  const auto& cut = probe_named(r, "truncated");
  CHECK_FALSE(cut.passed);
  REQUIRE_FALSE(cut.attempts.empty());
  for (const auto& a : cut.attempts) {
    CHECK_FALSE(a.ok);
    CHECK(a.error ==
          "response from " + truncated.peer() + " cut short after 13 of 100 body bytes (status 200)");
  }
  const auto& malformed = probe_named(r, "bad chunk");
  CHECK_FALSE(malformed.passed);
  REQUIRE_FALSE(malformed.attempts.empty());
  CHECK_FALSE(malformed.attempts[0].ok);
  CHECK(malformed.attempts[0].error ==
        "read response body from " + bad_chunk.peer() + " after status 200: bad chunk");
  const auto& ok = probe_named(r, "whole");
  CHECK(ok.passed);
  REQUIRE_FALSE(ok.attempts.empty());
  CHECK(ok.attempts[0].status == 200);
  CHECK(r.verdict == report::Verdict::fail);
}

TEST_CASE("pass_ratio bounds a probe's share from above as well as below", "[probe][integration]") {
  PROBE_PRECONDITIONS();
  auto s = sleeper_scenario(500ms);
  scenario::Probe mostly_refused;
  mostly_refused.name = "mostly refused";
  mostly_refused.kind = scenario::Probe::Kind::tcp;
  mostly_refused.target = "127.0.0.1:1";
  mostly_refused.every = 100ms;
  mostly_refused.pass_ratio = {scenario::Comparison::Op::le, 0.2};  // nothing listens: 0 of n connect
  s.probes.push_back(mostly_refused);
  auto claims_few_refusals = mostly_refused;
  claims_few_refusals.name = "claims few refusals";
  claims_few_refusals.expect_success = false;  // every attempt is refused: a share of 1, not <= 0.2
  s.probes.push_back(claims_few_refusals);

  const auto r = run(s);
  INFO(r.reason);
  CHECK(probe_named(r, "mostly refused").passed);
  CHECK(probe_named(r, "mostly refused").pass_ratio == 0.0);
  const auto& wrong = probe_named(r, "claims few refusals");
  CHECK_FALSE(wrong.passed);
  CHECK(wrong.pass_ratio == 1.0);
  REQUIRE(r.failures.size() == 1);
  CHECK(r.failures[0].expected ==
        "a refused or timed-out connection in at most 0.20 of the attempts during start .. stop");
}

TEST_CASE("hang finding: throttling is blamed before the states", "[probe][diagnosis]") {
  runner::HangFacts starved;
  starved.process = "job";
  starved.cpu_periods = 100;
  starved.throttled_periods = 92;
  starved.quota_cpus = 0.05;
  starved.memory_max = kUnlimited;
  starved.states = {'S'};
  starved.wchans = {"-"};
  CHECK(runner::hang_finding({starved}) ==
        "`job` throttled in 92% of CPU periods at quota 5%: likely CPU starvation, not a deadlock");

  runner::HangFacts asleep = starved;
  asleep.throttled_periods = 0;
  asleep.states = {'S', 'S'};
  asleep.wchans = {"do_sys_poll", "do_sys_poll"};
  CHECK(runner::hang_finding({asleep}) ==
        "all 2 processes are asleep (mostly in do_sys_poll) and not throttled: likely a deadlock or a "
        "wait for something that never happens");

  runner::HangFacts squeezed = asleep;
  squeezed.memory_max = 64u << 20;
  squeezed.memory_current = 63u << 20;
  squeezed.oom_events = 2;
  CHECK(
      runner::hang_finding({squeezed}) ==
      "`job` uses 63.0MiB of its 64.0MiB limit with 2 OOM event(s): likely stalled on memory reclaim, not a "
      "deadlock");

  // An OOM kill earlier in the run (a child that allocated too much) is not why a process far
  // below its limit is stuck now.
  runner::HangFacts killed_before = asleep;
  killed_before.memory_max = 64u << 20;
  killed_before.memory_current = 1u << 20;
  killed_before.oom_events = 1;
  CHECK(runner::hang_finding({killed_before}) == runner::hang_finding({asleep}));

  // The caller's limits, kept on the run's cgroup, throttle and squeeze the processes together:
  // only the run's cgroup counts it, and a process's own cgroup shows nothing.
  runner::HangFacts callers;
  callers.callers = true;
  callers.cpu_periods = 40;
  callers.throttled_periods = 38;
  callers.quota_cpus = 0.2;
  callers.memory_max = kUnlimited;
  CHECK(runner::hang_finding({asleep, callers}) ==
        "the run's processes throttled in 95% of CPU periods at the caller's quota 20%, kept on the run's "
        "cgroup: likely CPU starvation, not a deadlock");
  callers.throttled_periods = 0;
  callers.memory_max = 200u << 20;
  callers.memory_current = 199u << 20;
  CHECK(
      runner::hang_finding({asleep, callers}) ==
      "the run's processes use 199.0MiB of the caller's 200.0MiB limit, kept on the run's cgroup, with 0 OOM "
      "event(s): likely stalled on memory reclaim, not a deadlock");
  callers.memory_current = 20u << 20;  // far from it: the states speak
  CHECK(runner::hang_finding({asleep, callers}) == runner::hang_finding({asleep}));
}

TEST_CASE("the captured dump is copied only after a diagnosed timeout", "[probe][diagnosis]") {
  report::ScenarioResult r;
  report::ProcessResult p;
  p.name = "py";
  p.outcome = "timed-out";
  p.stderr_tail = "Thread 0x1 (most recent call first):\n  File \"<string>\", line 5 in wait_for_reply\n";
  r.processes.push_back(p);
  runner::add_captured_dump(r);
  CHECK(r.diagnostics.count("dump") == 0);
  r.timeline.push_back({10, "timeout.diagnose", "", "", "SIGQUIT sent to 1 process(es)"});
  runner::add_captured_dump(r);
  CHECK(r.diagnostics.at("dump") == "--- py stderr ---\n" + p.stderr_tail + "\n");
}

TEST_CASE("a probe whose target cannot be tried is an error, never a pass", "[probe][integration]") {
  PROBE_PRECONDITIONS();
  auto s = sleeper_scenario(300ms);
  scenario::Probe no_port;
  no_port.name = "no port";
  no_port.kind = scenario::Probe::Kind::tcp;
  no_port.target = "127.0.0.1";    // the loader refuses it; a scenario built in code can still hold it
  no_port.expect_success = false;  // every attempt fails to even start: that is not "no connection"
  s.probes.push_back(no_port);

  const auto r = run(s);
  INFO(r.reason);
  CHECK(r.verdict == report::Verdict::error);
  CHECK(r.reason.find("probe `no port`: target `127.0.0.1` cannot be tried: no port") != std::string::npos);
  for (const auto& p : r.probes) CHECK_FALSE(p.passed);
}

TEST_CASE("a tcp or http probe whose host does not resolve is an error, never the expected \"down\"",
          "[probe][integration]") {
  PROBE_PRECONDITIONS();
  auto s = sleeper_scenario(2s);
  scenario::Probe typo;
  typo.name = "typo";
  typo.timeout = 1s;
  std::string target;
  SECTION("tcp") {
    typo.kind = scenario::Probe::Kind::tcp;
    target = "nonexistent.invalid:80";  // a name no resolver answers (RFC 6761)
    typo.expect_success = false;        // once passed: no connection was ever attempted
  }
  SECTION("http") {
    typo.kind = scenario::Probe::Kind::http;
    target = "http://nonexistent.invalid:80/health";
    typo.pass_ratio = scenario::Comparison{scenario::Comparison::Op::le, 0.1};  // "mostly down" passed
  }
  typo.target = target;
  s.probes.push_back(typo);

  const auto r = run(s);
  INFO(r.reason);
  CHECK(r.verdict == report::Verdict::error);
  // "resolve nonexistent.invalid: Host not found", or a timeout naming that step where no resolver answers.
  CHECK(r.reason.find("probe `typo`: target `" + target + "` cannot be tried: ") != std::string::npos);
  CHECK(r.reason.find("resolve nonexistent.invalid") != std::string::npos);
  for (const auto& p : r.probes) CHECK_FALSE(p.passed);
  // The error is the one word on it: no second failure blaming the probe's window.
  for (const auto& f : r.failures) CHECK(f.check != "probe");
}

TEST_CASE("a process that ends before its gate passed is an error, not a pass",
          "[probe][readiness][integration]") {
  PROBE_PRECONDITIONS();
  auto s = sleeper_scenario(1s);
  s.processes[0].command = {"/bin/true"};
  s.processes[0].ready.kind = scenario::Readiness::Kind::tcp;
  s.processes[0].ready.address = "127.0.0.1:9";  // discard: nothing listens there
  s.processes[0].ready.timeout = 5s;
  auto r = run(s);
  INFO(r.reason);
  CHECK(r.verdict == report::Verdict::error);
  CHECK(r.reason ==
        "process `sleeper` exited with code 0 before it was ready (its ready.tcp gate never passed)");

  // A log gate's line, written just before the exit, still counts, whichever of the two the
  // loop sees first.
  s.processes[0].command = {test::payload_path(), "print", "listening"};
  s.processes[0].ready.kind = scenario::Readiness::Kind::log;
  s.processes[0].ready.log_regex = "listening";
  for (int i = 0; i < 5; ++i) {
    r = run(s);
    INFO(r.reason);
    CHECK(r.verdict == report::Verdict::pass);
  }
}

TEST_CASE("a readiness gate whose address cannot be tried errors at once",
          "[probe][readiness][integration]") {
  PROBE_PRECONDITIONS();
  auto s = sleeper_scenario(300ms);
  s.processes[0].ready.kind = scenario::Readiness::Kind::tcp;
  s.processes[0].ready.address = "127.0.0.1:99999";  // once cast to port 34463 and polled until the timeout
  s.processes[0].ready.timeout = 5s;
  auto r = run(s);
  INFO(r.reason);
  CHECK(r.verdict == report::Verdict::error);
  CHECK(r.reason.find(
            "ready.tcp `127.0.0.1:99999` cannot be tried: port `99999` is not a number from 1 to 65535") !=
        std::string::npos);

  s.processes[0].ready.kind = scenario::Readiness::Kind::http;
  s.processes[0].ready.address = "https://127.0.0.1:8443/healthz";
  r = run(s);
  INFO(r.reason);
  CHECK(r.verdict == report::Verdict::error);
  CHECK(
      r.reason.find("ready.http `https://127.0.0.1:8443/healthz` cannot be tried: https is not supported") !=
      std::string::npos);
  CHECK(r.reason.find("was not ready within") == std::string::npos);  // not after the whole timeout
}

TEST_CASE("an exec probe whose command cannot start is an error, never a pass", "[probe][integration]") {
  PROBE_PRECONDITIONS();
  auto s = sleeper_scenario(300ms);
  auto missing = exec_probe("missing binary", {"/nonexistent/faultline-probe-check"}, 7);
  missing.expect_success = false;  // each failed start would otherwise count as the expected failure
  s.probes.push_back(missing);

  const auto r = run(s);
  INFO(r.reason);
  CHECK(r.verdict == report::Verdict::error);
  CHECK(r.reason.find("probe `missing binary`: `/nonexistent/faultline-probe-check` could not start") !=
        std::string::npos);
  for (const auto& p : r.probes) CHECK_FALSE(p.passed);
}

TEST_CASE("an exec probe expecting failure does not count a hang or a crash as the failure",
          "[probe][integration]") {
  PROBE_PRECONDITIONS();
  auto s = sleeper_scenario(1200ms);
  auto hangs = exec_probe("hangs", {"/bin/sleep", "5"}, 3);
  hangs.timeout = 200ms;  // killed by the probe: it never answered
  hangs.expect_success = false;
  s.probes.push_back(hangs);
  auto crashes = exec_probe("crashes", {"/bin/sh", "-c", "kill -SEGV $$"}, 9);
  crashes.expect_success = false;
  s.probes.push_back(crashes);
  auto refuses = exec_probe("refuses", {"/bin/sh", "-c", "exit 1"}, 15);
  refuses.expect_success = false;
  s.probes.push_back(refuses);

  const auto r = run(s);
  INFO(r.reason);
  CHECK(r.verdict == report::Verdict::fail);
  for (const auto* name : {"hangs", "crashes"}) {
    const auto& p = probe_named(r, name);
    INFO(name);
    CHECK_FALSE(p.passed);
    REQUIRE_FALSE(p.attempts.empty());
    CHECK_FALSE(p.attempts[0].ok);
  }
  CHECK(probe_named(r, "hangs").attempts[0].error.value_or("").find("timed out after 200ms") !=
        std::string::npos);
  CHECK(probe_named(r, "refuses").passed);  // its own non-zero exit is the failure asked for
}

TEST_CASE("exec probes of two probes run side by side in cgroups of their own", "[probe][integration]") {
  PROBE_PRECONDITIONS();
  auto s = sleeper_scenario(1500ms);
  // Both attempts hold their cgroup for a while; with one name per attempt number the second
  // probe's first attempt could not create its cgroup.
  s.probes.push_back(exec_probe("first", {"/bin/sleep", "0.3"}, 1));
  s.probes.push_back(exec_probe("second", {"/bin/sleep", "0.3"}, 2));

  const auto r = run(s);
  INFO(r.reason);
  CHECK(r.verdict == report::Verdict::pass);
  for (const auto& name : {"first", "second"}) {
    const auto& p = probe_named(r, name);
    CHECK(p.passed);
    CHECK(p.attempts.size() >= 1);
  }
}

TEST_CASE("a ready.exec attempt that hangs is killed and the gate tried again",
          "[probe][readiness][integration]") {
  PROBE_PRECONDITIONS();
  test::ScratchDir dir;
  const auto marker = (dir.path() / "tried-once").string();
  auto s = sleeper_scenario(300ms);
  // The first attempt hangs far beyond the per-attempt limit (10s); the second one succeeds.
  s.processes[0].ready.kind = scenario::Readiness::Kind::exec;
  s.processes[0].ready.exec = {
      "/bin/sh", "-c", "if [ -e '" + marker + "' ]; then exit 0; fi; touch '" + marker + "'; exec sleep 300"};
  s.processes[0].ready.timeout = 60s;
  s.timeout = 90s;
  const auto t0 = std::chrono::steady_clock::now();
  const auto r = run(s);
  INFO(r.reason);
  CHECK(r.verdict == report::Verdict::pass);
  bool ready_seen = false;
  for (const auto& e : r.timeline)
    if (e.event == "process.ready") ready_seen = true;
  CHECK(ready_seen);
  // Well before the gate's own timeout: the hung attempt did not hold the gate for all of it.
  CHECK(std::chrono::steady_clock::now() - t0 < 50s);
}

TEST_CASE("a ready.tcp gate that never opens names its last attempt", "[probe][readiness][integration]") {
  PROBE_PRECONDITIONS();
  auto s = sleeper_scenario(300ms);
  s.processes[0].ready.kind = scenario::Readiness::Kind::tcp;
  s.processes[0].ready.address = "127.0.0.1:9";  // discard: nothing listens on loopback here
  s.processes[0].ready.timeout = 600ms;
  const auto r = run(s);
  INFO(r.reason);
  CHECK(r.verdict == report::Verdict::error);
  CHECK(r.reason ==
        "process `sleeper` was not ready within 600ms: nothing accepted connections on 127.0.0.1:9 "
        "(last attempt: connect 127.0.0.1:9: Connection refused)");
}
