// Numeric expectations with comparisons, `-` time offsets, and one failure per cause.
#include <signal.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "reports/json_reader.h"
#include "reports/json_writer.h"
#include "runner/expectations.h"
#include "scenario/loader.h"
#include "tests/support/scenario_text.h"
#include "timeline/schedule.h"

namespace fs = std::filesystem;
using namespace faultline;
using namespace faultline::scenario;
using namespace std::chrono_literals;
using Op = Comparison::Op;

namespace {

using faultline::test::errors_of;
using faultline::test::kTarget;

report::ProcessResult oom_killed() {
  report::ProcessResult r;
  r.name = "target";
  r.outcome = "oom-killed";
  r.signal = 9;
  r.oom_kills = 1;
  return r;
}

}  // namespace

TEST_CASE("comparisons parse every operator and refuse the rest", "[checks]") {
  std::string why;
  CHECK(parse_comparison("==2", true, &why) == Comparison{Op::eq, 2});
  CHECK(parse_comparison(">=1", true, &why) == Comparison{Op::ge, 1});
  CHECK(parse_comparison("<=3", true, &why) == Comparison{Op::le, 3});
  CHECK(parse_comparison(">0", true, &why) == Comparison{Op::gt, 0});
  CHECK(parse_comparison("<5", true, &why) == Comparison{Op::lt, 5});
  CHECK(parse_comparison(">=0.95", false, &why) == Comparison{Op::ge, 0.95});
  for (const char* bad : {"1", "=1", ">= 1", ">=-1", ">=", ">=1e3", ">=0x10", "!=1", ">=1.", ">=.5", "=>1"}) {
    INFO(bad);
    CHECK_FALSE(parse_comparison(bad, true, &why));
  }
  CHECK_FALSE(parse_comparison(">=1.5", true, &why));
  CHECK(why == "this counts events, so the number must be whole");
}

TEST_CASE("comparisons hold at their boundaries", "[checks]") {
  CHECK(Comparison{Op::ge, 1}.holds(1));
  CHECK_FALSE(Comparison{Op::ge, 1}.holds(0));
  CHECK(Comparison{Op::gt, 1}.holds(2));
  CHECK_FALSE(Comparison{Op::gt, 1}.holds(1));
  CHECK(Comparison{Op::le, 3}.holds(3));
  CHECK_FALSE(Comparison{Op::le, 3}.holds(4));
  CHECK(Comparison{Op::lt, 3}.holds(2));
  CHECK_FALSE(Comparison{Op::lt, 3}.holds(3));
  CHECK(Comparison{Op::eq, 2}.holds(2));
  CHECK_FALSE(Comparison{Op::eq, 2}.holds(3));
  CHECK(to_string(Comparison{Op::ge, 149}) == ">=149");
  CHECK(to_string(Comparison{Op::eq, 2}) == "2");
}

TEST_CASE("oom_kills takes an integer or a comparison, with positioned errors", "[checks][loader]") {
  CHECK(errors_of(kTarget + "[expect]\noom_kills = \">=1\"\n").empty());
  CHECK(errors_of(kTarget + "[expect]\noom_kills = 3\n").empty());
  CHECK(errors_of(kTarget + "[expect]\noom_kills = \"at least 1\"\n") ==
        "s.toml:5:13: expect.oom_kills: expected a count such as 2, or a comparison such as \">=1\", "
        "\"<=3\", \">0\", \"<5\" or \"==2\", got \"at least 1\" (starts with no comparison; write one of ==, "
        ">=, <=, >, < then a number); for example oom_kills = \">=1\" (at least one) or oom_kills = 2 "
        "(exactly two)\n"
        "   5 | oom_kills = \"at least 1\"\n"
        "     |             ^");
  CHECK(errors_of(kTarget + "[expect]\noom_kills = -1\n").starts_with("s.toml:5:13: expect.oom_kills:"));
  CHECK(errors_of(kTarget + "[expect]\noom_kills = \">=1.5\"\n").find("must be whole") != std::string::npos);
  // Every count takes the same syntax and the same message, naming its own key.
  CHECK(
      errors_of(kTarget + "[expect]\npids_max_events = \">= 1\"\n") ==
      "s.toml:5:19: expect.pids_max_events: expected a count such as 2, or a comparison such as \">=1\", "
      "\"<=3\", \">0\", \"<5\" or \"==2\", got \">= 1\" (the part after `>=` must be a whole number such as "
      "1); for example pids_max_events = \">=1\" (at least one) or pids_max_events = 2 (exactly two)\n"
      "   5 | pids_max_events = \">= 1\"\n"
      "     |                   ^");
}

TEST_CASE("oom_kills comparisons are evaluated and name the count", "[checks]") {
  Expect e;
  e.process = "target";
  e.oom_kills = Comparison{Op::ge, 1};
  auto r = oom_killed();
  r.oom_kills = 73;
  CHECK(runner::evaluate(e, r).empty());
  e.oom_kills = Comparison{Op::ge, 2};
  r.oom_kills = 1;
  const auto failures = runner::evaluate(e, r);
  REQUIRE(failures.size() == 1);
  CHECK(failures[0].message == "oom_kills 1, expected >=2");
  CHECK(failures[0].expected == ">=2");
  CHECK(failures[0].actual == "1");

  // The case an exact count cannot write: at least one kill, and none came.
  e.oom_kills = Comparison{Op::ge, 1};
  r.outcome = "exited";
  r.signal.reset();
  r.exit_code = 0;
  r.oom_kills = 0;
  const auto none = runner::evaluate(e, r);
  REQUIRE(none.size() == 1);
  CHECK(none[0].check == "expect.oom_kills");
  CHECK(none[0].message == "oom_kills 0, expected >=1");

  // Forks refused by pids.max: the same comparison, the same message.
  e.oom_kills.reset();
  e.pids_max_events = Comparison{Op::lt, 3};
  r.pids_max_events = 2;
  CHECK(runner::evaluate(e, r).empty());
  r.pids_max_events = 3;
  const auto refused = runner::evaluate(e, r);
  REQUIRE(refused.size() == 1);
  CHECK(refused[0].check == "expect.pids_max_events");
  CHECK(refused[0].message == "pids_max_events 3, expected <3");
}

TEST_CASE("`<inject>.end-D` counts back from the end, never before the start", "[checks][timeline]") {
  const std::string inj =
      "[[inject]]\nname = \"sq\"\nkind = \"freeze\"\nat = \"ready+1s\"\nduration = \"2s\"\n";
  CHECK(errors_of(kTarget + inj +
                  "[[probe]]\ntcp = \"h:1\"\nduring = { from = \"sq.start\", to = \"sq.end-300ms\" }\n")
            .empty());
  CHECK(
      errors_of(kTarget + inj +
                "[[probe]]\ntcp = \"h:1\"\nduring = { from = \"sq.start\", to = \"sq.end-3s\" }\n") ==
      "s.toml:11:36: probe.during.to: \"sq.end-3s\" comes before `sq.start`: it counts back 3s from the end "
      "of an injection that lasts less than that; a `-` offset may count back at most the injection's "
      "`duration`\n"
      "   11 | during = { from = \"sq.start\", to = \"sq.end-3s\" }\n"
      "      |                                    ^");
  for (const char* bad : {"ready-1s", "target.ready-1s", "sq.start-1s", "target.exit-1s"}) {
    INFO(bad);
    CHECK(errors_of(kTarget + inj + "[[inject]]\nname = \"b\"\nkind = \"freeze\"\nat = \"" + bad + "\"\n")
              .find("a `-` offset counts back from an injection's end") != std::string::npos);
  }
  // `stop` counts forward only, with the whole message positioned at the value.
  CHECK(
      errors_of("name = \"x\"\nstop = \"target.exit-1s\"\n[target]\ncommand = [\"true\"]\n") ==
      "s.toml:2:8: stop: expected a time such as \"2s\", \"ready+2s\", \"api.ready+1s\" or \"squeeze.end\", "
      "got \"target.exit-1s\" (a `-` offset counts back from an "
      "injection's end, as in \"squeeze.end-300ms\"; other anchors take `+` offsets only)\n"
      "   2 | stop = \"target.exit-1s\"\n"
      "     |        ^");
  // A process may be named `ready-db`: "ready-db.ready" is its readiness, not "ready" minus "db.ready".
  CHECK(
      errors_of("name = \"x\"\n[[process]]\nname = \"ready-db\"\ncommand = [\"true\"]\n"
                "[[inject]]\ninto = \"ready-db\"\nkind = \"freeze\"\nat = \"ready-db.ready+1s\"\n"
                "[[probe]]\ntcp = \"h:1\"\nduring = { from = \"ready-db.ready\", to = \"ready-db.exit\" }\n")
          .empty());
  CHECK(errors_of(kTarget + inj + "[[inject]]\nname = \"b\"\nkind = \"freeze\"\nat = \"sq.end-x\"\n")
            .find("the part after `-` must be a duration") != std::string::npos);

  Scenario s;
  s.processes.resize(1);
  s.processes[0].name = "api";
  Injection sq;
  sq.name = "sq";
  sq.into = "api";
  sq.kind = "freeze";
  sq.at = TimePoint{"ready", 1s, "ready+1s"};
  sq.duration = 2s;
  sq.params = FreezeFault{};
  s.injections.push_back(sq);
  CHECK(timeline::resolve(s, TimePoint{"sq.end", -300ms, "sq.end-300ms"}) ==
        timeline::Resolved{"ready", 2700ms});
  CHECK(timeline::resolve(s, TimePoint{"sq.end", -2s, "sq.end-2s"}) == timeline::Resolved{"ready", 1s});
  CHECK_THROWS(timeline::resolve(s, TimePoint{"sq.end", -2001ms, "sq.end-2001ms"}));
  CHECK_THROWS(timeline::resolve(s, TimePoint{"sq.start", -1ms, "sq.start-1ms"}));
}

TEST_CASE("an OOM kill is one failure with its consequences", "[checks][report]") {
  Expect e;
  e.process = "target";
  e.outcome = ExpectedOutcome::exited;
  e.exit_codes = std::vector<int>{0};
  e.stdout_expect.contains = {"done"};
  const auto r = oom_killed();
  auto failures = runner::evaluate(e, r);
  REQUIRE(failures.size() == 3);
  runner::fold_consequences(failures, {r}, {e});
  REQUIRE(failures.size() == 1);
  CHECK(failures[0].check == "expect.outcome");
  REQUIRE(failures[0].consequences.size() == 2);
  CHECK(failures[0].consequences[0] == "exit_codes: no exit code (oom-killed), expected one in [0]");
  CHECK(failures[0].consequences[1].starts_with("stdout.contains: stdout never contained \"done\""));
  CHECK(failures[0].consequences[1] == "stdout.contains: stdout never contained \"done\": stdout (empty)");

  // Without an outcome expectation the cause is named for it.
  Expect no_outcome = e;
  no_outcome.outcome.reset();
  failures = runner::evaluate(no_outcome, r);
  runner::fold_consequences(failures, {r}, {no_outcome});
  REQUIRE(failures.size() == 1);
  CHECK(failures[0].check == "outcome");
  CHECK(failures[0].message == "the process ended oom-killed");
  CHECK(failures[0].expected == "not oom-killed (no `outcome` key allows it)");

  // A process that never started: only `outcome = "any"` allows that, so the hint names it.
  report::ProcessResult unstarted;
  unstarted.name = "target";
  unstarted.outcome = "failed-to-start";
  unstarted.start_error = "exec ./x: No such file or directory";
  failures = runner::evaluate(no_outcome, unstarted);
  runner::fold_consequences(failures, {unstarted}, {no_outcome});
  REQUIRE(failures.size() == 1);
  CHECK(failures[0].expected == "a started process (only `outcome = \"any\"` allows none)");
  CHECK(failures[0].consequences.size() == 2);

  // An OOM kill the author asked for is no cause: the rest stands alone.
  Expect wanted = e;
  wanted.outcome = ExpectedOutcome::oom_killed;
  failures = runner::evaluate(wanted, r);
  runner::fold_consequences(failures, {r}, {wanted});
  CHECK(failures.size() == 2);

  // Two causes: each leads its own process's failures, in process order, before the rest.
  auto db = oom_killed();
  db.name = "db";
  report::ProcessResult web;
  web.name = "web";
  web.outcome = "exited";
  web.exit_code = 1;
  Expect on_db = e, on_web;
  on_db.process = "db";
  on_web.process = "web";
  on_web.exit_codes = std::vector<int>{0};
  failures = runner::evaluate(on_web, web);
  for (const auto* pair : {&e, &on_db})
    for (auto& f : runner::evaluate(*pair, pair == &e ? r : db)) failures.push_back(std::move(f));
  runner::fold_consequences(failures, {r, db, web}, {e, on_db, on_web});
  REQUIRE(failures.size() == 3);
  CHECK(failures[0].process == "target");
  CHECK(failures[0].consequences.size() == 2);
  CHECK(failures[1].process == "db");
  CHECK(failures[1].consequences.size() == 2);
  CHECK(failures[2].process == "web");
  CHECK(failures[2].check == "expect.exit_codes");
  CHECK(failures[2].consequences.empty());

  // The consequences survive the JSON report.
  report::RunReport rep;
  report::ScenarioResult sr;
  sr.name = "x";
  sr.verdict = report::Verdict::fail;
  sr.failures = runner::evaluate(e, r);
  runner::fold_consequences(sr.failures, {r}, {e});
  rep.scenarios.push_back(sr);
  const auto back = report::parse_json_report(report::to_json(rep), "test");
  REQUIRE(back.scenarios.size() == 1);
  REQUIRE(back.scenarios[0].failures.size() == 1);
  CHECK(back.scenarios[0].failures[0].consequences == sr.failures[0].consequences);
}

TEST_CASE("an OOM kill or a crash fails a table without `outcome` even when none of its keys broke",
          "[checks]") {
  Expect only_orphans;
  only_orphans.process = "target";
  only_orphans.no_orphans = true;
  report::ProcessResult segv;
  segv.name = "target";
  segv.outcome = "signaled";
  segv.signal = SIGSEGV;
  for (const auto& r : {oom_killed(), segv}) {
    INFO(r.outcome);
    auto failures = runner::evaluate(only_orphans, r);
    // no_orphans itself held; a death by a signal faultline did not send breaks the default exit
    // code, which folds under the crash.
    CHECK(failures.size() == (r.outcome == "signaled" ? 1u : 0u));
    runner::fold_consequences(failures, {r}, {only_orphans});
    REQUIRE(failures.size() == 1);
    CHECK(failures[0].check == "outcome");
    CHECK(failures[0].process == "target");
  }
  auto failures = runner::evaluate(only_orphans, segv);
  runner::fold_consequences(failures, {segv}, {only_orphans});
  REQUIRE(failures.size() == 1);
  CHECK(failures[0].expected == "no crash (no `outcome` key allows a death by SIGSEGV)");
  CHECK(failures[0].message == "the process ended signaled(SIGSEGV)");
  CHECK(failures[0].consequences.size() == 1);

  SECTION("a crash signal faultline sent (a signal fault, the stop signal) is no crash") {
    failures = runner::evaluate(only_orphans, segv, {}, {}, {SIGTERM, SIGSEGV});
    runner::fold_consequences(failures, {segv}, {only_orphans}, {{"target", {SIGTERM, SIGSEGV}}});
    CHECK(failures.empty());
  }
  SECTION("the stop phase's SIGTERM is no crash") {
    report::ProcessResult term = segv;
    term.signal = SIGTERM;
    failures = runner::evaluate(only_orphans, term, {}, {}, {SIGTERM});
    runner::fold_consequences(failures, {term}, {only_orphans}, {{"target", {SIGTERM}}});
    CHECK(failures.empty());
  }
  SECTION("outcome = \"signaled\" allows it") {
    Expect signaled = only_orphans;
    signaled.outcome = ExpectedOutcome::signaled;
    failures = runner::evaluate(signaled, segv);
    runner::fold_consequences(failures, {segv}, {signaled});
    CHECK(failures.empty());
  }
  SECTION("an oom_kills count that 0 does not meet asks for the OOM kill") {
    Expect counted = only_orphans;
    counted.oom_kills = Comparison{Op::ge, 1};
    failures = runner::evaluate(counted, oom_killed());
    runner::fold_consequences(failures, {oom_killed()}, {counted});
    CHECK(failures.empty());
    counted.oom_kills = Comparison{Op::le, 3};  // 0 meets it: no OOM kill asked for
    failures = runner::evaluate(counted, oom_killed());
    runner::fold_consequences(failures, {oom_killed()}, {counted});
    CHECK(failures.size() == 1);
  }
  SECTION("a process without a table is judged by the others' claims") {
    failures = {};
    report::ProcessResult other = segv;
    other.name = "helper";
    runner::fold_consequences(failures, {other, oom_killed()}, {only_orphans});
    REQUIRE(failures.size() == 1);
    CHECK(failures[0].process == "target");
  }
}

TEST_CASE("signals_sent lists the stop signals and signal faults the timeline sent, not those it only names",
          "[checks]") {
  Scenario s;
  ProcessSpec api;
  api.name = "api";
  api.stop_signal = SIGINT;
  s.processes.push_back(api);
  Injection abort_api;
  abort_api.name = "abort";
  abort_api.into = "api";
  abort_api.kind = "signal";
  SignalFault abort;
  abort.signal = SIGABRT;
  abort_api.params = abort;
  s.injections.push_back(abort_api);
  CHECK(runner::signals_sent(s, {}).empty());  // a fault skipped, no stop phase: nothing was sent
  std::vector<report::TimelineEvent> timeline;
  timeline.emplace_back(100.0, "inject.skip", "api", "abort");
  timeline.emplace_back(150.0, "process.exit", "api", "", "killed by SIGABRT");
  CHECK(runner::signals_sent(s, timeline).empty());
  timeline.emplace_back(200.0, "inject.apply", "api", "abort");
  timeline.emplace_back(300.0, "stop.signal", "api", "", "SIGINT");
  const auto sent = runner::signals_sent(s, timeline);
  REQUIRE(sent.count("api"));
  CHECK(sent.at("api") == std::set<int>{SIGINT, SIGABRT});
}

TEST_CASE("a probe's pass_ratio takes the comparison syntax with a fraction", "[checks][loader][probe]") {
  const std::string probe = kTarget + "[[probe]]\ntcp = \"127.0.0.1:1\"\nduring = { from = \"0s\" }\n";
  CHECK(errors_of(probe + "pass_ratio = \">=0.7\"\n").empty());
  CHECK(errors_of(probe + "pass_ratio = \"<=0.1\"\n").empty());
  CHECK(errors_of(probe + "pass_ratio = 1\n").empty());
  CHECK(errors_of(probe + "min_pass_ratio = 0.7\n").empty());
  CHECK(
      errors_of(probe + "pass_ratio = \">=1.5\"\n") ==
      "s.toml:7:14: probe.pass_ratio: expected a comparison such as \">=0.7\", \"<=0.1\" or \"==1\", or a "
      "number from 0 to 1 (exactly that), got \">=1.5\" (a ratio goes from 0 to 1); for example pass_ratio = "
      "\">=0.7\" (at least 70% of the attempts)\n"
      "   7 | pass_ratio = \">=1.5\"\n"
      "     |              ^");
  CHECK(errors_of(probe + "pass_ratio = \"0.7\"\n").find("starts with no comparison") != std::string::npos);
  CHECK(errors_of(probe + "pass_ratio = 2\n").find("a ratio goes from 0 to 1") != std::string::npos);
  // One probe, one bound: the older spelling and the comparison together are refused.
  CHECK(errors_of(probe + "pass_ratio = \">=0.7\"\nmin_pass_ratio = 0.5\n")
            .find("`pass_ratio` and `min_pass_ratio` cannot both be given") != std::string::npos);
}

TEST_CASE("ratio bounds judge the share of attempts exactly", "[checks][probe]") {
  // The quotient and the written bound round to the same double when they are the same number.
  CHECK(Comparison{Op::ge, 0.7}.holds_for_share(7, 10));
  CHECK(Comparison{Op::le, 0.3}.holds_for_share(3, 10));
  CHECK(Comparison{Op::eq, 0.3}.holds_for_share(3, 10));
  CHECK(Comparison{Op::eq, 0.25}.holds_for_share(1, 4));
  CHECK_FALSE(Comparison{Op::gt, 0.3}.holds_for_share(3, 10));
  CHECK_FALSE(Comparison{Op::ge, 0.7}.holds_for_share(6, 10));
  CHECK_FALSE(Comparison{Op::lt, 0.5}.holds_for_share(1, 2));
  CHECK(Comparison{Op::lt, 0.5}.holds_for_share(2, 5));
  // A bound near 0 or 1 is not rounded onto it: none of 8 is not "at least one in ten billion",
  // and all of 10 is not "at most 0.99999999999".
  CHECK_FALSE(Comparison{Op::ge, 0.0000000001}.holds_for_share(0, 8));
  CHECK_FALSE(Comparison{Op::le, 0.99999999999}.holds_for_share(10, 10));
  CHECK(Comparison{Op::le, 0.99999999999}.holds_for_share(9, 10));
}

TEST_CASE("a ratio bound that no share meets is refused", "[checks][loader][probe]") {
  const std::string probe = kTarget + "[[probe]]\ntcp = \"127.0.0.1:1\"\nduring = { from = \"0s\" }\n";
  for (const char* bound : {">1", ">1.0", "<0"}) {
    INFO(bound);
    CHECK(errors_of(probe + "pass_ratio = \"" + bound + "\"\n").find("holds for no ratio from 0 to 1") !=
          std::string::npos);
  }
  CHECK(errors_of(probe + "pass_ratio = \">0.99\"\n").empty());
  CHECK(errors_of(probe + "pass_ratio = \"<0.01\"\n").empty());
}
