// Time resolution of the fault timeline: every time reduced to an anchor plus an offset.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "scenario/loader.h"
#include "timeline/schedule.h"

namespace fs = std::filesystem;
using namespace faultline;
using namespace faultline::scenario;
using namespace std::chrono_literals;
using timeline::Resolved;

namespace {

TimePoint at(std::string anchor, Duration offset, std::string text = {}) {
  return TimePoint{std::move(anchor), offset, std::move(text)};
}

Injection injection(std::string name, TimePoint when, std::optional<Duration> duration = std::nullopt) {
  Injection inj;
  inj.name = std::move(name);
  inj.into = "api";
  inj.kind = "freeze";
  inj.at = std::move(when);
  inj.duration = duration;
  inj.params = FreezeFault{};
  return inj;
}

Scenario two_processes() {
  Scenario s;
  s.name = "t";
  // Built in place: copying two local ProcessSpecs in makes g++ 12 at -O3 report a false
  // -Wmaybe-uninitialized inside std::string (the string is assigned before any read).
  s.processes.resize(2);
  s.processes[0].name = "api";
  s.processes[1].name = "db";
  return s;
}

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("base anchors resolve to themselves", "[timeline]") {
  const Scenario s = two_processes();
  CHECK(timeline::resolve(s, at("", 2s)) == Resolved{"", 2s});
  CHECK(timeline::resolve(s, at("ready", 0s)) == Resolved{"ready", 0s});
  CHECK(timeline::resolve(s, at("ready", 1500ms)) == Resolved{"ready", 1500ms});
  CHECK(timeline::resolve(s, at("db.ready", 1s)) == Resolved{"db.ready", 1s});
}

TEST_CASE("injection references follow the chain to its base anchor", "[timeline]") {
  Scenario s = two_processes();
  s.injections = {injection("squeeze", at("ready", 2s), 3s), injection("later", at("squeeze.start", 1s)),
                  injection("after-end", at("squeeze.end", 500ms), 1s),
                  injection("chained", at("after-end.end", 0s))};
  CHECK(timeline::resolve(s, at("squeeze.start", 1s)) == Resolved{"ready", 3s});
  CHECK(timeline::resolve(s, at("squeeze.end", 0s)) == Resolved{"ready", 5s});
  CHECK(timeline::resolve(s, at("later.start", 0s)) == Resolved{"ready", 3s});
  // ready+2s, +3s duration, +500ms, +1s duration
  CHECK(timeline::resolve(s, at("chained.start", 0s)) == Resolved{"ready", 6500ms});
}

TEST_CASE("a chain can start from one process's readiness or the scenario start", "[timeline]") {
  Scenario s = two_processes();
  s.injections = {injection("a", at("db.ready", 100ms), 200ms), injection("b", at("", 1s), 250ms)};
  CHECK(timeline::resolve(s, at("a.end", 50ms)) == Resolved{"db.ready", 350ms});
  CHECK(timeline::resolve(s, at("b.end", 0s)) == Resolved{"", 1250ms});
}

TEST_CASE("bad references and cycles are errors that name the culprit", "[timeline]") {
  Scenario s = two_processes();
  s.injections = {injection("x", at("y.start", 0s, "y.start")),
                  injection("y", at("x.end", 1s, "x.end+1s"), 1s), injection("once", at("ready", 0s))};
  CHECK(message_of([&] { timeline::resolve(s, at("nope.ready", 0s, "nope.ready")); }) ==
        "time `nope.ready`: no process is named `nope`");
  CHECK(message_of([&] { timeline::resolve(s, at("nope.start", 0s, "nope.start+1s")); }) ==
        "time `nope.start+1s`: no injection is named `nope`");
  CHECK(message_of([&] { timeline::resolve(s, at("once.end", 0s, "once.end")); }) ==
        "time `once.end`: injection `once` has no duration, so it has no end");
  CHECK(message_of([&] { timeline::resolve(s, at("once.begin", 0s, "once.begin")); }) ==
        "time `once.begin`: unknown event `begin` (expected ready, exit, start or end)");
  CHECK(message_of([&] { timeline::resolve(s, at("x.start", 0s)); }) ==
        "injections are timed relative to each other in a cycle: x -> y -> x");
  CHECK(message_of([&] { timeline::plan_injections(s); }) ==
        "injection `x`: injections are timed relative to each other in a cycle: x -> y -> x");
}

TEST_CASE("the plan orders injections by anchor, then offset, and sets ends from durations", "[timeline]") {
  Scenario s = two_processes();
  s.injections = {injection("r2", at("ready", 2s)),     injection("r1", at("ready", 1s), 1s),
                  injection("db1", at("db.ready", 5s)), injection("api1", at("api.ready", 0s)),
                  injection("s3", at("", 3s), 500ms),   injection("dep", at("s3.end", 0s)),
                  injection("r1b", at("r1.start", 0s))};
  const auto plan = timeline::plan_injections(s);
  std::vector<std::string> names;
  for (const auto& p : plan) names.push_back(p.injection->name);
  CHECK(names == std::vector<std::string>{"s3", "dep", "api1", "db1", "r1", "r1b", "r2"});
  REQUIRE(plan[0].end);
  CHECK(*plan[0].end == Resolved{"", 3500ms});
  CHECK(plan[1].start == Resolved{"", 3500ms});
  CHECK_FALSE(plan[1].end);
  CHECK(*plan[4].end == Resolved{"ready", 2s});
}

TEST_CASE("resolved times print as a scenario would write them", "[timeline]") {
  CHECK(timeline::to_string({"", 2s}) == "2s");
  CHECK(timeline::to_string({"ready", 0s}) == "ready");
  CHECK(timeline::to_string({"ready", 1500ms}) == "ready+1.5s");
  CHECK(timeline::to_string({"api.ready", 250ms}) == "api.ready+250ms");
}

TEST_CASE("times from a loaded file resolve as written", "[timeline]") {
  std::string pattern = (fs::temp_directory_path() / "faultline-timeline-XXXXXX").string();
  REQUIRE(::mkdtemp(pattern.data()) != nullptr);
  const fs::path dir = pattern;
  std::ofstream(dir / "s.toml") << R"(
name = "timeline"
[[process]]
name = "api"
command = ["sleep", "10"]
[[inject]]
name = "squeeze"
kind = "memory"
limit = "48MiB"
at = "ready+2s"
duration = "3s"
[[inject]]
name = "burst"
kind = "signal"
signal = "SIGUSR1"
at = "squeeze.start+1s"
[[inject]]
kind = "cpu"
quota = "10%"
at = "squeeze.end+250ms"
)";
  const Scenario s = load_scenario(dir / "s.toml");
  fs::remove_all(dir);
  const auto plan = timeline::plan_injections(s);
  REQUIRE(plan.size() == 3);
  CHECK(plan[0].injection->name == "squeeze");
  CHECK(plan[0].start == Resolved{"ready", 2s});
  CHECK(*plan[0].end == Resolved{"ready", 5s});
  CHECK(plan[1].injection->name == "burst");
  CHECK(plan[1].start == Resolved{"ready", 3s});
  CHECK(plan[2].injection->name == "cpu#3");
  CHECK(plan[2].start == Resolved{"ready", 5250ms});
}

TEST_CASE("sums past the longest timeline are errors, never wrapped to negative times", "[timeline]") {
  Scenario s = two_processes();
  // Each value is in range; their sum is not. Unchecked, 200 years of nanoseconds wrap negative.
  s.injections = {injection("a", at("ready", 5000h, "ready+5000h"), 5000h),
                  injection("b", at("a.end", 1h, "a.end+1h"))};
  CHECK(message_of([&] { timeline::resolve(s, s.injections[1].at); }) ==
        "time `a.end+1h` lies more than 8760h after `ready`, the longest timeline faultline plans");
  CHECK(
      message_of([&] { timeline::plan_injections(s); }) ==
      "injection `a`: time `a.end` lies more than 8760h after `ready`, the longest timeline faultline plans");
  // Programmatic values past the bound (the loader refuses them) are caught the same way.
  s.injections = {injection("a", at("ready", Duration(std::numeric_limits<Duration::rep>::max() - 1)), 2s)};
  CHECK(message_of([&] { timeline::plan_injections(s); }).find("lies more than 8760h after `ready`") !=
        std::string::npos);
  s.injections = {injection("a", at("ready", 4000h), 4000h)};
  const auto plan = timeline::plan_injections(s);
  REQUIRE(plan[0].end);
  CHECK(plan[0].end->offset == 8000h);
}

TEST_CASE("a process's exit is an anchor known only at run time, placed after readiness",
          "[timeline][driver]") {
  Scenario s = two_processes();
  CHECK(timeline::resolve(s, at("db.exit", 0s)) == Resolved{"db.exit", 0s});
  CHECK(timeline::resolve(s, at("api.exit", 1500ms)) == Resolved{"api.exit", 1500ms});
  CHECK(message_of([&] { timeline::resolve(s, at("nope.exit", 0s, "nope.exit")); }) ==
        "time `nope.exit`: no process is named `nope`");

  s.injections = {injection("after-db", at("db.exit", 1s), 2s), injection("at-api", at("api.exit", 0s)),
                  injection("chained", at("after-db.end", 0s)), injection("r", at("ready", 5s)),
                  injection("early", at("api.ready", 0s))};
  CHECK(timeline::resolve(s, at("chained.start", 0s)) == Resolved{"db.exit", 3s});
  const auto plan = timeline::plan_injections(s);
  std::vector<std::string> names;
  for (const auto& p : plan) names.push_back(p.injection->name);
  // Exits come after "ready", each process's in declaration order.
  CHECK(names == std::vector<std::string>{"early", "r", "at-api", "after-db", "chained"});
  CHECK(timeline::exiting_process("db.exit") == "db");
  CHECK_FALSE(timeline::exiting_process("db.ready"));
  CHECK_FALSE(timeline::exiting_process("ready"));
}
