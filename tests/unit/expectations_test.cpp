#include "runner/expectations.h"

#include <signal.h>

#include <catch2/catch.hpp>

#include "common/units.h"

using namespace faultline;
using faultline::report::ProcessResult;
using faultline::scenario::Expect;
using faultline::scenario::ExpectedOutcome;

namespace {

ProcessResult exited(int code) {
  ProcessResult r;
  r.name = "api";
  r.outcome = "exited";
  r.exit_code = code;
  return r;
}

}  // namespace

TEST_CASE("a met expectation yields no failure") {
  Expect e;
  e.process = "api";
  e.outcome = ExpectedOutcome::exited;
  e.exit_codes = std::vector<int>{0, 3};
  CHECK(runner::evaluate(e, exited(3)).empty());
}

TEST_CASE("an outcome mismatch says expected and actual, at the key's line") {
  Expect e;
  e.outcome = ExpectedOutcome::oom_killed;
  e.key_pos["outcome"] = {7, 1};
  auto r = exited(1);
  const auto failures = runner::evaluate(e, r);
  REQUIRE(failures.size() == 1);
  CHECK(failures[0].check == "expect.outcome");
  CHECK(failures[0].process == "api");
  CHECK(failures[0].expected == "oom-killed");
  CHECK(failures[0].actual == "exited(1)");
  CHECK(failures[0].message == "expected the process to end oom-killed, it ended exited(1)");
  CHECK(failures[0].line == 7);
}

TEST_CASE("exit_codes fail for a signaled process") {
  Expect e;
  e.exit_codes = std::vector<int>{0};
  ProcessResult r;
  r.name = "api";
  r.outcome = "signaled";
  r.signal = 15;
  const auto failures = runner::evaluate(e, r);
  REQUIRE(failures.size() == 1);
  CHECK(failures[0].expected == "exit code in [0]");
  CHECK(failures[0].actual == "signaled(SIGTERM)");
}

TEST_CASE("graceful compares the stop phase, and explains when none ran") {
  Expect e;
  e.graceful = true;
  auto r = exited(0);
  auto none = runner::evaluate(e, r);
  REQUIRE(none.size() == 1);
  CHECK(none[0].actual == "no stop phase ran (exited(0))");
  r.outcome = "killed-after-grace";
  r.exit_code.reset();
  r.signal = 9;
  r.graceful = false;
  auto killed = runner::evaluate(e, r);
  REQUIRE(killed.size() == 1);
  CHECK(killed[0].message ==
        "the process did not shut down gracefully: still running when the grace period ended, so it was "
        "killed");
  CHECK(killed[0].actual == "killed-after-grace(SIGKILL)");
  e.graceful = false;
  CHECK(runner::evaluate(e, r).empty());
  // Never asked to stop, it showed no stop behaviour at all: `false` is as untested as `true`.
  auto untested = runner::evaluate(e, exited(0));
  REQUIRE(untested.size() == 1);
  CHECK(untested[0].expected == "not stopping by itself in time");
  CHECK(untested[0].actual == "no stop phase ran (exited(0))");
}

TEST_CASE("a stop phase that was not graceful names the exit code or the signal that made it so") {
  Expect e;
  e.graceful = true;
  auto r = exited(3);
  r.graceful = false;
  auto by_default = runner::evaluate(e, r);
  REQUIRE(by_default.size() == 1);
  CHECK(by_default[0].message ==
        "the process did not shut down gracefully: it exited with code 3, not in [0] (the default without "
        "exit_codes)");
  e.exit_codes = std::vector<int>{0, 2};
  auto listed = runner::evaluate(e, r);
  REQUIRE(listed.size() == 2);  // exit_codes fails on its own as well
  CHECK(listed[1].message ==
        "the process did not shut down gracefully: it exited with code 3, not in [0, 2] (exit_codes)");
  r.outcome = "signaled";
  r.exit_code.reset();
  r.signal = 15;
  auto signaled = runner::evaluate(e, r);
  REQUIRE(signaled.size() == 2);
  CHECK(signaled[1].message ==
        "the process did not shut down gracefully: it ended signaled(SIGTERM) instead of exiting by itself");
}

TEST_CASE("without exit_codes, a process must exit 0") {
  Expect e;
  e.pos = {4, 1};
  CHECK(runner::evaluate(e, exited(0)).empty());
  const auto failed = runner::evaluate(e, exited(1));
  REQUIRE(failed.size() == 1);
  CHECK(failed[0].check == "expect.exit_codes");
  CHECK(failed[0].expected == "exit code 0 (the default without exit_codes)");
  CHECK(failed[0].actual == "exited(1)");
  CHECK(failed[0].line == 4);  // no key to point at: the table
  CHECK(failed[0].message.find("write `exit_codes = [0, 1]`") != std::string::npos);
  // A shell whose child crashed exits 139 by itself: no signal of faultline's explains it.
  CHECK(runner::evaluate(e, exited(139)).size() == 1);
  CHECK(runner::evaluate(e, exited(139), {}, {}, {SIGTERM}).size() == 1);
  e.outcome = ExpectedOutcome::exited;  // naming the outcome keeps the default code
  CHECK(runner::evaluate(e, exited(2)).size() == 1);
  e.outcome = ExpectedOutcome::any;
  CHECK(runner::evaluate(e, exited(2)).empty());
}

TEST_CASE("without exit_codes, 128+N answers a signal N that faultline sent") {
  Expect e;
  // 128+N after faultline sent it signal N: a shell's `trap 'exit 143' TERM`, Java on SIGTERM.
  CHECK(runner::evaluate(e, exited(143), {}, {}, {SIGTERM}).empty());
  CHECK(runner::evaluate(e, exited(130), {}, {}, {SIGTERM}).size() == 1);  // SIGINT was not sent
  // After a stop phase: 0, or 128+N for the stop signal N; a service that exits 1 when asked to
  // stop fails. With `graceful`, that check judges the code alone.
  auto stopped = exited(3);
  stopped.graceful = false;
  CHECK(runner::evaluate(e, stopped, {}, {}, {SIGTERM}).size() == 1);
  stopped.exit_code = 143;
  CHECK(runner::evaluate(e, stopped, {}, {}, {SIGTERM}).empty());
  stopped.exit_code = 3;
  e.graceful = true;
  const auto judged = runner::evaluate(e, stopped, {}, {}, {SIGTERM});
  REQUIRE(judged.size() == 1);
  CHECK(judged[0].check == "expect.graceful");
  e.graceful.reset();
}

TEST_CASE(
    "without exit_codes, a death by a signal faultline did not send fails, and so does a kill after the "
    "grace") {
  Expect e;
  e.pos = {7, 1};
  // A program killed by its own SIGKILL, a SIGPIPE or its alarm() watchdog passed a table that
  // checked only its output.
  ProcessResult signaled;
  signaled.name = "api";
  signaled.outcome = "signaled";
  for (const int signo : {SIGKILL, SIGPIPE, SIGALRM, SIGTERM}) {
    signaled.signal = signo;
    const auto failed = runner::evaluate(e, signaled);
    REQUIRE(failed.size() == 1);
    CHECK(failed[0].check == "expect.exit_codes");
    CHECK(failed[0].line == 7);
    CHECK(
        failed[0].message.starts_with("killed by " + signal_name(signo) + ", which faultline did not send"));
    // Sent by faultline (its stop signal, a signal fault): the conventional answer.
    CHECK(runner::evaluate(e, signaled, {}, {}, {signo}).empty());
  }
  // Named, the outcome is its key's to judge: "signaled" allows it, "exited" fails on its own.
  e.outcome = ExpectedOutcome::signaled;
  CHECK(runner::evaluate(e, signaled).empty());
  e.outcome = ExpectedOutcome::exited;
  const auto named = runner::evaluate(e, signaled);
  REQUIRE(named.size() == 1);
  CHECK(named[0].check == "expect.outcome");
  e.outcome.reset();
  // Asked to stop, it ignored the stop signal and was SIGKILLed at the end of its grace.
  ProcessResult ignored = signaled;
  ignored.outcome = "killed-after-grace";
  ignored.signal = SIGKILL;
  ignored.graceful = false;
  const auto killed = runner::evaluate(e, ignored, {}, {}, {SIGTERM});
  REQUIRE(killed.size() == 1);
  CHECK(killed[0].check == "expect.exit_codes");
  CHECK(killed[0].message.starts_with("SIGKILLed after its stop grace: it did not stop when asked"));
  // `graceful` judges a stop phase instead, and `outcome = "any"` allows every end.
  e.graceful = false;
  CHECK(runner::evaluate(e, ignored, {}, {}, {SIGTERM}).empty());
  e.graceful.reset();
  e.outcome = ExpectedOutcome::any;
  CHECK(runner::evaluate(e, ignored, {}, {}, {SIGTERM}).empty());
  CHECK(runner::evaluate(e, signaled).empty());
}

TEST_CASE("no_orphans is on by default and lists the orphans") {
  Expect e;
  auto r = exited(0);
  r.orphans = {"123 (sleep)", "124 (sleep)"};
  auto failures = runner::evaluate(e, r);
  REQUIRE(failures.size() == 1);
  CHECK(failures[0].check == "expect.no_orphans");
  CHECK(failures[0].actual == "123 (sleep), 124 (sleep)");
  e.no_orphans = false;
  CHECK(runner::evaluate(e, r).empty());
}

TEST_CASE("resource expectations: oom_kills, max_memory, max_runtime") {
  Expect e;
  e.oom_kills = scenario::Comparison{};
  e.max_memory = 64ull << 20;
  e.max_runtime = std::chrono::seconds(1);
  auto r = exited(0);
  r.oom_kills = 2;
  r.peak_memory_bytes = 100ull << 20;
  r.runtime_ms = 1500;
  const auto failures = runner::evaluate(e, r);
  REQUIRE(failures.size() == 3);
  CHECK(failures[0].check == "expect.oom_kills");
  CHECK(failures[0].actual == "2");
  CHECK(failures[1].check == "expect.max_memory");
  CHECK(failures[1].expected == "peak at most 64MiB");
  CHECK(failures[1].actual == "100MiB");
  CHECK(failures[2].check == "expect.max_runtime");
  CHECK(failures[2].expected == "at most 1s");
  CHECK(failures[2].actual == "1.5s");
}

TEST_CASE("output checks read what the matchers saw over the whole stream") {
  Expect e;
  e.stdout_expect.contains = {"drained", "bye"};
  e.stdout_expect.not_contains = {"panic"};
  e.stderr_expect.matches = {"listening on [0-9]+"};
  e.stderr_expect.not_matches = {"fatal.*error", "^segfault"};
  supervisor::OutputMatcher out(runner::output_patterns(e.stdout_expect));
  supervisor::OutputMatcher err(runner::output_patterns(e.stderr_expect));
  out.feed("starting\nworker 2: panic: nil map\n");
  for (int i = 0; i < 5000; ++i) out.feed("tick\n");  // the panic is long gone from any tail
  out.feed("drained 3 requests\n");
  out.finish();
  err.feed("ok\nfatal: disk error\n");
  err.finish();
  auto r = exited(0);
  r.stdout_tail = "tick\ndrained 3 requests\n";  // the tail alone would miss the panic
  r.stderr_tail = "ok\nfatal: disk error\n";
  const auto failures = runner::evaluate(e, r, {&out, &err});
  REQUIRE(failures.size() == 4);
  CHECK(failures[0].check == "expect.stdout.contains");
  CHECK(failures[0].message == "stdout never contained \"bye\" (in 5003 line(s), 25053 bytes)");
  CHECK(failures[0].actual ==
        "never seen in 5003 line(s), 25053 bytes; output ends with: tick drained 3 requests ");
  CHECK(failures[1].check == "expect.stdout.not_contains");
  CHECK(failures[1].actual == "line 2 (byte 19): worker 2: panic: nil map");
  CHECK(failures[1].message == "stdout contains \"panic\" at line 2: worker 2: panic: nil map");
  CHECK(failures[2].check == "expect.stderr.matches");
  CHECK(failures[2].message == "stderr has no line matching /listening on [0-9]+/ (in 2 line(s), 21 bytes)");
  CHECK(failures[3].check == "expect.stderr.not_matches");
  CHECK(failures[3].actual == "line 2 (byte 3): fatal: disk error");
  CHECK(failures[3].message == "stderr line 2 matches /fatal.*error/: fatal: disk error");
}

TEST_CASE("output checks of a process that never started: nothing was seen") {
  Expect e;
  e.stdout_expect.contains = {"hello"};
  e.stdout_expect.not_contains = {"panic"};
  e.stdout_expect.not_matches = {"."};
  ProcessResult r;
  r.name = "api";
  r.outcome = "failed-to-start";
  const auto failures = runner::evaluate(e, r);
  REQUIRE(failures.size() == 1);
  CHECK(failures[0].check == "expect.stdout.contains");
  // An empty stream reads (empty), in words, not "0 bytes" followed by a blank excerpt.
  CHECK(failures[0].actual == "(empty)");
  CHECK(failures[0].message == "stdout never contained \"hello\": stdout (empty)");
}

TEST_CASE("the exit codes allowed for a graceful stop default to 0") {
  CHECK(runner::allowed_exit_codes(nullptr) == std::vector<int>{0});
  Expect e;
  e.exit_codes = std::vector<int>{0, 143};
  CHECK(runner::allowed_exit_codes(&e) == std::vector<int>{0, 143});
}
