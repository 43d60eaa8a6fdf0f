// The fault timeline as users see it: scenario files with [[inject]] run by the faultline
// CLI, checked through the JSON report. Times come from the report: t_ms, and for injection
// events scheduled_ms (the plan), requested_ms (the call began) and effective_ms (in force).
// The tests assert what holds on a loaded machine: the order of these, schedules computed
// exactly from the plan, and generous upper bounds. How late the timers are on an idle
// machine is measured by faultline-bench (BM_InjectionTimingError), not asserted here.
#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/support/bundled_scenario.h"
#include "tests/support/command.h"
#include "tests/support/kernel_log_env.h"
#include "tests/support/report_lookup.h"
#include "tests/support/scratch_dir.h"
#include "tests/support/skips.h"
#include "tests/support/test_env.h"

using namespace faultline::test;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

constexpr double MiB = 1024.0 * 1024.0;

#define E2E_PRECONDITIONS() \
  if (auto why_ = bundled_scenario_skip_reason()) FAULTLINE_SKIP(*why_)

struct Run {
  CommandOutput cmd;
  json scenario;            // the only scenario of the report
  std::string host_cgroup;  // v2 | hybrid | v1
};

Run run_scenario_file(const std::string& path) {
  const std::string json_path =
      fs::temp_directory_path() / ("faultline-inject-" + std::to_string(::getpid()) + ".json");
  Run r;
  r.cmd = run_shell(quote(faultline_path()) + " run " + quote(path) + " --json " + quote(json_path));
  INFO("stdout: " << r.cmd.out << "\nstderr: " << r.cmd.err);
  REQUIRE(fs::exists(json_path));
  const json report = json::parse(read_file(json_path));
  fs::remove(json_path);
  REQUIRE(report.at("scenarios").size() == 1);
  r.scenario = report.at("scenarios")[0];
  r.host_cgroup = report.at("host").at("cgroup");
  return r;
}

Run run_scenario(const std::string& rel) { return run_scenario_file(source_dir() + "/scenarios/" + rel); }

double t_of(const json& scenario, const std::string& name, const std::string& process = {}) {
  for (const auto& e : scenario.at("timeline"))
    if (e.at("event") == name && (process.empty() || e.at("process") == process))
      return e.at("t_ms").get<double>();
  FAIL("no " << name << " event in the timeline: " << scenario.at("timeline").dump(1));
  return 0;
}

std::string dump(const json& scenario) {
  return scenario.at("timeline").dump(1) + "\n" + scenario.at("reason").dump();
}

double ms(const json& event, const char* key) {
  INFO(event.dump());
  REQUIRE(event.contains(key));
  return event.at(key).get<double>();
}

// The three times of an injection event come in order and inside the run; returns nothing,
// fails the test where one does not hold.
void check_times_in_order(const json& scenario, const json& event) {
  INFO(event.dump());
  if (event.contains("scheduled_ms")) CHECK(ms(event, "requested_ms") >= ms(event, "scheduled_ms"));
  CHECK(ms(event, "effective_ms") >= ms(event, "requested_ms"));
  CHECK(ms(event, "effective_ms") <= event.at("t_ms").get<double>());
  CHECK(event.at("t_ms").get<double>() <= scenario.at("duration_ms").get<double>());
}

}  // namespace

TEST_CASE("inject e2e: a squeeze to 48MiB about 1s after ready OOM-kills a steady 100MB process",
          "[inject]") {
  E2E_PRECONDITIONS();
  const Run r = run_scenario("selftest/inject-memory-squeeze.toml");
  INFO(dump(r.scenario));
  CHECK(r.cmd.status == 0);
  CHECK(r.scenario.at("result") == "pass");
  const json& p = process_named(r.scenario, "target");
  CHECK(p.at("outcome") == "oom-killed");
  CHECK(p.at("oom_kills").get<int>() >= 1);
  CHECK(p.at("peak_memory_bytes").get<double>() >= 100 * MiB);
  const auto applies = timeline_events(r.scenario, "inject.apply", "squeeze");
  REQUIRE(applies.size() == 1);
  const json& apply = applies[0];
  const std::string detail = apply.at("detail");
  if (r.host_cgroup == "v2") {
    CHECK(detail == "memory.max max -> 48MiB");
  } else {  // v1 refuses the limit: the report says how the kill came about
    CHECK(detail.starts_with("memory.max max -> 48MiB, charged "));
    CHECK(detail.ends_with("MiB from a helper: v1 refuses a limit below usage"));
  }
  check_times_in_order(r.scenario, apply);
  // Due 1s after ready, computed from the plan: exact up to the moment the anchor was taken.
  const double ready = t_of(r.scenario, "process.ready");
  const double scheduled = ms(apply, "scheduled_ms"), requested = ms(apply, "requested_ms");
  const double effective = ms(apply, "effective_ms");
  std::printf("squeeze: scheduled %.1f ms after ready, requested %.1f ms late, in effect %.1f ms later\n",
              scheduled - ready, requested - scheduled, effective - requested);
  CHECK(scheduled - ready >= 1000);
  CHECK(scheduled - ready < 1500);
  // The target died of the squeeze: after it was requested (on v1 before it was in force).
  CHECK(t_of(r.scenario, "process.exit") >= requested);
}

TEST_CASE("inject e2e: a limit-only squeeze refused on v1 is skipped (the process lives), and kills on v2",
          "[inject]") {
  E2E_PRECONDITIONS();
  const Run r = run_scenario("selftest/inject-memory-limit-only.toml");
  INFO(dump(r.scenario) << "\nstdout: " << r.cmd.out);
  CHECK(r.scenario.at("result") == "pass");
  const auto applies = timeline_events(r.scenario, "inject.apply", "squeeze");
  const json& p = process_named(r.scenario, "target");
  if (r.host_cgroup == "v2") {
    REQUIRE(applies.size() == 1);
    check_times_in_order(r.scenario, applies[0]);
    CHECK(applies[0].at("detail") == "memory.max max -> 48MiB");
    CHECK(p.at("outcome") == "oom-killed");
    return;
  }
  // The refusal left the process under its old limit: recorded as applied, it once opened the
  // fault's `during` windows and passed its applied-check with nothing squeezed.
  CHECK(applies.empty());
  const auto skips = timeline_events(r.scenario, "inject.skip", "squeeze");
  REQUIRE(skips.size() == 1);
  const std::string detail = skips[0].at("detail");
  CHECK(detail.starts_with("memory.max 48MiB refused (EBUSY): v1 will not set a limit below the usage"));
  CHECK(detail.ends_with("it stays max (mode limit-only)"));
  CHECK(r.cmd.out.find("\n       skipped squeeze [target]: ") != std::string::npos);
  CHECK(p.at("outcome") == "exited");
  CHECK(p.at("exit_code") == 0);
  CHECK(p.at("oom_kills") == 0);
}

TEST_CASE("inject e2e: a memory ramp that ends before its first step never held, and fails", "[inject]") {
  // A ramp writes nothing until its first step, 100ms in: one whose process ended first counted
  // as applied, and the scenario passed with the process never squeezed. (A ramp longer than its
  // own `duration` is a load error now; its process's end still cuts one short.)
  E2E_PRECONDITIONS();
  ScratchDir dir;
  const auto write = [&](const std::string& name, bool optional, const std::string& over = "2s",
                         const std::string& hold = "30ms", const std::string& duration = "") {
    return dir.write(name,
                     "name = \"short ramp\"\ntimeout = \"20s\"\nduration = \"1s\"\n"
                     "[target]\ncommand = [\"" +
                         payload_path() + "\", \"alloc\", \"8MiB\", \"--hold\", \"" + hold +
                         "\"]\n"
                         "ready.log = \"allocated\"\n[target.limits]\nmemory = \"300MiB\"\n"
                         "[[inject]]\nname = \"ramp\"\nkind = \"memory\"\nlimit = \"48MiB\"\n"
                         "over = \"" +
                         over + "\"\nat = \"ready\"\n" +
                         (duration.empty() ? "" : "duration = \"" + duration + "\"\n") +
                         (optional ? "optional = true\n" : "") + "[expect]\noutcome = \"any\"\n");
  };
  const Run r = run_scenario_file(write("short-ramp.toml", false));
  INFO(dump(r.scenario) << "\nstdout: " << r.cmd.out);
  CHECK(r.cmd.status == 1);
  CHECK(r.scenario.at("result") == "fail");
  const auto applies = timeline_events(r.scenario, "inject.apply", "ramp");
  REQUIRE(applies.size() == 1);
  CHECK(applies[0].at("detail") == "memory.max 300MiB -> 48MiB over 2s (20 steps from 300MiB)");
  CHECK(timeline_events(r.scenario, "inject.step", "ramp").empty());
  const auto unheld = timeline_events(r.scenario, "inject.unheld", "ramp");
  REQUIRE(unheld.size() == 1);
  const std::string why =
      "it ended before the first of its 20 ramp steps (one every 100ms), so memory.max never moved from "
      "300MiB";
  CHECK(unheld[0].at("detail") == why);
  REQUIRE(r.scenario.at("failures").size() == 1);
  CHECK(r.scenario.at("failures")[0].at("message").get<std::string>().starts_with(
      "memory fault `ramp` never took effect (never held: " + why + ")"));
  // Optional: listed, and the scenario passes.
  const Run optional = run_scenario_file(write("short-ramp-optional.toml", true));
  INFO(dump(optional.scenario));
  CHECK(optional.scenario.at("result") == "pass");
  CHECK(timeline_events(optional.scenario, "inject.unheld", "ramp").size() == 1);
  // `over` as long as `duration`: the last step and the end fall due at one instant, and the step
  // comes first, whichever timer runs first. The ramp reaches its limit and holds.
  const Run whole = run_scenario_file(write("whole-ramp.toml", false, "300ms", "forever", "300ms"));
  INFO(dump(whole.scenario));
  CHECK(whole.scenario.at("result") == "pass");
  const auto steps = timeline_events(whole.scenario, "inject.step", "ramp");
  REQUIRE(steps.size() == 3);
  CHECK(steps[2].at("detail") == "memory.max 48MiB (step 3 of 3)");
  CHECK(timeline_events(whole.scenario, "inject.unheld", "ramp").empty());
}

TEST_CASE("inject e2e: a memory ramp the stop phase cuts short never held, nor did a probe during it pass",
          "[inject]") {
  // The scenario's 700ms stop the 2s ramp at about 211MiB of its way from 300MiB to 48MiB: "survives a
  // squeeze to 48MiB" passed, and so did a probe during it, with the process never under 48MiB.
  E2E_PRECONDITIONS();
  ScratchDir dir;
  const std::string head =
      "timeout = \"20s\"\n[target]\ncommand = [\"" + payload_path() +
      "\", \"alloc\", \"8MiB\", \"--hold\", \"forever\"]\n"
      "ready.log = \"allocated\"\n[target.limits]\nmemory = \"300MiB\"\n"
      "[[inject]]\nname = \"ramp\"\nkind = \"memory\"\nlimit = \"48MiB\"\nover = \"2s\"\n"
      "at = \"ready\"\n";
  const Run stopped =
      run_scenario_file(dir.write("stopped.toml", "name = \"ramp cut short\"\nduration = \"700ms\"\n" + head +
                                                      "[expect]\noom_kills = 0\n"));
  INFO(dump(stopped.scenario) << "\nstdout: " << stopped.cmd.out);
  CHECK(stopped.scenario.at("result") == "fail");
  const auto unheld = timeline_events(stopped.scenario, "inject.unheld", "ramp");
  REQUIRE(unheld.size() == 1);
  const std::string why = unheld[0].at("detail");
  CHECK(why.starts_with("it ended after "));
  CHECK(why.find(" of its 20 ramp steps with memory.max at ") != std::string::npos);
  CHECK(
      why.ends_with(" on the way to 48MiB, and no OOM kill on the way: the process was never under the "
                    "limit asked for"));

  // Optional, with a probe timed from it: the probe's attempts all pass, and measured nothing.
  const Run probed = run_scenario_file(
      dir.write("probed.toml", "name = \"probe during a ramp cut short\"\nduration = \"700ms\"\n" + head +
                                   "optional = true\n"
                                   "[[probe]]\nname = \"alive\"\nexec = [\"true\"]\nevery = \"50ms\"\n"
                                   "during = \"ramp\"\n"));
  INFO(dump(probed.scenario) << "\nstdout: " << probed.cmd.out);
  CHECK(probed.scenario.at("result") == "fail");
  REQUIRE(timeline_events(probed.scenario, "inject.unheld", "ramp").size() == 1);
  REQUIRE(probed.scenario.at("failures").size() == 1);
  const std::string actual = probed.scenario.at("failures")[0].at("actual");
  CHECK(actual.starts_with("`ramp` never held (it ended after "));
  CHECK(actual.find("attempt(s) measured nothing under it") != std::string::npos);
}

TEST_CASE("inject e2e: a ramp from 300MiB to 48MiB over 2s kills a 100MB process", "[inject]") {
  E2E_PRECONDITIONS();
  const Run r = run_scenario("selftest/inject-memory-ramp.toml");
  INFO(dump(r.scenario));
  CHECK(r.scenario.at("result") == "pass");
  CHECK(process_named(r.scenario, "target").at("outcome") == "oom-killed");
  const auto applies = timeline_events(r.scenario, "inject.apply", "ramp");
  REQUIRE(applies.size() == 1);
  CHECK(applies[0].at("detail") == "memory.max 300MiB -> 48MiB over 2s (20 steps from 300MiB)");
  const auto steps = timeline_events(r.scenario, "inject.step", "ramp");
  REQUIRE(steps.size() >= 10);  // 300 -> 100MiB takes ~13 of the 20 steps
  CHECK(steps.size() <= 20);
  for (const auto& step : steps) check_times_in_order(r.scenario, step);
  // Steps are due every 100ms from the apply's schedule, computed from the plan.
  const double start = ms(applies[0], "scheduled_ms");
  for (std::size_t i = 0; i < steps.size(); ++i)
    CHECK(ms(steps[i], "scheduled_ms") == Approx(start + 100.0 * static_cast<double>(i + 1)).margin(0.01));
  const double exit = t_of(r.scenario, "process.exit");
  std::printf("ramp: %zu steps, the process died %.0f ms into the 2s ramp\n", steps.size(), exit - start);
  // Not before the limit came near 100MiB (step 16 of 20, due 1.6s in; steps are never early),
  // and with the last step taken (nothing left to kill it after that).
  CHECK(exit - start > 1000);
  CHECK(exit >= ms(steps.back(), "requested_ms"));
  // The ramp stopped with the process: the limit was restored when it exited.
  const auto reverts = timeline_events(r.scenario, "inject.revert", "ramp");
  REQUIRE(reverts.size() == 1);
  CHECK(reverts[0].at("detail").get<std::string>().ends_with("-> 300MiB (target exited)"));
}

TEST_CASE("inject e2e: a 1s CPU window is applied and reverted 1s apart and throttles", "[inject]") {
  E2E_PRECONDITIONS();
  const Run r = run_scenario("selftest/inject-cpu-window.toml");
  INFO(dump(r.scenario));
  CHECK(r.scenario.at("result") == "pass");
  const auto applies = timeline_events(r.scenario, "inject.apply", "slow");
  const auto reverts = timeline_events(r.scenario, "inject.revert", "slow");
  REQUIRE(applies.size() == 1);
  REQUIRE(reverts.size() == 1);
  CHECK(applies[0].at("detail") == "cpu.max max/100ms -> 10%/100ms");
  CHECK(reverts[0].at("detail") == "cpu.max 10%/100ms -> max/100ms");
  check_times_in_order(r.scenario, applies[0]);
  check_times_in_order(r.scenario, reverts[0]);
  const double window = reverts[0].at("t_ms").get<double>() - applies[0].at("t_ms").get<double>();
  std::printf("cpu window: applied at %.1f ms, reverted %.1f ms later\n", applies[0].at("t_ms").get<double>(),
              window);
  // The revert is due exactly `duration` after the apply was due; neither is ever early.
  CHECK(ms(reverts[0], "scheduled_ms") - ms(applies[0], "scheduled_ms") == Approx(1000).margin(0.01));
  CHECK(window > 0);
  const json& p = process_named(r.scenario, "target");
  std::printf("throttled %.0f ms\n", p.at("throttled_usec").get<double>() / 1000);
  CHECK(p.at("throttled_usec").get<double>() > 300'000);  // most of a second at 10%

  // Samples: every 50ms while the process ran, with its CPU usage growing.
  const json& samples = r.scenario.at("samples");
  REQUIRE(samples.size() >= 20);
  CHECK(samples.front().at("process") == "target");
  CHECK(samples.back().at("cpu_usage_usec").get<double>() >
        samples.front().at("cpu_usage_usec").get<double>());
  CHECK(samples.back().at("throttled_usec").get<double>() > 0);
  CHECK(samples.front().at("pids").get<int>() >= 1);
}

TEST_CASE("inject e2e: an fd limit at runtime makes new opens fail with EMFILE", "[inject]") {
  E2E_PRECONDITIONS();
  const Run r = run_scenario("selftest/inject-fd.toml");
  INFO(dump(r.scenario));
  CHECK(r.scenario.at("result") == "pass");
  const auto applies = timeline_events(r.scenario, "inject.apply", "few-fds");
  REQUIRE(applies.size() == 1);
  // The shell and its `sleep` child, both limited before the payload is exec'd.
  const std::string detail = applies[0].at("detail");
  CHECK(detail.find(" -> 16") != std::string::npos);
  CHECK(detail.ends_with(" on 2 process(es)"));
  CHECK(process_named(r.scenario, "target")
            .at("stdout_tail")
            .get<std::string>()
            .find("open failed: Too many open files") != std::string::npos);
}

TEST_CASE("inject e2e: three SIGUSR1 arrive 300ms apart, the first within 20ms of schedule", "[inject]") {
  E2E_PRECONDITIONS();
  const Run r = run_scenario("selftest/inject-signal-repeat.toml");
  INFO(dump(r.scenario));
  CHECK(r.scenario.at("result") == "pass");
  const auto applies = timeline_events(r.scenario, "inject.apply", "usr1");
  REQUIRE(applies.size() == 3);
  const double ready = t_of(r.scenario, "process.ready");
  for (const auto& apply : applies) check_times_in_order(r.scenario, apply);
  const double first_late = ms(applies[0], "requested_ms") - ms(applies[0], "scheduled_ms");
  const double gap1 = applies[1].at("t_ms").get<double>() - applies[0].at("t_ms").get<double>();
  const double gap2 = applies[2].at("t_ms").get<double>() - applies[1].at("t_ms").get<double>();
  std::printf("signal: first %.2f ms after schedule, gaps %.1f and %.1f ms\n", first_late, gap1, gap2);
  // Due 300ms after ready, then every 300ms from that schedule (lateness does not add up).
  CHECK(ms(applies[0], "scheduled_ms") - ready >= 300);
  CHECK(ms(applies[0], "scheduled_ms") - ready < 800);
  CHECK(ms(applies[1], "scheduled_ms") - ms(applies[0], "scheduled_ms") == Approx(300).margin(0.01));
  CHECK(ms(applies[2], "scheduled_ms") - ms(applies[1], "scheduled_ms") == Approx(300).margin(0.01));
  CHECK(gap1 > 0);
  CHECK(gap2 > 0);
  CHECK(applies[2].at("detail").get<std::string>().ends_with("(3 of 3)"));
  const std::string out = process_named(r.scenario, "target").at("stdout_tail");
  std::size_t received = 0;
  for (std::size_t at = out.find("got USR1"); at != std::string::npos; at = out.find("got USR1", at + 1))
    ++received;
  CHECK(received == 3);
}

TEST_CASE("inject e2e: a 1s freeze shows as a gap of at least 0.9s in the target", "[inject]") {
  E2E_PRECONDITIONS();
  const Run r = run_scenario("selftest/inject-freeze.toml");
  INFO(dump(r.scenario));
  CHECK(r.scenario.at("result") == "pass");
  std::istringstream ticks(process_named(r.scenario, "target").at("stdout_tail").get<std::string>());
  std::string word;
  double value = 0, previous = -1, gap = 0;
  while (ticks >> word >> value) {
    if (previous >= 0) gap = std::max(gap, value - previous);
    previous = value;
  }
  REQUIRE(timeline_events(r.scenario, "inject.apply", "hang").size() == 1);
  const json apply = timeline_events(r.scenario, "inject.apply", "hang").at(0);
  const json revert = timeline_events(r.scenario, "inject.revert", "hang").at(0);
  CHECK(revert.at("detail") == "frozen -> running");
  check_times_in_order(r.scenario, apply);
  check_times_in_order(r.scenario, revert);
  CHECK(ms(revert, "scheduled_ms") - ms(apply, "scheduled_ms") == Approx(1000).margin(0.01));
  // Frozen for certain from when the freeze was in force until the thaw was requested; at
  // most from its request until the thaw was in force, plus one tick interval.
  const double surely_frozen = ms(revert, "requested_ms") - ms(apply, "effective_ms");
  const double at_most_frozen = ms(revert, "effective_ms") - ms(apply, "requested_ms");
  std::printf("freeze: largest gap between ticks %.1f ms (frozen %.1f to %.1f ms)\n", gap, surely_frozen,
              at_most_frozen);
  CHECK(gap >= surely_frozen - 1);
  CHECK(gap < at_most_frozen + 1000);
}

TEST_CASE("inject e2e: a runtime pids limit stops forks", "[inject]") {
  E2E_PRECONDITIONS();
  const Run r = run_scenario("selftest/inject-pids.toml");
  INFO(dump(r.scenario));
  CHECK(r.scenario.at("result") == "pass");
  CHECK(process_named(r.scenario, "target").at("pids_max_events").get<int>() >= 1);
  CHECK(timeline_events(r.scenario, "inject.apply", "few-pids").at(0).at("detail") == "pids.max max -> 3");
}

TEST_CASE("inject e2e: a 120MiB hog shows in the process's peak memory and leaves nothing behind",
          "[inject]") {
  E2E_PRECONDITIONS();
  const Run r = run_scenario("selftest/inject-hog.toml");
  INFO(dump(r.scenario));
  CHECK(r.scenario.at("result") == "pass");
  const json& p = process_named(r.scenario, "target");
  std::printf("hog: peak memory %.1f MiB\n", p.at("peak_memory_bytes").get<double>() / MiB);
  CHECK(p.at("peak_memory_bytes").get<double>() >= 120 * MiB);
  CHECK(p.at("orphans").empty());
  const auto applies = timeline_events(r.scenario, "inject.apply", "neighbour");
  const auto reverts = timeline_events(r.scenario, "inject.revert", "neighbour");
  REQUIRE(applies.size() == 1);
  REQUIRE(reverts.size() == 1);
  const std::string detail = applies[0].at("detail");
  REQUIRE(detail.starts_with("hog pid "));
  const pid_t hog = std::stoi(detail.substr(8));
  CHECK(reverts[0].at("detail") == "hog pid " + std::to_string(hog) + " killed");
  CHECK_FALSE(alive(hog));
}

TEST_CASE("inject e2e: an optional injection into a process that already exited is skipped, not an error",
          "[inject]") {
  E2E_PRECONDITIONS();
  const Run r = run_scenario("selftest/inject-skip-exited.toml");
  INFO(dump(r.scenario));
  CHECK(r.scenario.at("result") == "pass");
  const auto skips = timeline_events(r.scenario, "inject.skip", "late");
  REQUIRE(skips.size() == 1);
  CHECK(skips[0].at("process") == "short");
  CHECK(skips[0].at("detail") == "`short` is not running");
  // Times relative to another injection's start hold even when that one was skipped.
  const auto follow = timeline_events(r.scenario, "inject.apply", "follow-up");
  REQUIRE(follow.size() == 1);
  check_times_in_order(r.scenario, follow[0]);
  // Anchored at the run start: due at exactly 800ms + 200ms, computed from the plan.
  CHECK(ms(follow[0], "scheduled_ms") == Approx(1000).margin(0.01));
  CHECK(timeline_events(r.scenario, "inject.revert", "follow-up").size() == 1);
}

TEST_CASE("inject e2e: a start quota and an optional fault that change nothing pass, and say so",
          "[inject]") {
  E2E_PRECONDITIONS();
  const Run r = run_scenario("selftest/limits-cpu-noop.toml");
  INFO(dump(r.scenario) << "\nstdout: " << r.cmd.out);
  CHECK(r.scenario.at("result") == "pass");
  std::vector<std::string> noop_processes;
  for (const auto& e : timeline_events(r.scenario, "limits.noop")) {
    noop_processes.push_back(e.at("process"));
    CHECK(e.at("detail").get<std::string>().starts_with("cpu 409600% cannot throttle a process"));
  }
  // Only the quota above the CPUs: 50% throttles on any host.
  CHECK(noop_processes == std::vector<std::string>{"wide"});
  CHECK(timeline_events(r.scenario, "inject.skip", "loose-squeeze").size() == 1);
  // Under the PASS line, where a CI log shows it.
  CHECK(r.cmd.out.find("\n       limits [wide]: cpu 409600% cannot throttle") != std::string::npos);
  CHECK(r.cmd.out.find("\n       skipped loose-squeeze [wide]: it would change nothing here") !=
        std::string::npos);
  CHECK(r.cmd.out.find("limits [narrow]") == std::string::npos);
}

TEST_CASE("inject e2e: the examples with injections pass", "[inject]") {
  E2E_PRECONDITIONS();
  for (const char* example : {"examples/memory-squeeze.toml", "examples/freeze-1s.toml"}) {
    const Run r = run_scenario(example);
    INFO(example << "\n" << dump(r.scenario));
    CHECK(r.scenario.at("result") == "pass");
    CHECK(r.cmd.status == 0);
  }
}

TEST_CASE("inject e2e: a hog that exits on its own (no thread under the pids limit) is an error, not a pass",
          "[inject][hog]") {
  E2E_PRECONDITIONS();
  const Run r = run_scenario("selftest/failing/hog-refused-by-pids-limit.toml");
  INFO(r.scenario.dump(2));
  CHECK(r.scenario.at("result") == "error");
  const std::string reason = r.scenario.at("reason");
  // A plain build's hog reports the refused thread and exits with a code; a sanitizer build's
  // dies first by SIGABRT (LeakSanitizer cannot start its own thread at exit under the limit).
  CHECK((reason.starts_with("helper `faultline hog` in `target` exited with code ") ||
         reason.starts_with("helper `faultline hog` in `target` killed by SIGABRT ")));
  CHECK(reason.find("while the run went on: its fault did not hold") != std::string::npos);
}

TEST_CASE(
    "inject e2e: a hog the target kills is an error, with SIGTERM or with SIGKILL; only the OOM "
    "killer's choice is a neighbour's death",
    "[inject][hog]") {
  E2E_PRECONDITIONS();
  // A SIGKILL was once taken for the OOM killer's without looking: the kernel log (or the
  // cgroup's OOM counter) says no OOM kill chose the hog.
  for (const auto& [file, how] : std::vector<std::pair<std::string, std::string>>{
           {"hog-killed-by-target.toml", "killed by SIGTERM"},
           {"hog-sigkilled-by-target.toml", "killed by SIGKILL, not by the OOM killer,"}}) {
    INFO(file);
    const Run r = run_scenario("selftest/failing/" + file);
    INFO(r.scenario.dump(2));
    CHECK(r.scenario.at("result") == "error");
    // Followed by the hog's last line of output, in parentheses.
    CHECK(r.scenario.at("reason").get<std::string>().starts_with(
        "helper `faultline hog` in `target` " + how + " while the run went on: its fault did not hold"));
    CHECK(process_named(r.scenario, "target").at("stdout_tail").get<std::string>().find("killed the hog") !=
          std::string::npos);
    CHECK(r.cmd.status != 0);
  }
}

TEST_CASE("inject e2e: a signal to all of a process's members spares the hog the harness started there",
          "[inject][hog][signal]") {
  E2E_PRECONDITIONS();
  const Run r = run_scenario("selftest/inject-signal-all-spares-hog.toml");
  INFO(r.scenario.dump(2));
  CHECK(r.scenario.at("result") == "pass");
  const auto sent = timeline_events(r.scenario, "inject.apply", "usr1");
  REQUIRE(sent.size() == 1);
  // The shell and its sleep; never the hog.
  CHECK(sent[0].at("detail") != "SIGUSR1 to 0 process(es)");
  const auto reverts = timeline_events(r.scenario, "inject.revert", "neighbour");
  REQUIRE(reverts.size() == 1);
  CHECK(reverts[0].at("detail").get<std::string>().ends_with(" killed"));
}

TEST_CASE("inject e2e: a memory ramp overlapping another memory fault is refused, not a silent unlimited run",
          "[inject][memory]") {
  const Run r = run_scenario("selftest/failing/memory-ramp-overlap.toml");
  INFO(r.scenario.dump(2));
  CHECK(r.scenario.at("result") == "error");
  const std::string reason = r.scenario.at("reason");
  CHECK(reason.find("inject `ramp` (memory): would overlap `loose` on the same memory limit of `target`") !=
        std::string::npos);
}

TEST_CASE(
    "inject e2e: where the kernel log cannot name a hog's OOM kill, the count it is in is unknown, "
    "not a pass",
    "[inject][hog]") {
  // In a pid namespace of its own the kernel log's pids are not faultline's: the log cannot say
  // whether the OOM kill the cgroup counted was the hog's. `oom_kills = ">=1"` passed on the
  // hog's kill alone (and /proc's NSpid, one level deep under a /proc mounted in the namespace,
  // had faultline take the log for readable: the hog's kill was taken for someone else's).
  E2E_PRECONDITIONS();
  if (std::system("command -v unshare >/dev/null") != 0)
    FAULTLINE_SKIP("unshare (util-linux, or busybox's) is needed for a pid namespace");
  ScratchDir dir;
  const auto file = dir.write(
      "hog.toml",
      "name = \"a tenant the OOM killer never touched\"\ntimeout = \"30s\"\nduration = \"3s\"\n"
      "[[process]]\nname = \"tenant\"\n"
      "command = [\"${faultline_dir}/faultline-payload\", \"drain-on-term\", \"--drain\", \"0ms\"]\n"
      "ready = { log = \"^ready$\" }\nlimits = { memory = \"64MiB\", swap = \"0B\" }\n"
      "[[inject]]\nname = \"neighbour\"\nkind = \"hog\"\ninto = \"tenant\"\nmemory = \"200MiB\"\n"
      "at = \"ready+300ms\"\nduration = \"2s\"\n"
      "[[expect]]\nprocess = \"tenant\"\noutcome = \"exited\"\nexit_codes = [0]\noom_kills = \">=1\"\n");
  const std::string json_path = (dir.path() / "report.json").string();
  // sh stays pid 1 of the namespace (faultline is not run as an init); `; exit` keeps it there.
  const auto cmd =
      run_shell("unshare -p -f --mount-proc sh -c " + quote(quote(faultline_path()) + " run " + quote(file) +
                                                            " --json " + quote(json_path) + "; exit $?"));
  INFO(cmd.out << cmd.err);
  REQUIRE(fs::exists(json_path));
  const json s = json::parse(read_file(json_path)).at("scenarios").at(0);
  INFO(dump(s));
  CHECK(s.at("result") == "fail");
  REQUIRE(s.at("failures").size() == 1);
  const std::string message = s.at("failures").at(0).at("message");
  CHECK(message.starts_with("oom_kills cannot be checked: faultline's helper `hog`"));
  CHECK(message.find("the kernel log") != std::string::npos);
  CHECK(process_named(s, "tenant").at("oom_kills").is_null());
}

TEST_CASE("inject e2e: a fault whose time comes after the run ended fails the scenario", "[inject]") {
  E2E_PRECONDITIONS();
  const Run r = run_scenario("selftest/failing/inject-after-run-end.toml");
  INFO(dump(r.scenario));
  CHECK(r.scenario.at("result") == "fail");
  const auto& failure = r.scenario.at("failures").at(0);
  CHECK(failure.at("check") == "inject.applied");
  CHECK(failure.at("message").get<std::string>().starts_with(
      "signal fault `kill` never took effect (skipped: the run ended before "));
  CHECK(timeline_events(r.scenario, "inject.apply", "kill").empty());
}

TEST_CASE("inject e2e: a hog the OOM killer picks ends its fault there, and the probe window with it",
          "[inject][hog]") {
  E2E_PRECONDITIONS();
  // Only the kernel log tells the hog's OOM kill from the tenant's (the scenario's oom_kills = 0).
  if (auto why = kernel_log_skip_reason()) FAULTLINE_SKIP(*why);
  const Run r = run_scenario("selftest/inject-hog-oom-killed.toml");
  INFO(dump(r.scenario));
  CHECK(r.scenario.at("result") == "pass");
  const auto applies = timeline_events(r.scenario, "inject.apply", "neighbour");
  const auto reverts = timeline_events(r.scenario, "inject.revert", "neighbour");
  REQUIRE(applies.size() == 1);
  REQUIRE(reverts.size() == 1);
  CHECK(
      reverts[0].at("detail").get<std::string>().starts_with("the OOM killer chose the hog before its end"));
  const double applied = applies[0].at("t_ms"), killed = reverts[0].at("t_ms");
  CHECK(killed < applied + 3000);  // before the planned end of its 3s
  // The window opened with the fault and closed with the kill, not at the planned end.
  const double opened = t_of(r.scenario, "probe.window.open"),
               closed = t_of(r.scenario, "probe.window.close");
  CHECK(opened >= applied);
  CHECK(closed >= killed);
  CHECK(closed < applied + 3000);
  bool said_why = false;
  for (const auto& e : timeline_events(r.scenario, "probe.window.close"))
    said_why |= e.at("detail").get<std::string>().find("`neighbour` ended") != std::string::npos;
  CHECK(said_why);
}

TEST_CASE("inject e2e: a fault timed from another's end follows that end when it comes early", "[inject]") {
  E2E_PRECONDITIONS();
  const Run r = run_scenario("selftest/inject-follows-early-end.toml");
  INFO(dump(r.scenario));
  CHECK(r.scenario.at("result") == "pass");
  const auto ended = timeline_events(r.scenario, "inject.revert", "slow-short");
  const auto followed = timeline_events(r.scenario, "inject.apply", "slow-long");
  REQUIRE(ended.size() == 1);
  REQUIRE(followed.size() == 1);
  CHECK(ended[0].at("detail").get<std::string>().find("target exited") != std::string::npos);
  const double end_ms = ended[0].at("t_ms"), applied_ms = followed[0].at("t_ms");
  CHECK(applied_ms >= end_ms + 150);
  CHECK(applied_ms < 4500);  // the planned end of `slow-short` plus 200ms is 5.3s
  check_times_in_order(r.scenario, followed[0]);
  // The probe window counted back from the planned end closed at the real, earlier one.
  bool closed_at_end = false;
  for (const auto& e : timeline_events(r.scenario, "probe.window.close")) {
    closed_at_end |= e.at("detail").get<std::string>().find("`slow-short` ended") != std::string::npos;
    CHECK(e.at("t_ms").get<double>() < 4500);  // planned: 4.9s
  }
  CHECK(closed_at_end);
  // `nudge.end` is 200ms after its first delivery, not after its third (at about 1.8s).
  const auto nudges = timeline_events(r.scenario, "inject.apply", "nudge");
  const auto after_nudge = timeline_events(r.scenario, "inject.apply", "after-nudge");
  REQUIRE(nudges.size() == 3);
  REQUIRE(after_nudge.size() == 1);
  CHECK(after_nudge[0].at("t_ms").get<double>() < nudges[1].at("t_ms").get<double>());
}

TEST_CASE("inject e2e: a fault whose time comes once the processes are being stopped is skipped",
          "[inject]") {
  E2E_PRECONDITIONS();
  for (const auto& [file, reason] :
       {std::pair{"selftest/failing/fault-at-exit-the-stop-caused.toml", "the stop phase had begun"},
        std::pair{"selftest/failing/fault-after-timeout.toml", "the scenario timeout had been reached"}}) {
    const Run r = run_scenario(file);
    INFO(file << "\n" << dump(r.scenario));
    CHECK(r.scenario.at("result") == "fail");
    CHECK(r.cmd.status == 1);
    only_failure(r.scenario, "inject.applied");
    const auto skips = timeline_events(r.scenario, "inject.skip", "squeeze");
    REQUIRE(skips.size() == 1);
    CHECK(skips[0].at("detail").get<std::string>().starts_with(reason));
    CHECK(timeline_events(r.scenario, "inject.apply", "squeeze").empty());
  }
}

TEST_CASE("inject e2e: the stop phase continues a SIGSTOPped process, which then shuts down by itself",
          "[inject][signal]") {
  E2E_PRECONDITIONS();
  const Run r = run_scenario("selftest/stop-continues-stopped.toml");
  INFO(dump(r.scenario));
  CHECK(r.scenario.at("result") == "pass");
  REQUIRE(timeline_events(r.scenario, "inject.apply", "pause").size() == 1);
  const json& target = process_named(r.scenario, "target");
  CHECK(target.at("outcome") == "exited");
  CHECK(target.at("graceful") == true);
}

TEST_CASE("inject e2e: a repeated signal the process could not take yet is not counted twice", "[inject]") {
  // Frozen, the target takes none of the SIGHUPs: the kernel keeps one pending and merges the rest
  // into it. Counting each send as a delivery passed "survives three reloads" on one reload.
  E2E_PRECONDITIONS();
  ScratchDir dir;
  const auto write = [&](const std::string& name, bool frozen) {
    return dir.write(name,
                     "name = \"reloads\"\ntimeout = \"20s\"\nduration = \"1500ms\"\n"
                     "[target]\ncommand = [\"" +
                         payload_path() +
                         "\", \"dump-on\", \"SIGHUP\"]\nready.log = \"^ready$\"\n"
                         "[[inject]]\nname = \"reloads\"\nkind = \"signal\"\nsignal = \"SIGHUP\"\n"
                         "at = \"ready+200ms\"\nrepeat = { every = \"200ms\", count = 3 }\n" +
                         (frozen ? "[[inject]]\nname = \"hang\"\nkind = \"freeze\"\nat = \"ready+100ms\"\n"
                                   "duration = \"1s\"\n"
                                 : ""));
  };
  const Run r = run_scenario_file(write("frozen.toml", true));
  INFO(dump(r.scenario));
  CHECK(r.scenario.at("result") == "fail");
  REQUIRE(timeline_events(r.scenario, "inject.apply", "reloads").size() == 1);
  const auto skips = timeline_events(r.scenario, "inject.skip", "reloads");
  REQUIRE(skips.size() == 1);
  CHECK(skips[0].at("detail").get<std::string>().find("SIGHUP was still pending for pid ") !=
        std::string::npos);
  REQUIRE(r.scenario.at("failures").size() == 1);
  CHECK(r.scenario.at("failures")[0].at("message").get<std::string>().starts_with(
      "signal fault `reloads` was delivered 1 of 3 times"));
  // The same repeats into the process running: each is taken before the next, and all count.
  const Run running = run_scenario_file(write("running.toml", false));
  INFO(dump(running.scenario));
  CHECK(running.scenario.at("result") == "pass");
  CHECK(timeline_events(running.scenario, "inject.apply", "reloads").size() == 3);
  const std::string err = process_named(running.scenario, "target").at("stderr_tail");
  std::size_t dumps = 0;
  for (auto at = err.find("dump: SIGHUP"); at != std::string::npos; at = err.find("dump: SIGHUP", at + 1))
    ++dumps;
  CHECK(dumps == 3);
}
