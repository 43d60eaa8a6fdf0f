// The pids injector: pids.max lowered at runtime stops forks, revert restores it.
#include "injectors/pids_injector.h"
#include "tests/integration/injector_test_support.h"

using namespace faultline;
using namespace faultline::test;
using injectors::PidsInjector;
using injectors::Target;

TEST_CASE("pids: a runtime pids.max stops forks and revert restores max", "[injector]") {
  INJECTOR_TEST_PRECONDITIONS();
  TargetGroup t;
  TargetProcess target(t.group(), payload_after("0.5", "fork 8 --hold 2s"));
  PidsInjector pids(scenario::PidsFault{3});
  CHECK(pids.describe() == "pids.max 3");
  CHECK(pids.apply(Target{t.group(), target.pid()}) == "pids.max max -> 3");
  REQUIRE(target.wait_for_output("fork failed"));
  const std::string out = target.output();
  INFO(out);
  CHECK(out.find("forked 2 of 8") != std::string::npos);
  CHECK(out.find("fork failed: Resource temporarily unavailable") != std::string::npos);
  CHECK(t.group().stats().pids_max_events >= 1);
  CHECK(pids.revert(Target{t.group(), target.pid()}) == "pids.max 3 -> max");
  CHECK(t.group().pids_max() == kUnlimited);
}

TEST_CASE("pids: a limit at or above the one in force is no fault, and never loosens it", "[injector]") {
  INJECTOR_TEST_PRECONDITIONS();
  TargetGroup t;
  TargetProcess target(t.group(), payload({"sleep", "10s"}));
  const Target where{t.group(), target.pid()};
  t.group().set_pids_max(4);
  for (std::uint64_t limit : {64, 4}) {
    INFO("limit " << limit);
    PidsInjector looser(scenario::PidsFault{limit});
    CHECK_THROWS_AS(looser.apply(where), injectors::NoEffect);
    CHECK(t.group().pids_max() == 4);
  }
  PidsInjector tighter(scenario::PidsFault{2});
  CHECK(tighter.apply(where) == "pids.max 4 -> 2");
  CHECK(tighter.revert(where) == "pids.max 2 -> 4");
}
