// The signal injector: to the main process only, or to every process in the cgroup.
#include "cgroup/proc_stat.h"
#include "common/proc_status.h"
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

TEST_CASE("signal: a main process that exited but is not reaped yet takes nothing: no effect", "[injector]") {
  // pidfd_send_signal succeeds on a zombie; the fault would be recorded as sent to a process that
  // was gone (the run handles the exit a moment later).
  INJECTOR_TEST_PRECONDITIONS();
  TargetGroup t;
  TargetProcess target(t.group(), {"/bin/sh", "-c", "echo ready; exit 3"});
  REQUIRE(target.wait_for_output("ready"));
  const auto zombie = [&] {
    const auto line = cgroup::read_stat_line(target.pid());
    return line && cgroup::parse_stat_state(*line) == 'Z';
  };
  for (int i = 0; i < 500 && !zombie(); ++i) std::this_thread::sleep_for(10ms);
  REQUIRE(zombie());
  SignalInjector term(scenario::SignalFault{SIGTERM, scenario::SignalFault::To::main, std::nullopt, 1});
  try {
    const std::string sent = term.apply(Target{t.group(), target.pid()});
    FAIL("taken for sent: " + sent);
  } catch (const injectors::NoEffect& e) {
    CHECK(std::string(e.what()) ==
          "pid " + std::to_string(target.pid()) + " had already exited: SIGTERM would reach nobody");
  }
  CHECK(WEXITSTATUS(target.wait()) == 3);
}

TEST_CASE("signal: to all in a cgroup with no process left is no effect, not a signal to 0 processes",
          "[injector]") {
  INJECTOR_TEST_PRECONDITIONS();
  TargetGroup t;
  SignalInjector hup(scenario::SignalFault{SIGHUP, scenario::SignalFault::To::all, std::nullopt, 1});
  try {
    const std::string sent = hup.apply(Target{t.group(), 0});
    FAIL("taken for sent: " + sent);
  } catch (const injectors::NoEffect& e) {
    CHECK(std::string(e.what()).starts_with("SIGHUP reached no process"));
  }
}

TEST_CASE("signal: one sent while the last is still pending merges with it and is no effect", "[injector]") {
  // Frozen, the target cannot take the first: a second would reach it as the same one.
  INJECTOR_TEST_PRECONDITIONS();
  TargetGroup t;
  TargetProcess target(t.group(), payload({"dump-on", "SIGHUP"}));
  REQUIRE(target.wait_for_output("ready"));
  t.group().freeze();
  SignalInjector main_hup(
      scenario::SignalFault{SIGHUP, scenario::SignalFault::To::main, std::chrono::milliseconds(100), 3});
  CHECK(main_hup.apply(Target{t.group(), target.pid()}) == "SIGHUP to pid " + std::to_string(target.pid()));
  const std::string pending_for =
      "SIGHUP was still pending for pid " + std::to_string(target.pid()) + ", not taken within 50ms";
  try {
    main_hup.apply(Target{t.group(), target.pid()});
    FAIL("a second SIGHUP was taken for a delivery");
  } catch (const injectors::NoEffect& e) {
    CHECK(std::string(e.what()).starts_with(pending_for));
  }
  SignalInjector all_hup(
      scenario::SignalFault{SIGHUP, scenario::SignalFault::To::all, std::chrono::milliseconds(100), 3});
  CHECK_THROWS_AS(all_hup.apply(Target{t.group(), target.pid()}), injectors::NoEffect);
  t.group().thaw();
  REQUIRE(target.wait_for_output("dump: SIGHUP"));
  // Taken now, so the next one is a delivery again; the target got one of the three sent so far.
  const auto delivered_again = [&] {
    for (int i = 0; i < 200 && process_signal_pending(target.pid(), SIGHUP); ++i)
      std::this_thread::sleep_for(10ms);
    return main_hup.apply(Target{t.group(), target.pid()});
  };
  CHECK(delivered_again() == "SIGHUP to pid " + std::to_string(target.pid()));
  REQUIRE(target.wait_for_output("dump: SIGHUP\ndump: SIGHUP"));
  std::this_thread::sleep_for(200ms);
  const std::string out = target.output();
  std::size_t dumps = 0;
  for (auto at = out.find("dump: SIGHUP"); at != std::string::npos; at = out.find("dump: SIGHUP", at + 1))
    ++dumps;
  CHECK(dumps == 2);
}
