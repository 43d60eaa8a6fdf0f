#include "runner/readiness.h"

#include <re2/re2.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <utility>
#include <vector>

#include "common/address.h"
#include "common/error.h"
#include "common/line_regex.h"
#include "common/listeners.h"
#include "net/checks.h"
#include "runner/one_shot.h"

namespace faultline::runner {

namespace asio = boost::asio;
using scenario::Readiness;

namespace {

constexpr auto kRetryDelay = std::chrono::milliseconds(100);
// Nothing listening yet answers at once; connection attempts are the only way to learn when it does.
constexpr auto kTcpRetryDelay = std::chrono::milliseconds(50);
constexpr Duration kMaxNetworkAttempt = std::chrono::seconds(2);
constexpr Duration kMaxExecAttempt = std::chrono::seconds(10);

// Owns every running check of one io_context. Asio shuts services down before it destroys the
// handlers still queued (never running them again), so whatever is left is released while the
// rest of the event loop is intact; handlers hold only weak references to checks.
class CheckRegistry : public asio::execution_context::service {
 public:
  using key_type = CheckRegistry;
  static inline asio::execution_context::id id;
  explicit CheckRegistry(asio::execution_context& ctx) : asio::execution_context::service(ctx) {}

  void add(std::shared_ptr<ReadinessCheck> check) { checks_.push_back(std::move(check)); }
  void remove(const ReadinessCheck* check) {
    std::erase_if(checks_, [check](const std::shared_ptr<ReadinessCheck>& c) { return c.get() == check; });
  }

 private:
  void shutdown() override { checks_.clear(); }
  std::vector<std::shared_ptr<ReadinessCheck>> checks_;
};

}  // namespace

class ReadinessCheck : public std::enable_shared_from_this<ReadinessCheck> {
 public:
  ReadinessCheck(asio::io_context& io, const scenario::ProcessSpec& process, cgroup::Cgroup& command_parent,
                 ReadinessHooks hooks)
      : io_(io),
        process_(process),
        command_parent_(command_parent),
        hooks_(std::move(hooks)),
        deadline_(io),
        retry_(io) {}

  void start() {
    // An address that cannot even be tried fails now, not after the whole timeout of failed attempts.
    if (const auto why = untriable_address())
      return fail_later("process `" + process_.name + "`: ready." + kind_name() + " `" + gate().address +
                        "` cannot be tried: " + *why);
    if (gate().kind == Readiness::Kind::log) log_regex_ = compile_line_regex(gate().log_regex);
    deadline_.expires_after(gate().timeout);
    deadline_.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
      if (auto self = weak.lock(); self && !ec) self->on_deadline();
    });
    attempt();
  }

  void on_output_line(std::string_view line) {
    if (done_ || !log_regex_) return;
    if (RE2::PartialMatch(re2::StringPiece(line.data(), line.size()), *log_regex_)) succeed();
  }

 private:
  const Readiness& gate() const { return process_.ready; }
  CheckRegistry& registry() { return asio::use_service<CheckRegistry>(io_); }

  std::string kind_name() const { return scenario::to_string(gate().kind); }

  // Why the gate's address can never be reached; the loader refuses these first, but a
  // scenario built in code can still hold one.
  std::optional<std::string> untriable_address() const {
    std::string why;
    if (gate().kind == Readiness::Kind::http && !parse_http_url(gate().address, &why)) return why;
    if (gate().kind == Readiness::Kind::tcp) {
      const auto target = parse_host_port(gate().address, &why);
      if (!target) return why;
      // The gate does not resolve names: a name that resolves late would read as "not ready".
      if (!is_ip_literal(target->host)) return "`" + target->host + "` is not an IP address";
    }
    return std::nullopt;
  }

  std::string describe_gate() const {
    switch (gate().kind) {
      case Readiness::Kind::log:
        return "no output line matched ready.log /" + gate().log_regex + "/";
      case Readiness::Kind::tcp:
        return "nothing accepted connections on " + gate().address;
      case Readiness::Kind::http:
        return "ready.http " + gate().address + " never answered with a 2xx status";
      case Readiness::Kind::exec:
        return "ready.exec `" + join_argv(gate().exec) + "` never exited with code 0";
      case Readiness::Kind::none:
        break;
    }
    return "no gate";
  }

  void attempt() {
    if (done_) return;
    if (!hooks_.still_wanted()) return end();
    switch (gate().kind) {
      case Readiness::Kind::tcp:
        return attempt_tcp();
      case Readiness::Kind::http:
        return attempt_http();
      case Readiness::Kind::exec:
        return attempt_exec();
      case Readiness::Kind::log:  // waits for output lines
      case Readiness::Kind::none:
        return;
    }
  }

  void attempt_tcp() {
    net::async_tcp_connect(io_, gate().address, attempt_timeout(kMaxNetworkAttempt),
                           [weak = weak_from_this()](net::TcpResult r) {
                             auto self = weak.lock();
                             if (!self || self->done_) return;
                             if (r.connected) return self->succeed();
                             self->last_attempt_ = r.error.value_or("no connection");
                             self->retry_after(kTcpRetryDelay);
                           });
  }

  void attempt_http() {
    net::async_http_get(io_, gate().address, attempt_timeout(kMaxNetworkAttempt),
                        [weak = weak_from_this()](net::HttpResult r) {
                          auto self = weak.lock();
                          if (!self || self->done_) return;
                          if (r.status && *r.status >= 200 && *r.status < 300) return self->succeed();
                          self->last_attempt_ =
                              r.error ? *r.error : "status " + std::to_string(r.status.value_or(0));
                          self->retry_after(kRetryDelay);
                        });
  }

  void attempt_exec() {
    OneShotCommand command{.argv = gate().exec,
                           .cwd = process_.cwd,
                           .label = process_.name + " ready.exec",
                           .timeout = attempt_timeout(kMaxExecAttempt)};
    exec_running_ = true;
    cancel_exec_ =
        run_one_shot(io_, command_parent_, process_.name + ".ready-exec-" + std::to_string(++exec_count_),
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
    retry_after(kRetryDelay);
  }

  // An attempt ends with the gate at the latest, and after `cap` even when the gate has longer.
  Duration attempt_timeout(Duration cap) const {
    const auto remaining = deadline_.expiry() - asio::steady_timer::clock_type::now();
    return std::clamp<Duration>(std::chrono::duration_cast<Duration>(remaining), std::chrono::milliseconds(1),
                                cap);
  }

  void retry_after(Duration delay) {
    retry_.expires_after(delay);
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

  // From the loop: the runner is still inside its start path when the gate is set up.
  void fail_later(std::string message) {
    asio::post(io_, [weak = weak_from_this(), message = std::move(message)] {
      if (auto self = weak.lock()) self->fail(message);
    });
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
  cgroup::Cgroup& command_parent_;
  ReadinessHooks hooks_;
  asio::steady_timer deadline_;
  asio::steady_timer retry_;
  std::unique_ptr<RE2> log_regex_;
  std::function<void()> cancel_exec_;  // kills the running exec attempt
  bool exec_running_ = false;
  std::uint64_t exec_count_ = 0;
  std::string last_attempt_;
  bool done_ = false;
};

void ReadinessWatch::on_output_line(std::string_view line) const {
  if (auto check = check_.lock()) check->on_output_line(line);
}

std::optional<std::string> gate_port_taken(const scenario::ProcessSpec& process,
                                           const std::function<std::vector<pid_t>()>& run_pids,
                                           GateMoment when) {
  const auto& gate = process.ready;
  std::optional<HostPort> target;
  if (gate.kind == Readiness::Kind::tcp) target = parse_host_port(gate.address);
  if (gate.kind == Readiness::Kind::http) target = parse_http_url(gate.address);
  if (!target) return std::nullopt;
  // A connect to any address of this host stays on it, where any program may answer.
  if (!is_loopback_destination(target->host) && !is_this_hosts_address(target->host)) return std::nullopt;
  const auto dialled = loopback_literals(target->host);
  std::optional<std::vector<pid_t>> pids;  // listed at the first listener that needs them
  for (const auto& listener : tcp_listeners(target->port)) {
    // Compared as addresses, not as text: `[::ffff:127.0.0.1]` reaches a listener on `::`, and
    // `[::1]` never one on 0.0.0.0.
    const bool reachable = std::any_of(dialled.begin(), dialled.end(), [&](const std::string& address) {
      return may_reach(HostPort{address, target->port}, HostPort{listener.ip, target->port});
    });
    if (!reachable || socket_is_ours(listener.inode)) continue;
    // Any holder of the run's makes it the run's (a listener handed to a worker that left is
    // still the process's own), and the run's few processes are looked at before all of /proc.
    if (!pids) pids = run_pids();
    if (socket_held_by_any(listener.inode, *pids)) continue;
    const auto holder = socket_holder(listener.inode);
    if (!holder && when == GateMoment::at_pass) continue;
    const std::string listened =
        listener.address +
        (holder ? " by pid " + std::to_string(holder->pid) + " (" + holder->comm + ")" : "");
    const std::string gate_text = "process `" + process.name + "`: ready." +
                                  (gate.kind == Readiness::Kind::tcp ? "tcp " : "http ") + gate.address +
                                  ": port " + std::to_string(target->port);
    const std::string fix = "; free the port, or give the process a port of its own (`auto-port` in [vars])";
    if (when == GateMoment::before_start)
      return gate_text + " was already listened on (" + listened + ") before `" + process.name +
             "` started, so the gate would pass on another program's answer" + fix;
    return gate_text + " was listened on by another program (" + listened + ") when the gate passed, so it " +
           "may have passed on that program's answer, not `" + process.name + "`'s" + fix;
  }
  return std::nullopt;
}

ReadinessWatch watch_readiness(asio::io_context& io, const scenario::ProcessSpec& process,
                               cgroup::Cgroup& command_parent, ReadinessHooks hooks) {
  ReadinessWatch watch;
  if (process.ready.kind == Readiness::Kind::none) {
    hooks.on_ready();
    return watch;
  }
  auto check = std::make_shared<ReadinessCheck>(io, process, command_parent, std::move(hooks));
  asio::use_service<CheckRegistry>(io).add(check);
  watch.check_ = check;
  check->start();
  return watch;
}

}  // namespace faultline::runner
