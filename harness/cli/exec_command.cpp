#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <iostream>

#include "cli/commands.h"
#include "cli/report_facts.h"
#include "cli/report_outputs.h"
#include "common/units.h"
#include "reports/json_writer.h"
#include "runner/command_runner.h"
#include "runner/limits.h"
#include "scenario/spec.h"
#include "supervisor/fd_limit.h"

namespace faultline::cli {
namespace {

struct ExecArgs {
  std::string memory, memory_high, swap, cpu, timeout;
  std::string signal = "TERM", kill_after = "10s", diagnose, grace = "3s";
  std::string pids, nofile;
  bool preserve_status = false, summary = false;
  std::string json_path, cgroup_root;
  std::vector<std::string> command;
};

template <typename T, typename Parse>
T parse_flag(const std::string& flag, const std::string& text, Parse parse) {
  std::string why;
  auto value = parse(text, &why);
  if (!value) throw UsageError(flag + " `" + text + "`: " + why);
  return *value;
}

// CLI11 2.1 lists only options and positionals in a usage line, and exec's command is neither.
class ExecUsage : public CLI::Formatter {
 public:
  std::string make_usage(const CLI::App* app, std::string name) const override {
    std::string usage = CLI::Formatter::make_usage(app, std::move(name));
    if (!usage.empty() && usage.back() == '\n') usage.pop_back();
    return usage + " [--] COMMAND [ARG...]\n";
  }
};

bool bare_number(std::string_view text) {
  return text.find_first_of("0123456789") != std::string_view::npos &&
         text.find_first_not_of("0123456789.") == std::string_view::npos &&
         std::count(text.begin(), text.end(), '.') <= 1;
}

// timeout(1) reads a bare number as seconds (`timeout 30`, `-k 5`, `.5`) and takes days (`1d`,
// `1.5d`); so does exec, for every duration flag. A scenario file still needs one of its own
// units (docs/scenarios.md), which stop at hours.
std::optional<Duration> parse_flag_duration(std::string_view text, std::string* why) {
  const bool days = text.size() > 1 && text.back() == 'd' && bare_number(text.substr(0, text.size() - 1));
  if (days) text.remove_suffix(1);
  if (!bare_number(text)) return parse_duration(text, why);
  std::string number(text);
  if (number.front() == '.') number.insert(0, "0");  // ".5"
  if (number.back() == '.') number.pop_back();       // "1."
  const std::string read_as = number + (days ? "h x 24" : "s");
  std::string problem;
  auto value = parse_duration(number + (days ? "h" : "s"), &problem);
  if (value && days && *value > kMaxDuration / 24) {
    value.reset();
    problem = "too large; durations go up to " + format_duration(kMaxDuration) + " (365 days)";
  }
  if (value && days) *value *= 24;
  if (!value && why) *why = "read as " + read_as + ", " + problem;
  return value;
}

// A whole-number limit within the bounds the scenario key of the same name has (a plain
// conversion let 2^64+1 through as no limit at all, and the kernel's EINVAL came only at run time).
std::uint64_t limit_flag(const std::string& flag, std::string_view key, const std::string& text) {
  const auto* spec = scenario::spec::limits_spec().find(key);
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  const bool parsed = !text.empty() && ec == std::errc() && end == text.data() + text.size();
  if (!parsed || value < static_cast<std::uint64_t>(spec->min) ||
      value > static_cast<std::uint64_t>(spec->max))
    throw UsageError(
        flag + " `" + text + "`: expected a whole number from " + std::to_string(spec->min) + " to " +
        std::to_string(spec->max) +
        (spec->bound_reason.empty() ? std::string() : " (" + std::string(spec->bound_reason) + ")"));
  return value;
}

// A quota of as many CPUs as the command may run on, or more, never throttles it (as a CPU fault's
// in a scenario, which then fails as one that took no effect), and `--cpu 50`, meant as 50%, would
// run a CPU-starvation test with no limit at all, to a pass that proves nothing. Said, not
// refused: `--cpu 4` in a CI file shared by hosts of 2 and 8 CPUs is a limit on the larger ones.
void warn_of_unthrottling_cpu(const std::string& flag_text, double cpus) {
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  const long usable = ::sched_getaffinity(0, sizeof allowed, &allowed) == 0 ? CPU_COUNT(&allowed)
                                                                            : ::sysconf(_SC_NPROCESSORS_ONLN);
  if (std::isinf(cpus) || usable <= 0 || cpus < static_cast<double>(usable)) return;
  const bool bare = flag_text.find('%') == std::string::npos;
  std::cerr << "faultline: --cpu " << flag_text << " is " << format_cpu(cpus)
            << " of one CPU, and the command "
            << "may run on " << usable << " CPU(s): it will not throttle the command"
            << (bare ? " (a share of one CPU is written with %, e.g. --cpu 50%)" : "") << "\n";
}

// The words before a `--` that CLI11 did not take as options, then what followed the `--`.
std::vector<std::string> command_as_typed(std::vector<std::string> before,
                                          const std::optional<std::vector<std::string>>& after_separator) {
  // prefix_command passes an unknown option on instead of refusing it: `--bogus` would be run.
  if (!before.empty() && before.front().size() > 1 && before.front().front() == '-')
    throw CLI::ExtrasError("exec", {before.front()});
  if (after_separator) {
    if (!before.empty()) before.push_back("--");  // `exec sh -c 'x' -- y`: that `--` is the command's
    before.insert(before.end(), after_separator->begin(), after_separator->end());
  }
  if (before.empty()) throw CLI::RequiredError("COMMAND (give the command to run after --)");
  return before;
}

report::RunReport one_run_report(const runner::CommandResult& result, cgroup::Mode mode,
                                 const std::string& started) {
  report::RunReport report;
  report.tool_version = FAULTLINE_VERSION;
  report.host = host_info(mode);
  report.started = started;
  report.duration_ms = result.report.duration_ms;
  report.interrupted = result.report.interrupted;
  report.scenarios.push_back(result.report);
  return report;
}

// Ends faultline by `signo`, as timeout(1) ends by the signal that killed its command: with core
// dumps off (the command's crash is no crash of faultline's) and the signal's default action.
// Returns only where that action does not end a process.
void end_by_signal(int signo) {
  std::cout << std::flush;
  std::cerr << std::flush;
  const rlimit no_core{0, 0};
  ::setrlimit(RLIMIT_CORE, &no_core);
  ::signal(signo, SIG_DFL);
  sigset_t only;
  sigemptyset(&only);
  sigaddset(&only, signo);
  ::sigprocmask(SIG_UNBLOCK, &only, nullptr);
  ::raise(signo);
}

int exec(const ExecArgs& a) {
  runner::CommandRequest request;
  // First, before faultline opens a file of its own: what the caller handed down.
  request.pass_fds = supervisor::open_fds_above_stdio();
  request.argv = a.command;
  if (!a.memory.empty()) request.limits.memory = parse_flag<std::uint64_t>("--memory", a.memory, parse_size);
  if (!a.memory_high.empty())
    request.limits.memory_high = parse_flag<std::uint64_t>("--memory-high", a.memory_high, parse_size);
  if (!a.swap.empty()) request.limits.swap = parse_flag<std::uint64_t>("--swap", a.swap, parse_size);
  if (!a.cpu.empty()) {
    request.limits.cpu = parse_flag<double>("--cpu", a.cpu, parse_cpu);
    if (auto problem = cpu_quota_problem(*request.limits.cpu, kDefaultCpuPeriod))
      throw UsageError("--cpu " + a.cpu + ": " + problem->what + " (use a quota of at least " +
                       format_cpu(static_cast<double>(kMinCpuQuota.count()) / kDefaultCpuPeriod.count()) +
                       ")");
  }
  if (request.limits.cpu) warn_of_unthrottling_cpu(a.cpu, *request.limits.cpu);
  if (!a.pids.empty()) request.limits.pids = limit_flag("--pids", "pids", a.pids);
  if (!a.nofile.empty()) request.limits.nofile = limit_flag("--nofile", "nofile", a.nofile);
  // As timeout(1), 0 disables the timeout.
  if (!a.timeout.empty()) request.timeout = parse_flag<Duration>("--timeout", a.timeout, parse_flag_duration);
  // Only a 0 as written: `0.0000000001` rounds to 0ns, and would lift the limit instead.
  if (request.timeout == Duration::zero()) {
    if (a.timeout.find_first_of("123456789") == std::string::npos)
      request.timeout.reset();
    else
      request.timeout = Duration(1);
  }
  request.timeout_signal = parse_flag<int>("--signal", a.signal, parse_signal);
  request.kill_after = parse_flag<Duration>("--kill-after", a.kill_after, parse_flag_duration);
  // timeout(1) reads -k 0 as "never send KILL"; here it would mean at once, with the stop signal.
  if (request.kill_after == Duration::zero())
    throw UsageError("--kill-after " + a.kill_after +
                     ": give the time the command has to stop before the SIGKILL, e.g. 100ms "
                     "(timeout(1) reads 0 as never; faultline always ends the command's cgroup)");
  if (!a.diagnose.empty()) request.diagnose_signal = parse_flag<int>("--diagnose", a.diagnose, parse_signal);
  // Without a timeout there is nothing to diagnose: silently ignored, it would look armed.
  if (request.diagnose_signal && !request.timeout)
    throw UsageError("--diagnose " + a.diagnose + " is sent at the timeout: " +
                     (a.timeout.empty()
                          ? std::string("give --timeout too")
                          : "--timeout " + a.timeout + " means no timeout, so it would never be sent"));
  request.diagnose_grace = parse_flag<Duration>("--grace", a.grace, parse_flag_duration);
  request.preserve_status = a.preserve_status;
  request.measure_all = a.summary || !a.json_path.empty();
  if (!a.json_path.empty()) check_report_path("--json", a.json_path);

  cgroup::BackendOptions backend_options;
  if (!a.cgroup_root.empty()) backend_options.root = a.cgroup_root;
  if (auto problem = cgroup::cgroup_root_problem(backend_options)) throw UsageError(*problem);
  auto backend = cgroup::open_backend(backend_options);
  // Without a memory limit, a swap limit would be written as "unlimited" and the command would
  // swap as before.
  if (runner::swap_limit_holds_nothing(backend->mode(), request.limits))
    throw UsageError("--swap " + a.swap +
                     " needs a --memory limit on this host: cgroup v1 bounds swap only together with memory "
                     "(memory.memsw.limit_in_bytes = memory + swap)");
  say_stale_runs(backend->remove_stale_runs(cgroup::Backend::StaleScan::at_start));
  const std::string started = utc_now_iso();
  const auto result = runner::run_command(request, *backend);
  for (const auto& line : result.messages) std::cerr << line << "\n";
  if (a.summary) std::cerr << runner::summary_line(result) << "\n";
  std::cerr << std::flush;
  if (!a.json_path.empty()) report::write_json(one_run_report(result, backend->mode(), started), a.json_path);
  if (result.end_by_signal) end_by_signal(*result.end_by_signal);
  return result.exit_status;
}

}  // namespace

void add_exec_command(CLI::App& app, Invocation* invocation) {
  auto a = std::make_shared<ExecArgs>();
  auto* cmd = app.add_subcommand("exec", "Run one command in a throwaway cgroup (a cgroup-aware `timeout`)");
  cmd->add_option("--memory", a->memory, "Hard memory limit, e.g. 64MiB");
  cmd->add_option("--memory-high", a->memory_high, "Memory throttle threshold (cgroup v2)");
  cmd->add_option("--swap", a->swap, "Swap limit, e.g. 0B");
  cmd->add_option("--cpu", a->cpu, "CPU limit: 50% of one CPU, 1.5 CPUs, or max");
  cmd->add_option("--pids", a->pids, "Maximum number of processes (1 to 4194304)");
  cmd->add_option("--nofile", a->nofile, "RLIMIT_NOFILE, soft and hard (1 to fs.nr_open)");
  cmd->add_option(
      "--timeout", a->timeout,
      "Stop the command after this long, e.g. 30s, 5m, 1d or 30 (seconds) (exit 124); 0 for no limit");
  cmd->add_option("-s,--signal", a->signal, "Signal sent to every process at the timeout (default TERM)");
  cmd->add_option("-k,--kill-after,--stop-grace", a->kill_after,
                  "After that signal, wait this long, then SIGKILL the whole cgroup (default 10s)");
  cmd->add_option(
      "--diagnose", a->diagnose,
      "At the timeout, first send this signal to every process (e.g. QUIT: Go dumps its goroutines)");
  cmd->add_option("--grace", a->grace, "How long the --diagnose signal's output gets (default 3s)");
  cmd->add_flag("--preserve-status", a->preserve_status,
                "Exit with the command's status even when it timed out, not 124");
  cmd->add_option("--json", a->json_path, "Write the run as a JSON report (faultline-report/1) to this file");
  cmd->add_option("--cgroup-root", a->cgroup_root, "Parent cgroup for the throwaway cgroup (default: auto)");
  cmd->add_flag(
      "-v,--summary", a->summary,
      "Print one line at the end, also on success: runtime, peak memory, CPU, throttling, OOM kills");
  // `--timeout "$UNSET"` is refused: an empty value read as "not given" would run a CI job without
  // the limit it asks for.
  const CLI::Validator not_empty(
      [](std::string& value) {
        return value.empty() ? std::string("an empty value: give one or leave it out") : "";
      },
      "");
  for (CLI::Option* option : cmd->get_options())
    if (option->get_type_size_max() > 0) option->check(not_empty);
  // The command is taken as typed, never by CLI11's option parsing, which reads an argument in
  // brackets as a list ("[ -s log ]", "test_x[case1]"): the words after `--` come from main
  // (Invocation::after_separator), and without a `--` prefix_command leaves the words from the
  // first one that is not an option on to remaining() as they are.
  cmd->prefix_command();
  cmd->formatter(std::make_shared<ExecUsage>());
  cmd->footer(
      "COMMAND: the command and its arguments, after -- (or from the first word that is not an option "
      "on), run exactly as typed\n");
  cmd->callback([a, cmd, invocation] {
    a->command = command_as_typed(cmd->remaining(), invocation->after_separator);
    invocation->run = [a] {
      // Like timeout(1), 125 says that faultline itself failed, never the command.
      try {
        return exec(*a);
      } catch (const cgroup::HostError& e) {
        std::cerr << "faultline exec: this host cannot run the command: " << e.what() << "\n";
      } catch (const std::exception& e) {
        std::cerr << "faultline exec: " << e.what() << "\n";
      }
      return runner::kExecFailed;
    };
  });
}

}  // namespace faultline::cli
