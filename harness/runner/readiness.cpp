#include "runner/readiness.h"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <vector>

#include "common/address.h"
#include "common/error.h"
#include "net/checks.h"
#include "supervisor/supervised_process.h"

namespace faultline::runner {
namespace {

namespace asio = boost::asio;
using scenario::Readiness;

constexpr auto kRetryDelay = std::chrono::milliseconds(100);
constexpr Duration kMaxHttpAttempt = std::chrono::seconds(2);

std::string join_argv(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& a : argv) out += (out.empty() ? "" : " ") + a;
  return out;
}

std::string last_line(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  const auto nl = text.rfind('\n');
  if (nl != std::string::npos) text.erase(0, nl + 1);
  constexpr std::size_t kMax = 200;
  if (text.size() > kMax) text = text.substr(0, kMax) + "...";
  return text;
}

class Check;

// One run of a ready.exec command. A SupervisedProcess must outlive the handlers it has
// queued (its exit wait and its output reads), so an attempt is destroyed only once it has
// both exited and closed its output, whatever became of the check that started it.
struct ExecAttempt {
  std::unique_ptr<supervisor::SupervisedProcess> process;
  bool exited = false;
  bool output_closed = false;
};

// Owns every running check and exec attempt of one io_context. Asio shuts services down
// before it destroys the handlers still queued (never running them again), so whatever is
// left is released while the rest of the event loop is intact; handlers hold only weak
// references to checks.
class CheckRegistry : public asio::execution_context::service {
 public:
  using key_type = CheckRegistry;
  static inline asio::execution_context::id id;
  explicit CheckRegistry(asio::execution_context& ctx) : asio::execution_context::service(ctx) {}

  void add(std::shared_ptr<Check> check) { checks_.push_back(std::move(check)); }
  void remove(const Check* check) {
    std::erase_if(checks_, [check](const std::shared_ptr<Check>& c) { return c.get() == check; });
  }
  ExecAttempt* add_attempt() { return attempts_.emplace_back(std::make_unique<ExecAttempt>()).get(); }
  void remove_attempt(const ExecAttempt* attempt) {
    std::erase_if(attempts_, [attempt](const std::unique_ptr<ExecAttempt>& a) { return a.get() == attempt; });
  }

 private:
  void shutdown() override {
    checks_.clear();
    attempts_.clear();
  }
  std::vector<std::shared_ptr<Check>> checks_;
  std::vector<std::unique_ptr<ExecAttempt>> attempts_;
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

  ~Check() { release_exec_group(); }

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
    const auto remaining = deadline_.expiry() - asio::steady_timer::clock_type::now();
    const Duration per_attempt =
        std::clamp<Duration>(remaining, std::chrono::milliseconds(1), kMaxHttpAttempt);
    net::async_http_get(io_, gate().address, per_attempt, [weak = weak_from_this()](net::HttpResult r) {
      auto self = weak.lock();
      if (!self || self->done_) return;
      if (r.status && *r.status >= 200 && *r.status < 300) return self->succeed();
      self->last_attempt_ = r.error ? *r.error : "status " + std::to_string(r.status.value_or(0));
      self->retry_later();
    });
  }

  void attempt_exec() {
    try {
      if (!exec_group_) exec_group_ = run_group_.create_child(process_.name + ".ready-exec");
    } catch (const Error& e) {
      return fail("process `" + process_.name + "`: cannot create the cgroup for ready.exec: " + e.what());
    }
    supervisor::SpawnRequest request;
    request.argv = gate().exec;
    request.cwd = process_.cwd;
    request.env = supervisor::current_environment();
    const auto attach = exec_group_->open_attach_fds();
    request.attach_fds = &attach;
    ExecAttempt* a = registry().add_attempt();
    a->process = std::make_unique<supervisor::SupervisedProcess>(io_, process_.name + " ready.exec", 4096);
    // Both callbacks run inside the SupervisedProcess: the rest is posted, out of its frames.
    // Flags are set in the posted handlers, so only the second one sees both and retires `a`.
    auto on_step = [this_io = &io_, a, weak = weak_from_this()](bool ExecAttempt::*flag) {
      asio::post(*this_io, [this_io, a, weak, flag] {
        a->*flag = true;
        if (auto self = weak.lock()) self->on_exec_step(a);
        if (a->exited && a->output_closed) asio::use_service<CheckRegistry>(*this_io).remove_attempt(a);
      });
    };
    const bool started = a->process->start(
        request, [on_step](supervisor::SupervisedProcess&) { on_step(&ExecAttempt::exited); }, {},
        [on_step] { on_step(&ExecAttempt::output_closed); });
    if (!started) {
      // A command that cannot start never will: no point in retrying until the timeout.
      const std::string why = a->process->start_failure()->message;
      registry().remove_attempt(a);
      return fail("process `" + process_.name + "`: ready.exec could not start: " + why);
    }
    attempt_ = a;
  }

  void on_exec_step(ExecAttempt* a) {
    if (a != attempt_) return;  // an attempt the check already gave up on
    // Whatever the command left behind could hold its output open (and must not outlive it).
    if (a->exited) kill_exec_group();
    if (!a->exited || !a->output_closed || done_) return;
    attempt_ = nullptr;
    if (const auto& wait_error = a->process->wait_error())
      return fail("process `" + process_.name + "`: ready.exec: " + *wait_error);
    const auto status = *a->process->exit_status();
    if (!status.signaled && status.code == 0) return succeed();
    std::string output = last_line(a->process->output(supervisor::Stream::stderr_stream).tail());
    if (output.empty()) output = last_line(a->process->output(supervisor::Stream::stdout_stream).tail());
    last_attempt_ = status.signaled ? "killed by " + signal_name(status.signal)
                                    : "exited with code " + std::to_string(status.code);
    if (!output.empty()) last_attempt_ += ": " + output;
    retry_later();
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
    else if (attempt_)
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
  // exec attempt dies with the cgroup and is retired by the registry once its handlers ran.
  void end() {
    done_ = true;
    attempt_ = nullptr;
    deadline_.cancel();
    retry_.cancel();
    release_exec_group();
    registry().remove(this);
  }

  void kill_exec_group() {
    if (!exec_group_) return;
    try {
      exec_group_->kill_all();
    } catch (const Error&) {
      // destroy() tries again when the check ends; the run's teardown kills its whole subtree.
    }
  }

  void release_exec_group() {
    if (!exec_group_) return;
    try {
      exec_group_->destroy();
    } catch (const Error&) {
      // Left to the run's teardown, which removes its whole subtree.
    }
    exec_group_.reset();
  }

  asio::io_context& io_;
  const scenario::ProcessSpec& process_;
  cgroup::Cgroup& run_group_;
  ReadinessHooks hooks_;
  asio::steady_timer deadline_;
  asio::steady_timer retry_;
  std::unique_ptr<cgroup::Cgroup> exec_group_;
  ExecAttempt* attempt_ = nullptr;  // owned by the registry
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
