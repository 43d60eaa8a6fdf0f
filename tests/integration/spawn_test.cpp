// The supervisor's spawn path, with a test for each Boost.Process 1.81 defect that ruled out its
// launcher (docs/ARCHITECTURE.md): each of these fails where spawn falls into the same trap.
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pwd.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <csignal>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>

#include "supervisor/supervised_process.h"
#include "tests/support/scratch_dir.h"
#include "tests/support/skips.h"
#include "tests/support/test_env.h"

using namespace faultline;
using namespace faultline::supervisor;

namespace {

struct Finished {
  std::optional<ExitStatus> status;
  std::string out, err;
  std::uint64_t out_bytes = 0;
  std::optional<SpawnFailure> failure;
};

Finished run_to_end(SpawnRequest request, std::size_t tail = 64 * 1024,
                    const std::function<void(SupervisedProcess&)>& after_start = {}) {
  boost::asio::io_context io;
  if (request.env.empty()) request.env = current_environment();
  SupervisedProcess p(io, "test", tail);
  Finished f;
  if (!p.start(request, [](SupervisedProcess&) {})) {
    f.failure = p.start_failure();
    return f;
  }
  if (after_start) after_start(p);
  io.run();
  f.status = p.exit_status();
  f.out = p.output(Stream::stdout_stream).tail();
  f.err = p.output(Stream::stderr_stream).tail();
  f.out_bytes = p.output(Stream::stdout_stream).total_bytes();
  return f;
}

SpawnRequest request_for(std::vector<std::string> argv) {
  SpawnRequest r;
  r.argv = std::move(argv);
  return r;
}

bool no_children_left() {
  errno = 0;
  return ::waitpid(-1, nullptr, WNOHANG) == -1 && errno == ECHILD;
}

}  // namespace

TEST_CASE("the target inherits no file descriptor of the harness") {
  // Boost 1.81's close_all_fds closes nothing; without close_range in the child this fd leaks.
  const int leaky = ::open("/dev/null", O_RDONLY);  // deliberately without O_CLOEXEC
  REQUIRE(leaky >= 3);
  auto f = run_to_end(request_for({test::payload_path(), "list-fds"}));
  ::close(leaky);
  REQUIRE(f.status);
  CHECK(f.out == "fds: none\n");
}

TEST_CASE("a failed exec is reported with errno and leaves no zombie") {
  auto f = run_to_end(request_for({"/nonexistent/faultline-test-binary"}));
  REQUIRE(f.failure);
  CHECK(f.failure->errno_value == ENOENT);
  CHECK(f.failure->message == "exec /nonexistent/faultline-test-binary: No such file or directory");
  // Boost 1.81 does not reap the failed child; we must have done it.
  CHECK(no_children_left());
}

TEST_CASE("a script whose #! interpreter is missing is reported as such, not as a missing file") {
  faultline::test::ScratchDir dir;
  const auto script = dir.write("script.sh", "#!/nonexistent/faultline-interpreter -e\necho hi\n");
  std::filesystem::permissions(script, std::filesystem::perms::owner_all);
  auto f = run_to_end(request_for({script}));
  REQUIRE(f.failure);
  CHECK(f.failure->errno_value == ENOENT);
  CHECK(f.failure->message ==
        "exec " + script +
            ": No such file or directory (the interpreter /nonexistent/faultline-interpreter "
            "named by its #! line was not found)");
  CHECK(no_children_left());
}

TEST_CASE("a script with CRLF line endings is named as such; a relative one is read from its cwd") {
  faultline::test::ScratchDir dir;
  const auto script = dir.write("crlf.sh", "#!/bin/sh\r\necho hi\r\n");
  std::filesystem::permissions(script, std::filesystem::perms::owner_all);
  auto request = request_for({"./crlf.sh"});
  request.cwd = dir.path();  // the hint must read the file the child ran, not one beside the test
  auto f = run_to_end(request);
  REQUIRE(f.failure);
  CHECK(f.failure->errno_value == ENOENT);
  CHECK(f.failure->message ==
        "exec ./crlf.sh: No such file or directory (its #! line ends in a carriage return: the file has CRLF "
        "(Windows) line endings)");
  CHECK(no_children_left());
}

TEST_CASE("a command missing from PATH is reported without forking") {
  auto request = request_for({"faultline-no-such-command"});
  request.env = {"PATH=/nonexistent-dir"};
  auto f = run_to_end(request);
  REQUIRE(f.failure);
  CHECK(f.failure->errno_value == ENOENT);
  CHECK(f.failure->message == "command `faultline-no-such-command` not found in PATH (/nonexistent-dir)");
}

namespace {

// Runs `body` with stdout redirected to a fresh file; returns what reached the file.
std::string stdout_written_during(const std::function<void()>& body) {
  char path[] = "/tmp/faultline-flush-XXXXXX";
  const int file = ::mkstemp(path);
  REQUIRE(file >= 0);
  std::fflush(stdout);
  const int saved = ::dup(STDOUT_FILENO);
  ::dup2(file, STDOUT_FILENO);
  body();
  std::fflush(stdout);
  ::dup2(saved, STDOUT_FILENO);
  ::close(saved);
  ::close(file);
  std::ifstream in(path);
  std::stringstream content;
  content << in.rdbuf();
  ::unlink(path);
  return content.str();
}

// Runs `body` in a forked copy of the test (whatever it changes, a seccomp filter or a
// scheduling policy, stays there) and returns the text it returned. The copy exits 0 after
// `body`; a body that exits 3 itself means the host refused its set-up.
std::string in_forked_copy(const std::function<std::string()>& body) {
  int result_pipe[2];
  REQUIRE(::pipe2(result_pipe, O_CLOEXEC) == 0);
  std::fflush(nullptr);
  const pid_t tester = ::fork();
  REQUIRE(tester >= 0);
  if (tester == 0) {
    const std::string text = body();
    (void)!::write(result_pipe[1], text.data(), text.size());
    ::_exit(0);
  }
  ::close(result_pipe[1]);
  std::string text;
  char buffer[512];
  for (ssize_t n; (n = ::read(result_pipe[0], buffer, sizeof buffer)) > 0;) text.append(buffer, n);
  ::close(result_pipe[0]);
  int status = 0;
  REQUIRE(::waitpid(tester, &status, 0) == tester);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  return text;
}

// Makes every later call of system call `nr` in this process and its children fail with `error`:
// a seccomp filter, for a body of in_forked_copy (the filter stays in that copy). Exits 3 when
// the host refuses the filter.
void fail_syscall_here(int nr, int error) {
  sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, static_cast<unsigned>(nr), 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (static_cast<unsigned>(error) & SECCOMP_RET_DATA)),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  sock_fprog program{static_cast<unsigned short>(sizeof filter / sizeof filter[0]), filter};
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
      ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &program) != 0)
    ::_exit(3);
}

}  // namespace

TEST_CASE("a failed start does not print the harness's buffered output twice") {
  // Boost 1.81's failed child calls exit(), flushing its copy of our stdio buffers.
  std::optional<SpawnFailure> failure;
  const auto written = stdout_written_during([&] {
    std::fputs("unflushed-marker", stdout);  // stays in the stdio buffer
    auto request = request_for({"/nonexistent/faultline-test-binary"});
    request.capture_output = false;
    failure = run_to_end(request).failure;
  });
  REQUIRE(failure);
  CHECK(written == "unflushed-marker");
}

TEST_CASE("failed starts print nothing twice while another thread writes to stdout") {
  // With -j and the progress thread, other threads fill the stdio buffers between any flush the
  // spawning thread could do and the fork: only a child that never flushes them (_exit) is safe.
  std::vector<std::string> failures;
  int markers = 0;
  const auto written = stdout_written_during([&] {
    std::atomic<bool> stop{false};
    std::thread writer([&] {
      // Paced: the stdio buffer is never empty for long, the file stays small.
      while (!stop.load()) {
        std::fputs(("m" + std::to_string(markers++) + ";").c_str(), stdout);
        std::this_thread::sleep_for(std::chrono::microseconds(20));
      }
    });
    for (int i = 0; i < 100; ++i) {
      auto request = request_for({"/nonexistent/faultline-test-binary"});
      request.capture_output = false;
      if (auto f = run_to_end(request).failure) failures.push_back(f->message);
      // A child-side setup step failing must not flush either.
      std::vector<UniqueFd> attach;
      attach.emplace_back(::open("/dev/null", O_RDONLY | O_CLOEXEC));
      request = request_for({test::payload_path(), "sleep", "1s"});
      request.capture_output = false;
      request.attach_fds = &attach;
      if (auto f = run_to_end(request).failure) failures.push_back(f->message);
    }
    stop = true;
    writer.join();
  });
  CHECK(failures.size() == 200);
  std::vector<int> seen(markers, 0);
  std::size_t duplicates = 0;
  std::istringstream tokens(written);
  std::size_t garbled = 0;  // a second flush can also land in the middle of a marker
  for (std::string token; std::getline(tokens, token, ';');) {
    const bool well_formed = token.size() > 1 && token[0] == 'm' && token.size() < 12 &&
                             token.find_first_not_of("0123456789", 1) == std::string::npos;
    if (!well_formed || std::stoll(token.substr(1)) >= markers) {
      ++garbled;
      continue;
    }
    if (++seen[std::stoi(token.substr(1))] > 1) ++duplicates;
  }
  CHECK(garbled == 0);
  CHECK(duplicates == 0);
  CHECK(std::count(seen.begin(), seen.end(), 1) == markers);  // and nothing lost
}

TEST_CASE("a process that ended is not alive before its exit is handled, though still running") {
  // A ramp step due in the same turn of the event loop as its process's end stepped a process
  // already gone: running() says true until the exit handler ran.
  boost::asio::io_context io;
  SupervisedProcess p(io, "quick", 4096);
  auto request = request_for({test::payload_path(), "sleep", "0ms"});
  request.env = current_environment();
  REQUIRE(p.start(request, [](SupervisedProcess&) {}));
  CHECK(p.running());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (p.alive() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  CHECK_FALSE(p.alive());
  CHECK(p.running());  // no turn of the loop yet: the exit is not handled
  io.run();
  CHECK_FALSE(p.running());
  REQUIRE(p.exit_status());
  CHECK(p.exit_status()->code == 0);

  // A process that runs on is alive.
  SupervisedProcess holding(io, "holding", 4096);
  auto hold = request_for({test::payload_path(), "sleep", "10s"});
  hold.env = current_environment();
  REQUIRE(holding.start(hold, [](SupervisedProcess&) {}));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  CHECK(holding.alive());
  CHECK(holding.send_signal(SIGKILL));
  io.restart();
  io.run();
  CHECK_FALSE(holding.alive());
}

TEST_CASE("exit(9) and death by SIGKILL are told apart") {
  // Boost's async_wait folds both into the int 9; the raw wait status does not.
  auto exited = run_to_end(request_for({test::payload_path(), "exit", "9"}));
  REQUIRE(exited.status);
  CHECK_FALSE(exited.status->signaled);
  CHECK(exited.status->code == 9);
  auto killed = run_to_end(request_for({test::payload_path(), "kill-self", "SIGKILL"}));
  REQUIRE(killed.status);
  CHECK(killed.status->signaled);
  CHECK(killed.status->signal == SIGKILL);
}

TEST_CASE("the target starts with default signal handling even if the harness ignores SIGTERM") {
  struct sigaction old {};
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  ::sigaction(SIGTERM, &ignore, &old);
  auto f = run_to_end(request_for({test::payload_path(), "sleep", "30s"}), 1024,
                      [](SupervisedProcess& p) { CHECK(p.send_signal(SIGTERM)); });
  ::sigaction(SIGTERM, &old, nullptr);
  REQUIRE(f.status);
  CHECK(f.status->signaled);
  CHECK(f.status->signal == SIGTERM);
}

TEST_CASE("a flooding target costs a bounded amount of memory") {
  auto f = run_to_end(request_for({test::payload_path(), "flood", "32MiB"}), 4096);
  REQUIRE(f.status);
  CHECK(f.out_bytes == 32u * 1024 * 1024);
  CHECK(f.out.size() == 4096);
}

TEST_CASE("a child-side setup failure names the step and errno") {
  std::vector<UniqueFd> attach;
  attach.emplace_back(::open("/dev/null", O_RDONLY | O_CLOEXEC));  // writing to it fails with EBADF
  auto request = request_for({test::payload_path(), "sleep", "1s"});
  request.attach_fds = &attach;
  auto f = run_to_end(request);
  REQUIRE(f.failure);
  CHECK(f.failure->errno_value == EBADF);
  CHECK(f.failure->message == "write cgroup.procs (entering the throwaway cgroup): Bad file descriptor");
  CHECK(no_children_left());
}

TEST_CASE("a target runs as the requested user and groups while other harness threads run") {
  // The child shares the harness's memory until its exec, so it drops privileges with the raw
  // system calls (glibc's set*id signal every thread glibc knows of, there the harness's).
  // Another thread runs here, as the runner's always do.
  if (::geteuid() != 0) FAULTLINE_SKIP("changing to another user needs root");
  if (!::getpwnam("nobody")) FAULTLINE_SKIP("no user `nobody` on this host");
  const int dumpable_before = ::prctl(PR_GET_DUMPABLE);
  std::atomic<bool> stop{false};
  std::thread busy([&] {
    while (!stop) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  });
  auto request = request_for({"/bin/sh", "-c", "id -u; id -g; id -G"});
  request.user = resolve_user("nobody");
  auto f = run_to_end(request);
  // The change of user clears the death signal: it is set after it.
  auto death = request_for({test::payload_path(), "death-signal"});
  death.user = request.user;
  auto d = run_to_end(death);
  stop = true;
  busy.join();
  REQUIRE(f.status);
  INFO(f.err);
  CHECK(f.status->code == 0);
  std::string groups;
  for (gid_t g : request.user->groups) groups += (groups.empty() ? "" : " ") + std::to_string(g);
  CHECK(f.out ==
        std::to_string(request.user->uid) + "\n" + std::to_string(request.user->gid) + "\n" + groups + "\n");
  INFO((d.failure ? d.failure->message : d.err));
  REQUIRE(d.status);
  CHECK(d.out == "death signal: " + std::to_string(SIGKILL) + "\n");
  CHECK(::geteuid() == 0);  // the harness itself is still root
  // The child's change of user marked the memory it shared with the harness non-dumpable; the
  // harness must not stay so (no core dump of it, its /proc files root's).
  if (dumpable_before == 1) CHECK(::prctl(PR_GET_DUMPABLE) == 1);
}

TEST_CASE("RLIMIT_NOFILE is set in the child before exec") {
  auto request = request_for({test::payload_path(), "open-fds", "64"});
  request.nofile = 16;
  auto f = run_to_end(request);
  REQUIRE(f.status);
  CHECK(f.status->code == 1);
  CHECK(f.out.find("opened 13 of 64") != std::string::npos);
}

TEST_CASE("a failed wait is an error with context, never an exit status") {
  // Someone else reaps the target first (here the test itself): Boost's wait fails with ECHILD
  // and leaves its "still running" marker, which decodes as "exited with code 1".
  boost::asio::io_context io;
  SupervisedProcess p(io, "reaped-elsewhere", 1024);
  auto request = request_for({test::payload_path(), "sleep", "30s"});
  request.env = current_environment();
  bool exit_handler_ran = false;
  REQUIRE(p.start(request, [&](SupervisedProcess&) { exit_handler_ran = true; }));
  REQUIRE(p.send_signal(SIGKILL));
  REQUIRE(::waitpid(p.pid(), nullptr, 0) == p.pid());
  io.run();
  CHECK(exit_handler_ran);
  CHECK_FALSE(p.exit_status());
  REQUIRE(p.wait_error());
  CHECK(p.wait_error()->find("`reaped-elsewhere` (pid " + std::to_string(p.pid()) + ")") !=
        std::string::npos);
  CHECK(p.wait_error()->find("No child processes") != std::string::npos);
  CHECK_FALSE(p.running());
}

TEST_CASE("a failing close_range in the child is reported, not ignored") {
  // A kernel without close_range (before 5.9) would start the target with every fd of the
  // harness. A seccomp filter plays that kernel here, in a forked copy of the test.
  const std::string text = in_forked_copy([] {
    fail_syscall_here(__NR_close_range, ENOSYS);
    boost::asio::io_context io;
    auto request = request_for({test::payload_path(), "exit", "0"});
    request.env = current_environment();
    auto result = spawn(io, request);
    std::string text = "started";
    if (auto* failure = std::get_if<SpawnFailure>(&result)) text = failure->message;
    return text;
  });  // exit 3: this host refused the seccomp filter
  CHECK(text == "close_range (closing the harness's fds in the target): Function not implemented");
}

TEST_CASE("a child the harness cannot open a pidfd for is stopped and reported, not left unwatched") {
  // pidfd_open fails when the harness is out of fds or memory; a seccomp filter plays that here,
  // in a forked copy of the test. Without a pidfd nothing would ever wait for the child.
  const std::string text = in_forked_copy([] {
    fail_syscall_here(__NR_pidfd_open, EMFILE);
    boost::asio::io_context io;
    auto request = request_for({test::payload_path(), "sleep", "60s"});
    request.env = current_environment();
    std::string text = "started";
    try {
      auto result = spawn(io, request);
      if (auto* failure = std::get_if<SpawnFailure>(&result))
        text = failure->message + (failure->harness_step ? " [harness step]" : "");
    } catch (const std::exception& e) {
      text = std::string("threw: ") + e.what();
    }
    return text + (no_children_left() ? " [no child left]" : " [a child is left]");
  });  // exit 3: this host refused the seccomp filter
  CHECK(text == "starting " + test::payload_path() +
                    ": pidfd_open: Too many open files [harness step] [no child left]");
}

TEST_CASE("a deferred exit watch leaves a target that ended during start() unreaped until the loop runs") {
  // The memory injector starts its charging helper, opens a pidfd for it and reads its end with
  // waitid(WNOWAIT) before returning to the event loop. A helper that ends before start() returns
  // (a loaded machine) must still be there to open. Here the end is forced: a copy of the test
  // runs SCHED_FIFO on one CPU, so the child (same policy, same CPU) is never preempted by the
  // parent and runs /bin/true to its end before start() resumes.
  const std::string text = in_forked_copy([] {
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(sched_getcpu(), &one);
    const sched_param fifo{1};
    if (::sched_setaffinity(0, sizeof one, &one) != 0 || ::sched_setscheduler(0, SCHED_FIFO, &fifo) != 0)
      ::_exit(3);
    boost::asio::io_context io;
    SupervisedProcess helper(io, "helper", 1024);
    helper.defer_exit_watch();
    auto request = request_for({"/bin/true"});
    request.env = current_environment();
    std::string text;
    if (!helper.start(request, [](SupervisedProcess&) {})) {
      text = "failed to start";
    } else {
      const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, helper.pid(), 0));
      siginfo_t info{};
      if (pidfd < 0)
        text = std::string("pidfd_open: ") + std::strerror(errno);
      else if (::waitid(P_PIDFD, static_cast<id_t>(pidfd), &info, WEXITED | WNOWAIT) != 0)
        text = std::string("waitid: ") + std::strerror(errno);
      else
        text = info.si_code == CLD_EXITED ? "exited " + std::to_string(info.si_status) : "ended otherwise";
      io.run();  // now the watch starts and reaps it
      text +=
          helper.exit_status() && !helper.exit_status()->signaled ? ", reaped by the loop" : ", not reaped";
    }
    return text;
  });  // exit 3: no SCHED_FIFO here (not root, or no RT budget)
  CHECK(text == "exited 0, reaped by the loop");
}

TEST_CASE("name resolutions queued before a spawn still complete after it") {
  // Boost 1.81's launcher stops asio's resolver thread for the fork and nothing starts it again:
  // a readiness gate on `localhost` queued behind it never answered (spawn does not use it).
  boost::asio::io_context io;
  boost::asio::ip::tcp::resolver resolver(io);
  constexpr int kQueued = 200;  // the thread is stopped with most of them still queued
  int resolved = 0;
  for (int i = 0; i < kQueued; ++i)
    resolver.async_resolve("localhost", "80",
                           [&](const boost::system::error_code&,
                               const boost::asio::ip::tcp::resolver::results_type&) { ++resolved; });
  SpawnRequest request = request_for({"/bin/true"});
  request.env = current_environment();
  SupervisedProcess p(io, "test", 1024);
  REQUIRE(p.start(request, [](SupervisedProcess&) {}));
  io.run_for(std::chrono::seconds(20));
  CHECK(resolved == kQueued);
  CHECK(p.exit_status());
}
