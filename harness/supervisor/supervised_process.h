// One running target on an asio event loop: its exit (pidfd), its output (bounded tails and
// lines for readiness matching), and signals to it. The cgroup it lives in is owned elsewhere.
#pragma once

#include <sys/types.h>

#include <array>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "supervisor/output_matcher.h"
#include "supervisor/output_tail.h"
#include "supervisor/spawn.h"

namespace faultline::supervisor {

enum class Stream { stdout_stream, stderr_stream };

// How long a stream stays quiet before its open line is offered to the line handler.
inline constexpr std::chrono::milliseconds kOpenLineQuiet{100};

// How the main process ended, from the raw wait status (not Boost's folded exit code, which
// cannot tell exit(9) from SIGKILL).
struct ExitStatus {
  bool signaled = false;
  int code = 0;    // exit code when !signaled
  int signal = 0;  // terminating signal when signaled
  static ExitStatus from_wait_status(int status);
};

class SupervisedProcess {
 public:
  using Clock = std::chrono::steady_clock;
  using ExitHandler = std::function<void(SupervisedProcess&)>;
  // A whole line (`complete`), or a line left open (no newline yet) once the stream has been
  // quiet for kOpenLineQuiet: a program that flushes "ready" without a newline and waits would
  // otherwise never be seen. Only then: a line that arrives in parts (stdio's blocks, a write per
  // field) is not matched by its first part. An open line is offered again when it ends.
  using LineHandler = std::function<void(Stream, std::string_view, bool complete)>;

  SupervisedProcess(boost::asio::io_context& io, std::string name, std::size_t tail_bytes = 64 * 1024);
  SupervisedProcess(const SupervisedProcess&) = delete;
  SupervisedProcess& operator=(const SupervisedProcess&) = delete;
  ~SupervisedProcess();

  // Starts the target. On failure returns false; start_failure() says why and on_exit is not called.
  // `on_output_closed` runs once both output pipes reached end of file.
  bool start(const SpawnRequest& request, ExitHandler on_exit, LineHandler on_line = {},
             std::function<void()> on_output_closed = {});

  // Call before start: the exit is watched from the next turn of the event loop, not from inside
  // start(). Watching reaps a process that already ended, so without this a caller that needs
  // the process unreaped until its own handler returns (the memory injector opens a pidfd for its
  // charging helper and reads its end with waitid(WNOWAIT)) loses it whenever the helper ends
  // before start() returns, as on a loaded machine.
  void defer_exit_watch() { defer_exit_watch_ = true; }

  const std::string& name() const { return name_; }
  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0 && !exit_status_ && !wait_error_; }
  // Running, and not already ended: the end is seen from the event loop, so a timer due in the
  // same turn (a ramp step, a repeat) runs while running() still says true of a process that is
  // gone. Asks the pidfd, which is readable once the process ended.
  bool alive() const;
  // Output is complete once the process exited and both pipes reached end of file.
  bool output_closed() const { return open_streams_ == 0; }
  void close_output();  // stop reading (e.g. an orphan keeps the pipe open)

  // Sends a signal to the main process while it runs (it cannot have been reaped and reused).
  bool send_signal(int signo);
  // For a loop that will not run again (its run ended with this process killed): waits for the
  // process here, blocking until it has ended, so that its CPU time is in this process's waits
  // now. The exit handler is not called. False when it cannot be waited for (no pidfd).
  bool reap_now();

  const std::optional<SpawnFailure>& start_failure() const { return start_failure_; }
  // Set once the main process ended; empty if the wait for it failed (see wait_error()).
  const std::optional<ExitStatus>& exit_status() const { return exit_status_; }
  // Why waiting for the process failed ("waitpid for `api` (pid 42): No child processes"); the
  // exit handler still runs, but there is no exit status to report: never read one from it.
  const std::optional<std::string>& wait_error() const { return wait_error_; }
  Clock::time_point started_at() const { return started_at_; }
  Clock::time_point exited_at() const { return exited_at_; }
  const OutputTail& output(Stream s) const { return tails_[static_cast<int>(s)]; }
  // Checks every byte of stream `s` for these patterns as it is read (call before start);
  // the tail above is only what the report shows.
  void match_output(Stream s, OutputPatterns patterns) {
    matchers_[static_cast<int>(s)].emplace(std::move(patterns));
  }
  const OutputMatcher* matcher(Stream s) const {
    const auto& m = matchers_[static_cast<int>(s)];
    return m ? &*m : nullptr;
  }

 private:
  void read_more(Stream s);
  void offer_open_line_when_quiet(Stream s);

  boost::asio::io_context& io_;
  std::string name_;
  pid_t pid_ = -1;
  UniqueFd pidfd_;  // signals go here: never to a pid that was reaped and reused
  Spawned spawned_;
  std::optional<SpawnFailure> start_failure_;
  std::optional<ExitStatus> exit_status_;
  std::optional<std::string> wait_error_;
  Clock::time_point started_at_{};
  Clock::time_point exited_at_{};
  std::array<OutputTail, 2> tails_;
  std::array<LineSplitter, 2> lines_;
  std::array<std::optional<OutputMatcher>, 2> matchers_;
  std::array<std::array<char, 16384>, 2> buffers_{};
  int open_streams_ = 0;
  bool defer_exit_watch_ = false;
  LineHandler on_line_;
  std::array<std::optional<boost::asio::steady_timer>, 2> open_line_timers_;
  std::shared_ptr<void> alive_ = std::make_shared<char>();  // for handlers that may outlive us
  std::function<void()> on_output_closed_;
};

}  // namespace faultline::supervisor
