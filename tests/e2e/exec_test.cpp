// `faultline exec` as a drop-in for coreutils `timeout` in CI: its exit statuses, the order of
// the signals at a timeout, the diagnosis it prints, --summary, --json; and `doctor`.
#include <linux/capability.h>
#include <poll.h>
#include <pty.h>
#include <sched.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <thread>

#include "common/proc_status.h"
#include "tests/support/background_harness.h"
#include "tests/support/command.h"
#include "tests/support/job_cgroup.h"
#include "tests/support/kernel_log_env.h"
#include "tests/support/report_schema.h"
#include "tests/support/scratch_dir.h"
#include "tests/support/skips.h"
#include "tests/support/sockets.h"
#include "tests/support/test_env.h"

using namespace faultline::test;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

std::string exec_cmd(const std::string& options) { return quote(faultline_path()) + " exec " + options; }
CommandOutput exec(const std::string& options, const std::string& payload_args) {
  auto r = run_shell(exec_cmd(options) + " -- " + payload() + " " + payload_args);
  UNSCOPED_INFO("exec " << options << " -- payload " << payload_args << "\nexit " << r.status
                        << "\nstdout: " << r.out << "\nstderr: " << r.err);
  return r;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// faultline refuses `options` itself: exit 125, stderr names the cause, the command never ran
// (the payload would print "ran").
void expect_refused(const std::string& options, const std::string& cause) {
  auto r = exec(options, "print ran");
  CHECK(r.status == 125);
  CHECK(contains(r.err, cause));
  CHECK(r.out.empty());
}

// Whether `text` shows up in the file at `path` within 20 seconds (the file may not exist yet).
bool wait_for_text(const std::string& path, const std::string& text) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!contains(read_file(path), text)) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

double event_time(const json& scenario, const std::string& name) {
  for (const auto& e : scenario["timeline"])
    if (e["event"] == name) return e["t_ms"].get<double>();
  FAIL("no timeline event " << name << " in " << scenario["timeline"].dump(2));
  return -1;
}

}  // namespace

TEST_CASE("exec --help names the command in its usage line", "[exec]") {
  const auto r = run_shell(exec_cmd("--help"));
  CHECK(r.status == 0);
  CHECK(contains(r.out, " exec [OPTIONS] [--] COMMAND [ARG...]\n"));
}

TEST_CASE("exec exit status: the command's own code, 128+N for a signal, 137 for an OOM kill", "[exec]") {
  CHECK(exec("", "exit 0").status == 0);
  CHECK(exec("", "exit 3").status == 3);
  CHECK(exec("", "exit 124").status == 124);  // a command's own 124 passes through untouched
  CHECK(exec("", "kill-self SIGUSR1").status == 128 + SIGUSR1);
  const auto oom = exec("--memory 64MiB --swap 0B", "alloc 200MiB");
  CHECK(oom.status == 137);
  CHECK(contains(oom.err, "faultline: oom-killed (memory limit 64MiB"));
}

TEST_CASE("exec: a child's OOM kill is named on stderr though the command's own status decides", "[exec]") {
  const auto r = run_shell(exec_cmd("--memory 32MiB --swap 0B") + " -- sh -c " +
                           quote(payload() + " alloc 200MiB; exit 0"));
  INFO("stderr: " << r.err);
  CHECK(r.status == 0);
  CHECK(contains(r.err,
                 "faultline: 1 OOM kill(s) in the command's cgroup (memory limit 32MiB); the command "
                 "itself exited with code 0\n"));
  // No OOM kill, no such line.
  CHECK_FALSE(contains(exec("--memory 32MiB --swap 0B", "exit 0").err, "OOM kill"));
}

TEST_CASE("exec: a command that SIGKILLs itself after a child's OOM kill is signaled, not oom-killed",
          "[exec]") {
  // The group's OOM counter says only that some process was OOM-killed; the kernel log names
  // which. Without a readable log the counter is all there is, and the verdict cannot be checked.
  if (auto why = kernel_log_skip_reason()) FAULTLINE_SKIP(*why);
  const auto r = run_shell(exec_cmd("--memory 64MiB --swap 0B") + " -- sh -c " +
                           quote(payload() + " alloc 200MiB >/dev/null; kill -9 $$"));
  INFO("exit " << r.status << "\nstderr: " << r.err);
  CHECK(r.status == 128 + SIGKILL);
  CHECK(contains(r.err, "faultline: signaled (SIGKILL)"));
  CHECK_FALSE(contains(r.err, "oom-killed"));
}

TEST_CASE("exec exit status: 126 when the command cannot be executed, 127 when it is not found", "[exec]") {
  ScratchDir dir;
  const std::string script = dir / "not-executable.sh";
  std::ofstream(script) << "#!/bin/sh\necho ran\n";
  fs::permissions(script, fs::perms::owner_read | fs::perms::owner_write);
  auto denied = run_shell(exec_cmd("-- " + quote(script)));
  CHECK(denied.status == 126);
  CHECK(contains(denied.err, "faultline: failed to start: "));
  CHECK(denied.out.empty());
  CHECK(run_shell(exec_cmd("-- faultline-no-such-command")).status == 127);
}

TEST_CASE("exec exit status: 125 when faultline itself fails, and the command never runs", "[exec]") {
  ScratchDir dir;
  SECTION("an unknown option") {
    auto r = exec("--no-such-option", "print ran");
    CHECK(r.status == 125);
    CHECK(r.out.empty());
  }
  SECTION("a malformed value") {
    expect_refused("--timeout soon", "--timeout `soon`");
    expect_refused("--timeout 1.5.2", "--timeout `1.5.2`");  // not taken for seconds
    expect_refused("-k 5x", "unknown unit `x`");
    expect_refused("--timeout 99999999999", "--timeout `99999999999`: read as 99999999999s, ");
    expect_refused("--timeout 366d", "--timeout `366d`: read as 366h x 24, too large");
    expect_refused("--timeout 1dd", "--timeout `1dd`");
  }
  SECTION("-k 0, which timeout(1) reads as never sending KILL") {
    expect_refused("--timeout 1s -k 0", "--kill-after 0: give the time the command has to stop");
    expect_refused("--timeout 1s -k 0ms", "--kill-after 0ms: give the time the command has to stop");
  }
  SECTION("a limit out of the kernel's range, or one that wraps") {
    // 2^64+1 once went through as no limit at all; 0 and 2^32+1 met EINVAL only at run time.
    for (const char* flag : {"--pids 0", "--pids 18446744073709551617", "--pids 4294967297", "--nofile 0",
                             "--nofile 4294967297"}) {
      expect_refused(flag, "expected a whole number from 1 to ");
    }
  }
  SECTION("a CPU quota below the kernel's 1ms per period, never raised to it") {
    expect_refused("--cpu 0.5%", "below the kernel's smallest quota of 1ms per period");
  }
  SECTION("an unknown signal") {
    auto r = exec("--timeout 1s -s SIGNOPE", "print ran");
    CHECK(r.status == 125);
    CHECK(r.out.empty());
  }
  SECTION("a --json file that cannot be written") {
    expect_refused("--json " + quote(dir / "missing-dir/r.json"), "--json ");
  }
}

TEST_CASE("exec at the timeout: 124, or the command's status with --preserve-status", "[exec]") {
  auto plain = exec("--timeout 300ms", "sleep 1h");
  CHECK(plain.status == 124);
  CHECK(contains(plain.err, "faultline: timed-out after 300ms: "));
  CHECK(contains(plain.err, "faultline: SIGTERM to 1 process(es); the command was killed by SIGTERM\n"));

  CHECK(exec("--timeout 300ms --preserve-status", "sleep 1h").status == 128 + SIGTERM);
  // Days, as timeout(1) takes them: 0.00001d is 864ms.
  auto days = exec("--timeout 0.00001d", "sleep 1h");
  CHECK(days.status == 124);
  CHECK(contains(days.err, "faultline: timed-out after 864ms: "));
  // As timeout(1): a timeout of 0 is no timeout.
  const auto unlimited = exec("--timeout 0", "sleep 300ms");
  CHECK(unlimited.status == 0);
  CHECK_FALSE(contains(unlimited.err, "timed-out"));
  CHECK(exec("--timeout 0s", "sleep 300ms").status == 0);
  // As timeout(1), a number without a unit is seconds.
  for (const char* seconds : {"0.3", ".3"}) {
    const auto bare = exec(std::string("--timeout ") + seconds, "sleep 1h");
    CHECK(bare.status == 124);
    CHECK(contains(bare.err, "faultline: timed-out after 300ms: "));
  }
  CHECK(exec("--timeout 0.0", "sleep 300ms").status == 0);
  // -s picks the first signal: SIGUSR1's default action ends the sleeper.
  CHECK(exec("--timeout 300ms -s USR1 --preserve-status", "sleep 1h").status == 128 + SIGUSR1);
  CHECK(exec("--timeout 300ms --signal INT", "sleep 1h").status == 124);
  // A command that had to be SIGKILLed is told apart from one that stopped, as timeout(1) does.
  CHECK(exec("--timeout 300ms -s KILL", "sleep 1h").status == 137);
}

TEST_CASE("exec -k: a command ignoring SIGTERM is SIGKILLed once --kill-after has passed", "[exec]") {
  ScratchDir dir;
  auto r = exec("--timeout 300ms -k 500ms --json " + quote(dir / "r.json"), "ignore-term");
  CHECK(r.status == 137);
  CHECK(contains(r.err,
                 "faultline: SIGTERM to 1 process(es), then SIGKILL to the cgroup after --kill-after "
                 "500ms; the command was killed by SIGKILL\n"));
  const json s = json::parse(read_file(dir / "r.json"))["scenarios"][0];
  const double term = event_time(s, "stop.signal"), kill = event_time(s, "stop.kill");
  CHECK(event_time(s, "timeout") <= term);
  CHECK(kill - term >= 450);  // not before --kill-after; no upper bound on a loaded machine
}

TEST_CASE("exec -k and --grace: a number without a unit is seconds, as with timeout(1)", "[exec]") {
  ScratchDir dir;
  auto r = exec("--timeout 300ms --diagnose USR1 --grace .5 -k 1. --json " + quote(dir / "r.json"),
                "dump-on SIGUSR1 --ignore-term");
  CHECK(r.status == 137);
  CHECK(contains(r.err, "500ms for their output, then SIGTERM"));
  CHECK(contains(r.err, "then SIGKILL to the cgroup after --kill-after 1s;"));
  const json s = json::parse(read_file(dir / "r.json"))["scenarios"][0];
  CHECK(event_time(s, "stop.kill") - event_time(s, "stop.signal") >= 950);
}

TEST_CASE("exec --diagnose: the dump signal reaches the command before the kill", "[exec]") {
  ScratchDir dir;
  SECTION("a command that dumps and keeps running is still killed") {
    auto r = exec("--timeout 300ms --diagnose QUIT --grace 300ms -k 300ms --json " + quote(dir / "r.json"),
                  "dump-on SIGQUIT --ignore-term");
    CHECK(r.status == 137);
    CHECK(r.err.rfind("dump: SIGQUIT\n", 0) == 0);  // the command's own line, before faultline's
    CHECK(contains(r.err, "faultline: SIGQUIT to 1 process(es), 300ms for their output, then SIGTERM"));
    const json s = json::parse(read_file(dir / "r.json"))["scenarios"][0];
    const double quit = event_time(s, "timeout.diagnose"), term = event_time(s, "stop.signal");
    CHECK(term - quit >= 250);  // the grace was given
    CHECK(event_time(s, "stop.kill") > term);
  }
  SECTION("a command that exits after its dump (as Go does) ends the run early, as a timeout") {
    auto r = exec("--timeout 300ms --diagnose SIGQUIT --grace 1h", "dump-on SIGQUIT --exit 2");
    CHECK(r.status == 124);
    CHECK(r.err.rfind("dump: SIGQUIT\n", 0) == 0);
    CHECK(contains(r.err, "; the command exited with code 2\n"));
    CHECK(exec("--timeout 300ms --diagnose SIGQUIT --preserve-status", "dump-on SIGQUIT --exit 2").status ==
          2);
  }
}

TEST_CASE("exec: a CPU-starved command's timeout is blamed on throttling", "[exec][diagnosis]") {
  auto r = exec("--cpu 5% --timeout 2s", "spin 1h");
  CHECK(r.status == 124);
  std::smatch m;
  REQUIRE(
      std::regex_search(r.err, m,
                        std::regex(R"(^faultline: timed-out after 2s: throttled in (\d+)% of CPU periods )"
                                   R"(at quota 5%: likely CPU starvation, not a deadlock\n)")));
  CHECK(std::stoi(m[1]) >= 80);
}

TEST_CASE("run: a timeout without [on_timeout] is diagnosed too", "[exec][diagnosis]") {
  ScratchDir dir;
  std::ofstream(dir / "starved.toml")
      << "name = \"starved without on_timeout\"\ntimeout = \"2s\"\n"
      << "[target]\ncommand = [\"" << payload_path() << "\", \"spin\", \"1h\"]\n"
      << "[target.limits]\ncpu = \"5%\"\n"
      << "[expect]\noutcome = \"timed-out\"\n";
  auto r = run_shell(quote(faultline_path()) + " run " + quote(dir / "starved.toml") + " --json " +
                     quote(dir / "r.json"));
  INFO(r.out << r.err);
  CHECK(r.status == 0);
  const json s = json::parse(read_file(dir / "r.json"))["scenarios"][0];
  INFO(s.dump(2));
  REQUIRE(s["diagnostics"].contains("finding"));
  CHECK(std::regex_match(s["diagnostics"]["finding"].get<std::string>(),
                         std::regex(R"(`target` throttled in \d+% of CPU periods at quota 5%: .*)")));
  CHECK(contains(s["diagnostics"]["pids"].get<std::string>(), "target pid "));
  CHECK_FALSE(s["diagnostics"].contains("dump"));  // no diagnose signal was asked for
}

TEST_CASE("exec: a --cpu quota of as many CPUs as the command may use is said not to throttle", "[exec]") {
  // `--cpu 50`, meant as 50%, is 50 CPUs: a starvation test ran unthrottled and passed.
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  REQUIRE(::sched_getaffinity(0, sizeof allowed, &allowed) == 0);
  const int usable = CPU_COUNT(&allowed);
  for (const int cpus : {usable, usable + 1}) {
    const auto r = exec("--cpu " + std::to_string(cpus), "print ran");
    CHECK(r.status == 0);
    CHECK(r.out == "ran\n");
    CHECK(contains(r.err, "faultline: --cpu " + std::to_string(cpus) + " is " + std::to_string(cpus * 100) +
                              "% of one CPU, and the command may run on " + std::to_string(usable) +
                              " CPU(s): it will not throttle the command (a share of one CPU is written "
                              "with %, e.g. --cpu 50%)\n"));
  }
  const auto percent = exec("--cpu " + std::to_string(usable * 100) + "%", "print ran");
  CHECK(contains(percent.err, "it will not throttle the command\n"));
  // Fewer than it may use, a share of one, or no limit: nothing to say.
  for (const std::string& quota : {std::to_string(usable - 1) + ".5", std::string("50%"), std::string("max")})
    CHECK(exec("--cpu " + quota, "print ran").err.empty());
}

TEST_CASE("exec --summary: one line on success too", "[exec]") {
  auto r = exec("-v --cpu 20%", "spin 1s");
  CHECK(r.status == 0);
  CHECK(r.out == "spun for 1s\n");
  std::smatch m;
  REQUIRE(std::regex_match(r.err, m,
                           std::regex(R"(faultline: exit 0 \(exited\) after (\d+\.\d\d)s, peak memory \S+, )"
                                      R"(CPU (\d+\.\d\d)s, throttled (\d+\.\d\d)s, OOM kills 0\n)")));
  CHECK(std::stod(m[1]) >= 1.0);
  CHECK(std::stod(m[2]) < 0.6);  // 20% of about a second, with slack
  // Measured, not a default: the CPU time is read even where cpuacct is a hierarchy of its own,
  // which the command's cgroup is not made in (this read 0.00s once).
  CHECK(std::stod(m[2]) > 0.05);
  CHECK(std::stod(m[3]) > 0);
  CHECK(exec("", "exit 0").err.empty());  // without --summary, silence on success
  const auto oom = exec("--summary --memory 64MiB --swap 0B", "alloc 200MiB");
  CHECK(contains(oom.err, "faultline: exit 137 (oom-killed) after "));
  CHECK(contains(oom.err, ", OOM kills 1\n"));
}

TEST_CASE("exec --memory: one cgroup, only in the hierarchies the limit and the kill need", "[exec][cost]") {
  // Every hierarchy directory costs a mkdir, an attach and an rmdir per command; a process
  // outside a hierarchy stays in the harness's own cgroup there.
  const auto r = run_shell(exec_cmd("--memory 64MiB") + " -- cat /proc/self/cgroup");
  INFO("exit " << r.status << "\nstdout: " << r.out << "\nstderr: " << r.err);
  REQUIRE(r.status == 0);
  const std::regex line_re(R"((\d+):([^:]*):(.*))");
  const std::regex leaf_run(R"(.*/faultline/run-\d+-\d+-\d+(-\d+)?)");
  int in_run = 0;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) {
    std::smatch m;
    REQUIRE(std::regex_match(line, m, line_re));
    const std::string controllers = m[2], path = m[3];
    INFO(line);
    if (controllers.empty() || controllers.find("memory") != std::string::npos) {
      CHECK(std::regex_match(path, leaf_run));  // a run-* itself: no per-process child below it
      ++in_run;
    } else {
      CHECK(path.find("/run-") == std::string::npos);  // cpu, pids, freezer...: never created
    }
  }
  CHECK(in_run >= 1);
}

TEST_CASE("exec --json: the single run in the report format, valid against the schema", "[exec]") {
  ScratchDir dir;
  const auto utc_now = [] {
    const std::time_t now = std::time(nullptr);
    std::tm tm{};
    ::gmtime_r(&now, &tm);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return std::string(text);
  };
  const std::string before = utc_now();
  auto r = exec("--cpu 5% --timeout 1s --json " + quote(dir / "r.json"), "spin 1h");
  const std::string after = utc_now();
  CHECK(r.status == 124);
  const json report = json::parse(read_file(dir / "r.json"));
  CHECK(report["format"] == "faultline-report/1");
  // UTC in ISO 8601, between the test's own readings of the clock (such strings sort by time).
  const std::string started = report["started"];
  CHECK(std::regex_match(started, std::regex(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z)")));
  CHECK(before <= started);
  CHECK(started <= after);
  CHECK(report["summary"]["failed"] == 1);
  const json& s = report["scenarios"][0];
  CHECK(s["result"] == "fail");
  const json& p = s["processes"][0];
  CHECK(p["outcome"] == "timed-out");
  CHECK(p["signal"] == SIGTERM);
  CHECK(p["throttled_usec"].get<std::uint64_t>() > 0);
  // The command wrote to faultline's own stdout and stderr: how much is not known, not 0.
  CHECK(p["stdout_bytes"].is_null());
  CHECK(p["stderr_bytes"].is_null());
  CHECK(contains(s["diagnostics"]["finding"], "likely CPU starvation"));
  if (run_shell("/usr/bin/python3 -c 'import jsonschema'").status != 0) {
    FAULTLINE_SKIP(
        "schema validation: python3-jsonschema is not installed (apt-get install python3-jsonschema)");
  }
  CHECK(report_schema_errors(dir / "r.json") == "");
  auto ok = exec("--json " + quote(dir / "ok.json"), "exit 0");
  CHECK(ok.status == 0);
  CHECK(json::parse(read_file(dir / "ok.json"))["scenarios"][0]["result"] == "pass");
  CHECK(report_schema_errors(dir / "ok.json") == "");
}

TEST_CASE("doctor: ready when throwaway cgroups can be made, listing what is unavailable", "[exec][doctor]") {
  auto r = run_shell(quote(faultline_path()) + " doctor");
  INFO(r.out << r.err);
  CHECK(r.status == 0);
  CHECK(contains(r.out, "\nready: this host can run scenarios and exec"));
  CHECK_FALSE(contains(r.out, "cannot run"));
  if (contains(r.out, "cgroup mode:      hybrid") || contains(r.out, "cgroup mode:      v1"))
    CHECK(contains(r.out,
                   "  limits.memory_high, [[inject]] memory high, exec --memory-high: memory_high "
                   "needs cgroup v2"));
}

TEST_CASE("doctor: says how an fd fault holds, from the capability faultline really has",
          "[exec][doctor][fd]") {
  // faultline inherits this test's capabilities.
  const bool can_raise_hard = faultline::has_effective_capability(CAP_SYS_RESOURCE);
  auto r = run_shell(quote(faultline_path()) + " doctor");
  INFO(r.out << r.err << "\nCAP_SYS_RESOURCE held: " << can_raise_hard);
  CHECK(r.status == 0);
  CHECK(contains(r.out, "\nfd faults (RLIMIT_NOFILE):\n"));
  CHECK(contains(r.out, "\n  ok    hard limit  CAP_SYS_RESOURCE is held") == can_raise_hard);
  CHECK(contains(r.out,
                 "\n  note  hard limit  no CAP_SYS_RESOURCE: a fault with a `duration` lowers only the soft "
                 "limit") == !can_raise_hard);
}

TEST_CASE("doctor: says whether a partition's refused connects can be counted here",
          "[exec][doctor][proxy]") {
  auto r = run_shell(quote(faultline_path()) + " doctor");
  INFO(r.out << r.err);
  CHECK(r.status == 0);
  CHECK(contains(r.out, "\nnetwork faults (TCP proxy):\n"));
  // faultline has this test's capabilities: it opens a raw socket exactly when the test can, for
  // each family a proxy may listen on.
  for (const auto& [family, name] : {std::pair{AF_INET, "IPv4"}, std::pair{AF_INET6, "IPv6"}}) {
    const bool raw_socket = faultline::test::raw_socket_missing(family).empty();
    INFO(name << " raw socket: " << raw_socket);
    CHECK(contains(r.out, "\n  ok    refused connects (" + std::string(name) + ")  a raw socket opens") ==
          raw_socket);
    CHECK(contains(r.out, "\n  note  refused connects (" + std::string(name) + ")  ") == !raw_socket);
  }
}

TEST_CASE("doctor: says whether syscall faults work here, checked against a real filter load",
          "[exec][doctor][syscall]") {
  auto r = run_shell(quote(faultline_path()) + " doctor");
  INFO(r.out << r.err);
  CHECK(r.status == 0);
  CHECK(contains(r.out, "\nsyscall faults (seccomp user notification):\n"));
  for (const char* check : {"kernel  ", "user notification  ", "filter load  "})
    CHECK((contains(r.out, std::string("  ok    ") + check) ||
           contains(r.out, std::string("  MISSING ") + check)));
  // A missing piece lists the keys that need it, with the reason; all present, none is listed.
  const bool missing = contains(r.out, "  MISSING kernel") ||
                       contains(r.out, "  MISSING user notification") ||
                       contains(r.out, "  MISSING filter load");
  CHECK(missing == contains(r.out, "[[inject]] kind = \"syscall\" (syscalls, errno"));
  // This host runs the syscall e2e scenarios, so doctor must say so.
  CHECK(
      contains(r.out, "  ok    filter load  a test child set no_new_privs and loaded a notification filter"));
}

TEST_CASE("exec: SIGHUP to faultline kills the command's cgroup and exits 129", "[exec]") {
  // Only the command carries the token (env sets it): faultline's own environment does not.
  const std::string token = new_token();
  BackgroundHarness harness(
      {"exec", "--", "env", "FAULTLINE_E2E_TOKEN=" + token, payload_path(), "sleep", "1h"});
  REQUIRE(harness.started());
  REQUIRE(BackgroundHarness::wait_for_target(token));
  harness.signal(SIGHUP);
  const auto ended = harness.wait();
  REQUIRE(ended);
  const int status = *ended;
  // The command died of the SIGHUP passed on, and faultline ends by it too, as timeout(1) does.
  REQUIRE(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGHUP);
  CHECK_FALSE(running_with_token(token));
}

namespace {

// A command whose child cleans up for half a second on SIGTERM and then writes `marker`, while
// the command itself dies of the SIGTERM at once: timeout(1) gives the child its -k time too.
std::string slow_cleanup_script(const ScratchDir& dir, const std::string& marker) {
  const std::string script = dir / "slow-cleanup.sh";
  std::ofstream(script) << "#!/bin/sh\n"
                        << "( trap 'sleep 0.5; echo cleaned > " << quote(marker) << "; exit 0' TERM\n"
                        << "  echo child ready\n"
                        << "  while :; do sleep 0.05; done ) &\n"
                        << "wait\n";
  fs::permissions(script, fs::perms::owner_all);
  return script;
}

}  // namespace

TEST_CASE("exec at the timeout: the command's other processes have --kill-after to shut down too", "[exec]") {
  ScratchDir dir;
  const std::string marker = dir / "cleaned";
  const std::string script = slow_cleanup_script(dir, marker);
  SECTION("within --kill-after: the child's cleanup completes and nothing is reported left behind") {
    auto r = run_shell(exec_cmd("--timeout 500ms -k 20s -- " + quote(script)));
    INFO(r.err);
    CHECK(r.status == 124);
    CHECK(fs::exists(marker));
    CHECK_FALSE(contains(r.err, "left behind"));
    CHECK_FALSE(contains(r.err, "still running"));
  }
  SECTION("past --kill-after: the child is killed, and stderr says it outlived the time") {
    auto r = run_shell(exec_cmd("--timeout 500ms -k 100ms -- " + quote(script)));
    INFO(r.err);
    CHECK(r.status == 124);
    CHECK_FALSE(fs::exists(marker));
    // The subshell and the sleep of its cleanup.
    CHECK(contains(r.err, " process(es) still running --kill-after 100ms after the stop signal: "));
  }
}

TEST_CASE("exec at the timeout: a stopped command gets SIGCONT after the signal and ends at once", "[exec]") {
  const auto started = std::chrono::steady_clock::now();
  auto r = run_shell(exec_cmd("--timeout 300ms -k 60s -- sh -c 'kill -STOP $$'"));
  const auto took = std::chrono::steady_clock::now() - started;
  INFO(r.err);
  CHECK(r.status == 124);
  CHECK(contains(r.err, "the command was killed by SIGTERM"));
  // Without SIGCONT it would hold the SIGTERM until the SIGKILL 60s later.
  CHECK(took < std::chrono::seconds(30));
}

TEST_CASE("exec: SIGTERM to faultline reaches every process of the command, as timeout(1) does", "[exec]") {
  ScratchDir dir;
  const std::string marker = dir / "cleaned";
  const std::string script = slow_cleanup_script(dir, marker);
  const std::string token = new_token();
  BackgroundHarness harness({"exec", "--", "env", "FAULTLINE_E2E_TOKEN=" + token, script});
  REQUIRE(harness.started());
  REQUIRE(BackgroundHarness::wait_for_target(token));
  // The child is up once the script's subshell has forked its first sleep.
  for (int i = 0; i < 200 && !running_with_token(token); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  harness.signal(SIGTERM);
  const auto ended = harness.wait();
  REQUIRE(ended);
  REQUIRE(WIFEXITED(*ended));
  CHECK(WEXITSTATUS(*ended) == 130);
  CHECK(fs::exists(marker));  // the child got the SIGTERM and had time to clean up
  CHECK_FALSE(running_with_token(token));
}

namespace {

struct TerminalRun {
  std::string screen;  // what the terminal showed
  bool typed = false;  // every key was typed: the text it waited for showed
  int status = 0;
  json report;  // --json
};

struct Keystroke {
  std::string after;                    // typed once this text shows on the screen
  std::string key;                      // Ctrl-C is "\x03", Ctrl-\ "\x1c"
  std::chrono::milliseconds settle{0};  // and this long after it showed
};

// `faultline exec --json REPORT -- payload dump-on SIGNAL` in a new pseudo-terminal, as its
// foreground process group, typing `keys` one after the other.
TerminalRun exec_in_terminal(const std::string& signal, const std::vector<Keystroke>& keys) {
  ScratchDir dir;
  const std::string report = dir / "r.json", bin = faultline_path(), target = payload_path();
  TerminalRun run;
  int terminal = -1;
  const pid_t pid = ::forkpty(&terminal, nullptr, nullptr, nullptr);
  REQUIRE(pid >= 0);
  if (pid == 0) {
    // --timeout: should a key not arrive, the run still ends (and the caller's checks fail).
    ::execl(bin.c_str(), bin.c_str(), "exec", "--timeout", "20s", "--kill-after", "1s", "--json",
            report.c_str(), "--", target.c_str(), "dump-on", signal.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  // Reads what the terminal shows until `done` or the end of its output (EIO once every writer
  // is gone); false if neither came within 30s.
  auto read_until = [&](const std::function<bool()>& done) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      pollfd p{terminal, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      char buf[512];
      const ssize_t n = ::read(terminal, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      run.screen.append(buf, static_cast<std::size_t>(n));
    }
    return done();
  };
  run.typed = true;
  std::size_t seen_up_to = 0;
  for (const auto& k : keys) {
    const bool shown = read_until([&] { return run.screen.find(k.after, seen_up_to) != std::string::npos; });
    if (!shown) {
      run.typed = false;
      break;
    }
    seen_up_to = run.screen.find(k.after, seen_up_to) + k.after.size();
    std::this_thread::sleep_for(k.settle);
    CHECK(::write(terminal, k.key.data(), k.key.size()) == static_cast<ssize_t>(k.key.size()));
  }
  read_until([] { return false; });
  if (::waitpid(pid, &run.status, WNOHANG) == 0) {  // still running after 30s: stop it, then fail
    ::kill(pid, SIGTERM);
    ::waitpid(pid, &run.status, 0);
  }
  ::close(terminal);
  if (fs::exists(report)) run.report = json::parse(read_file(report));
  return run;
}

std::size_t occurrences(const std::string& text, const std::string& part) {
  std::size_t n = 0;
  for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

std::vector<std::string> timeline_details(const json& report, const std::string& event) {
  std::vector<std::string> details;
  if (report.is_null()) return details;
  for (const auto& e : report["scenarios"][0]["timeline"])
    if (e["event"] == event) details.push_back(e["detail"]);
  return details;
}

}  // namespace

TEST_CASE("exec: a Ctrl-C in a terminal reaches the command once, from the terminal", "[exec]") {
  // The terminal signals its whole foreground process group, the command included: sent again by
  // faultline, a second SIGINT would make pytest abandon the clean-up the first one began.
  const auto run = exec_in_terminal("SIGINT", {{"ready", "\x03"}});
  INFO(run.screen);
  REQUIRE(run.typed);
  REQUIRE(WIFEXITED(run.status));
  CHECK(WEXITSTATUS(run.status) == 130);
  // Two SIGINTs pending at once would merge: the timeline below is the sure sign.
  CHECK(occurrences(run.screen, "dump: SIGINT") == 1);
  CHECK(timeline_details(run.report, "stop.signal") ==
        std::vector<std::string>{"SIGINT from the terminal to 1 process(es), from faultline to 0 more"});
}

// Ctrl-\ asks a Go test for its goroutines, a JVM for its threads: it is for the command, and
// faultline, whose default action would be to die and leave the command in its cgroup, goes on.
TEST_CASE("exec: a quit key (SIGQUIT) in a terminal reaches the command once, and the run goes on",
          "[exec]") {
  // The command shows its dump before faultline's loop may have taken the quit: the second's
  // pause lets it record that, before the Ctrl-C ends the command.
  const auto run = exec_in_terminal(
      "SIGQUIT", {{"ready", "\x1c"}, {"dump: SIGQUIT", "\x03", std::chrono::milliseconds(1000)}});
  INFO(run.screen);
  REQUIRE(run.typed);
  // The Ctrl-C that followed ended the command, and faultline ends by it too: a shell loop stops.
  REQUIRE(WIFSIGNALED(run.status));
  CHECK(WTERMSIG(run.status) == SIGINT);
  CHECK(occurrences(run.screen, "dump: SIGQUIT") == 1);
  // Even on a loop that took the quit only after the command ended, faultline sent no SIGQUIT.
  const auto passed_on = timeline_details(run.report, "signal.passed-on");
  REQUIRE(passed_on.size() == 1);
  CHECK((passed_on[0] == "SIGQUIT from the terminal to 1 process(es), from faultline to 0 more" ||
         passed_on[0] == "SIGQUIT to 0 process(es)"));
}

TEST_CASE("exec: SIGQUIT to faultline is passed on to the command, as timeout(1) does", "[exec]") {
  ScratchDir dir;
  const std::string report = dir / "r.json";
  const std::string token = new_token();
  const std::string out = dir / "out";
  BackgroundHarness harness({"exec", "--json", report, "--", "sh", "-c",
                             "exec env FAULTLINE_E2E_TOKEN=" + token + " " + quote(payload_path()) +
                                 " dump-on SIGQUIT --exit 7 > " + quote(out)});
  REQUIRE(harness.started());
  // "ready": the command waits for the signal (before, SIGQUIT's default action would end it).
  REQUIRE(wait_for_text(out, "ready"));
  harness.signal(SIGQUIT);
  const auto ended = harness.wait();
  REQUIRE(ended);
  // faultline did not die of it: the command got it and exited with its own status.
  REQUIRE(WIFEXITED(*ended));
  CHECK(WEXITSTATUS(*ended) == 7);
  CHECK_FALSE(running_with_token(token));
  const json run = json::parse(read_file(report));
  CHECK(timeline_details(run, "signal.passed-on") == std::vector<std::string>{"SIGQUIT to 1 process(es)"});
}

TEST_CASE("exec: a signal to faultline while the other processes have --kill-after ends the wait", "[exec]") {
  // The command exits at the timeout's SIGTERM; its child ignores SIGTERM and would get the whole
  // minute of --kill-after. A cancelled CI job must not wait for it.
  ScratchDir dir;
  const std::string script = dir / "stubborn-child.sh";
  std::ofstream(script) << "#!/bin/sh\n"
                        << "( trap '' TERM; while :; do sleep 0.05; done ) &\n"
                        << "wait\n";
  fs::permissions(script, fs::perms::owner_all);
  const std::string token = new_token();
  BackgroundHarness harness(
      {"exec", "--timeout", "300ms", "-k", "60s", "--", "env", "FAULTLINE_E2E_TOKEN=" + token, script});
  REQUIRE(harness.started());
  REQUIRE(BackgroundHarness::wait_for_target(token));
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // past the timeout: only the child is left
  REQUIRE(running_with_token(token));
  const auto signalled = std::chrono::steady_clock::now();
  harness.signal(SIGINT);
  const auto ended = harness.wait();
  REQUIRE(ended);
  CHECK(std::chrono::steady_clock::now() - signalled < std::chrono::seconds(30));
  REQUIRE(WIFEXITED(*ended));
  CHECK(WEXITSTATUS(*ended) == 130);
  CHECK_FALSE(running_with_token(token));
}

TEST_CASE("exec: a signal to faultline after the timeout does not push the kill back", "[exec]") {
  // The command ignores TERM and INT: only the SIGKILL --kill-after the timeout's signal ends it.
  const std::string token = new_token();
  BackgroundHarness harness({"exec", "--timeout", "300ms", "-k", "5s", "--", "env",
                             "FAULTLINE_E2E_TOKEN=" + token, "sh", "-c",
                             "trap '' TERM INT; while :; do sleep 0.05; done"});
  const auto started = std::chrono::steady_clock::now();
  REQUIRE(harness.started());
  REQUIRE(BackgroundHarness::wait_for_target(token));
  std::this_thread::sleep_until(started + std::chrono::seconds(4));
  harness.signal(SIGINT);  // a cancelled CI job, 3.7s into the 5s
  const auto ended = harness.wait();
  REQUIRE(ended);
  // Killed 5.3s after the start; a kill timer restarted by the SIGINT would have waited until 9s.
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(8));
  CHECK_FALSE(running_with_token(token));
}

TEST_CASE("exec looks the command up as execvp does", "[exec]") {
  ScratchDir dir;
  SECTION("a file without #! is run by /bin/sh") {
    const std::string script = dir / "no-shebang";
    std::ofstream(script) << "echo ran by sh\nexit 3\n";
    fs::permissions(script, fs::perms::owner_all);
    auto r = run_shell(exec_cmd("-- " + quote(script)));
    CHECK(r.status == 3);
    CHECK(r.out == "ran by sh\n");
  }
  SECTION("a directory of the command's name earlier in PATH is passed over") {
    fs::create_directories(dir / "bin/true");
    auto r = run_shell("PATH=" + quote(dir / "bin") + ":\"$PATH\" " + exec_cmd("-- true"));
    INFO(r.err);
    CHECK(r.status == 0);
  }
  SECTION("a file in PATH without execute permission is not runnable (126), not missing") {
    fs::create_directories(dir / "bin");
    std::ofstream(dir / "bin/faultline-test-tool") << "#!/bin/sh\necho ran\n";
    fs::permissions(dir / "bin/faultline-test-tool", fs::perms::owner_read | fs::perms::owner_write);
    auto r = run_shell("PATH=" + quote(dir / "bin") + ":\"$PATH\" " + exec_cmd("-- faultline-test-tool"));
    CHECK(r.status == 126);
    CHECK(contains(r.err, "Permission denied"));
    CHECK(r.out.empty());
  }
  SECTION("an empty command name is not found") { CHECK(run_shell(exec_cmd("-- ''")).status == 127); }
}

TEST_CASE("exec runs the command's words exactly as typed", "[exec]") {
  // CLI11 reads a word in brackets as a list: `[ ! -s log ]` reached sh as ` ! -s log `, whose
  // "not found" was negated into a pass.
  SECTION("after --, brackets, commas, empty words and a second -- included") {
    auto r = run_shell(exec_cmd("-- printf '<%s>' '[x]' '[1,2,3]' '[]' '' 'a,b' -- -x"));
    CHECK(r.status == 0);
    CHECK(r.out == "<[x]><[1,2,3]><[]><><a,b><--><-x>");
  }
  SECTION("without --, from the first word that is not an option, a later -- being the command's") {
    auto r = run_shell(exec_cmd("--timeout 5 printf '<%s>' '[y]' -- '[z]'"));
    CHECK(r.status == 0);
    CHECK(r.out == "<[y]><--><[z]>");
  }
  SECTION("argv[0] as typed, not the path PATH found it at; a script without #! gets its path") {
    auto r = run_shell(exec_cmd("-- cat /proc/self/cmdline"));
    CHECK(r.out == std::string("cat\0/proc/self/cmdline\0", 23));
    ScratchDir dir;
    std::ofstream(dir / "no-hash-bang") << "echo \"$0 $1\"\n";
    fs::permissions(dir / "no-hash-bang", fs::perms::owner_all);
    auto script = run_shell("PATH=" + quote(dir.path().string()) + ":$PATH " + exec_cmd("-- no-hash-bang x"));
    CHECK(script.out == dir / "no-hash-bang" + " x\n");
  }
  SECTION("a shell test in brackets keeps its verdict") {
    ScratchDir dir;
    std::ofstream(dir / "errors.log") << "FAILED\n";
    CHECK(run_shell(exec_cmd("-- sh -c " + quote("[ ! -s " + (dir / "errors.log") + " ]"))).status == 1);
    CHECK(run_shell(exec_cmd("-- sh -c " + quote("[ -s " + (dir / "errors.log") + " ]"))).status == 0);
  }
  SECTION("an unknown option before the command is refused, not run") {
    auto r = run_shell(exec_cmd("--bogus 3 true"));
    CHECK(r.status == 125);
    CHECK(contains(r.err, "--bogus"));
    CHECK(run_shell(exec_cmd("--")).status == 125);
    CHECK(run_shell(exec_cmd("--timeout 5")).status == 125);
  }
}

TEST_CASE("exec exit status: 125 when a step of faultline's own before the exec fails", "[exec]") {
  SECTION("--nofile above what the kernel lets faultline set") {
    std::uint64_t nr_open = 0;
    std::ifstream("/proc/sys/fs/nr_open") >> nr_open;
    REQUIRE(nr_open > 0);
    if (nr_open >= 2147483584)
      FAULTLINE_SKIP("fs.nr_open is at its largest; no --nofile above it is accepted");
    expect_refused("--nofile " + std::to_string(nr_open + 1), "setrlimit(RLIMIT_NOFILE)");
  }
  SECTION("a --json path under a regular file, which access(2) lets root pass") {
    ScratchDir dir;
    std::ofstream(dir / "afile") << "x";
    expect_refused("--json " + quote(dir / "afile/r.json"), "(not a directory)");
  }
  SECTION("--cgroup-root given as a filesystem path") {
    expect_refused("--cgroup-root /sys/fs/cgroup/faultline", "give the cgroup's path inside the hierarchy");
  }
}

TEST_CASE("exec and run inside another faultline run are refused: their cgroups would escape it", "[exec]") {
  const auto exec_in_exec = run_shell(exec_cmd("--memory 64MiB -- " + quote(faultline_path()) +
                                               " exec --memory 1GiB -- " + payload() + " print ran"));
  INFO(exec_in_exec.err);
  CHECK(exec_in_exec.status == 125);  // the inner exec's own status, passed through
  CHECK(contains(exec_in_exec.err,
                 "faultline is running inside the throwaway cgroup of another faultline run"));
  CHECK(exec_in_exec.out.empty());

  ScratchDir dir;
  std::ofstream(dir / "s.toml") << "name = \"inner\"\n[target]\ncommand = [\"true\"]\n";
  const auto run_in_exec =
      run_shell(exec_cmd("-- " + quote(faultline_path()) + " run " + quote(dir / "s.toml")));
  INFO(run_in_exec.err);
  CHECK(run_in_exec.status == 2);
  CHECK(contains(run_in_exec.err, "Put faultline in front of each command or of the whole job, not both"));

  // Removing what dead harnesses left makes no cgroup, and leaves the live outer run alone (had it
  // killed the outer run, it would have ended by SIGKILL with it).
  const auto cleanup_in_exec = run_shell(exec_cmd("-- " + quote(faultline_path()) + " cleanup"));
  INFO(cleanup_in_exec.err);
  CHECK(cleanup_in_exec.status == 0);
  CHECK(contains(cleanup_in_exec.out, " stale run(s) removed\n"));
}

TEST_CASE("exec: a process that moved itself out of the cgroup is killed and named for what it did",
          "[exec]") {
  // The daemon writes itself into the top cgroup of every hierarchy (only root may), so no stop
  // signal or --kill-after of the command's cgroup reaches it; faultline, its subreaper, kills it.
  ScratchDir dir;
  const std::string script = dir / "escape.sh";
  std::ofstream(script) << "sh -c 'for f in /sys/fs/cgroup/*/cgroup.procs /sys/fs/cgroup/cgroup.procs; do "
                           "echo $$ >$f 2>/dev/null; done; exec sleep 60' </dev/null >/dev/null 2>&1 &\n"
                           "echo \"escaped $!\"\n"
                           "exec sleep 30\n";
  auto r = run_shell(exec_cmd("--timeout 1s --kill-after 20s -- sh " + quote(script)));
  INFO(r.err);
  const auto pos = r.out.find("escaped ");
  REQUIRE(pos != std::string::npos);
  const pid_t escaped = std::stoi(r.out.substr(pos + 8));
  const bool left_running = alive(escaped);
  if (left_running) ::kill(escaped, SIGKILL);
  CHECK_FALSE(left_running);
  CHECK(r.status == 125);  // it ran outside the command's limits: faultline did not hold it
  CHECK(contains(r.err, "faultline: timed-out after 1s"));
  CHECK(std::regex_search(
      r.err, std::regex("faultline: killed 1 process\\(es\\) that had moved themselves out of the command's "
                        "cgroup: " +
                        std::to_string(escaped) + R"( \(sleep, had moved itself to /[^)]*\))")));
  // It got neither the stop signal nor --kill-after to end: the message must not say it did.
  CHECK_FALSE(contains(r.err, "still running --kill-after"));
}

TEST_CASE("exec: the timeout reaches a command that moved itself out of its cgroup", "[exec]") {
  // Only the cgroup's members got the stop signal and the kill: a command that had left it ran on
  // past its timeout, and `sleep infinity` would have held the CI job forever.
  const std::string leave =
      "for f in /sys/fs/cgroup/*/cgroup.procs /sys/fs/cgroup/cgroup.procs; do "
      "echo $$ >$f 2>/dev/null; done; exec sleep 67";
  for (const std::string signal : {"TERM", "KILL"}) {
    INFO("-s " << signal);
    const auto started = std::chrono::steady_clock::now();
    auto r = run_shell(exec_cmd("--timeout 1s -k 1s -s " + signal + " -- sh -c " + quote(leave)));
    INFO("exit " << r.status << "\nstderr: " << r.err);
    CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(30));
    CHECK(r.status == 125);  // reached at the timeout, but it ran outside its limits before
    CHECK(contains(r.err, "had moved itself out of its cgroup"));
    CHECK(contains(r.err, "faultline: timed-out after 1s"));
    CHECK_FALSE(contains(r.err, "oom-killed"));
  }
}

TEST_CASE("exec: every SIGINT, SIGTERM and SIGHUP to faultline is passed on; SIGUSR1 and SIGALRM too",
          "[exec]") {
  // A CI runner cancels with SIGINT, then SIGTERM: timeout(1) passes each on. Only the first used
  // to reach the command; SIGUSR1 or SIGALRM ended faultline and left the command running.
  ScratchDir dir;
  const std::string log = dir / "got";
  const std::string stop = dir / "stop";
  std::string script;
  for (const char* name : {"INT", "TERM", "HUP", "USR1", "ALRM"})
    script += std::string("trap 'echo ") + name + " >>" + log + "' " + name + "; ";
  // The traps are set once `ready` is written: a SIGUSR1 before that ends the shell (its default).
  script += "echo ready >>" + log + "; while [ ! -e " + stop + " ]; do sleep 0.05; done";
  const std::string token = new_token();
  BackgroundHarness harness(
      {"exec", "-k", "30s", "--", "env", "FAULTLINE_E2E_TOKEN=" + token, "sh", "-c", script});
  REQUIRE(harness.started());
  REQUIRE(BackgroundHarness::wait_for_target(token));
  REQUIRE(wait_for_text(log, "ready\n"));
  for (const auto& [signo, name] : std::vector<std::pair<int, std::string>>{
           {SIGUSR1, "USR1"}, {SIGALRM, "ALRM"}, {SIGINT, "INT"}, {SIGTERM, "TERM"}, {SIGHUP, "HUP"}}) {
    INFO(name);
    harness.signal(signo);
    CHECK(wait_for_text(log, name + "\n"));
  }
  std::ofstream(stop) << "";
  const auto ended = harness.wait();
  REQUIRE(ended);
  REQUIRE(WIFEXITED(*ended));
  CHECK(WEXITSTATUS(*ended) == 130);  // the first interrupt, SIGINT, decides
  CHECK_FALSE(running_with_token(token));
}

TEST_CASE("exec: a timeout's SIGKILL is not taken for an OOM kill where the kernel log is unreadable",
          "[exec]") {
  // In a container /dev/kmsg is often unreadable, and the group's OOM counter is all there is: a
  // child's OOM kill, then the timeout's `-s KILL`, read as "oom-killed" without a word of the
  // timeout. Here the log is hidden behind /dev/null in a mount namespace of the test's own.
  if (std::system("command -v unshare >/dev/null") != 0) FAULTLINE_SKIP("unshare (util-linux) is needed");
  const std::string command = exec_cmd("--memory 32MiB --swap 0B --timeout 1500ms -s KILL") + " -- sh -c " +
                              quote(payload() + " alloc 100MiB >/dev/null 2>&1; sleep 30");
  auto r = run_shell("unshare -m sh -c " + quote("mount --bind /dev/null /dev/kmsg && " + command));
  INFO("exit " << r.status << "\nstderr: " << r.err);
  CHECK(r.status == 137);
  CHECK(contains(r.err, "faultline: timed-out after 1.5s"));
  CHECK_FALSE(contains(r.err, "oom-killed"));
  // The child's OOM kill is still said, and an earlier OOM kill is not why `sleep` hangs now.
  CHECK(contains(r.err, "1 OOM kill(s) in the command's cgroup"));
  CHECK_FALSE(contains(r.err, "memory reclaim"));
}

TEST_CASE("exec: a timeout near the memory limit is blamed on reclaim, with the limit read",
          "[exec][diagnosis]") {
  // Without --cpu the command's cgroup has no cpu.max: reading it failed first, the limit was
  // lost with it ("of its 0.0MiB limit"), and a process held at its limit was called asleep.
  const auto r = exec("--memory 64MiB --swap 0B --timeout 1500ms", "alloc 59MiB --hold 30s");
  CHECK(r.status == 124);
  CHECK(contains(r.err, "of its 64.0MiB limit with 0 OOM event(s): likely stalled on memory reclaim"));
}

TEST_CASE("exec: an empty option value is refused, and a tiny timeout is a timeout", "[exec]") {
  // `--timeout "$UNSET"` ran without a timeout; 1e-10s rounded to 0, which means none.
  for (const char* flag : {"--timeout", "--memory", "--pids", "--cpu", "--nofile", "--json", "-s"})
    expect_refused(std::string(flag) + " ''", "an empty value");
  CHECK(exec("--timeout 0.0000000001", "sleep 5s").status == 124);
  CHECK(exec("--timeout 0.0", "exit 0").status == 0);  // a written 0 is still no limit
}

TEST_CASE("exec: processes the command left behind are killed and named on stderr", "[exec]") {
  auto r = run_shell(exec_cmd("-- sh -c 'sleep 30 & exit 0'"));
  INFO(r.err);
  CHECK(r.status == 0);  // the command's own status, as timeout(1) would give
  // `sh` when the background child had not yet run `sleep` at the command's exit.
  CHECK(std::regex_search(
      r.err,
      std::regex(R"(faultline: killed 1 process\(es\) the command left behind: \d+ \((sleep|sh)\)\n)")));
}

TEST_CASE("exec --preserve-status: a command that exits 0 after the timeout exits 0, its report fails",
          "[exec]") {
  ScratchDir dir;
  auto r = run_shell(exec_cmd("--timeout 300ms --preserve-status --json " + quote(dir / "r.json") +
                              " -- sh -c 'trap \"exit 0\" TERM; while :; do sleep 0.05; done'"));
  INFO(r.err);
  CHECK(r.status == 0);
  const json s = json::parse(read_file(dir / "r.json"))["scenarios"][0];
  INFO(s.dump(2));
  CHECK(s["result"] == "fail");
  REQUIRE(s["failures"].size() == 1);
  CHECK(s["failures"][0]["check"] == "exec.timeout");
}

TEST_CASE("exec: --diagnose without --timeout is refused, not ignored", "[exec]") {
  expect_refused("--diagnose QUIT", "--diagnose QUIT is sent at the timeout: give --timeout too");
  expect_refused("--diagnose QUIT --timeout 0",
                 "--diagnose QUIT is sent at the timeout: --timeout 0 means no timeout");
}

TEST_CASE("exec: --swap without --memory is refused where cgroup v1 cannot bound swap alone", "[exec]") {
  struct statfs root {};
  const bool unified = ::statfs("/sys/fs/cgroup", &root) == 0 && root.f_type == 0x63677270;  // cgroup2
  // `--memory max` is no memory limit either: memsw would be max + 0, no bound at all.
  for (const char* options : {"--swap 0B", "--memory max --swap 0B"}) {
    const auto r = run_shell(exec_cmd(std::string(options) + " -- /bin/true"));
    INFO(options << ": " << r.out << r.err);
    if (unified) {
      CHECK(r.status == 0);  // memory.swap.max is a limit of its own
    } else {
      CHECK(r.status == 125);
      CHECK(r.err.find("--swap 0B needs a --memory limit on this host") != std::string::npos);
    }
  }
  if (!unified) CHECK(run_shell(exec_cmd("--swap 0B --memory 64MiB -- /bin/true")).status == 0);
}

TEST_CASE("exec: started with SIGCHLD ignored, faultline still waits for the command", "[exec]") {
  // Ignored SIGCHLD makes the kernel reap children unasked; faultline resets it for itself (as
  // timeout(1) does) and the command starts with it at its default.
  const auto wrapped = [](const std::string& options) {
    return run_shell("sh -c " + quote("trap '' CHLD; exec " + exec_cmd(options)));
  };
  CHECK(wrapped("-- sh -c 'exit 3'").status == 3);
  CHECK(wrapped("--timeout 300ms -- sleep 30").status == 124);
  const auto r = wrapped("-- grep SigIgn: /proc/self/status");
  INFO(r.err);
  REQUIRE(r.status == 0);
  REQUIRE(r.out.starts_with("SigIgn:"));
  CHECK_FALSE((std::stoull(r.out.substr(7), nullptr, 16) >> (SIGCHLD - 1)) & 1);
}

TEST_CASE("exec: a closed stderr does not end faultline before its status and report", "[exec]") {
  // `... 2>&1 | head`: faultline's own last line meets a closed pipe. SIGPIPE at its default
  // ended faultline there with 141, read as the command killed by signal 13, and no --json.
  ScratchDir dir;
  const std::string report = dir / "r.json";
  const std::string status = dir / "status";
  run_shell("{ " + exec_cmd("--timeout 300ms --json " + quote(report) + " -- sleep 30") +
            " 2>&1; echo $? > " + quote(status) + "; } | true");
  std::string code;
  std::ifstream(status) >> code;
  CHECK(code == "124");
  REQUIRE(fs::exists(report));
  const json r = json::parse(std::ifstream(report));
  CHECK(r.at("scenarios").at(0).at("result") == "fail");
}

TEST_CASE("exec: a command that cannot start under a tiny memory limit says so, not exit 127", "[exec]") {
  // The child's report of its failed exec once went through a pipe whose buffer the limit would
  // not let it allocate: faultline then took the child's own _exit(127) for the command's.
  for (const char* memory : {"0", "1B", "100B"}) {
    const auto r = run_shell(exec_cmd(std::string("--memory ") + memory + " --swap 0B -- /bin/true"));
    INFO("--memory " << memory << ": exit " << r.status << ", stderr: " << r.err);
    CHECK(r.status != 0);
    CHECK(r.status != 127);
    CHECK(contains(r.err, "faultline: "));
  }
}

// `exec_cmd(options)` started from a shell in `job`. Under ASan, LeakSanitizer's check at exit
// needs a thread of its own, which a job's pids limit may refuse: it is turned off for such a run
// (a plain build ignores the variable).
namespace {
CommandOutput exec_in_job(const JobCgroup& job, const std::string& options) {
  return run_shell("sh -c " + quote(job.enter() +
                                    "ASAN_OPTIONS=\"${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0\" exec " +
                                    exec_cmd(options)));
}
}  // namespace

TEST_CASE("exec: faultline's own failure to start a process exits 125, not 126", "[exec]") {
  // A pids limit of 1 on the caller's own cgroup: faultline starts (an exec keeps the pid) but
  // cannot vfork the command.
  const auto pids_root = pids_hierarchy();
  if (!pids_root) FAULTLINE_SKIP(kNoPidsHierarchy);
  const auto r =
      exec_in_job(JobCgroup(*pids_root, "pids", {{"pids.max", "1"}}), "-- " + payload() + " print ran");
  INFO(r.err);
  CHECK(r.status == 125);
  CHECK(contains(r.err, "vfork: Resource temporarily unavailable"));
  CHECK(r.out.empty());
}

TEST_CASE("exec: forks refused at the caller's pids limit are traced to it, not to a --pids never given",
          "[exec]") {
  // The caller's limit is kept on the command's own cgroup (cgroup v2: it is made outside the
  // caller's); the message once called it `--pids 4`. On v1 the command stays in its caller's pids
  // cgroup, whose refusals are the caller's to count: faultline names no limit at all.
  const auto pids_root = pids_hierarchy();
  if (!pids_root) FAULTLINE_SKIP(kNoPidsHierarchy);
  const bool v1 = *pids_root != "/sys/fs/cgroup";
  const JobCgroup job(*pids_root, "caller-pids", {{"pids.max", "4"}});
  const auto r = exec_in_job(job, "-- " + payload() + " fork 10 --hold 200ms");
  INFO("exit " << r.status << "\nstderr: " << r.err);
  CHECK(r.status == 1);
  CHECK(contains(r.out, "Resource temporarily unavailable"));
  CHECK_FALSE(contains(r.err, "--pids"));
  if (!v1)
    CHECK(contains(r.err, "fork(s) refused at the pids limit (the caller's pids limit 4 of cgroup /" +
                              job.name() + "); the command exited with code 1"));
}

TEST_CASE("exec: a command that moves itself out of its cgroup ran without its limits: 125, not its 0",
          "[exec]") {
  // Root can write its pid into another cgroup: --memory then holds nothing, and the command's
  // own exit 0 once passed a CI job that asked for the limit.
  const std::string alloc = payload() + " alloc 100MiB";
  // Out of every hierarchy: the roots, as a daemon that escapes would write itself.
  const std::string to_roots =
      "for f in /sys/fs/cgroup/cgroup.procs /sys/fs/cgroup/*/cgroup.procs; do echo $$ > $f 2>/dev/null; "
      "done; ";
  auto all = run_shell(exec_cmd("--memory 64MiB --swap 0B --json /dev/null") + " -- sh -c " +
                       quote(to_roots + "exec " + alloc));
  INFO("exit " << all.status << "\nstderr: " << all.err);
  CHECK(all.status == 125);
  CHECK(contains(all.err, "faultline: the command's cgroup did not hold it: the command, pid "));
  CHECK(contains(all.err, "(the command exited with code 0)"));
  // cgroup v1/hybrid: out of the memory hierarchy alone, still listed in the others.
  if (fs::exists("/sys/fs/cgroup/memory/cgroup.procs")) {
    auto memory = run_shell(exec_cmd("--memory 64MiB --swap 0B") + " -- sh -c " +
                            quote("echo $$ > /sys/fs/cgroup/memory/cgroup.procs; exec " + alloc));
    INFO("exit " << memory.status << "\nstderr: " << memory.err);
    CHECK(memory.status == 125);
    CHECK(contains(memory.err, ") moved itself out of /sys/fs/cgroup/memory/"));
  }
  // Staying in, the same command is held: killed at the limit.
  CHECK(run_shell(exec_cmd("--memory 64MiB --swap 0B") + " -- " + alloc).status == 137);
}

TEST_CASE("exec: a child that moved itself into faultline's parent cgroup is killed, not taken as held",
          "[exec]") {
  // The parent holds the runs' cgroups, and a process in its own cgroup.procs counted as "in a
  // cgroup of ours": the child survived, unlimited, and exec exited 0.
  ScratchDir dir;
  const std::string moved = dir / "moved";
  const std::string child =
      "for f in /sys/fs/cgroup/faultline/cgroup.procs /sys/fs/cgroup/*/faultline/cgroup.procs; do "
      "[ -e $f ] && echo $$ > $f 2>/dev/null && echo $f >> " +
      quote(moved) + "; done; exec sleep 71";
  // The command ends once its child is `sleep` (moved, or not on v2), not after a fixed delay that
  // a loaded machine outlasts with the child still moving.
  const auto r =
      run_shell(exec_cmd("--json " + quote(dir / "r.json")) + " -- sh -c " +
                quote("sh -c " + quote(child) +
                      " >/dev/null 2>&1 & p=$!; i=0; until [ \"$(cat /proc/$p/comm 2>/dev/null)\" = "
                      "sleep ] || [ $i -ge 400 ]; do sleep 0.05; i=$((i+1)); done"));
  INFO("exit " << r.status << "\nstderr: " << r.err);
  // cgroup v2 keeps processes out of a cgroup whose controllers its children use: there the move
  // fails, and the child stays held.
  if (!fs::exists(moved)) {
    CHECK(r.status == 0);
    return;
  }
  CHECK(r.status == 125);
  CHECK(contains(r.err,
                 "faultline: killed 1 process(es) that had moved themselves out of the command's cgroup: "));
  CHECK(contains(r.err, " (sleep, had moved itself to /faultline)"));
  CHECK(json::parse(read_file(dir / "r.json"))["scenarios"][0]["result"] == "error");
  CHECK(run_shell("pgrep -x -f 'sleep 71'").status != 0);
}

TEST_CASE("exec: a cgroup that cannot be removed exits 125 with the command's own end, and the report",
          "[exec]") {
  // Something holds the command's cgroup after it ended (here a mount on its directory; an
  // unkillable process would too). faultline once exited 125 with only the rmdir error: the
  // command's status and the --json report were lost.
  ScratchDir dir;
  const std::string mounted = dir / "mounted";
  const std::string hold_own_cgroup =
      "rel=$(awk -F: '$2==\"memory\"{print $3}' /proc/self/cgroup); "
      "if [ -n \"$rel\" ]; then d=/sys/fs/cgroup/memory$rel; "
      "else d=/sys/fs/cgroup$(awk -F: '$1==\"0\"{print $3}' /proc/self/cgroup); fi; "
      "echo \"$d\" > " +
      quote(mounted) + "; mount -t tmpfs none \"$d\" && exit 3";
  const auto r = run_shell(exec_cmd("--memory 64MiB --json " + quote(dir / "r.json")) + " -- sh -c " +
                           quote(hold_own_cgroup));
  const std::string held = fs::exists(mounted) ? read_file(mounted) : std::string();
  const std::string held_dir = held.substr(0, held.find('\n'));
  if (!held_dir.empty()) std::system(("umount " + quote(held_dir) + " 2>/dev/null").c_str());
  INFO("exit " << r.status << "\nstderr: " << r.err);
  REQUIRE_FALSE(held_dir.empty());
  CHECK(r.status == 125);
  CHECK(contains(r.err, "faultline: the command's cgroup could not be removed: rmdir " + held_dir +
                            ": Device or resource busy (the command exited with code 3); it is left behind: "
                            "`faultline cleanup` removes it once nothing holds it\n"));
  const json s = json::parse(read_file(dir / "r.json"))["scenarios"][0];
  CHECK(s["result"] == "error");
  CHECK(s["processes"][0]["exit_code"] == 3);
  // Once nothing holds it, cleanup removes what was left, in every hierarchy.
  const auto cleanup = run_shell(quote(faultline_path()) + " cleanup");
  INFO("cleanup: " << cleanup.out << cleanup.err);
  CHECK(cleanup.status == 0);
  CHECK_FALSE(fs::exists(held_dir));
}

TEST_CASE("exec: a child that moved itself out and ended before the command did is found by its CPU time",
          "[exec]") {
  // The child leaves every hierarchy (as `systemd-run --scope` or `cgexec` in a test would),
  // works 300ms under no limit and exits; its parent, the command, then exits 0. No look saw it:
  // the command never left, and the child was in none of the cgroups. A child allocating 200MiB
  // this way passed as exit 0, peak memory under 1MiB, under `--memory 64MiB`.
  const std::string to_roots =
      "for f in /sys/fs/cgroup/cgroup.procs /sys/fs/cgroup/*/cgroup.procs; do echo $$ > $f 2>/dev/null; "
      "done; ";
  // 300ms of CPU time, so that a loaded machine cannot thin it below what exec tells from noise.
  const std::string child = "sh -c " + quote(to_roots + "exec " + payload() + " spin 300ms --cpu-time");
  const auto r = run_shell(exec_cmd("--memory 64MiB --swap 0B") + " -- sh -c " + quote(child + "; exit 0"));
  INFO("exit " << r.status << "\nstderr: " << r.err);
  CHECK(r.status == 125);
  CHECK(contains(r.err, "faultline: the command's cgroup did not hold it: its processes used "));
  CHECK(contains(r.err, " of CPU outside it (a process that moved itself out"));
  CHECK(contains(r.err, "(the command exited with code 0)"));
  // Children that stay in, busy as long, are not blamed.
  const auto busy = run_shell(exec_cmd("--memory 256MiB") + " -- sh -c " +
                              quote(payload() + " spin 300ms & " + payload() + " alloc 64MiB; wait"));
  INFO("busy: exit " << busy.status << "\nstderr: " << busy.err);
  CHECK(busy.status == 0);
  CHECK(busy.err.empty());
}

TEST_CASE("exec: a faultline in another pid namespace leaves a live run alone", "[exec]") {
  // Containers that share the host's cgroup tree see each other's runs under /faultline. One
  // started in its own pid namespace once took a live run's owner pid for a dead one, removed the
  // run as stale and SIGKILLed a healthy command, which then exited 137 for no reason.
  if (std::system("command -v unshare >/dev/null") != 0) FAULTLINE_SKIP("unshare (util-linux) is needed");
  ScratchDir dir;
  const std::string out = dir / "out", status = dir / "status";
  const auto r = run_shell(
      "{ (" + exec_cmd("-- sh -c 'sleep 2; echo done'") + " >" + quote(out) + "; echo $? >" + quote(status) +
      ") & sleep 0.5; unshare --pid --fork --mount-proc " + exec_cmd("-- true") + "; echo inner $?; wait; }");
  INFO("stdout: " << r.out << "\nstderr: " << r.err);
  CHECK(contains(r.out, "inner 0"));
  CHECK(read_file(status) == "0\n");
  CHECK(read_file(out) == "done\n");
}

TEST_CASE("exec: the command keeps its caller's cgroup memory limit, whatever flags move it out", "[exec]") {
  // A CI job whose own cgroup limits memory: the command's cgroup is made under the faultline
  // parent, outside the job's, so -v (which moves it into the memory hierarchy to measure it) or
  // a looser --memory once let a test the job's limit OOM-kills pass.
  const auto memory = memory_hierarchy();
  if (!memory) FAULTLINE_SKIP(kNoMemoryHierarchy);
  const JobCgroup job(memory->root, "job", {{memory->limit_file(), std::to_string(64 << 20)}});
  const auto in_job = [&](const JobCgroup& where, const std::string& options,
                          const std::string& payload_args) {
    auto r = run_shell("sh -c " + quote(where.enter() + "exec " +
                                        exec_cmd(options + " -- " + payload() + " " + payload_args)));
    UNSCOPED_INFO("exec " << options << " -- payload " << payload_args << " in " << where.path() << ": exit "
                          << r.status << "\nstderr: " << r.err);
    return r;
  };
  for (const char* options : {"-v", "--memory 512MiB", "--json /dev/null"}) {
    const auto r = in_job(job, options, "alloc 200MiB");
    CHECK(r.status == 137);
    CHECK(contains(
        r.err, "faultline: the command keeps its caller's memory limit 64MiB (cgroup /" + job.name() + ")"));
    // The limit that ended it is named as the caller's, not as one of the command's own.
    CHECK(contains(r.err,
                   "faultline: oom-killed (memory limit 64MiB of the caller's cgroup /" + job.name() + ","));
  }
  // A tighter limit of its own is kept as given, and said nothing about.
  const auto tighter = in_job(job, "--memory 32MiB", "alloc 48MiB");
  CHECK(tighter.status == 137);
  CHECK(contains(tighter.err, "faultline: oom-killed (memory limit 32MiB, peak "));
  CHECK_FALSE(contains(tighter.err, "keeps its caller's"));
  // No flag at all: on cgroup v1 the command stays in the job's memory cgroup, under its limit,
  // and only the kernel log names the OOM kill (its own cgroups count none). faultline shares that
  // cgroup then: in a job of its own with room for it (an ASan build holds about 50MiB, and in
  // 64MiB the OOM killer would choose faultline rather than the command).
  if (!memory->v1 || ::access("/dev/kmsg", R_OK) == 0) {
    const JobCgroup roomy(memory->root, "job-roomy", {{memory->limit_file(), std::to_string(256 << 20)}});
    const auto plain = in_job(roomy, "", "alloc 600MiB");
    CHECK(plain.status == 137);
    CHECK(contains(plain.err, "faultline: oom-killed (memory limit 256MiB of the caller's cgroup /" +
                                  roomy.name() + ","));
  }
  // Under the job's limit, the command runs as before.
  CHECK(in_job(job, "-v", "alloc 16MiB").status == 0);
}

TEST_CASE("exec: the command keeps its caller's swap limit along with its memory limit", "[exec]") {
  // A runner that may not swap (MemorySwapMax=0) OOM-kills a test that outgrows its memory. The
  // command's cgroup kept the memory limit but not the swap one: on a host with swap the test
  // swapped and passed. cgroup v1 bounds swap through memsw = memory + swap.
  const auto memory = memory_hierarchy();
  if (!memory) FAULTLINE_SKIP(kNoMemoryHierarchy);
  if (memory->v1 && !fs::exists(memory->root / "memory.memsw.limit_in_bytes"))
    FAULTLINE_SKIP(
        "cgroup v1 without swap accounting (no memory.memsw.*; the kernel's swapaccount=1 turns it on)");
  // Room for faultline itself, which runs in the job (an instrumented build holds tens of MiB).
  const std::string limit = std::to_string(256 << 20);
  const JobCgroup job(memory->root, "no-swap",
                      {{memory->limit_file(), limit},
                       memory->v1 ? std::pair<std::string, std::string>{"memory.memsw.limit_in_bytes", limit}
                                  : std::pair<std::string, std::string>{"memory.swap.max", "0"}});
  // The command prints its own cgroup's swap bound.
  const std::string own = memory->v1 ? "/sys/fs/cgroup/memory$(grep :memory: /proc/self/cgroup | cut -d: -f3)"
                                     : "/sys/fs/cgroup$(grep ^0:: /proc/self/cgroup | cut -d: -f3)";
  const std::string file = memory->v1 ? "memory.memsw.limit_in_bytes" : "memory.swap.max";
  const auto r =
      run_shell("sh -c " + quote(job.enter() + "exec " +
                                 exec_cmd("--memory 512MiB -- sh -c " + quote("cat " + own + "/" + file))));
  INFO("exit " << r.status << "\nstdout: " << r.out << "\nstderr: " << r.err);
  CHECK(r.status == 0);
  CHECK(contains(r.err, "faultline: the command keeps its caller's memory limit 256MiB (cgroup /" +
                            job.name() + "), swap limit 0B (cgroup /" + job.name() + ")"));
  CHECK(r.out == (memory->v1 ? limit : std::string("0")) + "\n");
}

TEST_CASE("exec: fds the caller handed down reach the command, as with timeout(1)", "[exec]") {
  // A make jobserver's pipe, `7>file`: a sub-make behind faultline exec would fall back to -j1.
  ScratchDir dir;
  const std::string file = dir / "seven";
  const auto r = run_shell(exec_cmd("--memory 64MiB -- sh -c 'echo through >&7'") + " 7>" + quote(file));
  INFO(r.err);
  CHECK(r.status == 0);
  std::string text;
  std::getline(std::ifstream(file), text);
  CHECK(text == "through");
  // faultline's own files stay out: every fd the command has above 2 is one the shell gave it.
  const auto fds = run_shell(exec_cmd("--memory 64MiB -- sh -c 'ls -l /proc/$$/fd'") + " 7>" + quote(file));
  INFO(fds.out);
  CHECK_FALSE(contains(fds.out, "cgroup"));
  CHECK_FALSE(contains(fds.out, "anon_inode"));
}

TEST_CASE("exec: started with stdin closed, the command gets /dev/null, not one of faultline's files",
          "[exec]") {
  // The event loop's first fd would otherwise take the number 0 and the command start without
  // a stdin (or, where a file of faultline's is not close-on-exec, with that file as its stdin).
  auto r = run_shell("sh -c " + quote("exec " + exec_cmd("-- readlink /proc/self/fd/0") + " <&-"));
  INFO(r.err);
  CHECK(r.status == 0);
  CHECK(r.out == "/dev/null\n");
}

TEST_CASE("exec: under nohup the command keeps SIGHUP ignored", "[exec]") {
  // faultline keeps an inherited SIG_IGN for SIGHUP for itself (a closed terminal must not end a
  // nohup'ed gate), and the processes it starts must inherit it as they would from nohup.
  auto r = run_shell("sh -c " + quote("trap '' HUP; exec " + exec_cmd("-- grep SigIgn: /proc/self/status")));
  INFO(r.err);
  REQUIRE(r.status == 0);
  REQUIRE(r.out.starts_with("SigIgn:"));
  const auto ignored = std::stoull(r.out.substr(7), nullptr, 16);
  CHECK((ignored >> (SIGHUP - 1)) & 1);
  // Without nohup the command starts with SIGHUP at its default, as before.
  auto plain = run_shell(exec_cmd("-- grep SigIgn: /proc/self/status"));
  REQUIRE(plain.out.starts_with("SigIgn:"));
  CHECK_FALSE((std::stoull(plain.out.substr(7), nullptr, 16) >> (SIGHUP - 1)) & 1);
}
