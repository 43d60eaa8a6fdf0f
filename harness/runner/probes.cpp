#include "runner/probes.h"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <charconv>
#include <cstdio>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "cgroup/layout.h"
#include "common/address.h"
#include "common/error.h"
#include "net/checks.h"
#include "runner/one_shot.h"
#include "scenario/time_point.h"
#include "timeline/schedule.h"

namespace faultline::runner {
namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using scenario::Probe;

std::string format_ratio(double r) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%.2f", r);
  return buf;
}

// A bound as written, in at least two decimals: ">=0.7" is "0.70", ">=0.000001" is "0.000001",
// not the "0.00" no share could fail.
std::string format_bound(double r) {
  char buf[64];
  const auto [end, error] = std::to_chars(buf, buf + sizeof buf, r, std::chars_format::fixed);
  if (error != std::errc()) return format_ratio(r);
  std::string text(buf, end);  // the shortest that reads back as the same double
  const auto point = text.find('.');
  if (point == std::string::npos) text += ".";
  while (text.size() - text.find('.') < 3) text += '0';
  return text;
}

// ">=0.7" -> "at least 0.70", as the failure's `expected` reads.
std::string ratio_bound_text(const scenario::Comparison& c) {
  using Op = scenario::Comparison::Op;
  switch (c.op) {
    case Op::eq:
      return "exactly " + format_bound(c.value);
    case Op::ge:
      return "at least " + format_bound(c.value);
    case Op::le:
      return "at most " + format_bound(c.value);
    case Op::gt:
      return "more than " + format_bound(c.value);
    case Op::lt:
      return "less than " + format_bound(c.value);
  }
  return format_bound(c.value);
}

std::string format_ms(double ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, ms < 10 ? "%.1fms" : "%.0fms", ms);
  return buf;
}

std::string join_statuses(const std::vector<int>& statuses) {
  std::string out;
  for (int s : statuses) out += (out.empty() ? "" : " or ") + std::to_string(s);
  return out;
}

// What one attempt must show, in words: "status 503, latency below 50ms, body containing ...".
std::string describe_expectation(const Probe& p) {
  std::vector<std::string> parts;
  const bool want_success = p.expect_success.value_or(true);
  switch (p.kind) {
    case Probe::Kind::http:
      parts.push_back(p.expect_status ? "status " + join_statuses(*p.expect_status) : "a 2xx status");
      if (p.expect_body_contains) parts.push_back("body containing \"" + *p.expect_body_contains + "\"");
      break;
    case Probe::Kind::tcp:
      parts.push_back(want_success ? "a connection" : "a refused or timed-out connection");
      break;
    case Probe::Kind::exec:
      parts.push_back(want_success ? "exit code 0" : "a failing exit");
      break;
  }
  if (p.expect_latency_below) parts.push_back("latency below " + format_duration(*p.expect_latency_below));
  std::string out;
  for (const auto& s : parts) out += (out.empty() ? "" : ", ") + s;
  return out;
}

// One probe: its window, its attempts, its timers.
class ProbeRun {
 public:
  ProbeRun(const scenario::Scenario& s, const Probe& probe) : probe_(probe) {
    // A target that cannot even be tried makes the scenario an error: with `expect.success =
    // false` its failed attempts would otherwise read as a pass.
    std::string why;
    if ((probe.kind == Probe::Kind::http && !parse_http_url(probe.target, &why)) ||
        (probe.kind == Probe::Kind::tcp && !parse_host_port(probe.target, &why)))
      throw Error("probe `" + probe.name + "`: target `" + probe.target + "` cannot be tried: " + why);
    if (probe.during.inject) {
      const auto* inj = find_injection(s, *probe.during.inject);
      if (!inj) throw Error("probe `" + probe.name + "`: unknown injection `" + *probe.during.inject + "`");
      // Not the planned window: the one the fault really acted in (see injection_changed).
      injection_ = inj->name;
      refers_to_.insert(inj->name);
      window_text_ = "`" + inj->name + "`";
    } else {
      start_ = anchored(s, probe.during.from, false);
      if (probe.during.to) end_ = anchored(s, *probe.during.to, true);  // else: closes at the stop phase
      window_text_ = (probe.during.from.text.empty() ? "start" : probe.during.from.text) + " .. " +
                     (probe.during.to ? probe.during.to->text : "stop");
    }
  }

  void anchor_reached(RunContext& ctx, const std::string& anchor) {
    if (injection_) return;
    if (state_ == State::waiting && anchor == start_.anchor) {
      open_timer_ = std::make_unique<asio::steady_timer>(ctx.io(), Clock::now() + start_.offset);
      open_timer_->async_wait([this, &ctx](boost::system::error_code ec) {
        if (!ec) open(ctx);
      });
      state_ = State::scheduled;
    }
    if (end_ && anchor == end_->anchor && !close_timer_) {
      close_timer_ = std::make_unique<asio::steady_timer>(ctx.io(), Clock::now() + end_->offset);
      close_timer_->async_wait([this, &ctx](boost::system::error_code ec) {
        if (!ec) close(ctx, "window end");
      });
    }
  }

  // A `during = "<inject>"` window is open while the fault acts: from when it was applied to when
  // it was reverted or ended early (its process exited, a hog was killed). A fault skipped or
  // ended before the window could open leaves it unopened, and the probe fails: nothing was
  // measured under the fault.
  void injection_changed(RunContext& ctx, const std::string& name, bool acting) {
    if (!refers_to_.contains(name)) return;
    if (acting) began_.insert(name);
    // A window timed from a fault that never acted measures nothing about it, however many of
    // its attempts passed.
    if (!acting && !began_.contains(name) && !unmeasured_) unmeasured_ = "`" + name + "` never took effect";
    // `to = "X.end-300ms"` counts back from the plan; a fault that ends early ends the window too.
    if (!acting && closes_with_.contains(name)) return close(ctx, "`" + name + "` ended");
    if (!injection_ || name != *injection_) return;
    if (!acting) return close(ctx, "`" + name + "` " + (was_opened_ ? "ended" : "never took effect"));
    if (state_ != State::waiting) return;
    state_ = State::scheduled;
    open(ctx);
  }

  // The window ends (or the processes are being stopped: whatever they answer now says nothing
  // about the fault). An attempt belongs to the window it started in and is judged only if it
  // also ended inside it: one still running now is cut off, neither a pass nor a failure.
  void close(RunContext& ctx, const std::string& why) {
    if (open_timer_) open_timer_->cancel();
    if (close_timer_) close_timer_->cancel();
    if (next_timer_) next_timer_->cancel();
    if (in_flight_ != 0) {
      in_flight_ = 0;  // its result, should it still arrive, is ignored
      ++cut_off_;
      if (cancel_in_flight_) std::exchange(cancel_in_flight_, {})();
    }
    if (state_ == State::open)
      ctx.record("probe.window.close", {}, {},
                 probe_.name + " (" + why + ", " + std::to_string(attempts_.size()) + " attempt(s)" +
                     (cut_off_ ? ", " + std::to_string(cut_off_) + " cut off at the window end, not counted"
                               : std::string()) +
                     ")");
    if (state_ != State::closed) {
      closed_reason_ = why;
      // A window that closes before a fault it is timed from began saw nothing of it.
      for (const auto& name : refers_to_)
        if (!began_.contains(name) && !unmeasured_)
          unmeasured_ = "`" + name + "` had not begun when the window closed";
    }
    state_ = State::closed;
  }

  void finish(RunContext& ctx) {
    close(ctx, "run end");
    // A fault that acted but never held (a hog killed before it held its memory, a ramp that
    // never reached its limit) is known once it was reverted, before the probes finish: a window
    // timed from it measured nothing under the fault asked for either.
    for (const auto& e : ctx.result().timeline)
      if (e.event == "inject.unheld" && refers_to_.contains(e.inject) && !unmeasured_)
        unmeasured_ = "`" + e.inject + "` never held (" + e.detail + ")";
    report::ProbeResult r;
    r.name = probe_.name;
    r.attempts = attempts_;
    const auto passed = std::count_if(attempts_.begin(), attempts_.end(), [](const auto& a) { return a.ok; });
    r.pass_ratio =
        attempts_.empty() ? 0.0 : static_cast<double>(passed) / static_cast<double>(attempts_.size());
    r.passed = !attempts_.empty() &&
               probe_.pass_ratio.holds_for_share(static_cast<std::uint64_t>(passed), attempts_.size()) &&
               !unmeasured_;
    ctx.result().probes.push_back(r);
    // An abandoned probe has made the scenario an error that says why; a failure of its own
    // ("no attempt was made") would only blame the window.
    if (r.passed || abandoned_) return;

    report::Failure f;
    f.check = "probe";
    f.expected = describe_expectation(probe_) + " in " + ratio_bound_text(probe_.pass_ratio) +
                 " of the attempts during " + window_text_;
    if (unmeasured_) {
      f.actual = attempts_.empty() ? "no attempt was made: the window " +
                                         std::string(was_opened_ ? "closed before the first attempt ended"
                                                                 : "never opened") +
                                         " (" + *unmeasured_ + ")"
                                   : *unmeasured_ + ", so its " + std::to_string(attempts_.size()) +
                                         " attempt(s) measured nothing under it";
    } else if (attempts_.empty()) {
      f.actual = "no attempt was made: the window " +
                 std::string(was_opened_ ? "closed before the first attempt ended" : "never opened") +
                 (closed_reason_.empty() ? "" : " (" + closed_reason_ + ")");
    } else {
      f.actual = "pass ratio " + format_ratio(r.pass_ratio) + " (" + std::to_string(passed) + "/" +
                 std::to_string(attempts_.size()) + ")";
      for (auto it = attempts_.rbegin(); it != attempts_.rend(); ++it)
        if (!it->ok) {
          f.actual +=
              "; last failing attempt at " + format_ms(it->t_ms) + ": " + it->error.value_or("failed");
          break;
        }
    }
    f.message = "probe `" + probe_.name + "` failed: " + f.actual;
    f.line = probe_.pos.line;
    ctx.result().failures.push_back(std::move(f));
  }

  std::size_t index = 0;  // among the run's probes: names its exec cgroups apart from the others'

 private:
  enum class State { waiting, scheduled, open, closed };

  // When a `{from, to}` time happens. One timed from an injection (`X.start+1s`, `X.end`) counts
  // from when X really began or ended acting (injection_changed), not from the plan: a fault
  // skipped or cut short moves its window with it. `X.end-D` counts back from the plan, and X's
  // real end closes the window too when it comes first. A window that ends as X starts
  // (`to = "X.start"`) measures before X, whether X came or not: it is not timed from X's acting,
  // and when X never comes it stays open until the stop phase.
  timeline::Resolved anchored(const scenario::Scenario& s, const scenario::TimePoint& t, bool window_end) {
    const auto ref = scenario::time_ref(t);
    if (!ref || !ref->names_injection()) return timeline::resolve(s, t);
    const bool before_it =
        window_end && ref->kind == scenario::TimeRef::Kind::inject_start && ref->offset == Duration::zero();
    if (!before_it) refers_to_.insert(ref->name);
    if (ref->offset < Duration::zero()) {
      closes_with_.insert(ref->name);
      return timeline::resolve(s, t);
    }
    return timeline::Resolved{ref->anchor(), ref->offset};
  }

  static const scenario::Injection* find_injection(const scenario::Scenario& s, const std::string& name) {
    for (const auto& inj : s.injections)
      if (inj.name == name) return &inj;
    return nullptr;
  }

  void open(RunContext& ctx) {
    if (state_ != State::scheduled) return;
    state_ = State::open;
    was_opened_ = true;
    ctx.record("probe.window.open", {}, {}, probe_.name);
    next_timer_ = std::make_unique<asio::steady_timer>(ctx.io());
    attempt(ctx);
  }

  void attempt(RunContext& ctx) {
    if (state_ != State::open) return;
    const auto started = Clock::now();
    const double t_ms = ctx.now_ms();
    const std::uint64_t id = ++attempt_id_;
    in_flight_ = id;
    auto done = [this, &ctx, started, t_ms, id](report::ProbeAttempt a) {
      if (in_flight_ != id) return;  // cut off by the window end
      in_flight_ = 0;
      cancel_in_flight_ = {};
      a.t_ms = t_ms;
      attempts_.push_back(std::move(a));
      if (state_ != State::open) return;
      // The next attempt is due `every` after this one started; a slow attempt only delays it.
      next_timer_->expires_at(std::max(started + probe_.every, Clock::now()));
      next_timer_->async_wait([this, &ctx](boost::system::error_code ec) {
        if (!ec) attempt(ctx);
      });
    };
    switch (probe_.kind) {
      case Probe::Kind::http:
        net::async_http_get(ctx.io(), probe_.target, probe_.timeout, [this, &ctx, done](net::HttpResult r) {
          if (!r.tried)
            return abandon(ctx, "target `" + probe_.target +
                                    "` cannot be tried: " + r.error.value_or("no request attempted"));
          done(judge_http(r));
        });
        break;
      case Probe::Kind::tcp:
        net::async_tcp_connect(ctx.io(), probe_.target, probe_.timeout, [this, &ctx, done](net::TcpResult r) {
          if (!r.tried)
            return abandon(ctx, "target `" + probe_.target +
                                    "` cannot be tried: " + r.error.value_or("no connection attempted"));
          done(judge_tcp(r));
        });
        break;
      case Probe::Kind::exec:
        start_exec(ctx, started, done);
        break;
    }
  }

  // Fills ok/error from the checks that apply to every kind (latency) plus the kind's own.
  report::ProbeAttempt judged(double latency_ms, std::vector<std::string> problems) const {
    if (probe_.expect_latency_below) {
      const double limit = std::chrono::duration<double, std::milli>(*probe_.expect_latency_below).count();
      if (latency_ms >= limit)
        problems.push_back("latency " + format_ms(latency_ms) + " (expected below " +
                           format_duration(*probe_.expect_latency_below) + ")");
    }
    report::ProbeAttempt a;
    a.latency_ms = latency_ms;
    a.ok = problems.empty();
    std::string text;
    for (const auto& p : problems) text += (text.empty() ? "" : ", ") + p;
    if (!text.empty()) a.error = text;
    return a;
  }

  report::ProbeAttempt judge_http(const net::HttpResult& r) const {
    std::vector<std::string> problems;
    if (!r.status) {
      problems.push_back(r.error.value_or("no answer"));
    } else {
      const int s = *r.status;
      const bool status_ok = probe_.expect_status
                                 ? std::find(probe_.expect_status->begin(), probe_.expect_status->end(), s) !=
                                       probe_.expect_status->end()
                                 : s >= 200 && s < 300;
      if (!status_ok)
        problems.push_back(
            "status " + std::to_string(s) + " (expected " +
            (probe_.expect_status ? join_statuses(*probe_.expect_status) : std::string("2xx")) + ")");
      if (probe_.expect_body_contains && r.body.find(*probe_.expect_body_contains) == std::string::npos)
        problems.push_back(r.body_cut ? "body without \"" + *probe_.expect_body_contains +
                                            "\" in its first " + std::to_string(net::kHttpBodyKeep / 1024) +
                                            " KiB (the body is longer; the rest is not kept)"
                                      : "body without \"" + *probe_.expect_body_contains + "\"");
    }
    auto a = judged(r.latency_ms, std::move(problems));
    a.status = r.status;
    return a;
  }

  report::ProbeAttempt judge_tcp(const net::TcpResult& r) const {
    std::vector<std::string> problems;
    const bool want = probe_.expect_success.value_or(true);
    if (r.connected != want)
      problems.push_back(r.connected ? "connected (expected no connection)"
                                     : r.error.value_or("no connection"));
    auto a = judged(r.latency_ms, std::move(problems));
    if (a.ok && r.error) a.error = r.error;  // an expected refusal still says what happened
    return a;
  }

  // A probe whose target cannot be tried at all makes the scenario an error: with
  // `expect.success = false` its failed attempts would otherwise read as a pass.
  void abandon(RunContext& ctx, const std::string& why) {
    in_flight_ = 0;
    abandoned_ = true;
    ctx.fail_scenario("probe `" + probe_.name + "`: " + why);
  }

  // One run of the command as a one-shot (runner/one_shot.h); one that cannot start at all
  // abandons the probe.
  template <typename Done>
  void start_exec(RunContext& ctx, Clock::time_point started, Done done) {
    const std::string command = "`" + join_argv(probe_.exec) + "`";
    auto report = [this, &ctx, started, done, command](OneShotOutcome outcome) {
      if (outcome.could_not_start) return abandon(ctx, command + " " + outcome.failure);
      // A shell (`sh -c`, `env`, `xargs`) reports a command it could not find or run as 126 or
      // 127: the check never ran, and with `expect.success = false` it would read as a pass.
      if (outcome.exit_code == 126 || outcome.exit_code == 127)
        return abandon(ctx, command + " " + outcome.failure + " (" +
                                (outcome.exit_code == 127 ? "command not found" : "command cannot be run") +
                                ", as a shell reports it: the check never ran)");
      const double latency = std::chrono::duration<double, std::milli>(Clock::now() - started).count();
      const bool want = probe_.expect_success.value_or(true);
      std::optional<std::string> failure;
      if (!outcome.succeeded) failure = command + " " + outcome.failure;
      std::vector<std::string> problems;
      if (!failure && !want) problems.push_back(command + " exited with code 0 (expected a failure)");
      if (failure && want) problems.push_back(*failure);
      // The failure `expect.success = false` asks for is the command's own answer, a non-zero
      // exit: one that hung until the probe's timeout killed it, or died by a signal, never
      // answered (a write that hangs under a fault is not "the write failed").
      if (failure && !want && !outcome.exit_code)
        problems.push_back(*failure + " (expected it to exit with a non-zero code by itself)");
      auto a = judged(latency, std::move(problems));
      if (a.ok && failure) a.error = failure;
      done(std::move(a));
    };
    cgroup::Cgroup* parent = nullptr;
    try {
      parent = &ctx.side_group();
    } catch (const Error& e) {
      return abandon(ctx, command + " could not start: cannot create a cgroup for it: " + e.what());
    }
    auto cancel =
        run_one_shot(ctx.io(), *parent, "exec-" + std::to_string(index) + "-" + std::to_string(attempt_id_),
                     {.argv = probe_.exec,
                      .cwd = std::nullopt,
                      .label = "probe " + probe_.name,
                      .timeout = probe_.timeout},
                     std::move(report));
    cancel_in_flight_ = std::move(cancel);
  }

  const Probe& probe_;
  std::optional<std::string> injection_;   // `during = "<inject>"`: start_ and end_ are unused
  std::set<std::string> refers_to_;        // the injections the window is timed from
  std::set<std::string> began_;            // ... that began to act
  std::set<std::string> closes_with_;      // ... whose real end closes it (`to = "X.end-300ms"`)
  std::optional<std::string> unmeasured_;  // why nothing was measured under them
  timeline::Resolved start_;
  std::optional<timeline::Resolved> end_;
  std::string window_text_;
  State state_ = State::waiting;
  bool was_opened_ = false;
  bool abandoned_ = false;  // made the scenario an error (see abandon)
  std::string closed_reason_;
  std::unique_ptr<asio::steady_timer> open_timer_, close_timer_, next_timer_;
  std::vector<report::ProbeAttempt> attempts_;
  std::uint64_t attempt_id_ = 0;
  std::uint64_t in_flight_ = 0;
  std::function<void()> cancel_in_flight_;
  std::uint64_t cut_off_ = 0;  // attempts still running at the window end
};

class Probes final : public RunObserver {
 public:
  explicit Probes(const scenario::Scenario& s) {
    for (const auto& p : s.probes) {
      auto run = std::make_unique<ProbeRun>(s, p);
      run->index = runs_.size();
      runs_.push_back(std::move(run));
    }
  }

  void on_run_start(RunContext& ctx) override { anchor(ctx, ""); }
  void on_process_ready(RunContext& ctx, const std::string& process) override {
    anchor(ctx, scenario::anchor_of(scenario::TimeRef::Kind::process_ready, process));
  }
  void on_all_ready(RunContext& ctx) override { anchor(ctx, "ready"); }
  void on_process_exit(RunContext& ctx, const std::string& process) override {
    anchor(ctx, scenario::anchor_of(scenario::TimeRef::Kind::process_exit, process));
  }
  void on_stop_phase(RunContext& ctx) override {
    for (auto& r : runs_) r->close(ctx, "stop phase");
  }
  void on_timeout(RunContext& ctx) override {
    for (auto& r : runs_) r->close(ctx, "timeout");
  }
  void on_injection(RunContext& ctx, const std::string& injection, bool acting) override {
    for (auto& r : runs_) r->injection_changed(ctx, injection, acting);
    // `X.start` and `X.end` as they really happened (a skipped fault has neither).
    using Kind = scenario::TimeRef::Kind;
    if (acting) {
      started_.insert(injection);
      anchor(ctx, scenario::anchor_of(Kind::inject_start, injection));
    } else if (started_.contains(injection)) {
      anchor(ctx, scenario::anchor_of(Kind::inject_end, injection));
    }
  }
  void on_run_end(RunContext& ctx) override {
    for (auto& r : runs_) r->finish(ctx);
  }

 private:
  void anchor(RunContext& ctx, const std::string& name) {
    for (auto& r : runs_) r->anchor_reached(ctx, name);
  }

  std::vector<std::unique_ptr<ProbeRun>> runs_;
  std::set<std::string> started_;  // injections that began to act
};

}  // namespace

std::unique_ptr<RunObserver> make_probes(const scenario::Scenario& scenario) {
  if (scenario.probes.empty()) return nullptr;
  return std::make_unique<Probes>(scenario);
}

}  // namespace faultline::runner
