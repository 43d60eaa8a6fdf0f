// The subcommands of the faultline executable. Each registers its options on the CLI11 app
// and returns the process exit status (see docs/cli.md for the meaning of each status).
#pragma once

#include <CLI/CLI.hpp>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/error.h"
#include "scenario/loader.h"

namespace faultline::cli {

// Bad command-line input (a path that does not exist, a malformed flag value): exit 2.
class UsageError : public Error {
 public:
  using Error::Error;
};

// Exit statuses shared by every command.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitHost = 3;
// faultline itself failed on something it did not expect (a filesystem_error such as an
// unreadable directory, out of memory): one line on stderr, after the run was torn down.
inline constexpr int kExitInternal = 4;
inline constexpr int kExitInterrupted = 130;

// What the parsed command line asks for. Each add_*_command registers its options on the CLI11
// app and sets `run`, the function that carries the subcommand out, once parsed.
using Action = std::function<int()>;
struct Invocation {
  Action run;
  // The words after the first `--`, exactly as typed (nullopt without a `--`). main gives CLI11
  // only the words before it: CLI11 reads an argument in brackets as a list and splits it, so
  // `exec -- sh -c '[ -s log ]'` would have run `sh -c ' -s log '`.
  std::optional<std::vector<std::string>> after_separator;
  // Run by main when CLI11 refuses the command line (exit 2): a subcommand that writes reports
  // empties what an earlier run left there, as it would have before doing anything else.
  std::vector<std::function<void()>> on_parse_error;
};
void add_run_command(CLI::App& app, Invocation* invocation);
void add_exec_command(CLI::App& app, Invocation* invocation);
void add_validate_command(CLI::App& app, Invocation* invocation);
void add_doctor_command(CLI::App& app, Invocation* invocation);
void add_cleanup_command(CLI::App& app, Invocation* invocation);
void add_report_command(CLI::App& app, Invocation* invocation);
void add_plan_command(CLI::App& app, Invocation* invocation);
void add_schema_command(CLI::App& app, Invocation* invocation);
void add_hog_command(CLI::App& app, Invocation* invocation);  // hidden helper mode of the hog injection

// Helpers shared by the commands.
std::string faultline_dir();  // folder of this executable (its helpers live beside it)
// What every command loads scenarios with: ${faultline_dir} and the host's syscall and errno names.
scenario::LoadOptions scenario_load_options();
std::vector<std::string> expand_scenario_paths(const std::vector<std::string>& paths);  // files, dirs, globs
// Where a chain of symlinks at `path` leads, whether or not that exists; `path` when it is none.
std::filesystem::path follow_symlinks(std::filesystem::path path);
// One key per file, whatever the spelling: `./r.json`, `r.json` and a symlink to it (even a
// dangling one, whose target a writer would create) give the same.
std::filesystem::path same_file_key(const std::string& path);
// --seed: a whole number from 0 to 2^64-1, as typed (a plain conversion turns -1 and 2^64 into
// 2^64-1 without a word, and the replay seed printed would not be the one typed).
CLI::Validator seed_validator();

}  // namespace faultline::cli
