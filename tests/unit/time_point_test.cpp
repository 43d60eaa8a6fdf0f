// The time grammar, parsed in one place, and the resolver the loader and the timeline share.
#include "scenario/time_point.h"

#include <catch2/catch.hpp>

#include "scenario/time_resolution.h"

using namespace faultline;
using namespace faultline::scenario;
using namespace std::chrono_literals;
using Kind = TimeRef::Kind;

namespace {

TimeRef parsed(const std::string& text) {
  std::string why;
  auto ref = parse_time_point(text, &why);
  INFO(text << ": " << why);
  REQUIRE(ref);
  return *ref;
}

std::string refused(const std::string& text) {
  std::string why;
  auto ref = parse_time_point(text, &why);
  INFO(text);
  REQUIRE_FALSE(ref);
  return why;
}

}  // namespace

TEST_CASE("every anchor form parses into its kind, name and offset", "[time_point]") {
  CHECK(parsed("2s") == TimeRef{Kind::run_start, "", 2s});
  CHECK(parsed("ready") == TimeRef{Kind::all_ready, "", 0s});
  CHECK(parsed("ready+2s") == TimeRef{Kind::all_ready, "", 2s});
  CHECK(parsed("api.ready+1s") == TimeRef{Kind::process_ready, "api", 1s});
  CHECK(parsed("load.exit+2s") == TimeRef{Kind::process_exit, "load", 2s});
  CHECK(parsed("squeeze.start+1s") == TimeRef{Kind::inject_start, "squeeze", 1s});
  CHECK(parsed("squeeze.end") == TimeRef{Kind::inject_end, "squeeze", 0s});
  CHECK(parsed("squeeze.end-300ms") == TimeRef{Kind::inject_end, "squeeze", -300ms});
  // Events come before a `-`: a process may be named `ready-db`.
  CHECK(parsed("ready-db.ready") == TimeRef{Kind::process_ready, "ready-db", 0s});
  CHECK(parsed("ready-db.end-1s") == TimeRef{Kind::inject_end, "ready-db", -1s});
}

TEST_CASE("a parsed time gives back the anchor the model and the runner use", "[time_point]") {
  CHECK(parsed("2s").anchor().empty());
  CHECK(parsed("ready+1s").anchor() == "ready");
  CHECK(parsed("api.ready+1s").anchor() == "api.ready");
  CHECK(parsed("squeeze.end-300ms").anchor() == "squeeze.end");
  CHECK(anchor_of(Kind::process_exit, "load") == "load.exit");
  const TimePoint tp = to_time_point(parsed("squeeze.end-300ms"), "squeeze.end-300ms");
  CHECK(tp.anchor == "squeeze.end");
  CHECK(tp.offset == -300ms);
  CHECK(time_ref(tp) == TimeRef{Kind::inject_end, "squeeze", -300ms});
}

TEST_CASE("a `-` offset is refused anywhere but after an injection's end", "[time_point]") {
  for (const char* text : {"ready-1s", "load.exit-1s", "api.ready-1s", "squeeze.start-1s"})
    CHECK_THAT(refused(text), Catch::Contains("a `-` offset counts back from an injection's end"));
  CHECK_THAT(refused("2"), Catch::EndsWith("(durations need a unit)"));
  CHECK_THAT(refused("a.begin"), Catch::EndsWith("got \"a.begin\""));
  CHECK_THAT(refused(".ready"), Catch::EndsWith("got \".ready\""));
  CHECK_THAT(refused("+2s"), Catch::EndsWith("got \"+2s\""));
}

TEST_CASE("an anchor a model built by code got wrong is told apart from an unknown event", "[time_point]") {
  std::string event;
  CHECK_FALSE(time_ref({"nowhere", 0s, ""}, &event));
  CHECK(event.empty());
  CHECK_FALSE(time_ref({"once.begin", 0s, ""}, &event));
  CHECK(event == "begin");
}

TEST_CASE("the shared resolver reports what went wrong and where", "[time_point]") {
  Scenario s;
  s.processes.resize(1);
  s.processes[0].name = "api";
  Injection a;
  a.name = "a";
  a.at = {"ready", 1s, "ready+1s"};
  a.duration = 2s;
  Injection loop1, loop2;
  loop1.name = "x";
  loop1.at = {"y.start", 0s, "y.start"};
  loop2.name = "y";
  loop2.at = {"x.start", 0s, "x.start"};
  s.injections = {a, loop1, loop2};

  auto r = resolve_time(s, {"a.end", -500ms, "a.end-500ms"});
  REQUIRE(r.time);
  CHECK(*r.time == ResolvedTime{"ready", 2500ms});

  r = resolve_time(s, {"a.end", -3s, "a.end-3s"});
  REQUIRE(r.problem);
  CHECK(r.problem->kind == TimeProblem::Kind::too_early);
  CHECK(r.problem->name == "a");

  r = resolve_time(s, {"x.start", 0s, "x.start"});
  REQUIRE(r.problem);
  CHECK(r.problem->kind == TimeProblem::Kind::cycle);
  CHECK(r.problem->chain == std::vector<std::string>{"x", "y", "x"});

  // The loader checks process names itself, and still wants the time.
  r = resolve_time(s, {"db.ready", 1s, "db.ready+1s"});
  REQUIRE(r.problem);
  CHECK(r.problem->kind == TimeProblem::Kind::unknown_process);
  r = resolve_time(s, {"db.ready", 1s, "db.ready+1s"}, {{}, false});
  REQUIRE(r.time);
  CHECK(*r.time == ResolvedTime{"db.ready", 1s});
}
