// `faultline schema`: the JSON Schema of the scenario format, generated from the same key
// table the loader checks against, for editor completion (taplo, Even Better TOML).
#include <iostream>

#include "cli/commands.h"
#include "scenario/schema.h"

namespace faultline::cli {

void add_schema_command(CLI::App& app, Invocation* invocation) {
  auto* cmd = app.add_subcommand("schema", "Print the JSON Schema of the scenario format (for editors)");
  cmd->callback([invocation] {
    invocation->run = [] {
      std::cout << scenario::scenario_json_schema() << std::flush;
      return kExitOk;
    };
  });
}

}  // namespace faultline::cli
