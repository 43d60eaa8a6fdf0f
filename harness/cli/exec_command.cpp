#include <iostream>

#include "cli/commands.h"
#include "common/units.h"
#include "runner/command_runner.h"

namespace faultline::cli {
namespace {

struct ExecArgs {
  std::string memory, memory_high, swap, cpu, timeout, stop_grace = "10s";
  std::optional<std::uint64_t> pids, nofile;
  std::vector<std::string> command;
};

template <typename T, typename Parse>
T parse_flag(const std::string& flag, const std::string& text, Parse parse) {
  std::string why;
  auto value = parse(text, &why);
  if (!value) throw CLI::ValidationError(flag, "`" + text + "`: " + why);
  return *value;
}

int exec(const ExecArgs& a) {
  runner::CommandRequest request;
  request.argv = a.command;
  if (!a.memory.empty()) request.limits.memory = parse_flag<std::uint64_t>("--memory", a.memory, parse_size);
  if (!a.memory_high.empty())
    request.limits.memory_high = parse_flag<std::uint64_t>("--memory-high", a.memory_high, parse_size);
  if (!a.swap.empty()) request.limits.swap = parse_flag<std::uint64_t>("--swap", a.swap, parse_size);
  if (!a.cpu.empty()) request.limits.cpu = parse_flag<double>("--cpu", a.cpu, parse_cpu);
  request.limits.pids = a.pids;
  request.limits.nofile = a.nofile;
  if (!a.timeout.empty()) request.timeout = parse_flag<Duration>("--timeout", a.timeout, parse_duration);
  request.stop_grace = parse_flag<Duration>("--stop-grace", a.stop_grace, parse_duration);

  cgroup::BackendOptions backend_options;
  auto backend = cgroup::open_backend(backend_options);
  backend->remove_stale_runs();
  const auto result = runner::run_command(request, *backend);
  if (!result.classification.empty()) std::cerr << result.classification << std::endl;
  return result.exit_status;
}

}  // namespace

void add_exec_command(CLI::App& app, Action* action) {
  auto a = std::make_shared<ExecArgs>();
  auto* cmd = app.add_subcommand("exec", "Run one command in a throwaway cgroup (a cgroup-aware `timeout`)");
  cmd->add_option("--memory", a->memory, "Hard memory limit, e.g. 64MiB");
  cmd->add_option("--memory-high", a->memory_high, "Memory throttle threshold (cgroup v2)");
  cmd->add_option("--swap", a->swap, "Swap limit, e.g. 0B");
  cmd->add_option("--cpu", a->cpu, "CPU limit: 50% of one CPU, 1.5 CPUs, or max");
  cmd->add_option("--pids", a->pids, "Maximum number of processes");
  cmd->add_option("--nofile", a->nofile, "RLIMIT_NOFILE (soft and hard)");
  cmd->add_option("--timeout", a->timeout, "Stop the command after this long, e.g. 30s");
  cmd->add_option("--stop-grace", a->stop_grace, "After SIGTERM, wait this long before killing the cgroup");
  cmd->add_option("command", a->command, "The command and its arguments (after --)")->required();
  cmd->positionals_at_end();
  cmd->callback([a, action] {
    *action = [a] {
      try {
        return exec(*a);
      } catch (const CLI::ValidationError& e) {
        std::cerr << "faultline exec: " << e.what() << "\n";
        return kExitUsage;
      }
    };
  });
}

}  // namespace faultline::cli
