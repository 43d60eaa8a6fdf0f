#include "runner/one_shot.h"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <mutex>
#include <optional>

#include "common/error.h"
#include "runner/async_kill.h"
#include "runner/process_text.h"
#include "supervisor/supervised_process.h"

namespace faultline::runner {
namespace {

namespace asio = boost::asio;

std::mutex tally_lock;
OneShotTally tally;

struct Attempt;

// Owns every running command of one io_context. A SupervisedProcess must outlive the handlers it
// queued (its exit wait, its output reads), so an attempt is retired only once it exited, its
// output closed and its cgroup was emptied. Asio shuts services down before it destroys the
// handlers still queued, so whatever is left is released while the loop is intact; handlers
// hold attempts weakly.
class Attempts : public asio::execution_context::service {
 public:
  using key_type = Attempts;
  static inline asio::execution_context::id id;
  explicit Attempts(asio::execution_context& ctx) : asio::execution_context::service(ctx) {}

  void add(std::shared_ptr<Attempt> a) { attempts_.push_back(std::move(a)); }
  void count_unfinished();
  void remove(const Attempt* a) {
    std::erase_if(attempts_, [a](const std::shared_ptr<Attempt>& p) { return p.get() == a; });
  }

 private:
  void shutdown() override { attempts_.clear(); }
  std::vector<std::shared_ptr<Attempt>> attempts_;
};

struct Attempt : std::enable_shared_from_this<Attempt> {
  Attempt(asio::io_context& io, OneShotCommand c, std::function<void(OneShotOutcome)> d)
      : io(io), command(std::move(c)), done(std::move(d)), deadline(io) {}

  asio::io_context& io;
  OneShotCommand command;
  std::function<void(OneShotOutcome)> done;
  std::unique_ptr<cgroup::Cgroup> group;
  std::unique_ptr<supervisor::SupervisedProcess> process;
  asio::steady_timer deadline;
  bool exited = false, output_closed = false, emptied = false;
  bool timed_out = false, kill_started = false, kill_failed = false, counted = false;

  // Kills everything in the cgroup without blocking the loop. After the exit it is the cleanup
  // (the command's leftovers could hold its output open); before, a timeout or a cancel.
  void kill() {
    if (kill_started) return;
    kill_started = true;
    async_kill_all(io, *group, [weak = weak_from_this()](std::optional<std::string> failure) {
      // A kill that failed is left to the parent's teardown, which removes the whole subtree.
      if (auto self = weak.lock()) {
        self->kill_failed = failure.has_value();
        self->step(&Attempt::emptied);
      }
    });
  }

  void step(bool Attempt::*flag) {
    this->*flag = true;
    if (flag == &Attempt::exited) {
      deadline.cancel();
      kill();
    }
    if (exited && output_closed && emptied) finish();
  }

  // Read from the command's own cgroup once nothing is left in it: after the rmdir its parent's
  // count may lack part of it (see OneShotTally). Left uncounted when the read fails, so that a
  // run that started this command is not judged on its CPU.
  void count_cpu() {
    // After a failed kill what is left still runs, and would add to the count after the read.
    if (counted || kill_failed) return;
    std::optional<std::uint64_t> usage;
    try {
      usage = group->stats().cpu_usage_usec;
    } catch (const std::exception&) {
    }
    if (!usage) return;
    counted = true;
    std::lock_guard lock(tally_lock);
    ++tally.counted;
    tally.cpu += std::chrono::microseconds(*usage);
  }

  void finish() {
    OneShotOutcome outcome;
    if (timed_out) {
      outcome.failure = "timed out after " + format_duration(command.timeout);
    } else if (const auto& wait_error = process->wait_error()) {
      outcome.failure = "could not be waited for: " + *wait_error;
    } else if (const auto status = *process->exit_status(); !status.signaled && status.code == 0) {
      outcome.succeeded = true;
      outcome.exit_code = 0;
    } else {
      if (!status.signaled) outcome.exit_code = status.code;
      outcome.failure = describe_exit(status);
    }
    if (!outcome.succeeded)
      if (const auto line = last_output_line(*process); !line.empty()) outcome.failure += ": " + line;
    count_cpu();
    try {
      group->destroy();  // empty by now: only the rmdir is left
    } catch (const std::exception&) {
      // Left to the parent's teardown, which removes its whole subtree.
    }
    auto report = std::move(done);
    auto keep_alive = shared_from_this();
    asio::use_service<Attempts>(io).remove(this);
    report(std::move(outcome));
  }
};

// The loop has stopped (the run ended) with these still going, cut off: each is killed now, with
// a wait, so that its count is complete when it is read, and its command is reaped, so that the
// waits hold the same CPU time as the count.
void Attempts::count_unfinished() {
  for (const auto& a : attempts_) {
    try {
      a->group->kill_all();
    } catch (const std::exception&) {
      continue;  // left uncounted, and the run is not judged on its CPU
    }
    if (a->process->reap_now()) a->count_cpu();
  }
}

void report_later(asio::io_context& io, std::function<void(OneShotOutcome)> done, std::string why) {
  asio::post(io, [done = std::move(done), why = std::move(why)] {
    done({.succeeded = false,
          .could_not_start = true,
          .exit_code = std::nullopt,
          .failure = "could not start: " + why});
  });
}

}  // namespace

std::string join_argv(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& a : argv) out += (out.empty() ? "" : " ") + a;
  return out;
}

void count_unfinished_one_shots(asio::io_context& io) {
  if (asio::has_service<Attempts>(io)) asio::use_service<Attempts>(io).count_unfinished();
}

OneShotTally one_shot_tally() {
  std::lock_guard lock(tally_lock);
  return tally;
}

OneShotTally operator-(const OneShotTally& later, const OneShotTally& earlier) {
  return {later.started - earlier.started, later.counted - earlier.counted, later.cpu - earlier.cpu};
}

std::function<void()> run_one_shot(asio::io_context& io, cgroup::Cgroup& parent,
                                   const std::string& child_name, OneShotCommand command,
                                   std::function<void(OneShotOutcome)> done) {
  {
    std::lock_guard lock(tally_lock);
    ++tally.started;
  }
  auto a = std::make_shared<Attempt>(io, std::move(command), std::move(done));
  try {
    a->group = parent.create_child(child_name);
  } catch (const Error& e) {
    report_later(io, std::move(a->done), std::string("cannot create its cgroup: ") + e.what());
    return {};
  }
  supervisor::SpawnRequest request;
  request.argv = a->command.argv;
  request.cwd = a->command.cwd;
  request.env = supervisor::current_environment();
  const auto attach = a->group->open_attach_fds();
  request.attach_fds = &attach;
  a->process = std::make_unique<supervisor::SupervisedProcess>(io, a->command.label, 4096);
  // Both callbacks run inside the SupervisedProcess: the rest is posted, out of its frames.
  auto on_step = [&io, weak = std::weak_ptr<Attempt>(a)](bool Attempt::*flag) {
    asio::post(io, [weak, flag] {
      if (auto self = weak.lock()) self->step(flag);
    });
  };
  if (!a->process->start(
          request, [on_step](supervisor::SupervisedProcess&) { on_step(&Attempt::exited); }, {},
          [on_step] { on_step(&Attempt::output_closed); })) {
    const std::string why = a->process->start_failure()->message;
    try {
      a->group->destroy();
    } catch (const std::exception&) {
    }
    report_later(io, std::move(a->done), why);
    return {};
  }
  asio::use_service<Attempts>(io).add(a);
  a->deadline.expires_after(a->command.timeout);
  a->deadline.async_wait([weak = std::weak_ptr<Attempt>(a)](boost::system::error_code ec) {
    auto self = weak.lock();
    if (ec || !self || self->exited) return;
    self->timed_out = true;
    self->kill();
  });
  return [weak = std::weak_ptr<Attempt>(a)] {
    if (auto self = weak.lock(); self && !self->exited) self->kill();
  };
}

}  // namespace faultline::runner
