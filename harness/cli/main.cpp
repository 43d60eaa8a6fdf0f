// faultline: reproduce OOM kills, fd exhaustion, CPU starvation, hangs and bad shutdowns on
// purpose, each target in its own throwaway cgroup.
#include <exception>
#include <iostream>
#include <string>

#include "cgroup/backend.h"
#include "cli/commands.h"
#include "common/error.h"
#include "runner/command_runner.h"

namespace {

// The error stays one line, whatever the exception carried.
std::string one_line(std::string text) {
  for (char& c : text)
    if (c == '\n' || c == '\r') c = ' ';
  return text;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace faultline;
  CLI::App app{"faultline: stress-test and fault-injection harness"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("faultline ") + FAULTLINE_VERSION);
  cli::Action action;
  cli::add_run_command(app, &action);
  cli::add_exec_command(app, &action);
  cli::add_validate_command(app, &action);
  cli::add_doctor_command(app, &action);
  cli::add_cleanup_command(app, &action);
  cli::add_report_command(app, &action);
  cli::add_plan_command(app, &action);
  cli::add_schema_command(app, &action);
  cli::add_hog_command(app, &action);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    if (rc == 0) return 0;
    // `exec` stands in for timeout(1), whose own failures exit 125: a usage error must not pass for the
    // command exiting 2.
    if (app.get_subcommand("exec")->parsed()) return runner::kExecFailed;
    return cli::kExitUsage;
  }
  try {
    return action();
  } catch (const cli::UsageError& e) {
    std::cerr << "faultline: " << e.what() << "\n";
    return cli::kExitUsage;
  } catch (const cgroup::HostError& e) {
    std::cerr << "faultline: this host cannot run scenarios: " << e.what() << "\n";
    return cli::kExitHost;
  } catch (const Error& e) {
    std::cerr << "faultline: " << e.what() << "\n";
    return cli::kExitFailed;
  } catch (const std::exception& e) {
    // Anything else (a filesystem_error on an unreadable directory, bad_alloc, ...) still ends
    // here rather than in std::terminate: being caught unwinds the stack, so every cgroup and
    // process the run owns is torn down by its destructor before we exit.
    std::cerr << "faultline: internal error: " << one_line(e.what()) << "\n";
    return cli::kExitInternal;
  } catch (...) {
    std::cerr << "faultline: internal error: an exception of unknown type\n";
    return cli::kExitInternal;
  }
}
