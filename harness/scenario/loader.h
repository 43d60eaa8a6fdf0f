// Reads a scenario file into the model. Every problem becomes a Diagnostic at the position
// of the offending key or value; loading collects all of them before giving up.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "scenario/diagnostics.h"
#include "scenario/model.h"

namespace faultline::scenario {

struct LoadOptions {
  // Variables every scenario can use besides [vars], ${scenario_dir} and ${env:NAME},
  // e.g. faultline_dir (the folder holding the faultline executable and its helpers).
  std::map<std::string, std::string> builtin_vars;
  // Hands out a free loopback TCP port for `auto-port` variables.
  std::function<std::uint16_t()> allocate_port;
  // The host's system call and errno names (the syscall module's tables, which this module cannot
  // reach): `syscalls` and `errno` of syscall injections are checked against them, with
  // did-you-mean hints. Empty: those names are checked only when the run builds its rules.
  std::vector<std::string> syscall_names;
  std::vector<std::string> errno_names;
  // Of those, the calls a `path` glob can select (a path or fd argument) and those `fds` can
  // select (an fd argument). Empty: checked only when the run builds its rules.
  std::vector<std::string> syscalls_with_path_or_fd;
  std::vector<std::string> syscalls_with_fd;
};

// Throws LoadError with every diagnostic found in the file.
Scenario load_scenario(const std::filesystem::path& file, const LoadOptions& options = {});

// The same checks, returning the diagnostics instead of throwing (empty = valid).
std::vector<Diagnostic> validate_scenario(const std::filesystem::path& file, const LoadOptions& options = {});

// The same checks on text already in memory; `file` names it in diagnostics and is the base of
// ${scenario_dir}, but is never opened (used by the fuzzer and by tests of whole documents).
std::vector<Diagnostic> validate_scenario_text(const std::string& content, const std::filesystem::path& file,
                                               const LoadOptions& options = {});

}  // namespace faultline::scenario
