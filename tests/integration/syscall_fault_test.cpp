// Syscall faults on real processes: the seccomp filter loaded by the spawn path, the notifier
// answering, and what the target actually saw (its own report of each failed call).
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <regex>
#include <sstream>
#include <thread>

#include "common/unique_fd.h"
#include "supervisor/supervised_process.h"
#include "syscall/notifier.h"
#include "syscall/rules.h"
#include "tests/support/scratch_dir.h"
#include "tests/support/skips.h"
#include "tests/support/test_env.h"

using namespace faultline;
using namespace faultline::supervisor;
using namespace faultline::syscall;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

std::string static_target() {
  const auto from_env = test::env_or_empty("FAULTLINE_SYSCALL_TARGET");
  return from_env.empty() ? FAULTLINE_SYSCALL_TARGET : from_env;
}

struct Outcome {
  std::optional<ExitStatus> status;
  std::optional<SpawnFailure> failure;
  std::string out, err;
  std::vector<RuleRecord> records;
  std::uint64_t notifications = 0;
  pid_t pid = 0;
};

// Runs argv under a filter for `rules` (all active unless `active` is false), calling
// `while_running` on a side thread while the target runs.
Outcome run_under(std::vector<RuleSpec> specs, std::vector<std::string> argv, bool active = true,
                  const std::function<void(Notifier&)>& while_running = {},
                  std::optional<rlim_t> nofile = std::nullopt) {
  std::vector<Rule> rules;
  for (const auto& spec : specs) rules.push_back(make_rule(spec));
  auto channel = ListenerChannel::create();
  Notifier notifier(std::move(rules), std::move(channel.harness_end));
  notifier.set_all_active(active);
  const NotifyFilter filter = notifier.filter(channel.child_end.get());

  SpawnRequest request;
  request.argv = std::move(argv);
  request.env = current_environment();
  request.notify_filter = filter.program();
  request.notify_socket = channel.child_end.get();
  request.announce_own_execs = [&notifier](const auto& calls) { notifier.expect_own_execs(calls); };
  request.nofile = nofile;
  boost::asio::io_context io;
  SupervisedProcess process(io, "target", 1 << 20);
  Outcome outcome;
  const bool started = process.start(request, [](SupervisedProcess&) {});
  channel.child_end.reset();
  if (!started) {
    outcome.failure = process.start_failure();
    // The child's failed call was answered before it could fail, but the answer is counted just
    // after it was sent: stopping the notifier lets that finish, as a run does before reading.
    notifier.stop();
    outcome.records = notifier.records().snapshot();
    return outcome;
  }
  outcome.pid = process.pid();
  std::thread side;
  if (while_running) side = std::thread([&] { while_running(notifier); });
  io.run();
  if (side.joinable()) side.join();
  // The listener closes once the last task under the filter is gone.
  CHECK(notifier.wait_finished(10s));
  notifier.stop();
  outcome.status = process.exit_status();
  outcome.out = process.output(Stream::stdout_stream).tail();
  outcome.err = process.output(Stream::stderr_stream).tail();
  outcome.records = notifier.records().snapshot();
  outcome.notifications = notifier.notifications();
  return outcome;
}

RuleSpec rule(std::vector<std::string> syscalls, std::optional<std::string> error, Selection selection = {}) {
  RuleSpec spec;
  spec.name = "test-rule";
  spec.syscalls = std::move(syscalls);
  spec.errno_name = std::move(error);
  spec.selection = selection;
  return spec;
}

struct FailedCall {
  long index;
  std::string errno_text;
};

// The "fail I ERRNO" lines the static target prints.
std::vector<FailedCall> all_failed_calls(const std::string& out) {
  std::vector<FailedCall> calls;
  std::istringstream lines(out);
  std::string word, name;
  long index;
  while (lines >> word)
    if (word == "fail" && lines >> index >> name) calls.push_back({index, name});
  return calls;
}

// The "fail I ERRNO" lines with this errno, as I (other errnos are left out).
std::vector<long> calls_failed_with(const std::string& out, const std::string& errno_text) {
  std::vector<long> indexes;
  for (const auto& call : all_failed_calls(out))
    if (call.errno_text == errno_text) indexes.push_back(call.index);
  return indexes;
}

// The "fail I ERRNO" lines, as I; every one must carry this errno.
std::vector<long> failed_calls(const std::string& out, const std::string& errno_text) {
  for (const auto& call : all_failed_calls(out)) CHECK(call.errno_text == errno_text);
  return calls_failed_with(out, errno_text);
}

bool output_has(const std::string& out, const std::string& line) {
  return out.find(line) != std::string::npos;
}

}  // namespace

TEST_CASE("a static target's every 1000th openat fails with EMFILE, the rest succeed", "[syscall]") {
  test::ScratchDir dir;
  const auto file = dir.write("data", "x");
  auto spec = rule({"openat"}, "EMFILE", Selection{Selection::Kind::every, 1000});
  spec.name = "every-1000th";
  const auto outcome = run_under({spec}, {static_target(), "loop", "5000", file});
  REQUIRE(outcome.status);
  CHECK(outcome.status->code == 0);
  CHECK(failed_calls(outcome.out, "EMFILE") == std::vector<long>{1000, 2000, 3000, 4000, 5000});
  CHECK(output_has(outcome.out, "done 5000 failed 5"));
  REQUIRE(outcome.records.size() == 1);
  const auto& record = outcome.records[0];
  CHECK(record.rule == "every-1000th");
  CHECK(record.acted == 5);
  CHECK(record.matched >= 5000);  // the dynamic-loader-free target opens nothing else but may at exit
  REQUIRE(record.first.size() == 5);
  CHECK(record.first[0].syscall == "openat");
  CHECK(record.first[0].subject == file);
  CHECK(record.first[0].error == EMFILE);
  CHECK(record.first[0].pid == outcome.pid);
}

TEST_CASE("a target whose nofile is below the harness's open fds still gets its filter", "[syscall]") {
  // The listener is the child's newest fd, made under the target's limit: the harness's own fds
  // must be gone from the child by then, not only marked close-on-exec.
  test::ScratchDir dir;
  const auto file = dir.write("data", "x");
  std::vector<UniqueFd> held;
  for (int i = 0; i < 40; ++i) held.emplace_back(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  REQUIRE(held.back().get() >= 40);
  const auto outcome = run_under({rule({"openat"}, "EACCES", Selection{Selection::Kind::every, 10})},
                                 {static_target(), "loop", "30", file}, true, {}, rlim_t{16});
  if (outcome.failure) FAIL("the start failed: " << outcome.failure->message);
  REQUIRE(outcome.status);
  CHECK(outcome.status->code == 0);
  CHECK(failed_calls(outcome.out, "EACCES") == std::vector<long>{10, 20, 30});
}

TEST_CASE("a dynamic target and its children fail only the calls on the globbed path", "[syscall]") {
  test::ScratchDir dir;
  const auto spared = dir.write("spared.txt", "spared-content\n");
  const auto full = dir.write("full.txt", "never-read\n");
  auto spec = rule({"openat"}, "ENOSPC");
  spec.path_glob = dir.path().string() + "/full*";
  // sh starts each cat as its child: the filter is inherited; the dynamic loader's own openat
  // calls (libc) do not match the glob and go through.
  const auto outcome =
      run_under({spec}, {"/bin/sh", "-c", "cat " + spared + "; cat " + full + "; echo sh-done"});
  REQUIRE(outcome.status);
  CHECK(output_has(outcome.out, "spared-content"));
  CHECK_FALSE(output_has(outcome.out, "never-read"));
  CHECK(output_has(outcome.out, "sh-done"));
  CHECK(output_has(outcome.err, "full.txt: No space left on device"));
  REQUIRE(outcome.records.size() == 1);
  CHECK(outcome.records[0].acted == 1);
  REQUIRE(outcome.records[0].first.size() == 1);
  CHECK(outcome.records[0].first[0].subject == full);
  CHECK(outcome.records[0].first[0].pid != outcome.pid);  // cat, not sh
}

TEST_CASE("a path glob sees the file a path names: `..` taken out, symlinks on either side", "[syscall]") {
  test::ScratchDir dir;
  const auto root = dir.path().string();
  fs::create_directories(root + "/data");
  dir.write("data/inside", "in\n");
  dir.write("other", "out\n");
  fs::create_directory_symlink(root + "/data", root + "/alias");
  auto spec = rule({"openat"}, "EACCES");
  spec.path_glob = root + "/data/*";
  // `data/../other` is outside data/ however it is spelt; `alias/inside` is inside it.
  const auto outcome =
      run_under({spec}, {"/bin/sh", "-c",
                         "cat " + root + "/data/../other; cd " + root + "/data && cat ../other; cat " + root +
                             "/alias/inside; echo sh-done"});
  REQUIRE(outcome.status);
  CHECK(outcome.out.find("out\nout\n") != std::string::npos);
  CHECK(output_has(outcome.err, "alias/inside: Permission denied"));
  CHECK(output_has(outcome.out, "sh-done"));
  REQUIRE(outcome.records.size() == 1);
  CHECK(outcome.records[0].acted == 1);
  REQUIRE(outcome.records[0].first.size() == 1);
  CHECK(outcome.records[0].first[0].subject == root + "/alias/inside");
}

TEST_CASE("a child of a static target is affected too", "[syscall]") {
  test::ScratchDir dir;
  const auto file = dir.write("data", "x");
  const auto outcome = run_under({rule({"openat"}, "EIO", Selection{Selection::Kind::every, 10})},
                                 {static_target(), "fork", "loop", "100", file});
  REQUIRE(outcome.status);
  CHECK(outcome.status->code == 0);
  CHECK(failed_calls(outcome.out, "EIO") == std::vector<long>{10, 20, 30, 40, 50, 60, 70, 80, 90, 100});
  REQUIRE_FALSE(outcome.records[0].first.empty());
  CHECK(outcome.records[0].first[0].pid != outcome.pid);
}

TEST_CASE("outside the window the calls go through, inside they fail", "[syscall]") {
  test::ScratchDir dir;
  const auto file = dir.write("data", "x");
  const auto wait_for = [&](const std::string& name) {
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (!std::filesystem::exists(dir.path() / name) && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(5ms);
  };
  auto spec = rule({"openat"}, "EACCES");
  spec.path_glob = file;
  const auto outcome = run_under({spec}, {static_target(), "phases", file, "20", dir.path().string()}, false,
                                 [&](Notifier& n) {
                                   wait_for("phase1");
                                   n.set_active(0, true);
                                   dir.write("go1", "");
                                   wait_for("phase2");
                                   n.set_active(0, false);
                                   dir.write("go2", "");
                                 });
  REQUIRE(outcome.status);
  CHECK(output_has(outcome.out, "phase 1 failed 0\n"));
  CHECK(output_has(outcome.out, "phase 2 failed 20\n"));
  CHECK(output_has(outcome.out, "phase 3 failed 0\n"));
  CHECK(outcome.records[0].acted == 20);
  CHECK(outcome.notifications > 40);  // the inactive phases were trapped and answered too
}

TEST_CASE("two rules on one syscall decide independently, whichever comes first", "[syscall]") {
  test::ScratchDir dir;
  const auto file = dir.write("data", "x");
  auto named = [&](std::string name, std::optional<std::string> error, Selection selection) {
    auto spec = rule({"openat"}, std::move(error), selection);
    spec.name = std::move(name);
    spec.path_glob = file;
    return spec;
  };
  const auto every_call = named("disk-full", "ENOSPC", {});

  SECTION("a rule that spares a call leaves it to the next rule") {
    const auto outcome = run_under({named("flaky", "EIO", Selection{Selection::Kind::every, 5}), every_call},
                                   {static_target(), "loop", "20", file});
    REQUIRE(outcome.status);
    CHECK(calls_failed_with(outcome.out, "EIO") == std::vector<long>{5, 10, 15, 20});
    CHECK(calls_failed_with(outcome.out, "ENOSPC").size() == 16);
    CHECK(output_has(outcome.out, "done 20 failed 20"));
    REQUIRE(outcome.records.size() == 2);
    CHECK(outcome.records[0].matched == 20);
    CHECK(outcome.records[0].acted == 4);
    CHECK(outcome.records[1].matched == 20);
    CHECK(outcome.records[1].acted == 16);  // the calls the first rule failed were not its hits
  }
  SECTION("a delay-only rule delays the call and the next rule still fails it") {
    auto slow = named("slow-disk", std::nullopt, Selection{Selection::Kind::every, 2});
    slow.delay = 1ms;
    const auto outcome = run_under({slow, every_call}, {static_target(), "loop", "20", file});
    REQUIRE(outcome.status);
    CHECK(calls_failed_with(outcome.out, "ENOSPC").size() == 20);
    CHECK(output_has(outcome.out, "done 20 failed 20"));
    REQUIRE(outcome.records.size() == 2);
    CHECK(outcome.records[0].acted == 10);
    CHECK(outcome.records[1].acted == 20);
  }
}

TEST_CASE("a probability with a fixed seed fails the same calls every run", "[syscall]") {
  test::ScratchDir dir;
  const auto file = dir.write("data", "x");
  auto run_with_seed = [&](std::uint64_t seed) {
    auto spec = rule({"openat"}, "EINTR", Selection{Selection::Kind::probability, 1, 0.02, seed});
    spec.path_glob = file;
    const auto outcome = run_under({spec}, {static_target(), "loop", "2000", file});
    REQUIRE(outcome.status);
    return failed_calls(outcome.out, "EINTR");
  };
  const auto first = run_with_seed(7);
  CHECK(first.size() > 10);
  CHECK(first.size() < 100);
  CHECK(run_with_seed(7) == first);
  CHECK(run_with_seed(8) != first);
}

TEST_CASE("a delayed call does not hold up the other calls, then goes through", "[syscall]") {
  test::ScratchDir dir;
  const auto slow = dir.write("slow", "x");
  const auto fast = dir.write("fast", "x");
  RuleSpec spec = rule({"openat"}, std::nullopt);
  spec.delay = 1500ms;
  spec.path_glob = "*/slow";
  const auto outcome = run_under({spec}, {static_target(), "timed", slow, fast});
  REQUIRE(outcome.status);
  std::smatch m;
  REQUIRE(std::regex_search(outcome.out, m, std::regex("slow (\\d+) ms ok")));
  const long slow_ms = std::stol(m[1]);
  REQUIRE(std::regex_search(outcome.out, m, std::regex("fast (\\d+) ms ok")));
  const long fast_ms = std::stol(m[1]);
  CHECK(slow_ms >= 1400);
  CHECK(fast_ms < slow_ms);
  // The fast open was trapped while the slow one was held: it came first in the output.
  CHECK(outcome.out.find("fast ") < outcome.out.find("slow "));
  CHECK(outcome.records[0].acted == 1);
  CHECK(outcome.records[0].first[0].error == 0);
}

TEST_CASE("two delays on one call add up, and each rule's event says what the call waited in all",
          "[syscall]") {
  test::ScratchDir dir;
  const auto slow = dir.write("slow", "x");
  const auto fast = dir.write("fast", "x");
  RuleSpec first = rule({"openat"}, std::nullopt), second = rule({"openat"}, "EACCES");
  first.name = "slow-disk";
  first.delay = 300ms;
  second.name = "slower-disk";
  second.delay = 400ms;
  first.path_glob = second.path_glob = "*/slow";
  const auto outcome = run_under({first, second}, {static_target(), "timed", slow, fast});
  REQUIRE(outcome.status);
  std::smatch m;
  REQUIRE(std::regex_search(outcome.out, m, std::regex("slow (\\d+) ms EACCES")));
  CHECK(std::stol(m[1]) >= 650);  // at least the sum, less the clocks' grain
  REQUIRE(outcome.records.size() == 2);
  for (const auto& record : outcome.records) {
    INFO(record.rule);
    REQUIRE(record.first.size() == 1);
    CHECK(record.first[0].held == 700ms);
  }
  CHECK(outcome.records[0].first[0].delay == 300ms);
  CHECK(outcome.records[0].first[0].error == 0);  // the answer was the other rule's
  CHECK(outcome.records[1].first[0].delay == 400ms);
  CHECK(outcome.records[1].first[0].error == EACCES);
}

TEST_CASE("a held call that a signal interrupts is matched, not acted: the fault never reached it",
          "[syscall]") {
  test::ScratchDir dir;
  const auto held = dir.write("held", "");
  RuleSpec spec = rule({"write"}, "EIO");
  spec.delay = 1000ms;
  spec.path_glob = "*/held";
  // A SIGALRM (a handler without SA_RESTART) cuts the held write short after 100 ms: the late EIO
  // answer finds no waiting call, and the program never sees the fault.
  const auto outcome = run_under({spec}, {static_target(), "interrupted-write", held});
  REQUIRE(outcome.status);
  CHECK(output_has(outcome.out, "interrupted"));
  REQUIRE(outcome.records.size() == 1);
  CHECK(outcome.records[0].matched == 1);
  CHECK(outcome.records[0].acted == 0);
  CHECK(outcome.records[0].first.empty());
}

TEST_CASE("a held call the kernel restarts after a signal keeps its delay and counts once", "[syscall]") {
  // Every restart is trapped again with the same arguments; a fresh delay each time would hold
  // the write for as long as the signals come, and count one call as twenty.
  test::ScratchDir dir;
  const auto held = dir.write("held", "");
  RuleSpec spec = rule({"write"}, std::nullopt);
  spec.delay = 1000ms;
  spec.path_glob = "*/held";
  const auto outcome = run_under({spec}, {static_target(), "restarted-write", held});
  REQUIRE(outcome.status);
  std::smatch m;
  REQUIRE(std::regex_search(outcome.out, m, std::regex("wrote after (\\d+) ms, (\\d+) signals")));
  CHECK(std::stol(m[2]) >= 5);    // it was interrupted and restarted several times
  CHECK(std::stol(m[1]) >= 900);  // the delay held
  CHECK(std::stol(m[1]) < 2000);  // from the first trap, not from the last restart (3 s)
  REQUIRE(outcome.records.size() == 1);
  CHECK(outcome.records[0].matched == 1);
  CHECK(outcome.records[0].acted == 1);
}

TEST_CASE("the spawn's own exec passes an execve rule uncounted; the target's first exec is call 1",
          "[syscall]") {
  // The child's exec of the command is trapped like any execve once the filter is loaded: it must
  // neither fail (a start failure) nor count as the target's call, or `nth = 1` would pick it.
  Selection first;
  first.kind = Selection::Kind::nth;
  first.n = 1;
  const auto outcome = run_under({rule({"execve"}, "EACCES", first)},
                                 {static_target(), "exec", static_target(), "getppid", "1"});
  REQUIRE_FALSE(outcome.failure);
  CHECK(output_has(outcome.out, "exec failed EACCES"));
  REQUIRE(outcome.records.size() == 1);
  CHECK(outcome.records[0].matched == 1);
  CHECK(outcome.records[0].acted == 1);
}

TEST_CASE("a target's sendmsg on the fd number the listener was handed over on is trapped", "[syscall]") {
  // The hand-off socket is closed by the exec, and its number is free for the target's own sockets.
  int handoff_fd;
  {
    const auto probe = ListenerChannel::create();
    handoff_fd = probe.child_end.get();  // the lowest free numbers: run_under's channel gets the same
  }
  const auto outcome =
      run_under({rule({"sendmsg"}, "EIO")}, {static_target(), "sendmsg-on", std::to_string(handoff_fd)});
  REQUIRE_FALSE(outcome.failure);
  CHECK(output_has(outcome.out, "sendmsg EIO"));
  REQUIRE(outcome.records.size() == 1);
  CHECK(outcome.records[0].acted == 1);
  REQUIRE(outcome.records[0].first.size() == 1);
  CHECK(outcome.records[0].first[0].subject.starts_with("fd " + std::to_string(handoff_fd) + " "));
}

TEST_CASE("a rule keeps counts and the first and last events when it fires often", "[syscall]") {
  test::ScratchDir dir;
  const auto file = dir.write("data", "x");
  auto spec = rule({"openat"}, "ENFILE");
  spec.path_glob = file;
  std::vector<Rule> rules{make_rule(spec)};
  auto channel = ListenerChannel::create();
  Notifier notifier(std::move(rules), std::move(channel.harness_end), NotifierOptions{3, 2});
  notifier.set_all_active(true);
  const NotifyFilter filter = notifier.filter(channel.child_end.get());
  SpawnRequest request;
  request.argv = {static_target(), "loop", "50", file};
  request.env = current_environment();
  request.notify_filter = filter.program();
  request.notify_socket = channel.child_end.get();
  boost::asio::io_context io;
  SupervisedProcess process(io, "target", 1 << 20);
  REQUIRE(process.start(request, [](SupervisedProcess&) {}));
  channel.child_end.reset();
  io.run();
  REQUIRE(notifier.wait_finished(10s));
  const auto records = notifier.records().snapshot();
  CHECK(records[0].acted == 50);
  CHECK(records[0].first.size() == 3);
  CHECK(records[0].last.size() == 2);
  CHECK(failed_calls(process.output(Stream::stdout_stream).tail(), "ENFILE").size() == 50);
}

TEST_CASE("fds = sockets fails a write to a socket and spares a file; fds = files the reverse", "[syscall]") {
  test::ScratchDir dir;
  const std::string file = (dir.path() / "written").string();
  const auto run_with = [&](FdKind kind) {
    auto spec = rule({"write"}, "EIO");
    spec.fds = kind;
    return run_under({spec}, {static_target(), "fdkinds", file});
  };

  const auto sockets = run_with(FdKind::sockets);
  REQUIRE(sockets.status);
  INFO(sockets.out << sockets.err);
  CHECK(sockets.status->code == 0);
  CHECK(output_has(sockets.out, "socket EIO"));
  CHECK(output_has(sockets.out, "file ok"));
  REQUIRE(sockets.records.size() == 1);
  CHECK(sockets.records[0].acted == 1);
  REQUIRE(sockets.records[0].first.size() == 1);
  CHECK(sockets.records[0].first[0].subject.find("socket:[") != std::string::npos);

  const auto files = run_with(FdKind::files);
  REQUIRE(files.status);
  INFO(files.out << files.err);
  CHECK(files.status->code == 0);
  CHECK(output_has(files.out, "socket ok"));
  CHECK(output_has(files.out, "file EIO"));
  REQUIRE(files.records.size() == 1);
  CHECK(files.records[0].acted == 1);
  REQUIRE(files.records[0].first.size() == 1);
  CHECK(files.records[0].first[0].subject.ends_with(" (" + file + ")"));
}
