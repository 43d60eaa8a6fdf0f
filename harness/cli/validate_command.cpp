#include <iostream>

#include "cli/commands.h"
#include "scenario/loader.h"

namespace faultline::cli {
namespace {

int validate(const std::vector<std::string>& paths) {
  const auto files = expand_scenario_paths(paths);
  scenario::LoadOptions options = scenario_load_options();
  std::size_t invalid = 0, errors = 0;
  for (const auto& file : files) {
    // Ports are not held for a validation: small numbers stand in for the auto-ports, a different
    // one for each, as the run would hand out (a proxy's listen and its upstream must differ).
    options.allocate_port = [next = std::uint16_t{1}]() mutable { return next++; };
    const auto diagnostics = scenario::validate_scenario(file, options);
    if (!diagnostics.empty()) ++invalid;
    errors += diagnostics.size();
    for (const auto& d : diagnostics) std::cerr << d.render() << "\n";
  }
  if (invalid) {
    std::cerr << errors << " error(s) in " << invalid << " of " << files.size() << " file(s)\n";
    return kExitUsage;
  }
  std::cout << files.size() << " scenario file(s) valid\n";
  return kExitOk;
}

}  // namespace

void add_validate_command(CLI::App& app, Invocation* invocation) {
  auto paths = std::make_shared<std::vector<std::string>>();
  auto* cmd = app.add_subcommand("validate", "Check scenario files without running them");
  cmd->add_option("paths", *paths, "Scenario files, directories or globs")->required();
  cmd->callback([paths, invocation] { invocation->run = [paths] { return validate(*paths); }; });
}

}  // namespace faultline::cli
