#include "runner/scenario_runner.h"

#include <unistd.h>

#include <algorithm>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <csignal>
#include <fstream>
#include <map>
#include <set>

#include "cgroup/layout.h"
#include "cgroup/signal_members.h"
#include "common/interrupt.h"
#include "common/kernel_log.h"
#include "injectors/injector.h"
#include "runner/async_kill.h"
#include "runner/escapes.h"
#include "runner/expectations.h"
#include "runner/hang_diagnosis.h"
#include "runner/limits.h"
#include "runner/observers.h"
#include "runner/one_shot.h"
#include "runner/oom_attribution.h"
#include "runner/process_text.h"
#include "runner/readiness.h"
#include "runner/syscall_faults.h"
#include "supervisor/adoption.h"
#include "supervisor/supervised_process.h"
#include "timeline/schedule.h"

namespace faultline::runner {
namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using scenario::ProcessSpec;
using scenario::Readiness;
using supervisor::ExitStatus;
using supervisor::SupervisedProcess;

// How long an output pipe may stay open once every process in the scenario's cgroups has ended:
// what they wrote last is read in far less, so a pipe still open then is held from outside.
constexpr std::chrono::seconds kOutputDrain{5};

class ScenarioRun final : public RunContext {
 public:
  ScenarioRun(const scenario::Scenario& s, cgroup::Backend& backend, const RunnerOptions& options)
      : scenario_(s),
        backend_(backend),
        options_(options),
        deadline_(io_),
        duration_timer_(io_),
        stop_timer_(io_),
        output_drain_timer_(io_),
        interrupt_watch_(io_) {}

  report::ScenarioResult run();

  // RunContext
  asio::io_context& io() override { return io_; }
  const scenario::Scenario& scenario() const override { return scenario_; }
  Clock::time_point t0() const override { return t0_; }
  void record(const std::string& name, const std::string& process, const std::string& inject,
              const std::string& detail) override {
    result_.timeline.push_back({now_ms(), name, process, inject, detail});
  }
  cgroup::Cgroup* process_group(const std::string& process) override {
    for (auto& p : procs_)
      if (p.spec->name == process) return p.group.get();
    return nullptr;
  }
  const cgroup::Cgroup* run_group() const override { return run_group_.get(); }
  cgroup::Cgroup& side_group() override {
    if (!side_group_) {
      side_group_ = backend_.create_run(cgroup::next_run_name());
      // Its commands are the run's too, and stay inside the caller's limits as the run does.
      apply_limits(*side_group_, callers_limits_);
    }
    return *side_group_;
  }
  std::optional<pid_t> main_pid(const std::string& process) const override {
    for (const auto& p : procs_)
      if (p.spec->name == process && p.process && p.process->alive()) return p.process->pid();
    return std::nullopt;
  }
  report::ScenarioResult& result() override { return result_; }
  void fail_scenario(const std::string& message) override { scenario_error(message); }
  pid_t spawn_helper(const std::string& process, const std::vector<std::string>& argv,
                     std::function<bool(bool)> on_killed) override;
  const std::set<pid_t>& helper_pids() const override { return helper_pids_; }
  std::string faultline_dir() const override { return options_.faultline_dir; }
  std::uint64_t seed() const override { return options_.seed; }
  std::string set_syscall_fault_active(const std::string& injection, bool active) override {
    if (!syscall_faults_) throw Error("inject `" + injection + "` is not a syscall fault of this run");
    return syscall_faults_->set_active(injection, active);
  }
  bool syscall_fault_on(const std::string& injection) const override {
    return syscall_faults_ && syscall_faults_->is_on(injection);
  }
  void injection_changed(const std::string& injection, bool acting) override {
    notify([&](RunObserver& o) { o.on_injection(*this, injection, acting); });
  }

 private:
  struct Proc {
    const ProcessSpec* spec = nullptr;
    const scenario::Expect* expect = nullptr;
    std::unique_ptr<cgroup::Cgroup> group;
    std::unique_ptr<SupervisedProcess> process;
    ReadinessWatch readiness;
    std::unique_ptr<asio::steady_timer> grace_timer;
    std::vector<std::string> argv;
    bool started = false, ready = false, finished = false;
    bool stop_sent = false, killed_after_grace = false, timed_out = false;
    bool exited_unready = false;  // ended while the run was running, its gate never passed
    std::vector<std::string> orphans;
    cgroup::Stats stats;
  };

  void event(const std::string& name, const std::string& process, const std::string& detail = {}) {
    record(name, process, {}, detail);
  }
  template <typename Hook>
  void notify(Hook&& hook) {
    for (auto& o : observers_) hook(*o);
  }
  void scenario_error(const std::string& message);
  void prepare();
  void start_eligible();
  void start(Proc& p);
  void mark_ready(Proc& p);
  void on_exit(Proc& p);
  void on_all_ready();
  void begin_stop();
  void stop_after_exit(const Proc& p);
  void stop_next();
  void kill_everything(const char* why);
  void add_orphan(Proc& p, pid_t pid);
  void record_escapees(const ConcurrentRun& concurrent);
  std::optional<std::chrono::microseconds> cpu_counted(const OneShotTally& one_shots) const;
  void check_cpu_outside(const ConcurrentRun& concurrent, std::chrono::microseconds reaped_before,
                         std::optional<std::chrono::microseconds> counted, std::uint64_t one_shot_commands);
  void record_detached(Proc& p);
  void close_output_held_outside();
  void maybe_finish();
  report::ProcessResult process_result(const Proc& p) const;
  bool sigkill_injected_into(const Proc& p) const;
  void finish_result();

  const scenario::Scenario& scenario_;
  cgroup::Backend& backend_;
  RunnerOptions options_;
  asio::io_context io_;
  asio::steady_timer deadline_;
  asio::steady_timer duration_timer_;
  asio::steady_timer stop_timer_;          // `stop = "<proc>.exit+offset"`
  asio::steady_timer output_drain_timer_;  // after the teardown: output still held open
  asio::posix::stream_descriptor interrupt_watch_;
  std::unique_ptr<cgroup::Cgroup> run_group_;
  std::unique_ptr<cgroup::Cgroup> side_group_;  // one-shot commands' (side_group())
  scenario::Limits callers_limits_;             // the caller's limits that the run's cgroups keep
  std::vector<Proc> procs_;
  std::vector<Proc*> start_order_;
  std::vector<std::unique_ptr<RunObserver>> observers_;
  std::unique_ptr<SyscallFaults> syscall_faults_;  // notifiers outlive every process they serve
  std::vector<std::unique_ptr<SupervisedProcess>> helpers_;
  std::set<pid_t> helper_pids_;  // not orphans: started by the harness itself
  // Per process: OOM kills of its helpers (a hog the OOM killer chose), which are no OOM kills of
  // the process's own.
  struct HelperOomKills {
    std::uint64_t named = 0;             // named by the kernel log: taken out of the process's count
    std::optional<std::string> unnamed;  // one the log could not name is in it: why the count is unknown
  };
  std::map<std::string, HelperOomKills> helper_oom_kills_;
  Clock::time_point t0_;
  report::ScenarioResult result_;
  std::optional<std::string> error_;
  std::optional<std::string> skip_;
  enum class Phase { running, stopping, teardown } phase_ = Phase::running;
  bool all_ready_ = false;
  bool timed_out_ = false;
  bool interrupted_ = false;
};

void ScenarioRun::scenario_error(const std::string& message) {
  if (!error_) error_ = message;
  kill_everything("scenario error");
}

// Every process of the scenario's cgroups is dead, yet an output pipe may stay open: a process
// that left its cgroup (written itself into another cgroup.procs) holds it. Waiting for its end
// of file would outlast the timeout; after a short drain the pipe is closed and the run is an
// error, since what that process does can no longer be seen or judged.
void ScenarioRun::close_output_held_outside() {
  output_drain_timer_.expires_after(kOutputDrain);
  output_drain_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    for (auto& p : procs_) {
      if (!p.process || p.process->output_closed()) continue;
      event("process.output-held", p.spec->name,
            "output still open " + format_duration(kOutputDrain) +
                " after every process in the scenario's cgroups ended; closed");
      if (!error_)
        error_ = "the output of `" + p.spec->name + "` was still open " + format_duration(kOutputDrain) +
                 " after every process in the scenario's cgroups ended: a process outside them holds it "
                 "(did one move itself out of its cgroup?), so what it does cannot be judged";
      p.process->close_output();
    }
    maybe_finish();
  });
}

void ScenarioRun::add_orphan(Proc& p, pid_t pid) {
  const std::string id = std::to_string(pid) + " (";  // its name may have changed since (exec)
  if (std::none_of(p.orphans.begin(), p.orphans.end(),
                   [&](const std::string& o) { return o.starts_with(id); }))
    p.orphans.push_back(id + comm_of(pid) + ")");
}

// Before a process that is still running is killed with its cgroup: the members no longer in its
// main process's family (a daemon that double-forked) were left behind already, and the kill
// must not hide them from `no_orphans`.
void ScenarioRun::record_detached(Proc& p) {
  if (!p.process) return;
  const pid_t main_pid = p.process->pid();
  const std::size_t found_before = p.orphans.size();
  std::vector<pid_t> members;
  try {
    members = p.group->pids();
  } catch (const Error&) {
    return;  // the cgroup is gone with its processes: nothing is left to find
  }
  for (pid_t pid : members)
    if (helper_pids_.count(pid) == 0 && reparented_away(pid, main_pid)) add_orphan(p, pid);
  if (p.orphans.size() > found_before)
    event("process.orphans", p.spec->name,
          std::to_string(p.orphans.size() - found_before) + " left by the main process, killed with it");
}

// Once the run's cgroups are gone: a process that had moved itself out of them is still running.
// Its limits and faults never held for it and it escaped `no_orphans`, so the run cannot be
// judged; it is killed here, not left to outlive the harness.
void ScenarioRun::record_escapees(const ConcurrentRun& concurrent) {
  kill_escapees(backend_);
  const auto escaped = escapees_found_since(t0_);
  if (escaped.empty()) return;
  const std::string named = describe_escapees(escaped);
  event("process.escaped", {},
        std::to_string(escaped.size()) + " outside the run's cgroups, killed: " + named);
  if (error_) return;
  error_ = std::to_string(escaped.size()) +
           " process(es) left the scenario's cgroups and were still running after it ended: " + named +
           " (killed). No limit, fault or `no_orphans` check reached them";
  if (concurrent.had_company())
    *error_ += "; other scenarios ran beside this one (-j), so any of them may have started them";
}

// The CPU time the run's cgroups counted: its own, and what the cgroups of its one-shot commands
// (exec probes, `ready.exec` gates: `one_shots`, the run's share of the tally) counted, each read
// before it was removed (one cut off by the run's end is killed, reaped and read at the teardown). nullopt
// when that is not known: no cpuacct hierarchy (v1), or a one-shot command of the run whose cgroup could not
// be emptied, waited for or read.
std::optional<std::chrono::microseconds> ScenarioRun::cpu_counted(const OneShotTally& one_shots) const {
  if (!run_group_ || one_shots.started != one_shots.counted) return std::nullopt;
  try {
    const auto usage = run_group_->stats().cpu_usage_usec;
    if (!usage) return std::nullopt;
    return std::chrono::microseconds(*usage) + one_shots.cpu;
  } catch (const Error&) {
    return std::nullopt;
  }
}

// A process that moved itself out of every cgroup of the run and ended before any look could see
// it (a test's child run through `systemd-run --scope` or `cgexec`) leaves one trace: its CPU time
// came back through the waits but no cgroup of the run counted it. As PID 1 of a container the
// harness also reaps the orphans of other sessions (`docker exec`), never in a cgroup of the run.
void ScenarioRun::check_cpu_outside(const ConcurrentRun& concurrent, std::chrono::microseconds reaped_before,
                                    std::optional<std::chrono::microseconds> counted,
                                    std::uint64_t one_shot_commands) {
  if (::getpid() == 1) return;
  // What the run killed is handed to the harness, its subreaper, and must be reaped before the
  // waits are read: reaped during the next run, it would count there. Beside another run, what is
  // handed over may be that run's.
  const bool alone = !concurrent.had_company();
  const bool all_reaped = alone && reap_handed_over_within(std::chrono::seconds(2));
  const auto outside =
      cpu_outside_run_cgroups(reaped_cpu() - reaped_before, counted, alone && all_reaped, one_shot_commands);
  if (!outside || error_) return;
  error_ = "the scenario's processes used " + format_duration(*outside) +
           " of CPU outside its cgroups (a process that moved itself out, as `systemd-run --scope` or "
           "`cgexec` in a test would, and ended before faultline could see it). No limit, fault or check "
           "reached it";
  event("process.escaped", {}, *error_);
}

void ScenarioRun::kill_everything(const char* why) {
  if (phase_ == Phase::teardown) return;
  phase_ = Phase::teardown;
  duration_timer_.cancel();
  stop_timer_.cancel();
  for (auto& p : procs_) {
    if (p.grace_timer) p.grace_timer->cancel();
    if (p.started && !p.finished) record_detached(p);
  }
  if (run_group_) {
    // Inside timer handlers: the wait for an empty cgroup must not block the loop.
    async_kill_all(io_, *run_group_, [this, why = std::string(why)](std::optional<std::string> failure) {
      if (failure && !error_) error_ = "teardown after " + why + ": " + *failure;
      close_output_held_outside();
      maybe_finish();
    });
  }
  maybe_finish();
}

void ScenarioRun::prepare() {
  run_group_ = backend_.create_run(cgroup::next_run_name());
  // The caller's own limits hold the whole run, as they held faultline: the sum of its processes,
  // as in the caller's cgroup, and each process's own limit or fault below that.
  const auto kept = keep_caller_limits(callers_limits_, backend_.enclosing_limits(),
                                       [&](cgroup::Knob knob) { return !run_group_->unsupported(knob); });
  if (!kept.empty()) {
    apply_limits(*run_group_, callers_limits_);
    std::string said;
    for (const auto& k : kept) said += (said.empty() ? "" : ", ") + k;
    event("limits.caller", {},
          "the run keeps its caller's " + said +
              ": its cgroups are made outside the caller's, which would "
              "otherwise lift it");
  }
  // Made now, where a failure is the run's error with its context, not in the middle of a
  // process's start or a probe's attempt.
  const bool one_shots =
      std::any_of(scenario_.processes.begin(), scenario_.processes.end(),
                  [](const scenario::ProcessSpec& p) { return p.ready.kind == Readiness::Kind::exec; }) ||
      std::any_of(scenario_.probes.begin(), scenario_.probes.end(),
                  [](const scenario::Probe& p) { return p.kind == scenario::Probe::Kind::exec; });
  if (one_shots) side_group();
  for (const auto& spec : scenario_.processes) {
    Proc p;
    p.spec = &spec;
    for (const auto& e : scenario_.expects)
      if (e.process == spec.name) {
        p.expect = &e;
        break;
      }
    procs_.push_back(std::move(p));
  }
  for (auto& p : procs_) {
    if (auto why = unsupported_limit(*run_group_, p.spec->limits)) {
      skip_ = "process `" + p.spec->name + "`: " + *why;
      return;
    }
  }
  for (const auto& injection : scenario_.injections) {
    if (auto why = injectors::unsupported(injection, *run_group_)) {
      skip_ = "inject `" + injection.name + "`: " + *why;
      return;
    }
  }
  if (scenario_.chaos)
    for (const auto& note : scenario_.chaos->left_out) event("chaos.left-out", {}, note);
  for (auto& p : procs_) {
    p.group = run_group_->create_child(cgroup::sanitize_cgroup_name(p.spec->name));
    scenario::Limits limits = p.spec->limits;
    // Said, and not written: on v1 the kernel refuses a quota above the parent's.
    if (auto why = cpu_limit_without_effect(*run_group_, limits)) {
      event("limits.noop", p.spec->name, *why);
      limits.cpu.reset();
    }
    // Written all the same: a memory fault's limit later takes the swap limit with it.
    if (swap_limit_holds_nothing(backend_.mode(), limits))
      event("limits.noop", p.spec->name,
            "swap " + format_size(*limits.swap) +
                " holds nothing without a memory limit: cgroup v1 bounds swap only together with memory "
                "(memory.memsw.limit_in_bytes = memory + swap), so the process swaps as before until a "
                "memory fault sets one");
    try {
      apply_limits(*p.group, limits);
    } catch (const Error& e) {
      throw e.with_context("applying limits of process `" + p.spec->name + "`");
    }
  }
}

void ScenarioRun::start_eligible() {
  if (phase_ != Phase::running) return;
  for (auto& p : procs_) {
    if (p.started) continue;
    bool deps_ready = true;
    for (const auto& dep : p.spec->after) {
      // A proxy listens (see Proxies) once the processes it comes after are ready.
      const auto* proxy = scenario_.find_proxy(dep);
      const std::vector<std::string> waits = proxy ? proxy->after : std::vector<std::string>{dep};
      for (const auto& name : waits)
        for (auto& q : procs_)
          if (q.spec->name == name && !q.ready) deps_ready = false;
    }
    if (deps_ready) start(p);
    if (phase_ != Phase::running) return;
  }
}

void ScenarioRun::start(Proc& p) {
  p.started = true;
  const ProcessSpec& spec = *p.spec;
  supervisor::SpawnRequest request;
  p.argv = spec.shell ? std::vector<std::string>{"/bin/sh", "-c", *spec.shell} : spec.command;
  request.argv = p.argv;
  request.cwd = spec.cwd;
  if (!spec.clear_env) request.env = supervisor::current_environment();
  for (const auto& [key, value] : spec.env) {
    std::erase_if(request.env, [&](const std::string& e) { return e.rfind(key + "=", 0) == 0; });
    request.env.push_back(key + "=" + value);
  }
  request.nofile = spec.limits.nofile;
  try {
    if (spec.user) request.user = supervisor::resolve_user(*spec.user);
  } catch (const Error& e) {
    p.finished = true;
    scenario_error("process `" + spec.name + "`: " + e.what());
    return;
  }
  const auto attach = p.group->open_attach_fds();
  request.attach_fds = &attach;
  try {
    if (syscall_faults_) syscall_faults_->prepare_spawn(spec.name, request);
  } catch (const Error& e) {
    p.finished = true;
    scenario_error("process `" + spec.name + "`: syscall faults: " + e.what());
    return;
  }
  const auto run_pids = [this] {
    std::vector<pid_t> pids;
    for (const Proc& q : procs_) {
      if (!q.group) continue;
      try {
        const auto members = q.group->pids();
        pids.insert(pids.end(), members.begin(), members.end());
      } catch (const Error&) {
        // its cgroup is gone with its processes
      }
    }
    return pids;
  };
  if (auto taken = gate_port_taken(spec, run_pids, GateMoment::before_start)) {
    p.finished = true;
    scenario_error(*taken);
    return;
  }
  p.process = std::make_unique<SupervisedProcess>(io_, spec.name, options_.output_tail_bytes);
  try {  // output checks see every byte as it is read, not only the tail
    if (p.expect) {
      for (auto [stream, o] : {std::pair{supervisor::Stream::stdout_stream, &p.expect->stdout_expect},
                               std::pair{supervisor::Stream::stderr_stream, &p.expect->stderr_expect}})
        if (auto patterns = output_patterns(*o); !patterns.empty())
          p.process->match_output(stream, std::move(patterns));
    }
  } catch (const Error& e) {
    p.finished = true;
    scenario_error("process `" + spec.name + "`: output checks: " + e.what());
    return;
  }
  const bool ok = p.process->start(
      request, [this, &p](SupervisedProcess&) { on_exit(p); },
      // An open line too: a gate's text flushed without a newline is output all the same.
      [&p](supervisor::Stream, std::string_view line, bool) { p.readiness.on_output_line(line); },
      [this] { maybe_finish(); });
  if (syscall_faults_) syscall_faults_->spawned(spec.name);
  start_order_.push_back(&p);
  if (!ok) {
    p.finished = true;
    event("process.exit", spec.name, "failed to start: " + p.process->start_failure()->message);
    scenario_error("process `" + spec.name + "` failed to start: " + p.process->start_failure()->message);
    return;
  }
  event("process.start", spec.name, "pid " + std::to_string(p.process->pid()));
  notify([&](RunObserver& o) { o.on_process_start(*this, spec.name); });
  // An exec gate's commands run beside the run's cgroup, as exec probes do: the run's cgroup holds
  // only the scenario's processes, and the commands' CPU is read from their own cgroups.
  p.readiness = watch_readiness(
      io_, spec, spec.ready.kind == Readiness::Kind::exec ? side_group() : *run_group_,
      // A log gate's line can be read after the exit was seen: it still counts.
      {.still_wanted =
           [this, &p] {
             return !p.ready && ((!p.finished && phase_ == Phase::running) ||
                                 (p.exited_unready && p.spec->ready.kind == Readiness::Kind::log));
           },
       // A program that began to listen on the port after the process started answered too.
       .on_ready =
           [this, &p, run_pids] {
             if (auto taken = gate_port_taken(*p.spec, run_pids, GateMoment::at_pass))
               return scenario_error(*taken);
             mark_ready(p);
           },
       .on_failed = [this](const std::string& message) { scenario_error(message); }});
}

void ScenarioRun::mark_ready(Proc& p) {
  if (p.ready) return;
  p.ready = true;
  if (p.spec->ready.kind != Readiness::Kind::none) event("process.ready", p.spec->name);
  notify([&](RunObserver& o) { o.on_process_ready(*this, p.spec->name); });
  start_eligible();
  if (!all_ready_ && std::all_of(procs_.begin(), procs_.end(), [](const Proc& q) { return q.ready; }))
    on_all_ready();
}

void ScenarioRun::on_all_ready() {
  all_ready_ = true;
  notify([&](RunObserver& o) { o.on_all_ready(*this); });
  if (!scenario_.duration || phase_ != Phase::running) return;
  duration_timer_.expires_after(*scenario_.duration);
  duration_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    // With `stop` too, say which of the two began the stop phase: here the driver was cut short.
    if (scenario_.stop && phase_ == Phase::running)
      event("stop.begin", {},
            "`duration` " + format_duration(*scenario_.duration) + " ran out before `" +
                timeline::exiting_process(scenario_.stop->anchor).value_or(scenario_.stop->anchor) +
                "` exited (stop = \"" + scenario_.stop->text + "\")");
    begin_stop();
  });
}

void ScenarioRun::on_exit(Proc& p) {
  p.finished = true;
  if (p.grace_timer) p.grace_timer->cancel();
  if (const auto& wait_error = p.process->wait_error()) {
    // Not an exit: the process may still run. The scenario cannot be judged; teardown kills it.
    event("process.wait-error", p.spec->name, *wait_error);
    scenario_error("process `" + p.spec->name + "`: " + *wait_error);
    return;
  }
  event("process.exit", p.spec->name, describe_exit(*p.process->exit_status()));
  notify([&](RunObserver& o) { o.on_process_exit(*this, p.spec->name); });

  // Whatever is still in the process's cgroup once its main process is gone was left behind.
  if (!p.group->wait_until_empty(std::chrono::milliseconds(50))) {
    const std::size_t found_before = p.orphans.size();
    for (pid_t pid : p.group->pids())
      if (helper_pids_.count(pid) == 0) add_orphan(p, pid);
    if (p.orphans.size() > found_before)
      event("process.orphans", p.spec->name,
            std::to_string(p.orphans.size() - found_before) + " left, killed");
    async_kill_all(io_, *p.group, [this, &p](std::optional<std::string> failure) {
      if (failure && !error_) error_ = "killing processes left by `" + p.spec->name + "`: " + *failure;
    });
  }
  try {
    p.stats = p.group->stats();
  } catch (const Error& e) {
    if (!error_) error_ = "reading the statistics of `" + p.spec->name + "`: " + e.what();
  }

  if (phase_ == Phase::running && !p.ready) {
    p.exited_unready = true;  // judged when the run ends: a log gate may still see its line
    for (const auto& proxy : scenario_.proxies)
      if (std::find(proxy.after.begin(), proxy.after.end(), p.spec->name) != proxy.after.end()) {
        scenario_error("process `" + p.spec->name + "` " + describe_exit(*p.process->exit_status()) +
                       " before it was ready; proxy `" + proxy.name + "` waits for it");
        return;
      }
    for (const auto& q : procs_)
      for (const auto& dep : q.spec->after)
        if (dep == p.spec->name) {
          scenario_error("process `" + p.spec->name + "` " + describe_exit(*p.process->exit_status()) +
                         " before it was ready; `" + q.spec->name + "` waits for it");
          return;
        }
  }
  stop_after_exit(p);
  if (phase_ == Phase::stopping) stop_next();
  maybe_finish();
}

// `stop = "<proc>.exit[+offset]"`: the driver is done, so the rest stop as after `duration`.
// Any exit counts, a crash too: waiting on would only run into the timeout.
void ScenarioRun::stop_after_exit(const Proc& p) {
  if (!scenario_.stop || phase_ != Phase::running) return;
  if (timeline::exiting_process(scenario_.stop->anchor) != p.spec->name) return;
  const Duration offset = scenario_.stop->offset;
  const std::string why = "`" + p.spec->name + "` exited (stop = \"" + scenario_.stop->text + "\")";
  if (offset == Duration{0}) {
    event("stop.begin", {}, why);
    begin_stop();
    return;
  }
  stop_timer_.expires_after(offset);
  stop_timer_.async_wait([this, why](boost::system::error_code ec) {
    if (ec || phase_ != Phase::running) return;
    event("stop.begin", {}, why);
    begin_stop();
  });
}

void ScenarioRun::begin_stop() {
  if (phase_ != Phase::running) return;
  phase_ = Phase::stopping;
  if (syscall_faults_) syscall_faults_->stop_phase_began();
  notify([&](RunObserver& o) { o.on_stop_phase(*this); });
  stop_next();
}

// Dependents stop before what they depend on: reverse start order, one at a time.
void ScenarioRun::stop_next() {
  for (auto it = start_order_.rbegin(); it != start_order_.rend(); ++it) {
    Proc& p = **it;
    if (p.finished || p.stop_sent) {
      if (!p.finished) return;  // still waiting for this one
      continue;
    }
    p.stop_sent = true;
    event("stop.signal", p.spec->name, signal_name(p.spec->stop_signal));
    p.process->send_signal(p.spec->stop_signal);
    // A process a fault stopped (SIGSTOP, a drawn chaos signal) could not act on its stop signal
    // and would be blamed for ignoring it; continuing the stopped members after the signal (as
    // timeout(1) does) lets it shut down. Running processes ignore SIGCONT.
    if (p.spec->stop_signal != SIGKILL) {
      try {
        cgroup::signal_members(*p.group, SIGCONT, helper_pids_);
      } catch (const Error&) {
        // Its cgroup is gone with its processes: there is nothing left to continue.
      }
    }
    p.grace_timer = std::make_unique<asio::steady_timer>(io_, p.spec->stop_grace);
    p.grace_timer->async_wait([this, &p](boost::system::error_code ec) {
      if (ec || p.finished) return;
      p.killed_after_grace = true;
      event("stop.kill", p.spec->name,
            "still running after stop_grace " + format_duration(p.spec->stop_grace));
      record_detached(p);
      async_kill_all(io_, *p.group, [this, &p](std::optional<std::string> failure) {
        if (failure && !error_) error_ = "killing `" + p.spec->name + "` after its grace period: " + *failure;
      });
    });
    return;
  }
}

void ScenarioRun::maybe_finish() {
  for (const auto& p : procs_) {
    if (p.started && !p.finished) return;
    if (p.process && !p.process->output_closed()) return;
    if (!p.started && phase_ == Phase::running) return;  // still waiting for its dependencies
  }
  io_.stop();
}

// Whether the timeline sends SIGKILL to this process: then a SIGKILL death is not the OOM
// killer's unless the kernel log says so.
bool ScenarioRun::sigkill_injected_into(const Proc& p) const {
  for (const auto& injection : scenario_.injections)
    if (const auto* sig = std::get_if<scenario::SignalFault>(&injection.params))
      if (injection.into == p.spec->name && sig->signal == SIGKILL) return true;
  return false;
}

report::ProcessResult ScenarioRun::process_result(const Proc& p) const {
  report::ProcessResult r;
  r.name = p.spec->name;
  r.command = p.argv.empty() ? (p.spec->shell ? std::vector<std::string>{"/bin/sh", "-c", *p.spec->shell}
                                              : p.spec->command)
                             : p.argv;
  const auto found = helper_oom_kills_.find(p.spec->name);
  const HelperOomKills helper_ooms = found == helper_oom_kills_.end() ? HelperOomKills{} : found->second;
  r.oom_kills = p.stats.oom_kills - std::min(p.stats.oom_kills, helper_ooms.named);
  r.peak_memory_bytes = p.stats.memory_peak.value_or(p.stats.memory_current.value_or(0));
  r.peak_memory_known = p.stats.memory_peak.has_value();
  r.oom_kills_known = p.stats.oom_kills_counted && !helper_ooms.unnamed;
  r.oom_kills_unknown_why = helper_ooms.unnamed.value_or("");
  r.pids_max_events_known = p.stats.pids_max_events_counted;
  r.cpu_usage_usec = p.stats.cpu_usage_usec.value_or(0);
  r.throttled_usec = p.stats.cpu_throttled_usec.value_or(0);
  r.cpu_periods = p.stats.cpu_periods.value_or(0);
  r.throttled_periods = p.stats.cpu_throttled_periods.value_or(0);
  r.pids_max_events = p.stats.pids_max_events;
  r.orphans = p.orphans;
  if (!p.process) {
    r.outcome = "failed-to-start";
    r.start_error = p.started ? "could not be started" : "never started (a dependency was not ready)";
    return r;
  }
  const auto& sp = *p.process;
  r.pid = sp.pid();
  r.stdout_tail = sp.output(supervisor::Stream::stdout_stream).tail();
  r.stderr_tail = sp.output(supervisor::Stream::stderr_stream).tail();
  r.stdout_bytes = sp.output(supervisor::Stream::stdout_stream).total_bytes();
  r.stderr_bytes = sp.output(supervisor::Stream::stderr_stream).total_bytes();
  r.runtime_ms = ms_between(sp.started_at(), sp.exited_at());
  if (sp.start_failure()) {
    r.outcome = "failed-to-start";
    r.start_error = sp.start_failure()->message;
    return r;
  }
  if (sp.wait_error()) {
    r.outcome = "";  // unknown: the wait failed (the scenario is an error that says why)
    return r;
  }
  if (!sp.exit_status()) {
    r.outcome = "timed-out";
    return r;
  }
  const ExitStatus& st = *sp.exit_status();
  if (st.signaled)
    r.signal = st.signal;
  else
    r.exit_code = st.code;
  if (p.timed_out)
    r.outcome = "timed-out";
  else if (p.killed_after_grace)
    r.outcome = "killed-after-grace";
  else if (killed_by_oom(st, r.oom_kills, sp.pid(), sp.started_at(), sigkill_injected_into(p)))
    r.outcome = "oom-killed";
  else
    r.outcome = st.signaled ? "signaled" : "exited";
  if (p.stop_sent) {
    const auto allowed = allowed_exit_codes(p.expect);
    r.graceful = !p.killed_after_grace && !st.signaled &&
                 std::find(allowed.begin(), allowed.end(), st.code) != allowed.end();
  }
  return r;
}

void ScenarioRun::finish_result() {
  for (const auto& p : procs_) result_.processes.push_back(process_result(p));
  // A gate is a claim that the process becomes ready; one that ended first never showed it.
  for (const auto& p : procs_)
    if (!error_ && p.exited_unready && !p.ready)
      error_ = "process `" + p.spec->name + "` " + describe_exit(*p.process->exit_status()) +
               " before it was ready (its ready." + scenario::to_string(p.spec->ready.kind) +
               " gate never passed)";
  add_captured_dump(result_);
  if (error_) {
    result_.verdict = report::Verdict::error;
    result_.reason = *error_;
    return;
  }
  judge(scenario_, result_, [this](const std::string& name) {
    for (const auto& p : procs_)
      if (p.spec->name == name && p.process)
        return OutputSeen{p.process->matcher(supervisor::Stream::stdout_stream),
                          p.process->matcher(supervisor::Stream::stderr_stream)};
    return OutputSeen{};
  });
}

pid_t ScenarioRun::spawn_helper(const std::string& process, const std::vector<std::string>& argv,
                                std::function<bool(bool)> on_killed) {
  cgroup::Cgroup* group = process_group(process);
  if (!group) throw Error("cannot start a helper in `" + process + "`: it has no cgroup");
  supervisor::SpawnRequest request;
  request.argv = argv;
  request.env = supervisor::current_environment();
  const auto attach = group->open_attach_fds();
  request.attach_fds = &attach;
  auto helper = std::make_unique<SupervisedProcess>(io_, argv.front(), 4096);
  // The injector that asked for it waits for its end itself before returning to the loop.
  helper->defer_exit_watch();
  // Helpers end with the cgroup they live in, by SIGKILL from their injector's revert, or (a v1
  // squeeze's charge, when charged) with code 0. One that ends otherwise while the run goes on
  // never held its fault, and the scenario cannot pass on it: a hog whose burner thread the pids
  // limit refused exits with a code, or dies by SIGABRT where a sanitizer runtime aborts on it,
  // or the target clears its cgroup with `kill -9`. The OOM killer may choose a hog, though: the
  // neighbour it is meant to be.
  const auto on_exit = [this, process, name = argv.size() > 1 ? argv[1] : argv.front(),
                        on_killed = std::move(on_killed), started = Clock::now()](SupervisedProcess& h) {
    const auto& st = h.exit_status();
    const bool sigkill = st && st->signaled && st->signal == SIGKILL;
    // The OOM killer's choice of a helper is no OOM kill of the process: `oom_kills = ">=1"` must
    // not pass on a dead hog. Only the kernel log can tell (the counter counts any member).
    const std::optional<bool> named_in_log =
        sigkill ? kernel_log::oom_killed(h.pid(), started) : std::nullopt;
    if (named_in_log.value_or(false)) ++helper_oom_kills_[process].named;
    if (!st || phase_ != Phase::running) return;
    std::string how = describe_exit(*st);
    if (sigkill) {
      const cgroup::Cgroup* group = process_group(process);
      const bool by_oom_killer =
          killed_by_oom(*st, group ? group->stats().oom_kills : 0, named_in_log, false);
      const bool by_its_revert = on_killed && !on_killed(by_oom_killer);
      // Taken for the OOM killer's on the counter alone: the kill is in the process's count, and
      // nothing tells whether it was the helper's, so that count cannot be judged either way.
      // The first such helper is named.
      if (auto& unnamed = helper_oom_kills_[process].unnamed;
          by_oom_killer && !named_in_log && !by_its_revert && !unnamed)
        unnamed = "faultline's helper `" + name + "` (pid " + std::to_string(h.pid()) +
                  ") died of SIGKILL while the cgroup counted an OOM kill, and the kernel log, which "
                  "would say whose kill it was, cannot be read here (no /dev/kmsg, or a pid "
                  "namespace of faultline's own)";
      if (!on_killed || by_its_revert || by_oom_killer) return;
      how += ", not by the OOM killer,";
    } else if (!st->signaled && st->code == 0) {
      return;
    }
    const std::string said = last_output_line(h);
    scenario_error("helper `faultline " + name + "` in `" + process + "` " + how +
                   " while the run went on: its fault did not hold" +
                   (said.empty() ? "" : " (" + said + ")"));
  };
  if (!helper->start(request, on_exit))
    throw Error("starting helper `" + argv.front() + "` in `" + process +
                "`: " + helper->start_failure()->message);
  const pid_t pid = helper->pid();
  helper_pids_.insert(pid);
  helpers_.push_back(std::move(helper));
  return pid;
}

report::ScenarioResult ScenarioRun::run() {
  const supervisor::AdoptionWatch adoptions(io_);
  const ConcurrentRun concurrent;
  const auto reaped_before = reaped_cpu();
  const auto one_shots_before = one_shot_tally();
  t0_ = Clock::now();
  result_.name = scenario_.name;
  result_.name_as_written = report_name_as_written(scenario_);
  result_.file = scenario_.file.string();
  result_.tags = scenario_.tags;
  try {
    prepare();
    if (skip_) {
      result_.verdict = options_.strict ? report::Verdict::error : report::Verdict::skip;
      result_.reason = *skip_ + (options_.strict ? " (a skip is an error under --strict)" : "");
      run_group_->destroy();
      result_.duration_ms = ms_between(t0_, Clock::now());
      return result_;
    }
    deadline_.expires_after(scenario_.timeout);
    deadline_.async_wait([this](boost::system::error_code ec) {
      if (ec || phase_ == Phase::teardown) return;
      timed_out_ = true;
      event("timeout", {}, "scenario timeout " + format_duration(scenario_.timeout) + " reached");
      notify([&](RunObserver& o) { o.on_timeout(*this); });
      for (auto& p : procs_)
        if (p.started && !p.finished) p.timed_out = true;
      const auto& on_timeout = scenario_.on_timeout;
      if (!on_timeout.diagnose_signal) {
        kill_everything("timeout");
        return;
      }
      // Every process of the scenario gets the diagnose signal, not only the main ones: a
      // wrapper such as `go test` ignores SIGQUIT while the binary it runs must dump stacks.
      const int signalled =
          cgroup::signal_members(*run_group_, *on_timeout.diagnose_signal, helper_pids_).sent;
      event("timeout.diagnose", {},
            signal_name(*on_timeout.diagnose_signal) + " sent to " + std::to_string(signalled) +
                " process(es); capturing output for " + format_duration(on_timeout.grace));
      duration_timer_.cancel();
      deadline_.expires_after(on_timeout.grace);
      deadline_.async_wait([this](boost::system::error_code e) {
        if (!e) kill_everything("timeout");
      });
    });
    interrupt_watch_.assign(::dup(interrupt::fd()));
    interrupt_watch_.async_wait(asio::posix::stream_descriptor::wait_read,
                                [this](boost::system::error_code ec) {
                                  if (ec) return;
                                  interrupted_ = true;
                                  event("interrupted", {}, signal_name(interrupt::signal_number()));
                                  kill_everything("interrupt");
                                });
    observers_ = make_observers(scenario_, options_);
    syscall_faults_ = make_syscall_faults(scenario_, options_.seed);
    notify([&](RunObserver& o) { o.on_run_start(*this); });
    start_eligible();
    if (syscall_faults_) syscall_faults_->run_start_spawned();
    maybe_finish();
    io_.run();
    notify([&](RunObserver& o) { o.on_run_end(*this); });
    if (syscall_faults_) syscall_faults_->finish(*this);
  } catch (const std::exception& e) {
    // Whatever went wrong, the scenario becomes an error and its cgroups are still torn down.
    if (!error_) error_ = e.what();
    try {
      if (run_group_) run_group_->kill_all();
    } catch (...) {
    }
  }
  deadline_.cancel();
  output_drain_timer_.cancel();
  for (auto& p : procs_)
    if (p.process) p.process->close_output();
  // Everything the run started ends before its CPU time is read (a process still running would
  // add to it after the read), and that is read before the cgroup that counted it is gone.
  try {
    if (run_group_) run_group_->kill_all();
  } catch (const std::exception&) {
    // Removing the group below says what survived.
  }
  count_unfinished_one_shots(io_);
  const auto one_shots = one_shot_tally() - one_shots_before;  // the run's own commands
  const auto counted = cpu_counted(one_shots);
  if (side_group_) {
    try {
      side_group_->destroy();
    } catch (const std::exception&) {
      // The stale-run sweep removes what is left once this harness is gone.
    }
  }
  if (run_group_) {
    try {
      run_group_->destroy();
    } catch (const std::exception& e) {
      if (!error_) error_ = std::string("removing the scenario's cgroups: ") + e.what();
    }
  }
  record_escapees(concurrent);
  check_cpu_outside(concurrent, reaped_before, counted, one_shots.started);
  if (interrupted_) {
    result_.interrupted = true;
    if (!error_) error_ = "interrupted by " + signal_name(interrupt::signal_number());
  }
  finish_result();
  result_.duration_ms = ms_between(t0_, Clock::now());
  return result_;
}

}  // namespace

std::string report_name_as_written(const scenario::Scenario& scenario) {
  return scenario.name_across_runs != scenario.name ? scenario.name_across_runs : std::string();
}

report::ScenarioResult run_scenario(const scenario::Scenario& scenario, cgroup::Backend& backend,
                                    const RunnerOptions& options) {
  ScenarioRun run(scenario, backend, options);
  return run.run();
}

}  // namespace faultline::runner
