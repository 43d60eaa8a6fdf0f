#include "supervisor/supervised_process.h"

#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/buffer.hpp>
#include <boost/asio/post.hpp>
#include <csignal>

#include "common/pidfd.h"

namespace faultline::supervisor {

ExitStatus ExitStatus::from_wait_status(int status) {
  ExitStatus s;
  if (WIFSIGNALED(status)) {
    s.signaled = true;
    s.signal = WTERMSIG(status);
  } else {
    s.code = WEXITSTATUS(status);
  }
  return s;
}

SupervisedProcess::SupervisedProcess(boost::asio::io_context& io, std::string name, std::size_t tail_bytes)
    : io_(io), name_(std::move(name)), tails_{OutputTail(tail_bytes), OutputTail(tail_bytes)} {}

SupervisedProcess::~SupervisedProcess() {
  close_output();
  // The owner kills the cgroup before destroying us; if the process still runs here (an
  // exception path), do not let Boost's destructor block on it forever.
  if (spawned_.process && !exit_status_ && pidfd_) faultline::send_signal(pidfd_, SIGKILL);
}

bool SupervisedProcess::start(const SpawnRequest& request, ExitHandler on_exit, LineHandler on_line,
                              std::function<void()> on_output_closed) {
  on_line_ = std::move(on_line);
  on_output_closed_ = std::move(on_output_closed);
  started_at_ = Clock::now();
  auto result = spawn(io_, request);
  if (auto* failure = std::get_if<SpawnFailure>(&result)) {
    start_failure_ = *failure;
    exited_at_ = started_at_;
    return false;
  }
  spawned_ = std::move(std::get<Spawned>(result));
  pid_ = spawned_.pid;
  pidfd_ = open_pidfd(pid_);
  if (spawned_.stdout_pipe) {
    open_streams_ = 2;
    read_more(Stream::stdout_stream);
    read_more(Stream::stderr_stream);
  }
  auto watch_exit = [this, on_exit = std::move(on_exit)] {
    spawned_.process->async_wait([this, on_exit](boost::system::error_code ec, int) {
      exited_at_ = Clock::now();
      if (ec) {
        // Boost leaves its "still running" marker as the status, which decodes as "exited with
        // code 1": report the failed wait instead of an exit that never happened.
        wait_error_ = "waiting for `" + name_ + "` (pid " + std::to_string(pid_) +
                      ") failed: " + ec.message() + " (errno " + std::to_string(ec.value()) +
                      "); its exit status is unknown";
        on_exit(*this);
        return;
      }
      // Boost folds the status into one int; the raw wait status tells exit codes from signals.
      exit_status_ = ExitStatus::from_wait_status(spawned_.process->native_exit_code());
      on_exit(*this);
    });
  };
  if (defer_exit_watch_)
    boost::asio::post(io_, std::move(watch_exit));
  else
    watch_exit();
  return true;
}

// Each read re-arms the wait, so the line is offered once the stream has been quiet for
// kOpenLineQuiet, never between two parts of it written back to back.
void SupervisedProcess::offer_open_line_when_quiet(Stream s) {
  const int i = static_cast<int>(s);
  if (lines_[i].open_line().empty()) {
    if (open_line_timers_[i]) open_line_timers_[i]->cancel();
    return;
  }
  if (!open_line_timers_[i]) open_line_timers_[i].emplace(io_);
  open_line_timers_[i]->expires_after(kOpenLineQuiet);
  // Cancelled by the next read or the end of the stream; a wait that had already expired when
  // this object went away finds `alive` expired.
  open_line_timers_[i]->async_wait(
      [this, s, i, alive = std::weak_ptr<void>(alive_)](boost::system::error_code ec) {
        if (ec || alive.expired() || !on_line_) return;
        if (const auto open = lines_[i].open_line(); !open.empty()) on_line_(s, open, false);
      });
}

void SupervisedProcess::read_more(Stream s) {
  const int i = static_cast<int>(s);
  auto& pipe = s == Stream::stdout_stream ? *spawned_.stdout_pipe : *spawned_.stderr_pipe;
  pipe.async_read_some(boost::asio::buffer(buffers_[i]),
                       [this, s, i](boost::system::error_code ec, std::size_t n) {
                         if (n > 0) {
                           std::string_view chunk(buffers_[i].data(), n);
                           tails_[i].append(chunk);
                           if (matchers_[i]) matchers_[i]->feed(chunk);
                           if (on_line_) {
                             lines_[i].feed(chunk, [&](std::string_view line) { on_line_(s, line, true); });
                             offer_open_line_when_quiet(s);
                           }
                         }
                         if (ec) {
                           if (open_line_timers_[i]) open_line_timers_[i]->cancel();
                           if (matchers_[i]) matchers_[i]->finish();
                           if (on_line_)
                             lines_[i].finish([&](std::string_view line) { on_line_(s, line, true); });
                           if (open_streams_ > 0 && --open_streams_ == 0 && on_output_closed_)
                             on_output_closed_();
                           return;
                         }
                         read_more(s);
                       });
}

void SupervisedProcess::close_output() {
  boost::system::error_code ignored;
  if (spawned_.stdout_pipe && spawned_.stdout_pipe->is_open()) spawned_.stdout_pipe->close(ignored);
  if (spawned_.stderr_pipe && spawned_.stderr_pipe->is_open()) spawned_.stderr_pipe->close(ignored);
}

bool SupervisedProcess::reap_now() {
  if (exit_status_ || wait_error_) return true;
  if (!pidfd_) return false;
  siginfo_t info{};
  while (::waitid(P_PIDFD, static_cast<id_t>(pidfd_.get()), &info, WEXITED) != 0) {
    if (errno == ECHILD) return true;  // already waited for: the exit handler is merely queued
    if (errno != EINTR) return false;
  }
  return true;
}

bool SupervisedProcess::alive() const {
  if (!running()) return false;
  if (!pidfd_) return true;  // no pidfd (a kernel before 5.3): the exit event alone says
  return !pidfd_exited(pidfd_);
}

bool SupervisedProcess::send_signal(int signo) {
  if (!running() || !pidfd_) return false;
  return faultline::send_signal(pidfd_, signo) == 0;
}

}  // namespace faultline::supervisor
