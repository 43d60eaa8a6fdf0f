#include <sys/utsname.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <iostream>

#include "cgroup/backend.h"
#include "cli/commands.h"
#include "common/interrupt.h"
#include "reports/console_writer.h"
#include "reports/json_writer.h"
#include "runner/scenario_runner.h"
#include "scenario/loader.h"

namespace faultline::cli {
namespace {

struct RunArgs {
  std::vector<std::string> paths;
  std::string json_path;
  bool strict = false;
  std::string cgroup_root;
};

std::string utc_now_iso() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

report::HostInfo host_info(cgroup::Mode mode) {
  report::HostInfo host;
  host.cgroup = cgroup::to_string(mode);
  utsname u{};
  if (::uname(&u) == 0) host.kernel = u.release;
  host.cpus = static_cast<int>(::sysconf(_SC_NPROCESSORS_ONLN));
  return host;
}

scenario::LoadOptions load_options() {
  scenario::LoadOptions options;
  options.builtin_vars["faultline_dir"] = faultline_dir();
  return options;
}

int run(const RunArgs& args) {
  const auto files = expand_scenario_paths(args.paths);
  std::vector<scenario::Scenario> scenarios;
  bool invalid = false;
  for (const auto& file : files) {
    try {
      scenarios.push_back(scenario::load_scenario(file, load_options()));
    } catch (const scenario::LoadError& e) {
      invalid = true;
      for (const auto& d : e.diagnostics()) std::cerr << d.render() << "\n";
    }
  }
  if (invalid) {
    std::cerr << "faultline: invalid scenario files; nothing was run\n";
    return kExitUsage;
  }

  cgroup::BackendOptions backend_options;
  if (!args.cgroup_root.empty()) backend_options.root = args.cgroup_root;
  auto backend = cgroup::open_backend(backend_options);
  for (const auto& stale : backend->remove_stale_runs())
    std::cerr << "faultline: removed cgroup " << stale << " left by a harness that is gone\n";

  interrupt::install();
  report::RunReport report;
  report.tool_version = FAULTLINE_VERSION;
  report.host = host_info(backend->mode());
  report.started = utc_now_iso();
  const auto t0 = std::chrono::steady_clock::now();
  runner::RunnerOptions options;
  options.strict = args.strict;
  for (const auto& s : scenarios) {
    if (interrupt::requested()) break;
    auto result = runner::run_scenario(s, *backend, options);
    std::cout << report::console_line(result) << "\n" << report::console_details(result) << std::flush;
    report.scenarios.push_back(std::move(result));
  }
  report.duration_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  report.interrupted = interrupt::requested();
  if (!args.json_path.empty()) report::write_json(report, args.json_path);
  const auto summary = report.summary();
  std::cout << report::summary_line(summary) << std::endl;
  if (report.interrupted) return kExitInterrupted;
  return summary.failed + summary.errors > 0 ? kExitFailed : kExitOk;
}

}  // namespace

void add_run_command(CLI::App& app, Action* action) {
  auto args = std::make_shared<RunArgs>();
  auto* cmd = app.add_subcommand("run", "Run scenario files, directories (recursively *.toml) or globs");
  cmd->add_option("paths", args->paths, "Scenario files, directories or globs")->required();
  cmd->add_option("--json", args->json_path, "Write the JSON report (faultline-report/1) to this file");
  cmd->add_flag("--strict", args->strict, "A skipped scenario counts as an error");
  cmd->add_option("--cgroup-root", args->cgroup_root, "Parent cgroup for throwaway cgroups (default: auto)");
  cmd->callback([args, action] { *action = [args] { return run(*args); }; });
}

}  // namespace faultline::cli
