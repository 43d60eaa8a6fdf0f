#include "runner/command_runner.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <set>

#include "cgroup/enclosing_limits.h"
#include "cgroup/layout.h"
#include "cgroup/signal_members.h"
#include "common/interrupt.h"
#include "runner/async_kill.h"
#include "runner/escapes.h"
#include "runner/hang_diagnosis.h"
#include "runner/limits.h"
#include "runner/oom_attribution.h"
#include "runner/process_text.h"
#include "supervisor/adoption.h"
#include "supervisor/supervised_process.h"

namespace faultline::runner {
namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
const std::string kProcessName = "command";

std::string seconds(double usec) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2fs", usec / 1e6);
  return buf;
}

std::string join(const std::vector<std::string>& parts, const std::string& separator) {
  std::string text;
  for (const auto& p : parts) text += (text.empty() ? "" : separator) + p;
  return text;
}

// The processes of the group in faultline's own process group: a terminal's SIGINT or SIGQUIT
// reached them already, with faultline, as the terminal signals its whole foreground group.
std::set<pid_t> in_our_process_group(const cgroup::Cgroup& group) {
  std::set<pid_t> members;
  for (const pid_t pid : group.pids())
    if (::getpgid(pid) == ::getpgrp()) members.insert(pid);
  return members;
}

// Sends `signo` to every process in the group but `had_it`, as timeout(1) signals its process
// group: a wrapper (`go test`, a shell) and the program it runs both get it. Returns how many
// got it.
int signal_every_process(const cgroup::Cgroup& group, int signo, const std::set<pid_t>& had_it = {}) {
  return cgroup::signal_members(group, signo, had_it).sent;
}

// How many processes got a signal from faultline, and how many had it from the terminal already.
struct Signalled {
  int sent = 0;
  std::size_t from_terminal = 0;
};

// "SIGINT to 2 process(es)", or with those a terminal signalled itself, "SIGINT from the
// terminal to 1 process(es), from faultline to 1 more".
std::string signalled(int signo, int sent, std::size_t from_terminal) {
  if (from_terminal == 0) return signal_name(signo) + " to " + std::to_string(sent) + " process(es)";
  return signal_name(signo) + " from the terminal to " + std::to_string(from_terminal) + " process(es), " +
         "from faultline to " + std::to_string(sent) + " more";
}

// The controllers the command's cgroup needs: those of its limits, and, when every statistic is
// wanted, those that count memory, CPU and pids.
std::vector<cgroup::Knob> knobs_needed(const CommandRequest& request) {
  using cgroup::Knob;
  const auto& l = request.limits;
  std::vector<Knob> knobs;
  if (l.memory || request.measure_all) knobs.push_back(Knob::memory_max);
  if (l.memory_high) knobs.push_back(Knob::memory_high);
  if (l.swap) knobs.push_back(Knob::swap_max);
  if (l.cpu || l.cpu_period || request.measure_all) knobs.push_back(Knob::cpu_max);
  if (l.cpuset) knobs.push_back(Knob::cpuset);
  if (l.pids || request.measure_all) knobs.push_back(Knob::pids_max);
  return knobs;
}

// One command, from its start to the removal of its cgroup.
class CommandRun {
 public:
  // `flags`: the limits as the caller asked for them, before its own cgroup's were kept
  // (keep_enclosing_limits), so a message names where a limit came from.
  CommandRun(const CommandRequest& request, const scenario::Limits& flags, cgroup::Backend& backend)
      : request_(request),
        flags_(flags),
        backend_(backend),
        process_(io_, request.argv.front(), 0),
        deadline_(io_),
        grace_(io_),
        drain_(io_),
        membership_(io_),
        interrupt_watch_(io_),
        pass_on_watch_(io_) {}

  CommandResult run();

 private:
  void event(const std::string& name, const std::string& detail = {}) {
    report_.timeline.push_back({ms_between(t0_, Clock::now()), name, kProcessName, {}, detail});
  }
  void on_timeout();
  // Every process of the command's cgroup, and the command itself wherever it is; with
  // `terminal_sent_it`, all but those in faultline's process group, which the terminal reached.
  Signalled signal_command(int signo, bool terminal_sent_it = false);
  // The command runs, but outside its cgroup (root can move itself out).
  bool command_left_its_cgroup() const;
  // `terminal_sent_it`: the terminal signalled faultline's foreground process group already.
  void send_stop_signal(int signo, bool terminal_sent_it = false);
  void watch_interrupts();
  void take_interrupts();
  void on_interrupt(int signo, bool from_terminal);
  void watch_passed_on();
  void pass_on_signals();
  void stop_watching_signals();
  // The limits hold only what the cgroup holds: a command that moved itself out of it, in every
  // hierarchy or (v1/hybrid) in one, ran without them. Looked at soon after the start, then every
  // 100ms, and once more at the command's exit (its descendants).
  void watch_membership(Clock::duration next);
  void check_membership();
  void on_exit();
  void wait_for_stopping_processes();
  CommandResult failed_to_start();
  // `left_behind`: processes still in the command's cgroup after it ended; `escaped`: those that
  // had moved themselves out of it. Both were killed.
  CommandResult classify(const cgroup::Stats& stats, const std::vector<std::string>& left_behind,
                         const std::vector<std::string>& escaped);
  // "64MiB" (--memory), or the caller's limit the command kept or stayed under (cgroup v1 without
  // --memory, where it does not join a memory cgroup of its own) with its cgroup, or "none".
  std::string memory_limit_in_force() const;
  // "--pids 100", or the caller's limit the command kept, with its cgroup; nullopt for neither.
  std::optional<std::string> pids_limit_in_force() const;

  const CommandRequest& request_;
  const scenario::Limits flags_;
  cgroup::Backend& backend_;
  asio::io_context io_;
  supervisor::SupervisedProcess process_;
  asio::steady_timer deadline_, grace_, drain_, membership_;
  asio::posix::stream_descriptor interrupt_watch_;
  asio::posix::stream_descriptor pass_on_watch_;
  std::unique_ptr<cgroup::Cgroup> group_;
  std::optional<supervisor::AdoptionWatch> adoptions_;  // from the start to the end of the loop
  Clock::time_point t0_;
  report::ScenarioResult report_;
  std::optional<std::string> finding_;
  std::vector<std::string> timeout_steps_;  // what was done to the command after its timeout
  // When the stop signal's --kill-after runs out: the command's other processes, told to stop
  // with it, have until then too.
  std::optional<Clock::time_point> kill_deadline_;
  bool timed_out_ = false, killed_ = false;
  bool sent_sigkill_ = false;  // -s KILL, --diagnose KILL or --kill-after: not an OOM kill
  int interrupted_by_ = 0;
  bool drain_interrupted_ = false;             // a signal came while the other processes had --kill-after
  std::optional<std::string> limits_escaped_;  // who left the cgroup while the command ran
  // Why the command's cgroup could not be removed (something holds it: a mount on it, a process
  // that cannot be killed): left behind, while the command's own end is still said.
  std::optional<std::string> cgroup_left_;
};

void CommandRun::on_timeout() {
  timed_out_ = true;
  event("timeout", "exec timeout " + format_duration(*request_.timeout) + " reached");
  // Before any signal: what the command was doing when the time ran out.
  auto snapshot = snapshot_hang({{kProcessName, group_.get()}});
  for (auto& f : snapshot.facts) f.process.clear();  // one command: the finding needs no subject
  snapshot.store_into(report_.diagnostics);
  if (command_left_its_cgroup())
    report_.diagnostics["finding"] = "the command (pid " + std::to_string(process_.pid()) +
                                     ") had moved itself out of its cgroup, where its state is not watched";
  finding_ = report_.diagnostics["finding"];
  if (!request_.diagnose_signal) {
    send_stop_signal(request_.timeout_signal);
    return;
  }
  const int sent = signal_command(*request_.diagnose_signal).sent;
  signal_command(SIGCONT);  // a stopped process cannot dump its stacks
  const std::string what = signalled(*request_.diagnose_signal, sent, 0) + ", " +
                           format_duration(request_.diagnose_grace) + " for their output";
  event("timeout.diagnose", what);
  timeout_steps_.push_back(what);
  grace_.expires_after(request_.diagnose_grace);
  grace_.async_wait([this](boost::system::error_code ec) {
    if (!ec && process_.running()) send_stop_signal(request_.timeout_signal);
  });
}

// The command itself is signalled through its pidfd when it is not among the members: root can
// move it out of its cgroup, and the timeout must still reach it, as timeout(1)'s does.
Signalled CommandRun::signal_command(int signo, bool terminal_sent_it) {
  if (signo == SIGKILL) sent_sigkill_ = true;
  const std::set<pid_t> had_it = terminal_sent_it ? in_our_process_group(*group_) : std::set<pid_t>{};
  Signalled result{signal_every_process(*group_, signo, had_it), had_it.size()};
  if (command_left_its_cgroup()) {
    if (terminal_sent_it && ::getpgid(process_.pid()) == ::getpgrp())
      ++result.from_terminal;
    else if (process_.send_signal(signo))
      ++result.sent;
  }
  return result;
}

bool CommandRun::command_left_its_cgroup() const {
  if (!process_.running()) return false;
  const auto members = group_->pids();
  if (std::find(members.begin(), members.end(), process_.pid()) != members.end()) return false;
  // Not listed: moved out, or on its way out (exited and not yet reaped): the kernel lists no
  // exiting process, and sets PF_EXITING before it drops one from the list.
  return !cgroup::exiting(process_.pid());
}

// The stop signal, at the timeout or passed on from faultline's own SIGINT/SIGTERM/SIGHUP (a CI
// job cancelled), to every process of the command as timeout(1) signals its process group, then
// SIGKILL to the whole cgroup if the command outlives `kill_after`.
void CommandRun::send_stop_signal(int signo, bool terminal_sent_it) {
  // The processes in faultline's own process group had a terminal's Ctrl-C from the terminal: a
  // second one makes a program that cleans up on the first (pytest) give up. Those in other
  // groups (setsid daemons) have it from here only.
  const auto got = signal_command(signo, terminal_sent_it);
  // timeout(1) does the same: a stopped process would otherwise hold the signal until the kill.
  if (signo != SIGKILL && signo != SIGCONT) signal_command(SIGCONT);
  const std::string what = signalled(signo, got.sent, got.from_terminal);
  event("stop.signal", what);
  if (timed_out_) timeout_steps_.push_back(what);
  // The kill comes --kill-after the first stop signal, as with timeout(1): a second one (a CI job
  // cancelled after the timeout) must not push it back.
  if (kill_deadline_) return;
  kill_deadline_ = Clock::now() + std::chrono::duration_cast<Clock::duration>(request_.kill_after);
  grace_.expires_after(request_.kill_after);
  grace_.async_wait([this](boost::system::error_code ec) {
    if (ec || !process_.running()) return;
    killed_ = sent_sigkill_ = true;
    const std::string what =
        "SIGKILL to the cgroup after --kill-after " + format_duration(request_.kill_after);
    // The command itself too, should it have left the cgroup (see signal_command).
    process_.send_signal(SIGKILL);
    event("stop.kill", what);
    if (timed_out_) timeout_steps_.push_back(what);
    // Without blocking the loop: the command's last output is still being read.
    async_kill_all(io_, *group_, [this](std::optional<std::string> failure) {
      if (failure) event("stop.kill-failed", *failure);
    });
  });
}

// SIGQUIT, SIGUSR1, SIGUSR2 and SIGALRM to faultline are for the command (timeout(1) passes
// SIGQUIT on too): a Go test dumps its goroutines, a JVM its threads, and the run goes on. A quit
// from the terminal reached the processes in faultline's process group already.
void CommandRun::watch_passed_on() {
  pass_on_watch_.async_wait(asio::posix::stream_descriptor::wait_read, [this](boost::system::error_code ec) {
    if (ec) return;
    pass_on_signals();
    watch_passed_on();
  });
}

void CommandRun::pass_on_signals() {
  const auto signals = interrupt::take_passed_on();
  for (const int signo : {SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM}) {
    if (!signals.has(signo)) continue;
    // Of these, a terminal sends SIGQUIT only (a timer's SIGALRM comes from the kernel too).
    const auto got = signal_command(signo, signo == SIGQUIT && signals.from_terminal(signo));
    event("signal.passed-on", signalled(signo, got.sent, got.from_terminal));
  }
}

// SIGINT, SIGTERM and SIGHUP to faultline: each is passed on as a stop signal, not only the first
// (a CI runner cancels with SIGINT, then SIGTERM); the first decides faultline's exit status.
void CommandRun::watch_interrupts() {
  interrupt_watch_.async_wait(asio::posix::stream_descriptor::wait_read,
                              [this](boost::system::error_code ec) {
                                if (ec) return;
                                take_interrupts();
                                watch_interrupts();
                              });
}

void CommandRun::take_interrupts() {
  auto signals = interrupt::take_interrupts();
  if (signals.mask != 0 && !interrupted_by_) {
    interrupted_by_ = interrupt::signal_number();
    deadline_.cancel();
    on_interrupt(interrupted_by_, interrupt::from_terminal());
    signals.mask &= ~(1u << interrupted_by_);
  }
  for (const int signo : {SIGINT, SIGHUP, SIGTERM})
    if (signals.has(signo)) on_interrupt(signo, signals.from_terminal(signo));
}

void CommandRun::on_interrupt(int signo, bool from_terminal) {
  // A terminal's SIGINT (Ctrl-C) goes to its whole foreground process group; its SIGHUP goes to a
  // session leader only, which faultline may be (ssh -t host faultline exec).
  const bool terminal = from_terminal && signo == SIGINT;
  event("interrupted", signal_name(signo) + (terminal ? " from the terminal" : ""));
  if (process_.running())
    send_stop_signal(signo, terminal);
  else
    drain_interrupted_ = true;  // what is left is killed as left behind
}

// A signal to pass on taken by the loop only now still goes to what is left of the command, and on
// the record.
void CommandRun::stop_watching_signals() {
  pass_on_signals();
  interrupt_watch_.close();
  pass_on_watch_.close();
  if (adoptions_) adoptions_->stop();
}

void CommandRun::watch_membership(Clock::duration next) {
  membership_.expires_after(next);
  membership_.async_wait([this, next](boost::system::error_code ec) {
    // A look already due when the command exited runs despite the cancel: armed again, it would
    // keep the loop, which ends when nothing is left to wait for, going for ever.
    if (ec || limits_escaped_ || !process_.running()) return;
    check_membership();
    watch_membership(std::min<Clock::duration>(next * 2, std::chrono::milliseconds(100)));
  });
}

void CommandRun::check_membership() {
  if (limits_escaped_) return;
  try {
    const auto left = group_->partly_left();
    if (!left.empty())
      limits_escaped_ = "pid " + std::to_string(left[0].pid) + " (" + comm_of(left[0].pid) +
                        ") moved itself out of " + left[0].left.string() + " while the command ran";
    else if (command_left_its_cgroup())
      limits_escaped_ = "the command, pid " + std::to_string(process_.pid()) + " (" +
                        comm_of(process_.pid()) + "), moved itself out of its cgroup";
  } catch (const Error&) {
    return;  // read again on the next look
  }
  if (limits_escaped_) event("process.escaped", *limits_escaped_);
}

void CommandRun::on_exit() {
  deadline_.cancel();
  grace_.cancel();
  membership_.cancel();
  check_membership();
  if (const auto& wait_error = process_.wait_error())
    event("process.wait-error", *wait_error);
  else
    event("process.exit", describe_exit(*process_.exit_status()));
  if (kill_deadline_ && !killed_)
    wait_for_stopping_processes();
  else
    stop_watching_signals();
}

// The rest of the command got the stop signal with it: like the command itself they may shut down
// until --kill-after runs out; whatever is left then is killed as left behind. A signal to
// faultline meanwhile (a CI job cancelled while it waits) ends the wait at once.
void CommandRun::wait_for_stopping_processes() {
  if (group_->pids().empty() || Clock::now() >= *kill_deadline_ || drain_interrupted_) {
    stop_watching_signals();
    return;
  }
  drain_.expires_after(
      std::min<Clock::duration>(std::chrono::milliseconds(20), *kill_deadline_ - Clock::now()));
  drain_.async_wait([this](boost::system::error_code ec) {
    if (!ec) wait_for_stopping_processes();
  });
}

CommandResult CommandRun::failed_to_start() {
  const auto& failure = *process_.start_failure();
  CommandResult result;
  // timeout(1)'s codes: 127 not found, 126 found but not runnable, 125 faultline's own step failed.
  result.exit_status = failure.harness_step            ? kExecFailed
                       : failure.errno_value == ENOENT ? kExecNotFound
                                                       : kExecCannotRun;
  result.outcome = "failed-to-start";
  result.messages.push_back("faultline: failed to start: " + failure.message);
  report::ProcessResult p;
  p.name = kProcessName;
  p.output_captured = false;
  p.command = request_.argv;
  p.outcome = result.outcome;
  p.start_error = failure.message;
  report_.processes.push_back(p);
  report_.verdict = report::Verdict::error;
  report_.reason = "failed to start: " + failure.message;
  return result;
}

std::string CommandRun::memory_limit_in_force() const {
  if (flags_.memory && request_.limits.memory == flags_.memory) return format_size(*flags_.memory);
  if (const auto caller = backend_.enclosing_limits().memory)
    return format_size(caller->value) + " of the caller's cgroup " + caller->cgroup;
  return request_.limits.memory ? format_size(*request_.limits.memory) : std::string("none");
}

std::optional<std::string> CommandRun::pids_limit_in_force() const {
  if (flags_.pids && request_.limits.pids == flags_.pids) return "--pids " + std::to_string(*flags_.pids);
  const auto caller = backend_.enclosing_limits().pids;
  if (request_.limits.pids && caller && *request_.limits.pids == caller->value)
    return "the caller's pids limit " + std::to_string(caller->value) + " of cgroup " + caller->cgroup;
  return std::nullopt;
}

CommandResult CommandRun::classify(const cgroup::Stats& stats, const std::vector<std::string>& left_behind,
                                   const std::vector<std::string>& escaped) {
  if (const auto& wait_error = process_.wait_error()) throw Error(*wait_error);
  const auto& st = *process_.exit_status();
  const int own_status = st.signaled ? 128 + st.signal : st.code;
  CommandResult result;
  if (killed_by_oom(st, stats.oom_kills, process_.pid(), process_.started_at(), sent_sigkill_)) {
    result.exit_status = 137;
    result.outcome = "oom-killed";
    result.messages.push_back("faultline: oom-killed (memory limit " + memory_limit_in_force() + ", peak " +
                              (stats.memory_peak ? format_size(*stats.memory_peak) : std::string("unknown")) +
                              ")");
  } else if (timed_out_) {
    result.outcome = "timed-out";
    // timeout(1): a command that had to be SIGKILLed is told apart from one that stopped.
    result.exit_status =
        request_.preserve_status ? own_status : (st.signaled && st.signal == SIGKILL ? 137 : kExecTimedOut);
    result.messages.push_back("faultline: timed-out after " + format_duration(*request_.timeout) + ": " +
                              finding_.value_or("no diagnosis"));
    result.messages.push_back("faultline: " + join(timeout_steps_, ", then ") + "; the command " +
                              (st.signaled ? "was " : "") + describe_exit(st));
  } else if (st.signaled) {
    result.exit_status = own_status;
    result.outcome = "signaled";
    result.messages.push_back("faultline: signaled (" + signal_name(st.signal) + ")");
  } else {
    result.exit_status = own_status;
    result.outcome = "exited";
  }
  // The command ran, at least in part, outside the limits it was given: its status says nothing
  // about it under them. faultline did not do what it was asked, as when it cannot make the cgroup.
  if (limits_escaped_) {
    result.exit_status = kExecFailed;
    result.messages.insert(result.messages.begin(),
                           "faultline: the command's cgroup did not hold it: " + *limits_escaped_ +
                               ", so its limits and counters no longer covered it (the command " +
                               describe_exit(st) + ")");
  }
  // faultline did not clean up after itself: not the command's status, whatever it was.
  if (cgroup_left_) {
    result.exit_status = kExecFailed;
    result.messages.insert(result.messages.begin(),
                           "faultline: the command's cgroup could not be removed: " + *cgroup_left_ +
                               " (the command " + describe_exit(st) +
                               "); it is left behind: `faultline cleanup` removes it once nothing holds it");
  }
  if (interrupted_by_) {
    result.exit_status = interrupt::exit_status(interrupted_by_);  // as `run`
    result.messages.push_back("faultline: interrupted by " + signal_name(interrupted_by_));
  }
  if (st.signaled && !timed_out_ && result.exit_status == 128 + st.signal) result.end_by_signal = st.signal;
  // Named, so a CI log says which daemon or test worker was left running.
  const auto killed = [&result](const std::vector<std::string>& processes, const std::string& which) {
    if (processes.empty()) return;
    constexpr std::size_t kNamed = 5;
    std::string named;
    for (std::size_t i = 0; i < std::min(kNamed, processes.size()); ++i)
      named += (i ? ", " : "") + processes[i];
    if (processes.size() > kNamed) named += ", ...";
    result.messages.push_back("faultline: killed " + std::to_string(processes.size()) + " process(es) " +
                              which + ": " + named);
  };
  // Only the processes in the cgroup got the stop signal and had --kill-after to end.
  killed(left_behind,
         kill_deadline_ && !killed_
             ? "still running --kill-after " + format_duration(request_.kill_after) + " after the stop signal"
             : "the command left behind");
  killed(escaped, "that had moved themselves out of the command's cgroup");
  // A fork refused at --pids shows up as the command's own failure ("Resource temporarily
  // unavailable", exit 254): say where it came from.
  if (stats.pids_max_events > 0)
    result.messages.push_back("faultline: " + std::to_string(stats.pids_max_events) +
                              " fork(s) refused at the pids limit (" +
                              pids_limit_in_force().value_or("no --pids given: an enclosing cgroup's limit") +
                              "); the command " + describe_exit(st));
  // The command's own status decides, as with timeout(1), but an OOM kill of one of its children
  // (a test worker, a compiler) is why a suite is slow or flaky under the limit: say so.
  if (stats.oom_kills > 0 && result.outcome != "oom-killed")
    result.messages.push_back("faultline: " + std::to_string(stats.oom_kills) +
                              " OOM kill(s) in the command's cgroup (memory limit " +
                              memory_limit_in_force() + "); the command itself " +
                              (st.signaled ? "was " : "") + describe_exit(st));

  report::ProcessResult p;
  p.name = kProcessName;
  p.output_captured = false;  // the command writes to faultline's own stdout and stderr
  p.pid = process_.pid();
  p.command = request_.argv;
  p.outcome = result.outcome;
  if (st.signaled)
    p.signal = st.signal;
  else
    p.exit_code = st.code;
  p.oom_kills = stats.oom_kills;
  p.peak_memory_bytes = stats.memory_peak.value_or(stats.memory_current.value_or(0));
  p.peak_memory_known = stats.memory_peak.has_value();
  p.oom_kills_known = stats.oom_kills_counted;
  p.pids_max_events_known = stats.pids_max_events_counted;
  p.cpu_usage_usec = stats.cpu_usage_usec.value_or(0);
  p.throttled_usec = stats.cpu_throttled_usec.value_or(0);
  p.cpu_periods = stats.cpu_periods.value_or(0);
  p.throttled_periods = stats.cpu_throttled_periods.value_or(0);
  p.pids_max_events = stats.pids_max_events;
  p.runtime_ms = ms_between(process_.started_at(), process_.exited_at());
  report_.processes.push_back(p);
  report_.interrupted = interrupted_by_ != 0;
  // With --preserve-status a command that exited 0 after the timeout's signal exits 0, as
  // timeout(1) does; the report still records the timeout, never a pass.
  if (result.exit_status == 0 && !timed_out_) {
    report_.verdict = report::Verdict::pass;
  } else if (result.exit_status == 0) {
    report_.verdict = report::Verdict::fail;
    report_.reason = result.messages.front().substr(11);
    report_.failures.push_back({"exec.timeout",
                                kProcessName,
                                "finished within " + format_duration(*request_.timeout),
                                "timed-out, then exited 0 (--preserve-status)",
                                report_.reason,
                                0,
                                {}});
  } else {
    report_.verdict =
        interrupted_by_ || limits_escaped_ || cgroup_left_ ? report::Verdict::error : report::Verdict::fail;
    const std::string message =
        result.messages.empty() ? describe_exit(st) : result.messages.front().substr(11);
    report_.reason = message;
    report_.failures.push_back({"exec.exit_status",
                                kProcessName,
                                "exit status 0",
                                std::to_string(result.exit_status) + " (" + result.outcome + ")",
                                message,
                                0,
                                {}});
  }
  return result;
}

CommandResult CommandRun::run() {
  adoptions_.emplace(io_);
  t0_ = Clock::now();
  report_.name = join(request_.argv, " ");
  // One process, one cgroup: no per-process child below the run.
  group_ = backend_.create_leaf_run(cgroup::next_run_name(), knobs_needed(request_));
  if (auto why = unsupported_limit(*group_, request_.limits)) throw cgroup::HostError(*why);
  apply_limits(*group_, request_.limits);

  supervisor::SpawnRequest spawn;
  spawn.argv = request_.argv;
  spawn.env = supervisor::current_environment();
  spawn.nofile = request_.limits.nofile;
  spawn.capture_output = false;
  spawn.pass_fds = request_.pass_fds;
  const auto attach = group_->open_attach_fds();
  spawn.attach_fds = &attach;

  // Before the start: a Ctrl-C right after the command's first output must not find the default
  // action, which would end faultline and leave the command in its cgroup.
  interrupt::install(interrupt::Quit::passes_on);
  CommandResult result;
  const auto reaped_before = reaped_cpu();
  if (!process_.start(spawn, [this](supervisor::SupervisedProcess&) { on_exit(); })) {
    result = failed_to_start();
    group_->destroy();
  } else {
    event("process.start", "pid " + std::to_string(process_.pid()));
    if (request_.timeout) {
      deadline_.expires_after(*request_.timeout);
      deadline_.async_wait([this](boost::system::error_code ec) {
        if (!ec) on_timeout();
      });
    }
    watch_membership(std::chrono::milliseconds(10));
    pass_on_watch_.assign(::dup(interrupt::pass_on_fd()));
    watch_passed_on();
    interrupt_watch_.assign(::dup(interrupt::fd()));
    watch_interrupts();
    io_.run();

    // Processes the command left behind (daemons, setsid children) do not outlive it.
    std::vector<std::string> orphans;
    for (pid_t pid : group_->pids()) orphans.push_back(std::to_string(pid) + " (" + comm_of(pid) + ")");
    if (!orphans.empty()) {
      event("process.orphans", std::to_string(orphans.size()) + " left, killed");
      group_->kill_all();
    }
    const auto stats = group_->stats();
    try {
      group_->destroy();
    } catch (const std::exception& e) {
      cgroup_left_ = e.what();
      event("cgroup.remove-failed", *cgroup_left_);
    }
    // Those that had moved themselves out of the cgroup: handed to faultline, their subreaper.
    const auto escaped = kill_escapees(backend_);
    if (!escaped.empty())
      event("process.escaped", std::to_string(escaped.size()) +
                                   " outside the command's cgroup, killed: " + describe_escapees(escaped));
    std::vector<std::string> escapees;
    for (const auto& e : escaped)
      escapees.push_back(std::to_string(e.pid) + " (" + e.comm + ", had moved itself to " + e.cgroup + ")");
    if (!escaped.empty() && !limits_escaped_)
      limits_escaped_ = std::to_string(escaped.size()) + " process(es) had moved themselves out of it";
    // One that left and ended between two looks (or after the command) shows only in the CPU
    // time its waits brought back beyond what the cgroup counted. As PID 1 of a container,
    // faultline also reaps the orphans of other sessions (`docker exec`), never in the cgroup.
    if (stats.cpu_usage_usec && !limits_escaped_ && ::getpid() != 1)
      if (const auto outside = cpu_outside_cgroup(reaped_cpu() - reaped_before,
                                                  std::chrono::microseconds(*stats.cpu_usage_usec))) {
        limits_escaped_ = "its processes used " + format_duration(*outside) +
                          " of CPU outside it (a process that moved itself out, as `systemd-run --scope` or "
                          "`cgexec` in a test would, and ended before faultline could see it)";
        event("process.escaped", *limits_escaped_);
      }
    result = classify(stats, orphans, escapees);
    orphans.insert(orphans.end(), escapees.begin(), escapees.end());
    report_.processes.back().orphans = orphans;
  }
  report_.duration_ms = ms_between(t0_, Clock::now());
  result.report = report_;
  return result;
}

}  // namespace

namespace {

// A limit of the caller's own cgroups (a CI job's memory, swap, pids or CPU limit) that the command
// would leave behind, since its cgroup is made under the faultline parent, outside the caller's:
// copied onto the command's cgroup unless it asks for a tighter one. On cgroup v1 only for the
// hierarchies the command moves in at all; in the others it stays in its caller's cgroup, under
// the limit itself. Returns the line that says so, empty when nothing was kept.
std::string keep_enclosing_limits(CommandRequest& request, const cgroup::Backend& backend) {
  const auto knobs = knobs_needed(request);
  const auto needed = [&](cgroup::Knob knob) {
    return std::find(knobs.begin(), knobs.end(), knob) != knobs.end();
  };
  // v1 bounds swap in the memory hierarchy (memsw): a command moved there leaves the caller's too.
  const auto kept = keep_caller_limits(request.limits, backend.enclosing_limits(), [&](cgroup::Knob knob) {
    return backend.mode() == cgroup::Mode::v2 || needed(knob) ||
           (knob == cgroup::Knob::swap_max && needed(cgroup::Knob::memory_max));
  });
  if (kept.empty()) return {};
  return "faultline: the command keeps its caller's " + join(kept, ", ") +
         ": its own cgroup is made outside the caller's, which would otherwise lift it";
}

}  // namespace

CommandResult run_command(const CommandRequest& request, cgroup::Backend& backend) {
  CommandRequest effective = request;
  const std::string kept = keep_enclosing_limits(effective, backend);
  CommandRun run(effective, request.limits, backend);
  auto result = run.run();
  if (!kept.empty()) result.messages.insert(result.messages.begin(), kept);
  return result;
}

std::string summary_line(const CommandResult& result) {
  if (result.report.processes.empty()) return "faultline: " + result.outcome;
  const auto& p = result.report.processes.front();
  if (p.outcome == "failed-to-start")
    return "faultline: exit " + std::to_string(result.exit_status) + " (failed-to-start)";
  return "faultline: exit " + std::to_string(result.exit_status) + " (" + p.outcome + ") after " +
         seconds(p.runtime_ms * 1000) + ", peak memory " +
         (p.peak_memory_known ? format_size(p.peak_memory_bytes) : std::string("unknown")) + ", CPU " +
         seconds(static_cast<double>(p.cpu_usage_usec)) + ", throttled " +
         seconds(static_cast<double>(p.throttled_usec)) + ", OOM kills " +
         (p.oom_kills_known ? std::to_string(p.oom_kills) : std::string("unknown"));
}

}  // namespace faultline::runner
