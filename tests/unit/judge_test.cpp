// The verdict of a finished run, from its process results alone: which timeouts count, the
// one-line reason, and the driver-led stop folding.
#include <algorithm>
#include <catch2/catch.hpp>
#include <functional>

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

// An `[[expect]]` table for `api`, added to `s`.
scenario::Expect& expect_for_api(scenario::Scenario& s) {
  scenario::Expect e;
  e.process = "api";
  return s.expects.emplace_back(std::move(e));
}

scenario::Injection injection_into_api(std::string name, std::string kind, scenario::FaultParams params) {
  scenario::Injection inj;
  inj.name = std::move(name);
  inj.into = "api";
  inj.kind = std::move(kind);
  inj.params = std::move(params);
  return inj;
}

// Judges a chaos run of `count` drawn faults of one kind into `api`; `became(i, name, result)`
// records what became of the i-th (from 1).
report::ScenarioResult judge_drawn(
    const std::string& kind, const scenario::FaultParams& params, int count,
    const std::function<void(int, const std::string&, report::ScenarioResult&)>& became) {
  auto s = two_processes();
  report::ScenarioResult r;
  r.processes = {process("api", "exited", 0), process("load", "exited", 0)};
  for (int i = 1; i <= count; ++i) {
    auto inj = injection_into_api("chaos#" + std::to_string(i), kind, params);
    inj.optional = true;
    s.injections.push_back(inj);
    became(i, inj.name, r);
  }
  runner::judge(s, r, nothing_seen);
  return r;
}

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

TEST_CASE("judge: a run still going at its deadline after every process ended fails") {
  // A process that moved itself out of its process's cgroup kept the output open, and the run
  // went on to its timeout; with no process timed out, nothing failed and the run passed.
  auto s = two_processes();
  report::ScenarioResult r;
  r.processes = {process("api", "exited", 0), process("load", "exited", 0)};
  r.timeline.push_back({3000, "timeout", "", "", "scenario timeout 3s reached"});
  runner::judge(s, r, nothing_seen);
  REQUIRE(r.verdict == report::Verdict::fail);
  REQUIRE(r.failures.size() == 1);
  CHECK(r.failures[0].check == "timeout");
  CHECK(r.failures[0].process.empty());
  CHECK(r.reason ==
        "timeout: the run was still going at its timeout 3s after every process had ended (a process outside "
        "their cgroups, or their output held open)");
  // One still waiting on a dependency at the deadline never started: said so, not "ended".
  report::ScenarioResult waiting;
  waiting.processes = {process("api", "exited", 0), process("load", "failed-to-start")};
  waiting.processes[1].start_error = "never started (a dependency was not ready)";
  waiting.timeline = r.timeline;
  runner::judge(s, waiting, nothing_seen);
  REQUIRE(waiting.verdict == report::Verdict::fail);
  const auto run_timeout = std::find_if(waiting.failures.begin(), waiting.failures.end(),
                                        [](const auto& f) { return f.check == "timeout"; });
  REQUIRE(run_timeout != waiting.failures.end());
  CHECK(run_timeout->actual == "`load` never started, every other process had ended");
  CHECK(run_timeout->message.find("after every process had ended") == std::string::npos);
  // A process that carried the timeout is the failure; the run's own is not said twice.
  report::ScenarioResult timed;
  timed.processes = {process("api", "timed-out"), process("load", "exited", 0)};
  timed.timeline = r.timeline;
  runner::judge(s, timed, nothing_seen);
  REQUIRE(timed.failures.size() == 1);
  CHECK(timed.failures[0].process == "api");
  // Without the deadline's event, the same processes pass.
  report::ScenarioResult in_time;
  in_time.processes = r.processes;
  runner::judge(s, in_time, nothing_seen);
  CHECK(in_time.verdict == report::Verdict::pass);
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

namespace {

// `api` runs under two syscall faults: `disk-full` (hit `hit` calls of 10) and `slow` (optional).
scenario::Scenario with_syscall_faults(report::ScenarioResult& r, std::uint64_t hit) {
  auto s = two_processes();
  for (const char* name : {"disk-full", "slow"}) {
    auto inj = injection_into_api(name, "syscall", scenario::SyscallFault{});
    inj.pos.line = 7;
    inj.optional = std::string(name) == "slow";
    s.injections.push_back(inj);
    r.timeline.emplace_back(0.0, "inject.apply", "api", name);
  }
  r.processes = {process("api", "exited", 0), process("load", "exited", 0)};
  r.syscall_faults = {{"disk-full", "api", 10, hit}, {"slow", "api", 0, 0}};
  return s;
}

}  // namespace

TEST_CASE("judge: a syscall fault that hit nothing fails the run unless optional or its count is stated") {
  report::ScenarioResult r;
  auto s = with_syscall_faults(r, 0);
  runner::judge(s, r, nothing_seen);
  CHECK(r.verdict == report::Verdict::fail);
  REQUIRE(r.failures.size() == 1);  // `slow` is optional
  CHECK(r.failures[0].check == "inject.syscall");
  CHECK(r.failures[0].message.find("`disk-full` never fired") != std::string::npos);
  CHECK(r.failures[0].line == 7);
  CHECK(r.failures[0].message.find("libc calls") == std::string::npos);

  // A rule on `open` alone that matched nothing: glibc's open() is an openat call.
  report::ScenarioResult on_open;
  s = with_syscall_faults(on_open, 0);
  on_open.syscall_faults[0].matched = 0;
  std::get<scenario::SyscallFault>(s.injections[0].params).syscalls = {"open", "write"};
  runner::judge(s, on_open, nothing_seen);
  REQUIRE(on_open.failures.size() == 1);
  CHECK(on_open.failures[0].message.ends_with("; libc calls `openat` for open(): list `openat` too"));
  report::ScenarioResult both;
  std::get<scenario::SyscallFault>(s.injections[0].params).syscalls = {"open", "openat"};
  both.processes = on_open.processes;
  both.timeline = on_open.timeline;
  both.syscall_faults = on_open.syscall_faults;
  runner::judge(s, both, nothing_seen);
  REQUIRE(both.failures.size() == 1);
  CHECK(both.failures[0].message.find("libc calls") == std::string::npos);

  // `= 0` stated: the author expects no hit, so the default check gives way.
  report::ScenarioResult stated;
  s = with_syscall_faults(stated, 0);
  scenario::Expect e;
  e.process = "api";
  e.syscall_failures["disk-full"] = scenario::Comparison{scenario::Comparison::Op::eq, 0};
  s.expects.push_back(e);
  runner::judge(s, stated, nothing_seen);
  CHECK(stated.verdict == report::Verdict::pass);
  CHECK(stated.failures.empty());
}

TEST_CASE("judge: syscall_failures compares each fault's hits and names the fault and the count") {
  report::ScenarioResult r;
  auto s = with_syscall_faults(r, 3);
  scenario::Expect e;
  e.process = "api";
  e.syscall_failures["disk-full"] = scenario::Comparison{scenario::Comparison::Op::ge, 5};
  e.syscall_failures["slow"] = scenario::Comparison{scenario::Comparison::Op::eq, 0};
  e.key_pos["syscall_failures.disk-full"] = {12, 3};
  s.expects.push_back(e);
  runner::judge(s, r, nothing_seen);
  CHECK(r.verdict == report::Verdict::fail);
  REQUIRE(r.failures.size() == 1);
  const auto& f = r.failures[0];
  CHECK(f.check == "expect.syscall_failures.disk-full");
  CHECK(f.process == "api");
  CHECK(f.expected == ">=5");
  CHECK(f.actual == "3");
  CHECK(f.line == 12);
  CHECK(f.message ==
        "syscall fault `disk-full` hit 3 call(s) (of 10 matching while it was active), expected >=5");

  // A fault whose process never ran under the filter has no count: it hit nothing.
  report::ScenarioResult never;
  s = with_syscall_faults(never, 3);
  never.syscall_faults.clear();
  e.syscall_failures = {{"disk-full", scenario::Comparison{scenario::Comparison::Op::ge, 1}}};
  s.expects = {e};
  runner::judge(s, never, nothing_seen);
  REQUIRE(never.failures.size() == 1);
  CHECK(never.failures[0].message.find("hit 0 call(s) (its process never ran under the syscall filter)") !=
        std::string::npos);

  report::ScenarioResult met;
  s = with_syscall_faults(met, 3);
  e.syscall_failures = {{"disk-full", scenario::Comparison{scenario::Comparison::Op::ge, 1}}};
  s.expects = {e};
  runner::judge(s, met, nothing_seen);
  CHECK(met.verdict == report::Verdict::pass);
}

namespace {

// Proxy `db`, which accepted 4 connections, with three network faults: `resets` (touched
// `touched` connections), `slow` (optional, touched none) and `cut` (a partition, which closed or
// refused `cut_touched` connections).
scenario::Scenario with_network_faults(report::ScenarioResult& r, std::uint64_t touched,
                                       std::uint64_t cut_touched) {
  auto s = two_processes();
  for (const auto& [name, kind] : {std::pair{"resets", "reset"}, {"slow", "latency"}, {"cut", "down"}}) {
    scenario::Injection inj;
    inj.name = name;
    inj.proxy = "db";
    inj.kind = kind;
    inj.pos.line = 9;
    inj.optional = std::string(name) == "slow";
    inj.params = scenario::NetworkFault{};
    s.injections.push_back(inj);
    r.timeline.emplace_back(0.0, "inject.apply", "", name);
  }
  r.processes = {process("api", "exited", 0), process("load", "exited", 0)};
  report::ProxyResult proxy;
  proxy.name = "db";
  proxy.accepted = 4;
  proxy.toxics_touched = {{"resets", touched}, {"slow", 0}, {"cut", cut_touched}};
  r.proxies.push_back(proxy);
  return s;
}

}  // namespace

TEST_CASE("judge: a network fault that touched no connection fails the run unless optional") {
  report::ScenarioResult r;
  auto s = with_network_faults(r, 0, 1);
  runner::judge(s, r, nothing_seen);
  CHECK(r.verdict == report::Verdict::fail);
  REQUIRE(r.failures.size() == 1);  // `slow` is optional, `cut` refused a connect
  CHECK(r.failures[0].check == "inject.network");
  CHECK(r.failures[0].message.find("`resets` (reset) never fired") != std::string::npos);
  CHECK(r.failures[0].actual == "no connection touched (4 accepted by proxy `db` in the whole run)");
  CHECK(r.failures[0].line == 9);

  report::ScenarioResult touched;
  s = with_network_faults(touched, 2, 1);
  runner::judge(s, touched, nothing_seen);
  CHECK(touched.verdict == report::Verdict::pass);
  CHECK(touched.failures.empty());
}

// The client used the proxy before and after the partition, but no connection was open when it
// came and none was refused while it lasted: the partition tested nothing.
TEST_CASE(
    "judge: a partition that closed nothing and refused no connect fails, whatever the proxy accepted") {
  report::ScenarioResult r;
  auto s = with_network_faults(r, 2, 0);
  runner::judge(s, r, nothing_seen);
  CHECK(r.verdict == report::Verdict::fail);
  REQUIRE(r.failures.size() == 1);
  CHECK(r.failures[0].check == "inject.network");
  CHECK(r.failures[0].message.find("`cut` (down) never fired") != std::string::npos);
  CHECK(r.failures[0].expected == ">=1 connection closed or connect refused");
  CHECK(r.failures[0].actual ==
        "no connection open and no connect refused while it lasted (4 accepted by proxy `db` in the whole "
        "run)");
}

TEST_CASE(
    "judge: where refused connects cannot be seen, a partition needs a client that used the proxy at all") {
  report::ScenarioResult r;
  auto s = with_network_faults(r, 2, 0);
  r.proxies[0].refused_unseen = "socket(SOCK_RAW): Operation not permitted";
  runner::judge(s, r, nothing_seen);
  CHECK(r.verdict == report::Verdict::pass);

  r = report::ScenarioResult{};
  s = with_network_faults(r, 2, 0);
  r.proxies[0].refused_unseen = "socket(SOCK_RAW): Operation not permitted";
  r.proxies[0].accepted = 0;
  runner::judge(s, r, nothing_seen);
  CHECK(r.verdict == report::Verdict::fail);
  REQUIRE(r.failures.size() == 1);
  CHECK(r.failures[0].check == "inject.network");
  CHECK(r.failures[0].actual == "proxy `db` accepted no connection in the whole run");
  CHECK(r.failures[0].message.find("`cut` (down) never fired") != std::string::npos);
}

namespace {

// `api` under one SIGKILL fault at ready+5s, which the run ended before.
scenario::Scenario with_late_signal(report::ScenarioResult& r, bool optional, bool applied) {
  auto s = two_processes();
  scenario::Injection inj;
  inj.name = "kill";
  inj.into = "api";
  inj.kind = "signal";
  inj.at = {"ready", 5s, "ready+5s"};
  inj.optional = optional;
  inj.pos.line = 12;
  scenario::SignalFault kill;
  kill.signal = 9;
  inj.params = kill;
  s.injections.push_back(inj);
  r.processes = {process("api", "exited", 0), process("load", "exited", 0)};
  if (applied)
    r.timeline.emplace_back(5000.0, "inject.apply", "api", "kill", "SIGKILL");
  else
    r.timeline.emplace_back(1000.0, "inject.skip", "api", "kill",
                            "the run ended before ready+5s (`ready+5s`)");
  return s;
}

}  // namespace

TEST_CASE("judge: a hog applied but killed before it held its memory never took effect") {
  for (const bool optional : {false, true}) {
    INFO((optional ? "optional" : "written"));
    report::ScenarioResult r;
    auto s = two_processes();
    scenario::Injection inj;
    inj.name = "neighbour";
    inj.into = "api";
    inj.kind = "hog";
    inj.at = {"ready", 0s, "ready"};
    inj.optional = optional;
    inj.pos.line = 9;
    inj.params = scenario::HogFault{1ull << 30, std::nullopt};
    s.injections.push_back(inj);
    r.processes = {process("api", "exited", 0), process("load", "exited", 0)};
    r.timeline.emplace_back(100.0, "inject.apply", "api", "neighbour",
                            "hog pid 42 started (hog memory 1GiB)");
    r.timeline.emplace_back(2100.0, "inject.revert", "api", "neighbour", "hog pid 42 killed");
    r.timeline.emplace_back(2100.0, "inject.unheld", "api", "neighbour",
                            "hog pid 42 held 557MiB of its 1GiB when it was killed");
    runner::judge(s, r, nothing_seen);
    if (optional) {
      CHECK(r.verdict == report::Verdict::pass);
      continue;
    }
    CHECK(r.verdict == report::Verdict::fail);
    REQUIRE(r.failures.size() == 1);
    CHECK(r.failures[0].check == "inject.applied");
    CHECK(r.failures[0].line == 9);
    CHECK(r.failures[0].actual == "never held: hog pid 42 held 557MiB of its 1GiB when it was killed");
  }
}

TEST_CASE("judge: a fault that was never applied fails the run, unless it is optional") {
  {
    report::ScenarioResult r;
    const auto s = with_late_signal(r, false, false);
    runner::judge(s, r, nothing_seen);
    CHECK(r.verdict == report::Verdict::fail);
    REQUIRE(r.failures.size() == 1);
    CHECK(r.failures[0].check == "inject.applied");
    CHECK(r.failures[0].line == 12);
    CHECK(r.failures[0].message ==
          "signal fault `kill` never took effect (skipped: the run ended before ready+5s (`ready+5s`)), so "
          "the run "
          "says nothing about the target under it (set `optional = true` on the injection if that is fine)");
  }
  {
    report::ScenarioResult r;
    const auto s = with_late_signal(r, true, false);
    runner::judge(s, r, nothing_seen);
    CHECK(r.verdict == report::Verdict::pass);
  }
  {
    report::ScenarioResult r;
    const auto s = with_late_signal(r, false, true);
    runner::judge(s, r, nothing_seen);
    CHECK(r.verdict == report::Verdict::pass);
  }
}

TEST_CASE("judge: a repeated signal that stopped short of its count fails, unless optional") {
  const auto repeated = [](int delivered, bool optional) {
    auto s = two_processes();
    scenario::Injection inj;
    inj.name = "hups";
    inj.into = "api";
    inj.kind = "signal";
    inj.at = {"ready", 1s, "ready+1s"};
    inj.optional = optional;
    inj.pos.line = 7;
    scenario::SignalFault hup;
    hup.signal = 1;
    hup.repeat_every = 1s;
    hup.repeat_count = 3;
    inj.params = hup;
    s.injections.push_back(inj);
    report::ScenarioResult r;
    r.processes = {process("api", "exited", 0), process("load", "exited", 0)};
    for (int i = 1; i <= delivered; ++i)
      r.timeline.emplace_back(1000.0 * i, "inject.apply", "api", "hups", "SIGHUP");
    if (delivered < 3)
      r.timeline.emplace_back(1500.0, "inject.skip", "api", "hups",
                              "`api` exited after " + std::to_string(delivered) + " of 3 repeats");
    runner::judge(s, r, nothing_seen);
    return r;
  };
  const auto short_one = repeated(1, false);
  CHECK(short_one.verdict == report::Verdict::fail);
  REQUIRE(short_one.failures.size() == 1);
  CHECK(short_one.failures[0].check == "inject.applied");
  CHECK(short_one.failures[0].line == 7);
  CHECK(short_one.failures[0].actual == "1 of 3 delivered: `api` exited after 1 of 3 repeats");
  CHECK(repeated(1, true).verdict == report::Verdict::pass);
  CHECK(repeated(3, false).verdict == report::Verdict::pass);
}

TEST_CASE("judge: drawn syscall faults switched on but hitting no call tested nothing") {
  const auto drawn_run = [](std::uint64_t hits) {
    return judge_drawn("syscall", scenario::SyscallFault{}, 2,
                       [hits](int i, const std::string& name, report::ScenarioResult& r) {
                         r.timeline.emplace_back(0.0, "inject.apply", "api", name);
                         r.syscall_faults.push_back({name, "api", 5, i == 2 ? hits : 0});
                       });
  };
  const auto none = drawn_run(0);
  CHECK(none.verdict == report::Verdict::fail);
  REQUIRE(none.failures.size() == 1);
  CHECK(none.failures[0].check == "chaos");
  CHECK(none.failures[0].actual == "none of 2 took effect");
  CHECK(drawn_run(1).verdict == report::Verdict::pass);
}

TEST_CASE("judge: drawn faults may miss one by one, but a run where none was applied fails") {
  const auto drawn_run = [](int applied) {
    return judge_drawn("freeze", scenario::FreezeFault{}, 3,
                       [applied](int i, const std::string& name, report::ScenarioResult& r) {
                         r.timeline.emplace_back(0.0, i <= applied ? "inject.apply" : "inject.skip", "api",
                                                 name);
                       });
  };
  const auto none = drawn_run(0);
  CHECK(none.verdict == report::Verdict::fail);
  REQUIRE(none.failures.size() == 1);
  CHECK(none.failures[0].check == "chaos");
  CHECK(none.failures[0].actual == "none of 3 took effect");
  CHECK(drawn_run(1).verdict == report::Verdict::pass);
}

TEST_CASE("judge: a chaos run whose every draw was left out tested nothing and fails") {
  auto s = two_processes();
  scenario::Chaos chaos;
  chaos.faults = 2;
  chaos.pos.line = 14;
  chaos.left_out = {"chaos#1 (hog ...) left out", "chaos#2 (hog ...) left out"};
  s.chaos = chaos;
  report::ScenarioResult r;
  r.processes = {process("api", "exited", 0), process("load", "exited", 0)};
  runner::judge(s, r, nothing_seen);
  CHECK(r.verdict == report::Verdict::fail);
  REQUIRE(r.failures.size() == 1);
  CHECK(r.failures[0].check == "chaos");
  CHECK(r.failures[0].actual == "all 2 drawn fault(s) left out");
  CHECK(r.failures[0].line == 14);

  // One draw kept and applied: the run tested something.
  report::ScenarioResult kept = judge_drawn("freeze", scenario::FreezeFault{}, 1,
                                            [](int, const std::string& name, report::ScenarioResult& result) {
                                              result.timeline.emplace_back(0.0, "inject.apply", "api", name);
                                            });
  CHECK(kept.verdict == report::Verdict::pass);
}

TEST_CASE("judge: a syscall fault never switched on fails as never applied, once, whatever its count") {
  auto s = two_processes();
  auto inj = injection_into_api("disk-full", "syscall", scenario::SyscallFault{});
  inj.at.text = "ready+10s";
  s.injections.push_back(inj);
  auto& api_expect = expect_for_api(s);
  report::ScenarioResult r;
  r.processes = {process("api", "exited", 0), process("load", "exited", 0)};
  r.syscall_faults = {{"disk-full", "api", 0, 0}};
  r.timeline.emplace_back(5.0, "inject.skip", "api", "disk-full", "the run ended before ready+10s");
  SECTION("no count stated") {}
  SECTION("a count of 0 stated: \"no write failed while the disk was full\" says nothing when it never was") {
    api_expect.syscall_failures.emplace("disk-full", scenario::Comparison{scenario::Comparison::Op::eq, 0});
  }
  runner::judge(s, r, nothing_seen);
  REQUIRE(r.failures.size() == 1);
  CHECK(r.failures[0].check == "inject.applied");
  CHECK(r.failures[0].actual == "skipped: the run ended before ready+10s");
}

TEST_CASE("judge: a syscall fault switched on is judged by the calls it hit") {
  auto s = two_processes();
  s.injections.push_back(injection_into_api("slow-fsync", "syscall", scenario::SyscallFault{}));
  auto& api_expect = expect_for_api(s);
  report::ScenarioResult r;
  r.processes = {process("api", "exited", 0), process("load", "exited", 0)};
  r.syscall_faults = {{"slow-fsync", "api", 3, 0}};
  r.timeline.emplace_back(0.5, "inject.apply", "api", "slow-fsync", "rule on since `api` was spawned");
  SECTION("no count stated: it never fired") {
    runner::judge(s, r, nothing_seen);
    REQUIRE(r.failures.size() == 1);
    CHECK(r.failures[0].check == "inject.syscall");
  }
  SECTION("a count of 0 stated decides") {
    api_expect.syscall_failures.emplace("slow-fsync", scenario::Comparison{scenario::Comparison::Op::eq, 0});
    runner::judge(s, r, nothing_seen);
    CHECK(r.failures.empty());
  }
}

TEST_CASE("judge: a process that never started fails its [[expect]], unless outcome = \"any\"") {
  auto s = two_processes();
  auto& api_expect = expect_for_api(s);
  api_expect.stderr_expect.not_contains = {"error"};
  report::ScenarioResult r;
  auto never = process("api", "failed-to-start");
  never.exit_code = std::nullopt;
  never.start_error = "never started (a dependency was not ready)";
  r.processes = {never, process("load", "exited", 0)};
  SECTION("its checks all hold on nothing: the not starting is the failure") {
    runner::judge(s, r, nothing_seen);
    REQUIRE(r.failures.size() == 1);
    CHECK(r.failures[0].check == "outcome");
    CHECK(r.failures[0].process == "api");
    CHECK(r.verdict == report::Verdict::fail);
  }
  SECTION("outcome = \"any\" allows it") {
    api_expect.outcome = scenario::ExpectedOutcome::any;
    runner::judge(s, r, nothing_seen);
    CHECK(r.failures.empty());
  }
}

TEST_CASE("judge: max_memory fails where the kernel keeps no peak, instead of passing on 0") {
  auto s = two_processes();
  auto& api_expect = expect_for_api(s);
  api_expect.max_memory = 64ull << 20;
  report::ScenarioResult r;
  r.processes = {process("api", "exited", 0), process("load", "exited", 0)};
  r.processes[0].peak_memory_bytes = 0;  // memory.current of the emptied cgroup
  SECTION("known: 0 is within the limit") {
    runner::judge(s, r, nothing_seen);
    CHECK(r.verdict == report::Verdict::pass);
  }
  SECTION("unknown: cannot be checked") {
    r.processes[0].peak_memory_known = false;
    runner::judge(s, r, nothing_seen);
    REQUIRE(r.failures.size() == 1);
    CHECK(r.failures[0].check == "expect.max_memory");
    CHECK(r.failures[0].actual == "unknown");
  }
}

TEST_CASE("judge: oom_kills and pids_max_events fail where the kernel keeps no counter, not pass on 0") {
  // A cgroup without the memory or pids controller (a v2 host that did not delegate it) reads 0
  // from no file at all: `oom_kills = 0` passed without looking.
  auto s = two_processes();
  auto& api_expect = expect_for_api(s);
  api_expect.oom_kills = scenario::Comparison{scenario::Comparison::Op::eq, 0};
  api_expect.pids_max_events = scenario::Comparison{scenario::Comparison::Op::lt, 3};
  report::ScenarioResult r;
  r.processes = {process("api", "exited", 0), process("load", "exited", 0)};
  SECTION("counted: 0 holds") {
    runner::judge(s, r, nothing_seen);
    CHECK(r.verdict == report::Verdict::pass);
  }
  SECTION("not counted: neither can be checked") {
    r.processes[0].oom_kills_known = false;
    r.processes[0].pids_max_events_known = false;
    runner::judge(s, r, nothing_seen);
    REQUIRE(r.failures.size() == 2);
    CHECK(r.failures[0].check == "expect.oom_kills");
    CHECK(r.failures[0].actual == "unknown");
    CHECK(
        r.failures[0].message.starts_with("oom_kills cannot be checked: the process's cgroup has no OOM kill "
                                          "counter on this host"));
    CHECK(r.failures[1].check == "expect.pids_max_events");
    CHECK(r.failures[1].actual == "unknown");
  }
  SECTION("not counted, and not asked about: nothing to say") {
    api_expect.oom_kills.reset();
    api_expect.pids_max_events.reset();
    r.processes[0].oom_kills_known = false;
    runner::judge(s, r, nothing_seen);
    CHECK(r.verdict == report::Verdict::pass);
  }
}

TEST_CASE("judge: a scenario without any [expect] judges each process by an empty table") {
  auto s = two_processes();
  s.processes[1].pos.line = 7;
  report::ScenarioResult r;
  r.processes = {process("api", "exited", 0), process("load", "exited", 1)};
  runner::judge(s, r, nothing_seen);
  // The test command that exited 1 fails the scenario, blamed on its own lines.
  REQUIRE(r.verdict == report::Verdict::fail);
  REQUIRE(r.failures.size() == 1);
  CHECK(r.failures[0].check == "expect.exit_codes");
  CHECK(r.failures[0].process == "load");
  CHECK(r.failures[0].line == 7);

  SECTION("both exited 0: a pass") {
    report::ScenarioResult ok;
    ok.processes = {process("api", "exited", 0), process("load", "exited", 0)};
    runner::judge(s, ok, nothing_seen);
    CHECK(ok.verdict == report::Verdict::pass);
  }
  SECTION("a table for one process leaves the other unjudged, as written") {
    expect_for_api(s);
    report::ScenarioResult judged;
    judged.processes = {process("api", "exited", 0), process("load", "exited", 1)};
    runner::judge(s, judged, nothing_seen);
    CHECK(judged.verdict == report::Verdict::pass);
  }
}
