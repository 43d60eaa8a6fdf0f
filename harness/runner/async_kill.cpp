#include "runner/async_kill.h"

#include <sys/inotify.h>

#include <array>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>

#include "common/error.h"

namespace faultline::runner {
namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

// Between kill rounds: a fork that raced the kill, or a process still entering the v1
// hierarchies, is caught by the next round.
constexpr auto kRoundInterval = std::chrono::milliseconds(50);

class KillOperation : public std::enable_shared_from_this<KillOperation> {
 public:
  KillOperation(asio::io_context& io, cgroup::Cgroup& group,
                std::function<void(std::optional<std::string>)> done, Duration timeout)
      : group_(group),
        done_(std::move(done)),
        deadline_(Clock::now() + timeout),
        timeout_(timeout),
        round_(io),
        events_(io) {}

  void start() {
    try {
      group_.start_kill();
      if (group_.empty()) return finish(std::nullopt);
      watch_events();
    } catch (const std::exception& e) {
      return finish("killing " + group_.describe() + ": " + e.what());
    }
    next_round();
  }

 private:
  // Wakes up as soon as cgroup.events changes, instead of at the next round only.
  void watch_events() {
    const auto file = group_.populated_events_file();
    if (!file) return;
    UniqueFd notify(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
    if (!notify) return;  // the rounds still notice, only later
    if (::inotify_add_watch(notify.get(), file->c_str(), IN_MODIFY | IN_DELETE_SELF) < 0) return;
    events_.assign(notify.release());
    wait_event();
  }

  void wait_event() {
    events_.async_wait(asio::posix::stream_descriptor::wait_read,
                       [self = shared_from_this()](boost::system::error_code ec) {
                         if (ec || self->finished_) return;
                         std::array<char, 4096> drain;
                         while (::read(self->events_.native_handle(), drain.data(), drain.size()) > 0) {
                         }
                         if (self->check()) return;
                         self->wait_event();
                       });
  }

  void next_round() {
    round_.expires_after(kRoundInterval);
    round_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (ec || self->finished_) return;
      if (self->check()) return;
      try {
        self->group_.start_kill();
      } catch (const std::exception& e) {
        return self->finish("killing " + self->group_.describe() + ": " + e.what());
      }
      self->next_round();
    });
  }

  // True once the operation is over (empty, or out of time).
  bool check() {
    try {
      if (group_.empty()) {
        finish(std::nullopt);
        return true;
      }
    } catch (const std::exception& e) {
      finish("killing " + group_.describe() + ": " + e.what());
      return true;
    }
    if (Clock::now() < deadline_) return false;
    std::string pids;
    for (pid_t pid : group_.pids()) pids += (pids.empty() ? "" : ", ") + std::to_string(pid);
    finish("cgroup " + group_.describe() + " still has processes " + format_duration(timeout_) +
           " after SIGKILL: pids " + pids);
    return true;
  }

  void finish(std::optional<std::string> error) {
    if (finished_) return;
    finished_ = true;
    round_.cancel();
    boost::system::error_code ignored;
    events_.close(ignored);
    // Always from the loop, never from inside the caller's frame.
    asio::post(round_.get_executor(), [done = std::move(done_), error = std::move(error)] { done(error); });
  }

  cgroup::Cgroup& group_;
  std::function<void(std::optional<std::string>)> done_;
  Clock::time_point deadline_;
  Duration timeout_;
  asio::steady_timer round_;
  asio::posix::stream_descriptor events_;
  bool finished_ = false;
};

}  // namespace

void async_kill_all(asio::io_context& io, cgroup::Cgroup& group,
                    std::function<void(std::optional<std::string> error)> done, Duration timeout) {
  std::make_shared<KillOperation>(io, group, std::move(done), timeout)->start();
}

}  // namespace faultline::runner
