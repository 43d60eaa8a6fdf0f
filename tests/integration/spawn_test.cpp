// The supervisor's spawn path, with a test for each Boost.Process 1.81 defect we work around:
// each of these fails when its workaround is removed.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "supervisor/supervised_process.h"
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

TEST_CASE("a command missing from PATH is reported without forking") {
  auto request = request_for({"faultline-no-such-command"});
  request.env = {"PATH=/nonexistent-dir"};
  auto f = run_to_end(request);
  REQUIRE(f.failure);
  CHECK(f.failure->errno_value == ENOENT);
  CHECK(f.failure->message == "command `faultline-no-such-command` not found in PATH (/nonexistent-dir)");
}

TEST_CASE("a failed start does not print the harness's buffered output twice") {
  // Boost 1.81's failed child calls exit(), flushing its copy of our stdio buffers.
  char path[] = "/tmp/faultline-flush-XXXXXX";
  const int file = ::mkstemp(path);
  REQUIRE(file >= 0);
  std::fflush(stdout);
  const int saved = ::dup(STDOUT_FILENO);
  ::dup2(file, STDOUT_FILENO);
  std::fputs("unflushed-marker", stdout);  // stays in the stdio buffer
  auto request = request_for({"/nonexistent/faultline-test-binary"});
  request.capture_output = false;
  auto f = run_to_end(request);
  std::fflush(stdout);
  ::dup2(saved, STDOUT_FILENO);
  ::close(saved);
  ::close(file);
  std::ifstream in(path);
  std::stringstream content;
  content << in.rdbuf();
  ::unlink(path);
  REQUIRE(f.failure);
  CHECK(content.str() == "unflushed-marker");
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

TEST_CASE("RLIMIT_NOFILE is set in the child before exec") {
  auto request = request_for({test::payload_path(), "open-fds", "64"});
  request.nofile = 16;
  auto f = run_to_end(request);
  REQUIRE(f.status);
  CHECK(f.status->code == 1);
  CHECK(f.out.find("opened 13 of 64") != std::string::npos);
}
