// Command-line parsing the demo programs share (CLI11): options in faultline's value syntaxes,
// and one way to end on a usage error: "<program>: <what is wrong>", the usage line, exit 2.
#pragma once

#include <CLI/CLI.hpp>
#include <optional>
#include <string>

#include "common/units.h"

namespace faultline::demo {

inline constexpr int kExitUsage = 2;

// A whole number from min to max. A bad value is refused as "<option>: wants <what>, not `text`".
CLI::Validator whole_number(long long min, long long max, const std::string& what);

// A duration in faultline's syntax ("250ms", "1m30s"), stored in `into` (whose value is the
// default); a bad value is refused with parse_duration's explanation.
CLI::Option* add_duration_option(CLI::App& app, const std::string& name, Duration& into,
                                 const std::string& description);

// Parses argv. Returns nullopt when the program goes on, otherwise its exit code: 0 after
// --help, kExitUsage after a usage error (printed to stderr with `usage`).
std::optional<int> parse_command_line(CLI::App& app, int argc, char** argv, const std::string& usage);

}  // namespace faultline::demo
