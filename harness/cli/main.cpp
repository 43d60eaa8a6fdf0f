// faultline: reproduce OOM kills, fd exhaustion, CPU starvation, hangs and bad shutdowns on
// purpose, each target in its own throwaway cgroup.
#include <fcntl.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <exception>
#include <iostream>
#include <string>

#include "cgroup/backend.h"
#include "cli/commands.h"
#include "common/error.h"
#include "runner/command_runner.h"
#include "supervisor/fd_limit.h"

namespace {

// The error stays one line, whatever the exception carried.
std::string one_line(std::string text) {
  for (char& c : text)
    if (c == '\n' || c == '\r') c = ' ';
  return text;
}

struct Subcommand {
  const char* name;
  void (*add)(CLI::App&, faultline::cli::Invocation*);
};

constexpr Subcommand kSubcommands[] = {
    {"run", faultline::cli::add_run_command},           {"exec", faultline::cli::add_exec_command},
    {"validate", faultline::cli::add_validate_command}, {"doctor", faultline::cli::add_doctor_command},
    {"cleanup", faultline::cli::add_cleanup_command},   {"report", faultline::cli::add_report_command},
    {"plan", faultline::cli::add_plan_command},         {"schema", faultline::cli::add_schema_command},
    {"hog", faultline::cli::add_hog_command},
};

// Registers only the subcommand argv[1] names: `exec` stands in front of every CI test command,
// and building the options of all nine costs it a measurable share of its start. Anything else
// (--help, a typo, no argument) gets all of them, so help and errors read as before; a bare
// --version needs none.
void add_subcommands(CLI::App& app, faultline::cli::Invocation* invocation, int argc, char** argv) {
  if (argc == 2 && std::strcmp(argv[1], "--version") == 0) return;
  for (const auto& sub : kSubcommands) {
    if (argc > 1 && std::strcmp(argv[1], sub.name) == 0) {
      sub.add(app, invocation);
      return;
    }
  }
  for (const auto& sub : kSubcommands) sub.add(app, invocation);
}

// `exec` runs the words after its `--` exactly as typed, so CLI11 is given only the words before
// it (see cli::Invocation). The other subcommands read `--` as CLI11 does: paths may follow it.
int split_at_separator(int argc, char** argv, faultline::cli::Invocation* invocation) {
  if (argc < 2 || std::strcmp(argv[1], "exec") != 0) return argc;
  for (int i = 2; i < argc; ++i)
    if (std::strcmp(argv[i], "--") == 0) {
      invocation->after_separator.emplace(argv + i + 1, argv + argc);
      return i;
    }
  return argc;
}

// Started with stdin, stdout or stderr closed (`<&-`), the harness would hand those numbers to its
// own files (its event loop's, a cgroup.procs, a target's pipe), and a target's stdio set up on
// 0-2 would replace them in the child, or a target would inherit one of them. So each of the
// three is open before anything else, on /dev/null when the caller closed it.
void open_closed_standard_fds() {
  for (int fd = 0; fd < 3; ++fd)
    if (::fcntl(fd, F_GETFD) == -1 && errno == EBADF) ::open("/dev/null", O_RDWR);  // takes `fd`
}

// Two dispositions the caller may hand down that the harness cannot work with. SIGCHLD ignored
// (some CI runners and `trap '' CHLD` do that) makes the kernel reap the harness's children, so it
// could not wait for the command and would fail every run (timeout(1) resets it as well).
// SIGPIPE at its default ends the harness at its first write to a closed stdout or stderr
// (`faultline exec ... 2>&1 | head`) before it wrote its report or said how the command ended:
// ignored, the write fails and the run goes on. Every target starts with both at their defaults
// (supervisor/spawn.cpp).
void set_own_signal_dispositions() {
  ::signal(SIGCHLD, SIG_DFL);
  ::signal(SIGPIPE, SIG_IGN);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace faultline;
  open_closed_standard_fds();
  set_own_signal_dispositions();
  supervisor::raise_own_fd_limit();
  CLI::App app{"faultline: stress-test and fault-injection harness"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("faultline ") + FAULTLINE_VERSION);
  cli::Invocation invocation;
  add_subcommands(app, &invocation, argc, argv);
  const int words_for_cli11 = split_at_separator(argc, argv, &invocation);
  try {
    app.parse(words_for_cli11, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    if (rc == 0) return 0;
    for (const auto& hook : invocation.on_parse_error) hook();
    // `exec` stands in for timeout(1), whose own failures exit 125: a usage error must not pass for the
    // command exiting 2.
    const auto exec = app.get_subcommands([](CLI::App* sub) { return sub->get_name() == "exec"; });
    if (!exec.empty() && exec.front()->parsed()) return runner::kExecFailed;
    return cli::kExitUsage;
  }
  try {
    return invocation.run();
  } catch (const cli::UsageError& e) {
    std::cerr << "faultline: " << e.what() << "\n";
    return cli::kExitUsage;
  } catch (const cgroup::InsideAnotherRun& e) {
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
