// The signal injector: to the main process only, or to every process in the cgroup.
#include "injectors/signal_injector.h"
#include "tests/integration/injector_test_support.h"

using namespace faultline;
using namespace faultline::test;
using injectors::SignalInjector;
using injectors::Target;

TEST_CASE("signal: to main reaches the main process only", "[injector]") {
  INJECTOR_TEST_PRECONDITIONS();
  TargetGroup t;
  TargetProcess target(
      t.group(), {"/bin/sh", "-c", "trap 'echo got USR1' USR1; echo ready; while :; do sleep 0.01; done"});
  REQUIRE(target.wait_for_output("ready"));
  SignalInjector usr1(scenario::SignalFault{SIGUSR1, scenario::SignalFault::To::main, std::nullopt, 1});
  CHECK_FALSE(usr1.revertible());
  CHECK(usr1.describe() == "SIGUSR1 to main");
  CHECK(usr1.apply(Target{t.group(), target.pid()}) == "SIGUSR1 to pid " + std::to_string(target.pid()));
  REQUIRE(target.wait_for_output("got USR1"));
  CHECK_FALSE(target.ended_within(100ms));
}

TEST_CASE("signal: to all reaches every process in the cgroup", "[injector]") {
  INJECTOR_TEST_PRECONDITIONS();
  TargetGroup t;
  TargetProcess target(t.group(), payload({"fork", "3", "--hold", "30s"}));
  REQUIRE(target.wait_for_output("forked 3 of 3"));
  SignalInjector term(
      scenario::SignalFault{SIGTERM, scenario::SignalFault::To::all, std::chrono::seconds(1), 3});
  CHECK(term.describe() == "SIGTERM to all, 3 times every 1s");
  CHECK(term.apply(Target{t.group(), target.pid()}) == "SIGTERM to 4 process(es)");
  REQUIRE(target.ended_within(2000ms));
  CHECK(WIFSIGNALED(target.wait()));
  CHECK(t.group().wait_until_empty(std::chrono::seconds(2)));
}

TEST_CASE("signal: a main process that is gone is an error naming it", "[injector]") {
  INJECTOR_TEST_PRECONDITIONS();
  TargetGroup t;
  SignalInjector term(scenario::SignalFault{SIGTERM, scenario::SignalFault::To::main, std::nullopt, 1});
  try {
    term.apply(Target{t.group(), 0});
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(std::string(e.what()) == "no main process to send SIGTERM to");
  }
}
