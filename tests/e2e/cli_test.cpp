// faultline as its users run it: the executable, real scenario files, real cgroups.
#include <dirent.h>
#include <pwd.h>
#include <signal.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <regex>
#include <thread>

#include "tests/support/command.h"
#include "tests/support/job_cgroup.h"
#include "tests/support/scratch_dir.h"
#include "tests/support/skips.h"
#include "tests/support/test_env.h"

using namespace faultline::test;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

std::string scenario(const std::string& rel) { return quote(source_dir() + "/scenarios/" + rel); }

struct RunWithReport {
  CommandOutput cmd;
  json report;
};

RunWithReport run_with_report(const std::string& args) {
  const std::string json_path =
      fs::temp_directory_path() / ("faultline-e2e-" + std::to_string(::getpid()) + ".json");
  RunWithReport r;
  r.cmd = run_shell(faultline_cmd() + " run " + args + " --json " + quote(json_path));
  INFO("stdout: " << r.cmd.out << "\nstderr: " << r.cmd.err);
  REQUIRE(fs::exists(json_path));
  r.report = json::parse(read_file(json_path));
  fs::remove(json_path);
  return r;
}

const json& only_process(const json& report) {
  REQUIRE(report["scenarios"].size() == 1);
  REQUIRE(report["scenarios"][0]["processes"].size() == 1);
  return report["scenarios"][0]["processes"][0];
}

bool has_failure(const json& scenario, const std::string& check) {
  for (const auto& f : scenario["failures"])
    if (f["check"] == check) return true;
  return false;
}

// Every pid whose environment carries `token`.
std::vector<pid_t> pids_with_token(const std::string& token) {
  std::vector<pid_t> found;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    const std::string env = read_file(entry.path() / "environ");
    if (env.find("FAULTLINE_E2E_TOKEN=" + token) != std::string::npos) found.push_back(std::stoi(name));
  }
  return found;
}

std::vector<std::string> run_cgroups() {
  std::vector<std::string> runs;
  std::error_code ec;
  for (const auto& hierarchy : fs::directory_iterator("/sys/fs/cgroup", ec)) {
    const auto parent = hierarchy.path() / "faultline";
    if (fs::is_directory(parent, ec))
      for (const auto& run : fs::directory_iterator(parent, ec)) runs.push_back(run.path());
  }
  if (fs::is_directory("/sys/fs/cgroup/faultline", ec))  // pure v2
    for (const auto& run : fs::directory_iterator("/sys/fs/cgroup/faultline", ec))
      if (run.is_directory()) runs.push_back(run.path());
  return runs;
}

// `faultline run FILE` started from inside `job` (a CI job's cgroup with a limit of its own).
struct JobRun {
  CommandOutput cmd;
  json scenario;  // null when no report was written
};
JobRun run_in_job(const JobCgroup& job, const ScratchDir& dir, const std::string& file) {
  const std::string json_path = (dir.path() / "r.json").string();
  JobRun run;
  run.cmd = run_shell("sh -c " + quote(job.enter() + "exec " + faultline_cmd() + " run " + quote(file) +
                                       " --json " + quote(json_path)));
  if (fs::exists(json_path)) run.scenario = json::parse(read_file(json_path))["scenarios"][0];
  return run;
}

}  // namespace

TEST_CASE("exec: an allocator over --memory is reported oom-killed with exit 137") {
  auto r = run_shell(faultline_cmd() + " exec --memory 64MiB --swap 0B -- " + payload() + " alloc 200MiB");
  CHECK(r.status == 137);
  CHECK(r.err.find("faultline: oom-killed (memory limit 64MiB, peak ") != std::string::npos);
}

TEST_CASE("exec: mirrors exit codes and signals") {
  CHECK(run_shell(faultline_cmd() + " exec -- " + payload() + " exit 3").status == 3);
  auto r = run_shell(faultline_cmd() + " exec -- " + payload() + " kill-self SIGTERM");
  CHECK(r.status == 143);
  // faultline ends by the command's signal, as timeout(1) does, so the shell adds its own notice.
  CHECK(r.err.starts_with("faultline: signaled (SIGTERM)\n"));
  auto out = run_shell(faultline_cmd() + " exec -- " + payload() + " print hello");
  CHECK(out.status == 0);
  CHECK(out.out == "hello\n");
  CHECK(out.err.empty());
}

TEST_CASE("exec: --timeout stops a process that ignores SIGTERM, killing it after the grace") {
  auto r = run_shell(faultline_cmd() + " exec --timeout 500ms --stop-grace 300ms -- " + payload() +
                     " ignore-term");
  CHECK(r.status == 137);
  CHECK(r.err.find("faultline: timed-out after 500ms: ") == 0);
  CHECK(r.err.ends_with(
      "\nfaultline: SIGTERM to 1 process(es), then SIGKILL to the cgroup after --kill-after 300ms; the "
      "command was killed by SIGKILL\n"));
}

TEST_CASE("exec: a missing binary fails to start with exit 127") {
  auto r = run_shell(faultline_cmd() + " exec -- faultline-no-such-command --flag");
  CHECK(r.status == 127);
  CHECK(r.err.rfind("faultline: failed to start: command `faultline-no-such-command` not found in PATH", 0) ==
        0);
}

TEST_CASE("exec: nofile and pids limits bite") {
  auto fds = run_shell(faultline_cmd() + " exec --nofile 16 -- " + payload() + " open-fds 64");
  CHECK(fds.status == 1);
  CHECK(fds.out.find("Too many open files") != std::string::npos);
  auto forks = run_shell(faultline_cmd() + " exec --pids 3 -- " + payload() + " fork 10 --hold 200ms");
  CHECK(forks.status == 1);
  CHECK(forks.out.find("Resource temporarily unavailable") != std::string::npos);
  // The command's own failure is traced back to the limit on stderr.
  CHECK(forks.err.find("fork(s) refused at the pids limit (--pids 3); the command exited with code 1") !=
        std::string::npos);
}

TEST_CASE("run: the bundled examples pass") {
  // Some examples run programs from Debian (haproxy, python3, sqlite3, go, redis), tagged with their
  // names; a host without them (the minimal cgroup v2 guest) runs the others.
  std::string exclude;
  for (const char* tool : {"haproxy", "python3", "sqlite3", "go", "redis-server", "redis-cli"})
    if (run_shell(std::string("command -v ") + tool).status != 0) {
      record_skip(std::string("the examples tagged `") + tool + "`: " + tool + " is not installed");
      exclude += std::string(" --exclude-tag ") + tool;
    }
  auto r = run_with_report(scenario("examples") + exclude);
  CHECK(r.cmd.status == 0);
  const auto n = r.report["scenarios"].size();
  CHECK(n >= (exclude.empty() ? 13u : 6u));
  CHECK(r.cmd.out.find(std::to_string(n) + " passed, 0 failed\n") != std::string::npos);
  CHECK(r.report["format"] == "faultline-report/1");
  CHECK(r.report["summary"]["passed"] == n);
  for (const auto& s : r.report["scenarios"]) {
    INFO(s.dump(2));
    CHECK(s["result"] == "pass");
    if (s["name"] == "a busy loop is throttled to 10% of one CPU") {
      const auto& p = s["processes"][0];
      CHECK(p["throttled_usec"].get<std::uint64_t>() > 100000);
      CHECK(p["throttled_periods"].get<std::uint64_t>() > 0);
      CHECK(p["cpu_usage_usec"].get<std::uint64_t>() < 500000);  // 10% of ~1s, with slack
    }
    if (s["name"] == "an allocator is OOM-killed under a 64MiB limit") {
      CHECK(s["processes"][0]["oom_kills"].get<int>() >= 1);
      CHECK(s["processes"][0]["signal"] == 9);
    }
  }
}

// A scenario whose target runs `shell` (written into a TOML basic string) behind a ready.log gate.
static std::string log_gate_scenario(const std::string& name, const std::string& shell,
                                     const std::string& log, const std::string& timeout) {
  return "name = \"" + name + "\"\ntimeout = \"20s\"\nduration = \"300ms\"\n[target]\nshell = \"" + shell +
         "\"\n[target.ready]\nlog = \"" + log + "\"\ntimeout = \"" + timeout +
         "\"\n[expect]\noutcome = \"any\"\n";
}

TEST_CASE("run: a ready.log gate sees a prompt flushed without a newline") {
  // A program that writes its "ready" without a newline and waits (a prompt) was never seen: the
  // line splitter held it until a newline that never came, and the run ended as "not ready".
  ScratchDir dir;
  dir.write("prompt.toml",
            log_gate_scenario("a prompt without a newline", "printf 'db> '; exec sleep 30", "^db> $", "5s"));
  // The same program whose prompt never comes is still not ready: the gate matched what was
  // written, not the open line's lack of an end.
  dir.write("other-prompt.toml",
            log_gate_scenario("another prompt", "printf 'db'; exec sleep 30", "^db> $", "1s"));
  // A line written in two parts back to back is matched whole, not by its first part: the open
  // line is offered only once the output has been quiet for a while.
  dir.write("line-in-parts.toml",
            log_gate_scenario("a line in two writes",
                              "printf 'server ready'; printf ' (degraded)\\\\n'; exec sleep 30",
                              "server ready$", "1s"));
  auto r = run_with_report(quote(dir / "prompt.toml") + " " + quote(dir / "other-prompt.toml") + " " +
                           quote(dir / "line-in-parts.toml"));
  INFO(r.report.dump(1));
  CHECK(r.cmd.status == 1);
  REQUIRE(r.report["scenarios"].size() == 3);
  CHECK(r.report["scenarios"][2]["result"] == "error");
  const auto& ready = r.report["scenarios"][0];
  CHECK(ready["result"] == "pass");
  const auto& never = r.report["scenarios"][1];
  CHECK(never["result"] == "error");
  CHECK(never["reason"].get<std::string>().find(
            "was not ready within 1s: no output line matched ready.log") != std::string::npos);
}

TEST_CASE("run: a service ignoring SIGTERM is killed-after-grace and fails graceful") {
  auto r = run_with_report(scenario("selftest/failing/ignores-sigterm.toml"));
  CHECK(r.cmd.status == 1);
  const auto& s = r.report["scenarios"][0];
  INFO(s.dump(1));
  CHECK(s["result"] == "fail");
  CHECK(has_failure(s, "expect.graceful"));
  const auto& p = only_process(r.report);
  CHECK(p["outcome"] == "killed-after-grace");
  CHECK(p["graceful"] == false);
  CHECK(r.cmd.out.find("0 passed, 1 failed") != std::string::npos);
}

TEST_CASE("run: a setsid orphan fails no_orphans and is reaped") {
  auto r = run_with_report(scenario("selftest/failing/leaves-orphan.toml"));
  CHECK(r.cmd.status == 1);
  const auto& s = r.report["scenarios"][0];
  CHECK(has_failure(s, "expect.no_orphans"));
  const auto& p = only_process(r.report);
  REQUIRE(p["orphans"].size() == 1);
  const std::string out = p["stdout_tail"];
  const auto pos = out.find("daemonized ");
  REQUIRE(pos != std::string::npos);
  const pid_t orphan = std::stoi(out.substr(pos + 11));
  CHECK_FALSE(alive(orphan));
}

TEST_CASE("run: a child that leaves its cgroup holding the output ends the run as an error, not a hang") {
  auto r = run_with_report(scenario("selftest/failing/escapes-cgroup-holding-output.toml"));
  const auto& s = r.report["scenarios"][0];
  const std::string out = only_process(r.report)["stdout_tail"];
  const auto pos = out.find("escaped ");
  REQUIRE(pos != std::string::npos);
  const pid_t escaped = std::stoi(out.substr(pos + 8));
  // Outside every cgroup of the run, but handed to the harness as their subreaper when the
  // target ended: killed at the teardown, not left to outlive the harness.
  const bool left_running = alive(escaped);
  if (left_running) ::kill(escaped, SIGKILL);
  CHECK_FALSE(left_running);
  CHECK(r.cmd.status == 1);
  CHECK(s["result"] == "error");
  CHECK(s["reason"].get<std::string>().starts_with(
      "the output of `target` was still open 5s after every process in the scenario's cgroups ended"));
  // Bounded by the timeout (2s) and the drain (5s), not by the child's 60s.
  CHECK(s["duration_ms"].get<double>() < 30000);
}

TEST_CASE("run: a process that leaves only its memory cgroup is an error, not a pass") {
  // cgroup v1 and hybrid hosts only: on pure v2 there is one hierarchy, and leaving it is leaving.
  if (!fs::exists("/sys/fs/cgroup/memory/cgroup.procs"))
    FAULTLINE_SKIP("no cgroup v1 memory hierarchy: a process can leave one controller only on v1/hybrid");
  auto r = run_with_report(scenario("selftest/failing/leaves-memory-cgroup-only.toml"));
  const auto& s = r.report["scenarios"][0];
  CHECK(r.cmd.status == 1);
  CHECK(s["result"] == "error");
  const std::string reason = s["reason"];
  CHECK(reason.starts_with("process `target`: pid "));
  CHECK(reason.find(") moved itself out of /sys/fs/cgroup/memory/") != std::string::npos);
  CHECK(reason.find("but not out of the process's other cgroups") != std::string::npos);
}

// The scenario of a process of `a` that writes itself into `b`'s cgroups ended as an error that
// says so: seen in `b`'s while its parent is in `a`'s, seen in `a`'s at one look and in `b`'s at a
// later one, or (v1: one write per hierarchy) seen on its way.
static void check_moved_across(const std::string& rel) {
  auto r = run_with_report(scenario(rel));
  const auto& s = r.report["scenarios"][0];
  INFO(s.dump(1));
  CHECK(r.cmd.status == 1);
  CHECK(s["result"] == "error");
  const std::string reason = s["reason"];
  const bool beside_parent =
      reason.find("is in process `b`'s cgroups while its parent, pid ") != std::string::npos &&
      reason.find("), is in `a`'s: one of them moved itself across") != std::string::npos;
  const bool between_looks =
      reason.find("was in process `a`'s cgroups and is now in `b`'s: it moved itself across") !=
      std::string::npos;
  const bool on_its_way = reason.find("but not out of the process's other cgroups") != std::string::npos;
  CHECK((beside_parent || between_looks || on_its_way));
}

TEST_CASE("run: a child that moves itself into another process's cgroups is an error, not a pass") {
  // In every hierarchy at once it left no cgroup partly, and `a`'s counters no longer saw it: the
  // scenario passed with `a`'s max_memory far below what its child held.
  check_moved_across("selftest/failing/moves-into-other-process-cgroup.toml");
}

TEST_CASE("run: an orphan that moves itself into another process's cgroups is an error, not a pass") {
  // Its parent was faultline (the subreaper), in no process's cgroup, so the parent's cgroups
  // showed nothing: the scenario passed with `a`'s max_memory far below what the orphan held.
  check_moved_across("selftest/failing/orphan-moves-into-other-process-cgroup.toml");
}

TEST_CASE("run: a child that moves up into the run's own cgroup is an error, not a pass") {
  // cgroup v1 and hybrid: on v2 the run's cgroup takes no process, its children use its
  // controllers. The child was in none of its process's cgroups, so no_orphans, max_memory and
  // the end-of-run search (which took the run's cgroup for one of ours) all missed it: PASS.
  if (!fs::exists("/sys/fs/cgroup/memory/cgroup.procs"))
    FAULTLINE_SKIP("no cgroup v1 memory hierarchy: a cgroup v2 run's cgroup takes no process of its own");
  auto r = run_with_report(scenario("selftest/failing/child-moves-up-into-run-cgroup.toml"));
  const auto& s = r.report["scenarios"][0];
  CHECK(r.cmd.status == 1);
  CHECK(s["result"] == "error");
  const std::string reason = s["reason"];
  CHECK(reason.starts_with("pid "));
  CHECK(reason.find(") moved itself out of its process's cgroup into the run's own") != std::string::npos);
}

TEST_CASE("run: a daemon that leaves its cgroup and its output is an error, found and killed") {
  auto r = run_with_report(scenario("selftest/failing/escapes-cgroup-quietly.toml"));
  const auto& s = r.report["scenarios"][0];
  const std::string out = only_process(r.report)["stdout_tail"];
  const auto pos = out.find("escaped ");
  REQUIRE(pos != std::string::npos);
  const pid_t escaped = std::stoi(out.substr(pos + 8));
  const bool left_running = alive(escaped);
  if (left_running) ::kill(escaped, SIGKILL);
  CHECK_FALSE(left_running);
  CHECK(r.cmd.status == 1);
  CHECK(s["result"] == "error");
  const std::string reason = s["reason"];
  CHECK(
      reason.starts_with("1 process(es) left the scenario's cgroups and were still running after it ended: " +
                         std::to_string(escaped) + " (sleep) in /"));
  CHECK(reason.find("other scenarios ran beside") == std::string::npos);
  bool recorded = false;
  for (const auto& e : s["timeline"]) recorded = recorded || e["event"] == "process.escaped";
  CHECK(recorded);
}

TEST_CASE(
    "run: a child that left every cgroup and ended unseen is found by its CPU time, busy runs are not") {
  // Busy runs before and after it, whose processes stay in their cgroups, are not blamed for CPU
  // time; nor is the run after one that leaves an orphan spinning until the teardown kills it, or
  // after one whose escaped daemon spins outside every cgroup until it is found and killed: each
  // run's processes are reaped before its own check, so none of theirs counts in the next.
  ScratchDir dir;
  const std::string spin = R"("${faultline_dir}/faultline-payload" spin 300ms --cpu-time)";
  for (const std::string name : {"busy", "busy-after-orphan", "busy-after-escapes"})
    dir.write(name + ".toml", "name = \"" + name + "\"\ntimeout = \"20s\"\n[target]\nshell = '" + spin +
                                  " & " + spin + "; wait'\n");
  dir.write("orphan.toml", R"(name = "orphan"
timeout = "20s"
[target]
shell = '"${faultline_dir}/faultline-payload" spin 30s & sleep 0.3'
[expect]
no_orphans = false
)");
  dir.write("escaped-spinner.toml", R"(name = "escaped spinner"
timeout = "20s"
[target]
shell = """
sh -c 'for f in /sys/fs/cgroup/cgroup.procs /sys/fs/cgroup/*/cgroup.procs; do echo $$ >$f 2>/dev/null; done; exec "$0" spin 30s' "${faultline_dir}/faultline-payload" </dev/null >/dev/null 2>&1 &
sleep 0.5
"""
)");
  // One-shot commands (a ready.exec gate, exec probes) that use CPU in cgroups made and removed
  // for each: counted, neither taken for an escape nor a cover for one.
  // Each probe command leaves a line in a tally file of its scenario, and each target waits for
  // enough of them, however slowly the commands run (a loaded machine, an emulated one).
  const auto one_shots = [](const std::string& tally) {
    return R"(
[target.ready]
exec = ["${faultline_dir}/faultline-payload", "spin", "30ms", "--cpu-time"]
[[probe]]
name = "a command with some CPU time"
exec = ["sh", "-c", "echo x >>'${scenario_dir}/)" +
           tally + R"('; exec \"$0\" spin 5ms --cpu-time", "${faultline_dir}/faultline-payload"]
every = "20ms"
timeout = "5s"
during = { from = "ready" }
)";
  };
  const auto wait_for_tally = [](const std::string& tally, int lines) {
    return "until [ \"$(cat \"${scenario_dir}/" + tally + "\" 2>/dev/null | wc -l)\" -ge " +
           std::to_string(lines) + " ]; do sleep 0.05; done";
  };
  dir.write("busy-with-one-shots.toml",
            "name = \"busy with one-shots\"\ntimeout = \"60s\"\n[target]\nshell = '" + spin + " & " + spin +
                "; " + wait_for_tally("busy.tally", 12) + "; wait'\n" + one_shots("busy.tally"));
  dir.write("escapes-with-one-shots.toml", R"(name = "escapes beside one-shots"
timeout = "60s"
[target]
shell = """
sh -c 'for f in /sys/fs/cgroup/cgroup.procs /sys/fs/cgroup/*/cgroup.procs; do echo $$ >$f 2>/dev/null; done; exec "$0" spin 300ms --cpu-time' "${faultline_dir}/faultline-payload"
)" + wait_for_tally("escapes.tally", 6) +
                                               R"(
"""
[expect]
exit_codes = [0]
)" + one_shots("escapes.tally"));
  auto r =
      run_with_report(quote(dir / "busy.toml") + " " + quote(dir / "orphan.toml") + " " +
                      quote(dir / "busy-after-orphan.toml") + " " + quote(dir / "escaped-spinner.toml") +
                      " " + scenario("selftest/failing/escapes-cgroup-and-ends-unseen.toml") + " " +
                      quote(dir / "busy-after-escapes.toml") + " " + quote(dir / "busy-with-one-shots.toml") +
                      " " + quote(dir / "escapes-with-one-shots.toml") + " -j 1");
  CHECK(r.cmd.status == 1);
  const auto& runs = r.report["scenarios"];
  REQUIRE(runs.size() == 8);
  for (const std::size_t passing : {0, 1, 2, 5, 6}) {
    INFO(runs[passing].dump(1));
    CHECK(runs[passing]["result"] == "pass");
  }
  CHECK(runs[3]["result"] == "error");
  CHECK(runs[3]["reason"].get<std::string>().find("left the scenario's cgroups") != std::string::npos);
  const auto& escaped = runs[4];
  CHECK(escaped["result"] == "error");
  const std::string reason = escaped["reason"];
  CHECK(reason.starts_with("the scenario's processes used "));
  CHECK(reason.find(" of CPU outside its cgroups (a process that moved itself out") != std::string::npos);
  bool recorded = false;
  for (const auto& e : escaped["timeline"]) recorded = recorded || e["event"] == "process.escaped";
  CHECK(recorded);
  // The one-shot commands did run, so the count that covers them is not an empty one.
  const auto attempts = [](const nlohmann::json& run) {
    return run["probes"].empty() ? std::size_t{0} : run["probes"][0]["attempts"].size();
  };
  CHECK(attempts(runs[6]) >= 10);
  CHECK(attempts(runs[7]) >= 5);
  INFO(runs[7].dump(1));
  CHECK(runs[7]["result"] == "error");
  CHECK(runs[7]["reason"].get<std::string>().starts_with("the scenario's processes used "));
}

TEST_CASE("run -j 2: an escaped daemon fails its run even when another run finds it") {
  // The quick escape ends first, beside a run that goes on for a second: whichever run's
  // teardown finds the daemon, the run it came from does not pass.
  ScratchDir dir;
  dir.write("slow.toml",
            "name = \"slow neighbour\"\ntimeout = \"20s\"\n[target]\ncommand = [\"sleep\", \"1\"]\n");
  auto r = run_with_report(scenario("selftest/failing/escapes-cgroup-quietly.toml") + " " +
                           quote(dir / "slow.toml") + " -j 2");
  CHECK(r.cmd.status == 1);
  bool escape_judged = false;
  for (const auto& s : r.report["scenarios"]) {
    if (s["name"] != "slow neighbour") escape_judged = s["result"] == "error";
    if (s["result"] == "error")
      CHECK(s["reason"].get<std::string>().find("left the scenario's cgroups") != std::string::npos);
  }
  CHECK(escape_judged);
}

TEST_CASE("run -j 2: an escaper that holds its output errors when another run's teardown kills it") {
  // The escaper waits for the output its escaped child holds; the neighbour's teardown finds the
  // child and kills it, which closes that output. The escaper then ended at once and, before the
  // neighbour had recorded what it found, passed, while the neighbour took the error.
  ScratchDir dir;
  dir.write("neighbour.toml",
            "name = \"neighbour\"\ntimeout = \"20s\"\n[target]\ncommand = [\"sleep\", \"1.5\"]\n");
  for (int attempt = 0; attempt < 3; ++attempt) {
    auto r = run_with_report(scenario("selftest/failing/escapes-cgroup-holding-output.toml") + " " +
                             quote(dir / "neighbour.toml") + " -j 2");
    CHECK(r.cmd.status == 1);
    for (const auto& s : r.report["scenarios"])
      if (s["name"] != "neighbour") CHECK(s["result"] == "error");
  }
}

// A child the shell had before it exec'd faultline becomes faultline's child too, but faultline
// never started it: not an escapee, however it is placed.
TEST_CASE("run and exec: children inherited across the exec that started faultline are left alone") {
  ScratchDir dir;
  for (const std::string& command :
       {std::string("run ") + scenario("selftest/report-pass.toml") + " --json " + quote(dir / "report.json"),
        std::string("exec -- ") + payload() + " print hello"}) {
    INFO(command);
    auto cmd = run_shell("sleep 30 & echo $! > " + quote(dir / "inherited") + "; exec " + faultline_cmd() +
                         " " + command);
    INFO("stdout: " << cmd.out << "\nstderr: " << cmd.err);
    const pid_t inherited = std::stoi(read_file(dir / "inherited"));
    const bool left_alone = alive(inherited);
    ::kill(inherited, SIGKILL);
    CHECK(left_alone);
    CHECK(cmd.status == 0);
    CHECK(cmd.err.find("had moved itself") == std::string::npos);
  }
}

// faultline is the subreaper of what it starts: an orphan that ends is a zombie of faultline's,
// and a zombie counts against its cgroup's pids limit until it is reaped, as init would at once.
TEST_CASE("exec: orphans that end are reaped as they end, not left to fill --pids") {
  // 60 short-lived orphans, one every 20 ms, under a limit of 20 processes.
  auto cmd = run_shell(faultline_cmd() + " exec --pids 20 -- sh -c " +
                       quote("for i in $(seq 60); do (sh -c 'exit 0' &); sleep 0.02; done; echo done"));
  INFO("stdout: " << cmd.out << "\nstderr: " << cmd.err);
  CHECK(cmd.status == 0);
  CHECK(cmd.out == "done\n");
  CHECK(cmd.err.find("Cannot fork") == std::string::npos);
  CHECK(cmd.err.find("refused at the pids limit") == std::string::npos);
}

TEST_CASE("exec: a process that leaves the command's cgroup is found, killed and named") {
  const std::string token = std::to_string(::getpid()) + "-exec-escape";
  auto cmd = run_shell(faultline_cmd() + " exec -- sh -c " +
                       quote("FAULTLINE_E2E_TOKEN=" + token +
                             " sh -c 'for f in /sys/fs/cgroup/*/cgroup.procs /sys/fs/cgroup/cgroup.procs; do "
                             "echo $$ >$f 2>/dev/null; done; exec sleep 60' </dev/null >/dev/null 2>&1 & "
                             "sleep 0.5"));
  INFO("stderr: " << cmd.err);
  const auto left = pids_with_token(token);
  for (pid_t pid : left) ::kill(pid, SIGKILL);
  CHECK(left.empty());
  CHECK(cmd.status == 125);  // it ran outside the command's limits: faultline did not hold it
  CHECK(cmd.err.find("(sleep, had moved itself to /)") != std::string::npos);
}

TEST_CASE("run: a hang hits the scenario timeout as timed-out") {
  auto r = run_with_report(scenario("selftest/failing/hangs.toml"));
  CHECK(r.cmd.status == 1);
  const auto& s = r.report["scenarios"][0];
  CHECK(s["result"] == "fail");
  CHECK(has_failure(s, "timeout"));
  CHECK(only_process(r.report)["outcome"] == "timed-out");
  CHECK(s["duration_ms"].get<double>() < 5000);
}

TEST_CASE("run: a missing binary is failed-to-start and the scenario errors") {
  auto r = run_with_report(scenario("selftest/failing/missing-binary.toml"));
  CHECK(r.cmd.status == 1);
  const auto& s = r.report["scenarios"][0];
  CHECK(s["result"] == "error");
  const auto& p = only_process(r.report);
  CHECK(p["outcome"] == "failed-to-start");
  CHECK(std::string(s["reason"]).find("No such file or directory") != std::string::npos);
  CHECK(r.cmd.out.find("0 passed, 0 failed, 1 errors") != std::string::npos);
}

TEST_CASE("run: a run whose every scenario was skipped exits 3, since it tested nothing") {
  // memory.high exists only on cgroup v2: elsewhere the scenario is skipped.
  if (fs::exists("/sys/fs/cgroup/cgroup.controllers"))
    FAULTLINE_SKIP("cgroup v2 has memory.high, so no scenario of this test is skipped here");
  ScratchDir dir;
  std::ofstream(dir / "needs-v2.toml") << "name = \"needs memory.high\"\n[target]\ncommand = [\"true\"]\n"
                                          "limits.memory_high = \"64MiB\"\n";
  std::ofstream(dir / "plain.toml") << "name = \"plain\"\n[target]\ncommand = [\"true\"]\n";
  const auto all_skipped = run_shell(faultline_cmd() + " run " + quote(dir / "needs-v2.toml"));
  INFO(all_skipped.out << all_skipped.err);
  CHECK(all_skipped.status == 3);
  CHECK(all_skipped.out.find("every scenario was skipped") != std::string::npos);
  CHECK(all_skipped.out.find("nothing was tested") != std::string::npos);
  // One that ran keeps the run green: a skip alone is reported, not failed.
  const auto one_ran =
      run_shell(faultline_cmd() + " run " + quote(dir / "needs-v2.toml") + " " + quote(dir / "plain.toml"));
  INFO(one_ran.out << one_ran.err);
  CHECK(one_ran.status == 0);
}

TEST_CASE("run: --cgroup-root given as a filesystem path is a usage error (exit 2), nothing runs") {
  const auto r = run_shell(faultline_cmd() + " run " + scenario("examples/freeze-1s.toml") +
                           " --cgroup-root /sys/fs/cgroup/faultline");
  INFO(r.out << r.err);
  CHECK(r.status == 2);
  CHECK(r.err.find("give the cgroup's path inside the hierarchy, such as /ci/faultline") !=
        std::string::npos);
  CHECK(r.out.find("run(s) of") == std::string::npos);
}

TEST_CASE("validate: a typo'd key is reported at file:line:col with a hint") {
  const fs::path file = fs::temp_directory_path() / "faultline-e2e-typo.toml";
  {
    std::ofstream out(file);
    out << "name = \"typo\"\n[target]\ncommand = [\"true\"]\n[expect]\ngracefull = true\n";
  }
  auto r = run_shell(faultline_cmd() + " validate " + quote(file));
  CHECK(r.status == 2);
  CHECK(r.err.find(file.string() + ":5:1: ") != std::string::npos);
  CHECK(r.err.find("gracefull") != std::string::npos);
  CHECK(r.err.find("did you mean `graceful`?") != std::string::npos);
  // run refuses to start anything for an invalid file, with the same message.
  auto run = run_shell(faultline_cmd() + " run " + quote(file));
  fs::remove(file);
  CHECK(run.status == 2);
  CHECK(run.err.find("did you mean `graceful`?") != std::string::npos);
  CHECK(run.err.find("nothing was run") != std::string::npos);
}

TEST_CASE("SIGKILL of the harness mid-run, then cleanup, leaves no process and no cgroup") {
  const std::string token = std::to_string(std::random_device{}());
  const fs::path file = fs::temp_directory_path() / ("faultline-e2e-killed-" + token + ".toml");
  {
    std::ofstream out(file);
    out << "name = \"harness gets killed\"\ntimeout = \"1h\"\n"
        // A detached child (its own session) beside a main process that stays: a daemon whose main
        // exited would be killed as an orphan at once, before the harness could be killed.
        << "[[process]]\nname = \"daemon\"\nshell = \"setsid sleep 3600 & exec " << payload_path()
        << " sleep 1h\"\n"
        << "env = { FAULTLINE_E2E_TOKEN = \"" << token << "\" }\n"
        << "[[process]]\nname = \"sleeper\"\ncommand = [\"" << payload_path() << "\", \"sleep\", \"1h\"]\n"
        << "env = { FAULTLINE_E2E_TOKEN = \"" << token << "\" }\n"
        << "[[expect]]\nprocess = \"sleeper\"\n";
  }
  const auto runs_before = run_cgroups().size();
  pid_t harness = ::fork();
  if (harness == 0) {
    ::execl(faultline_path().c_str(), "faultline", "run", file.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  // Wait until both targets (the daemon's grandchild and the sleeper) are running: up to 30 s, as
  // an emulated guest beside a build can take seconds to start two processes.
  // The count is the one that ended the wait, not a second look: between two scans of /proc a
  // process of the shell line may be between its fork and its exit (setsid forks and exits).
  std::size_t running = 0;
  for (int i = 0; i < 600; ++i) {
    running = pids_with_token(token).size();
    if (running >= 2) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  // What there was to see when fewer were found: the harness's state, and the run's cgroups.
  std::string harness_state;
  try {
    harness_state = read_file("/proc/" + std::to_string(harness) + "/stat");
  } catch (const std::exception&) {
  }
  INFO("harness " << harness << " stat: " << harness_state << "; run cgroups: " << run_cgroups().size()
                  << " (before: " << runs_before << ")");
  ::kill(harness, SIGKILL);  // also when the check below fails: no harness may outlive the test
  ::waitpid(harness, nullptr, 0);
  if (running < 2) (void)run_shell(faultline_cmd() + " cleanup");
  REQUIRE(running >= 2);
  CHECK(run_cgroups().size() > runs_before);  // the dead harness left its run behind

  auto cleanup = run_shell(faultline_cmd() + " cleanup");
  fs::remove(file);
  CHECK(cleanup.status == 0);
  CHECK(cleanup.out.find("stale run(s) removed") != std::string::npos);
  CHECK(pids_with_token(token).empty());
  CHECK(run_cgroups().size() == runs_before);
}

TEST_CASE("run: a target that froze part of itself with the v1 freezer is killed and removed") {
  // The kill thawed only the run's own freezer cgroups: a child frozen in a cgroup the target
  // made below its own stayed frozen, ignored SIGKILL in state D, and the run ended as an error
  // with its cgroups left, which every later start then failed to remove.
  if (!fs::exists("/sys/fs/cgroup/freezer/cgroup.procs"))
    FAULTLINE_SKIP("no cgroup v1 freezer hierarchy: freezer.state exists only on v1/hybrid");
  ScratchDir dir;
  const std::string token = std::to_string(std::random_device{}());
  dir.write("freeze.toml",
            "name = \"a target that freezes part of itself\"\ntimeout = \"20s\"\n[target]\nshell = \"\"\"\n"
            "d=/sys/fs/cgroup/freezer$(awk -F: '$2==\"freezer\"{print $3}' /proc/self/cgroup)\n"
            "mkdir \"$d/sub\"\nFAULTLINE_E2E_TOKEN=" +
                token +
                " sleep 3600 &\necho $! > \"$d/sub/cgroup.procs\"\necho FROZEN > \"$d/sub/freezer.state\"\n"
                "echo frozen\n\"\"\"\n");
  const auto runs_before = run_cgroups().size();
  auto r = run_with_report(quote(dir / "freeze.toml"));
  const auto& s = r.report["scenarios"][0];
  INFO(s.dump(2));
  CHECK(r.cmd.status == 1);
  CHECK(s["result"] == "fail");  // the frozen child is an orphan, killed and named; no error
  CHECK(s["failures"][0]["check"] == "expect.no_orphans");
  CHECK(pids_with_token(token).empty());
  CHECK(run_cgroups().size() == runs_before);
}

TEST_CASE("cleanup --cgroup-root finds the runs a killed exec left under that root") {
  // Without it, cleanup looked under the default root only: a run left under the root a CI job
  // gave `run` and `exec` stayed, with its processes, and cleanup said 0 removed.
  const std::string token = std::to_string(std::random_device{}());
  const std::string root = "/faultline-e2e-cleanup-" + token;
  const std::string root_arg = " --cgroup-root " + root;
  pid_t harness = ::fork();
  if (harness == 0) {
    ::setenv("FAULTLINE_E2E_TOKEN", token.c_str(), 1);
    // A grandchild: the command itself dies with faultline (its parent-death signal), what it
    // started stays in the run's cgroup.
    const std::string line = quote(payload_path()) + " sleep 1h & wait";
    ::execl(faultline_path().c_str(), "faultline", "exec", "--cgroup-root", root.c_str(), "--", "sh", "-c",
            line.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  bool running = false;
  for (int i = 0; i < 600 && !running; ++i) {
    // The payload, not faultline itself nor the shell (which have the token too).
    for (const pid_t pid : pids_with_token(token)) {
      try {
        running =
            running || read_file("/proc/" + std::to_string(pid) + "/comm").starts_with("faultline-paylo");
      } catch (const std::exception&) {  // gone between the two reads
      }
    }
    if (!running) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ::kill(harness, SIGKILL);
  ::waitpid(harness, nullptr, 0);
  CHECK(running);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the shell's parent-death kill
  const auto elsewhere = run_shell(faultline_cmd() + " cleanup");
  CHECK(elsewhere.status == 0);
  CHECK_FALSE(pids_with_token(token).empty());  // not under the default root: left alone
  const auto cleanup = run_shell(faultline_cmd() + " cleanup" + root_arg);
  INFO("cleanup: " << cleanup.out << cleanup.err);
  CHECK(cleanup.status == 0);
  CHECK(cleanup.out.find("removed run-") != std::string::npos);
  CHECK(cleanup.out.ends_with("1 stale run(s) removed\n"));
  CHECK(pids_with_token(token).empty());
  // The root itself was the caller's to make; remove it in every hierarchy.
  std::error_code ec;
  for (const auto& hierarchy : fs::directory_iterator("/sys/fs/cgroup", ec)) {
    const auto dir = hierarchy.path() / root.substr(1);
    if (fs::is_directory(dir)) CHECK(::rmdir(dir.c_str()) == 0);
  }
  if (fs::exists("/sys/fs/cgroup/cgroup.controllers") && fs::is_directory("/sys/fs/cgroup" + root))
    CHECK(::rmdir(("/sys/fs/cgroup" + root).c_str()) == 0);
}

TEST_CASE("run: cwd, env, clear_env and user apply to the target") {
  const fs::path dir = fs::temp_directory_path() / ("faultline-e2e-opts-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const bool have_nobody = ::getpwnam("nobody") != nullptr;
  {
    std::ofstream out(dir / "opts.toml");
    out << "name = \"process options\"\n[target]\n"
        << "shell = \"pwd; echo FOO=$FOO; echo HOME=$${HOME:-unset}; id -u\"\n"
        << "cwd = \"" << dir.string()
        << "\"\nenv = { FOO = \"bar\", PATH = \"/usr/bin:/bin\" }\nclear_env = true\n"
        << (have_nobody ? "user = \"nobody\"\n" : "") << "[expect]\nexit_codes = [0]\n";
  }
  auto r = run_with_report(quote((dir / "opts.toml").string()));
  fs::remove_all(dir);
  CHECK(r.cmd.status == 0);
  const std::string out = only_process(r.report)["stdout_tail"];
  CHECK(out.rfind(dir.string() + "\nFOO=bar\nHOME=unset\n", 0) == 0);
  if (have_nobody)
    CHECK(out.ends_with(std::to_string(::getpwnam("nobody")->pw_uid) + "\n"));
  else
    record_skip("the privilege drop: no user `nobody` on this host");
}

TEST_CASE("an unexpected error (an unreadable directory) is one line and exit 4, not an abort") {
  if (::geteuid() != 0) {
    FAULTLINE_SKIP("needs root to validate as another user");
  }
  // util-linux's setpriv switches users; busybox's (the v2 guest's) only sets capabilities.
  if (run_shell("setpriv --reuid=65534 --regid=65534 --clear-groups true").status != 0)
    FAULTLINE_SKIP("setpriv cannot switch to another user here (util-linux setpriv is needed)");
  char dir_template[] = "/tmp/faultline-e2e-unreadable-XXXXXX";
  const fs::path dir = ::mkdtemp(dir_template);
  fs::permissions(dir, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                           fs::perms::others_read | fs::perms::others_exec);
  {
    std::ofstream out(dir / "ok.toml");
    out << "name = \"ok\"\n[target]\ncommand = [\"true\"]\n";
  }
  fs::create_directory(dir / "private");
  fs::permissions(dir / "private", fs::perms::owner_all);  // root only: nobody cannot list it
  auto r = run_shell("setpriv --reuid=65534 --regid=65534 --clear-groups " + faultline_cmd() + " validate " +
                     quote(dir.string()));
  fs::remove_all(dir);
  INFO(r.err);
  CHECK(r.status == 4);
  CHECK(r.err.rfind("faultline: internal error: ", 0) == 0);
  CHECK(r.err.find("Permission denied") != std::string::npos);
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
}

TEST_CASE("cli: each subcommand named first parses as itself; help, --version and typos as before", "[cli]") {
  // main registers only the subcommand argv[1] names (a cheaper start for exec): each name must
  // still reach its own options, and everything else must still see the whole table.
  const std::vector<std::string> listed = {"run",     "exec",   "validate", "doctor",
                                           "cleanup", "report", "plan",     "schema"};
  const auto help = run_shell(faultline_cmd() + " --help");
  INFO("--help: " << help.out << help.err);
  CHECK(help.status == 0);
  for (const auto& name : listed) CHECK(help.out.find("\n  " + name + " ") != std::string::npos);
  for (const auto& name : std::vector<std::string>{"run", "exec", "validate", "doctor", "cleanup", "report",
                                                   "plan", "schema", "hog"}) {
    const auto own = run_shell(faultline_cmd() + " " + name + " --help");
    INFO(name << " --help: exit " << own.status << "\n" << own.out << own.err);
    CHECK(own.status == 0);
    CHECK(own.out.find("faultline " + name + " [OPTIONS]") != std::string::npos);
  }
  const auto version = run_shell(faultline_cmd() + " --version");
  CHECK(version.status == 0);
  CHECK(version.out.rfind("faultline ", 0) == 0);
  const auto typo = run_shell(faultline_cmd() + " exce -- true");
  INFO("typo: " << typo.out << typo.err);
  CHECK(typo.status == 2);
  const auto bad_run_option = run_shell(faultline_cmd() + " run --no-such-option x.toml");
  CHECK(bad_run_option.status == 2);
}

TEST_CASE("run: the scenario's processes keep their caller's memory limit", "[cli]") {
  // A CI job whose own cgroup limits memory: the run's cgroups are made under the faultline
  // parent, outside the job's, so a process the job's limit OOM-kills once passed under `run`.
  const auto memory = memory_hierarchy();
  if (!memory) FAULTLINE_SKIP(kNoMemoryHierarchy);
  ScratchDir dir;
  const auto file = dir.write("job.toml",
                              "name = \"alloc past the job's limit\"\ntimeout = \"30s\"\n[target]\n"
                              "command = [\"" +
                                  payload_path() +
                                  "\", \"alloc\", \"200MiB\"]\n[expect]\n"
                                  "stdout.contains = \"allocated\"\n");
  const JobCgroup job(memory->root, "run-job", {{memory->limit_file(), std::to_string(64 << 20)}});
  const auto [r, s] = run_in_job(job, dir, file);
  INFO("stdout: " << r.out << "\nstderr: " << r.err);
  REQUIRE(s.is_object());
  CHECK(r.status == 1);
  CHECK(s["result"] == "fail");
  CHECK(s["processes"][0]["outcome"] == "oom-killed");
  bool said = false;
  for (const auto& e : s["timeline"])
    said |= e["event"] == "limits.caller" &&
            e["detail"].get<std::string>().starts_with(
                "the run keeps its caller's memory limit 64MiB (cgroup /" + job.name() + ")");
  CHECK(said);
}

TEST_CASE("run: a squeeze above the caller's memory limit, which the run keeps, never took effect", "[cli]") {
  // The process was under the job's 512MiB throughout: a "squeeze" to 768MiB once counted as
  // applied, and every check under it passed for a squeeze that changed nothing. faultline itself
  // runs inside the job: 512MiB leaves room for an instrumented (ASan) build, about 125MiB here.
  const auto memory = memory_hierarchy();
  if (!memory) FAULTLINE_SKIP(kNoMemoryHierarchy);
  ScratchDir dir;
  const auto file =
      dir.write("job.toml",
                "name = \"squeeze above the job's limit\"\ntimeout = \"30s\"\nduration = \"4s\"\n"
                "[target]\ncommand = [\"" +
                    payload_path() +
                    "\", \"alloc\", \"8MiB\", \"--hold\", \"forever\"]\n"
                    "ready.log = \"allocated\"\n"
                    "[[inject]]\nname = \"above\"\nkind = \"memory\"\nlimit = \"768MiB\"\n"
                    "at = \"ready+100ms\"\nduration = \"500ms\"\n"
                    "[[inject]]\nname = \"below\"\nkind = \"memory\"\nlimit = \"48MiB\"\n"
                    "at = \"ready+800ms\"\nduration = \"500ms\"\n"
                    "[expect]\noutcome = \"any\"\n");
  const JobCgroup job(memory->root, "squeeze-job", {{memory->limit_file(), std::to_string(512 << 20)}});
  const auto [r, s] = run_in_job(job, dir, file);
  INFO("stdout: " << r.out << "\nstderr: " << r.err);
  REQUIRE(s.is_object());
  CHECK(r.status == 1);
  CHECK(s["result"] == "fail");
  std::vector<std::string> failed;
  for (const auto& f : s["failures"]) failed.push_back(f["message"].get<std::string>());
  REQUIRE(failed.size() == 1);
  CHECK(failed[0].starts_with(
      "memory fault `above` never took effect (skipped: it would change nothing here: the "
      "run's cgroup holds the caller's memory limit 512MiB: a squeeze must lower it)"));
  // The one below the job's limit is written, and said to be below it.
  bool below_applied = false;
  for (const auto& e : s["timeline"])
    below_applied |= e["event"] == "inject.apply" && e["inject"] == "below" &&
                     e["detail"] == "memory.max max -> 48MiB (below the caller's 512MiB)";
  CHECK(below_applied);
}

TEST_CASE("run: a timeout under the caller's CPU limit, which the run keeps, is blamed on throttling",
          "[cli]") {
  // The job's quota is kept on the run's cgroup, so the process's own cgroup counts no throttled
  // period: its timeout was diagnosed as "running without being throttled: likely a busy loop".
  const auto cpu = cpu_hierarchy();
  if (!cpu) FAULTLINE_SKIP(kNoCpuHierarchy);
  ScratchDir dir;
  const auto file = dir.write("starved.toml",
                              "name = \"starved by the job\"\ntimeout = \"2s\"\n"
                              "[target]\ncommand = [\"" +
                                  payload_path() +
                                  "\", \"spin\", \"1h\"]\n"
                                  "[expect]\noutcome = \"timed-out\"\n");
  const JobCgroup job(cpu->root, "starved-job", {cpu->quota(20)});
  const auto [r, s] = run_in_job(job, dir, file);
  INFO("stdout: " << r.out << "\nstderr: " << r.err);
  REQUIRE(s.is_object());
  INFO(s.dump(1));
  CHECK(s["result"] == "pass");
  const std::string finding = s["diagnostics"]["finding"];
  std::smatch m;
  REQUIRE(
      std::regex_match(finding, m,
                       std::regex(R"(the run's processes throttled in (\d+)% of CPU periods at the )"
                                  R"(caller's quota 20%, kept on the run's cgroup: likely CPU starvation, )"
                                  R"(not a deadlock)")));
  CHECK(std::stoi(m[1]) >= 50);
  CHECK(s["diagnostics"]["cpu"].get<std::string>().find(
            "the run's cgroup (the caller's limits): throttled in ") != std::string::npos);
}

TEST_CASE("run: a swap limit without a memory limit says it holds nothing on cgroup v1", "[cli]") {
  // v1 bounds swap through memory.memsw = memory + swap: `swap = "0B"` alone was written as an
  // unlimited memsw and the process swapped as before, without a word (exec refuses it).
  const auto memory = memory_hierarchy();
  if (!memory) FAULTLINE_SKIP(kNoMemoryHierarchy);
  ScratchDir dir;
  const auto file = dir.write("swap.toml",
                              "name = \"swap alone\"\ntimeout = \"10s\"\n"
                              "[[process]]\nname = \"target\"\ncommand = [\"true\"]\n"
                              "[process.limits]\nswap = \"0B\"\n"
                              "[[process]]\nname = \"both\"\ncommand = [\"true\"]\n"
                              "[process.limits]\nswap = \"0B\"\nmemory = \"64MiB\"\n");
  const std::string json_path = (dir.path() / "r.json").string();
  const auto r = run_shell(faultline_cmd() + " run " + quote(file) + " --json " + quote(json_path));
  INFO("stdout: " << r.out << "\nstderr: " << r.err);
  REQUIRE(fs::exists(json_path));
  const json s = json::parse(read_file(json_path))["scenarios"][0];
  std::vector<std::string> said;
  for (const auto& e : s["timeline"])
    if (e["event"] == "limits.noop")
      said.push_back(e["process"].get<std::string>() + ": " + e["detail"].get<std::string>());
  if (s["result"] == "skip")
    FAULTLINE_SKIP("this host cannot limit swap: " + s.value("reason", std::string()));
  CHECK(r.status == 0);
  if (!memory->v1) {  // memory.swap.max holds by itself
    CHECK(said.empty());
    return;
  }
  REQUIRE(said.size() == 1);
  CHECK(said[0] ==
        "target: swap 0B holds nothing without a memory limit: cgroup v1 bounds swap only together with "
        "memory (memory.memsw.limit_in_bytes = memory + swap), so the process swaps as before until a "
        "memory fault sets one");
  CHECK(r.out.find("\n       limits [target]: swap 0B holds nothing without a memory limit") !=
        std::string::npos);
}

TEST_CASE("run --cgroup-root: exec probes run under that root too, not under the default parent") {
  // The probes made their cgroup with a backend of their own, under /faultline, whatever
  // --cgroup-root said: on a shared host, in the tree the option was to keep clear.
  const std::string root = "/faultline-e2e-probe-root-" + std::to_string(::getpid());
  ScratchDir dir;
  const auto file =
      dir.write("probe.toml",
                "name = \"exec probe under --cgroup-root\"\ntimeout = \"20s\"\nduration = \"1s\"\n[target]\n"
                "command = [\"sleep\", \"30\"]\n[[probe]]\nname = \"in the root\"\n"
                "exec = [\"grep\", \"-q\", \":" +
                    root +
                    "/run-\", \"/proc/self/cgroup\"]\nevery = \"100ms\"\n"
                    "during = { from = \"ready\", to = \"ready+500ms\" }\n");
  const auto r = run_shell(faultline_cmd() + " run " + quote(file) + " --cgroup-root " + root);
  INFO("stdout: " << r.out << "\nstderr: " << r.err);
  // The parent faultline made under each hierarchy stays, as /faultline does: removed here.
  for (const auto& hierarchy : fs::directory_iterator("/sys/fs/cgroup")) {
    std::error_code ec;
    fs::remove(hierarchy.path() / root.substr(1), ec);
  }
  std::error_code ec;
  fs::remove(fs::path("/sys/fs/cgroup") / root.substr(1), ec);
  CHECK(r.status == 0);
  CHECK(r.out.find("PASS   exec probe under --cgroup-root") != std::string::npos);
}
