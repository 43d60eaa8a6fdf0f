#include "runner/readiness.h"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <utility>
#include <vector>

#include "common/address.h"
#include "common/error.h"
#include "net/checks.h"
#include "runner/one_shot.h"

namespace faultline::runner {
namespace {

namespace asio = boost::asio;
using scenario::Readiness;

constexpr auto kRetryDelay = std::chrono::milliseconds(100);
constexpr Duration kMaxHttpAttempt = std::chrono::seconds(2);
constexpr Duration kMaxExecAttempt = std::chrono::seconds(10);

class Check;

// Owns every running check of one io_context. Asio shuts services down before it destroys the
// handlers still queued (never running them again), so whatever is left is released while the
// rest of the event loop is intact; handlers hold only weak references to checks.
class CheckRegistry : public asio::execution_context::service {
 public:
  using key_type = CheckRegistry;
  static inline asio::execution_context::id id;
  explicit CheckRegistry(asio::execution_context& ctx) : asio::execution_context::service(ctx) {}

  void add(std::shared_ptr<Check> check) { checks_.push_back(std::move(check)); }
  void remove(const Check* check) {
    std::erase_if(checks_, [check](const std::shared_ptr<Check>& c) { return c.get() == check; });
  }

 private:
  void shutdown() override { checks_.clear(); }
  std::vector<std::shared_ptr<Check>> checks_;
};

class Check : public std::enable_shared_from_this<Check> {
 public:
  Check(asio::io_context& io, const scenario::ProcessSpec& process, cgroup::Cgroup& run_group,
        ReadinessHooks hooks)
      : io_(io),
        process_(process),
        run_group_(run_group),
        hooks_(std::move(hooks)),
        deadline_(io),
        retry_(io) {}

  void start() {
    // A URL that cannot even be tried fails now, not after the whole timeout of failed attempts.
    if (std::string why; http() && !parse_http_url(gate().address, &why))
      return fail("process `" + process_.name + "`: ready.http `" + gate().address +
                  "` cannot be tried: " + why);
    deadline_.expires_after(gate().timeout);
    deadline_.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
      if (auto self = weak.lock(); self && !ec) self->on_deadline();
    });
    attempt();
  }

 private:
  const Readiness& gate() const { return process_.ready; }
  bool http() const { return gate().kind == Readiness::Kind::http; }
  CheckRegistry& registry() { return asio::use_service<CheckRegistry>(io_); }

  std::string describe_gate() const {
    return http() ? "ready.http " + gate().address + " never answered with a 2xx status"
                  : "ready.exec `" + join_argv(gate().exec) + "` never exited with code 0";
  }

  void attempt() {
    if (done_) return;
    if (!hooks_.still_wanted()) return end();
    if (http()) return attempt_http();
    attempt_exec();
  }

  void attempt_http() {
    net::async_http_get(
        io_, gate().address, attempt_timeout(kMaxHttpAttempt), [weak = weak_from_this()](net::HttpResult r) {
          auto self = weak.lock();
          if (!self || self->done_) return;
          if (r.status && *r.status >= 200 && *r.status < 300) return self->succeed();
          self->last_attempt_ = r.error ? *r.error : "status " + std::to_string(r.status.value_or(0));
          self->retry_later();
        });
  }

  void attempt_exec() {
    OneShotCommand command{.argv = gate().exec,
                           .cwd = process_.cwd,
                           .label = process_.name + " ready.exec",
                           .timeout = attempt_timeout(kMaxExecAttempt)};
    exec_running_ = true;
    cancel_exec_ =
        run_one_shot(io_, run_group_, process_.name + ".ready-exec-" + std::to_string(++exec_count_),
                     std::move(command), [weak = weak_from_this()](OneShotOutcome outcome) {
                       auto self = weak.lock();
                       if (!self || self->done_) return;
                       self->exec_running_ = false;
                       self->cancel_exec_ = {};
                       self->on_exec_outcome(outcome);
                     });
  }

  void on_exec_outcome(const OneShotOutcome& outcome) {
    if (outcome.succeeded) return succeed();
    // A command that cannot start never will: no point in retrying until the timeout.
    if (outcome.could_not_start)
      return fail("process `" + process_.name + "`: ready.exec " + outcome.failure);
    last_attempt_ = outcome.failure;
    retry_later();
  }

  // An attempt ends with the gate at the latest, and after `cap` even when the gate has longer.
  Duration attempt_timeout(Duration cap) const {
    const auto remaining = deadline_.expiry() - asio::steady_timer::clock_type::now();
    return std::clamp<Duration>(std::chrono::duration_cast<Duration>(remaining), std::chrono::milliseconds(1),
                                cap);
  }

  void retry_later() {
    retry_.expires_after(kRetryDelay);
    retry_.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
      if (auto self = weak.lock(); self && !ec) self->attempt();
    });
  }

  void on_deadline() {
    if (done_) return;
    if (!hooks_.still_wanted()) return end();
    std::string message = "process `" + process_.name + "` was not ready within " +
                          format_duration(gate().timeout) + ": " + describe_gate();
    if (!last_attempt_.empty())
      message += " (last attempt: " + last_attempt_ + ")";
    else if (exec_running_)
      message += " (the first attempt was still running)";
    fail(message);
  }

  void succeed() {
    if (done_) return;
    const bool wanted = hooks_.still_wanted();
    auto hook = hooks_.on_ready;
    end();
    if (wanted) hook();
  }

  void fail(const std::string& message) {
    if (done_) return;
    const bool wanted = hooks_.still_wanted();
    auto hook = hooks_.on_failed;
    end();
    if (wanted) hook(message);
  }

  // Stops polling and lets go of everything. The registry held the last strong reference,
  // but the caller's weak.lock() keeps this object alive until its handler returns. A running
  // exec attempt is killed; its outcome, when it arrives, finds the check gone.
  void end() {
    done_ = true;
    deadline_.cancel();
    retry_.cancel();
    if (auto cancel = std::exchange(cancel_exec_, {})) cancel();
    registry().remove(this);
  }

  asio::io_context& io_;
  const scenario::ProcessSpec& process_;
  cgroup::Cgroup& run_group_;
  ReadinessHooks hooks_;
  asio::steady_timer deadline_;
  asio::steady_timer retry_;
  std::function<void()> cancel_exec_;  // kills the running exec attempt
  bool exec_running_ = false;
  std::uint64_t exec_count_ = 0;
  std::string last_attempt_;
  bool done_ = false;
};

}  // namespace

void start_polling_readiness(asio::io_context& io, const scenario::ProcessSpec& process,
                             cgroup::Cgroup& run_group, ReadinessHooks hooks) {
  if (process.ready.kind != Readiness::Kind::http && process.ready.kind != Readiness::Kind::exec)
    throw Error("process `" + process.name + "`: only ready.http and ready.exec are polled here");
  auto check = std::make_shared<Check>(io, process, run_group, std::move(hooks));
  asio::use_service<CheckRegistry>(io).add(check);
  check->start();
}

}  // namespace faultline::runner
