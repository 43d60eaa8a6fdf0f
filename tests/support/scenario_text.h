// Scenario text through the loader, as the unit tests of the scenario language use it.
#pragma once

#include <cstdint>
#include <string>

#include "scenario/loader.h"
#include "syscall/rules.h"
#include "tests/support/scratch_dir.h"

namespace faultline::test {

// The smallest valid scenario: one target that runs `true`.
inline const std::string kTarget = "name = \"x\"\n[target]\ncommand = [\"true\"]\n";

// Fixed values where the CLI would ask the host: ${faultline_dir} is /opt/faultline and ports
// are handed out from 4242 up, so diagnostics and plans read the same on every machine.
inline scenario::LoadOptions fixed_load_options() {
  scenario::LoadOptions options;
  options.builtin_vars["faultline_dir"] = "/opt/faultline";
  std::uint16_t next = 4242;
  options.allocate_port = [next]() mutable { return next++; };
  return options;
}

// The tables the CLI loads scenarios with: this host's syscall and errno names.
inline scenario::LoadOptions host_load_options() {
  scenario::LoadOptions options = fixed_load_options();
  syscall::add_host_tables(options);
  return options;
}

// Every diagnostic for a scenario file holding `toml`, rendered as `s.toml:line:col: ...`, one
// per line; empty when the file is valid.
inline std::string errors_of(const std::string& toml,
                             const scenario::LoadOptions& options = fixed_load_options()) {
  ScratchDir dir;
  std::string out;
  for (scenario::Diagnostic d : scenario::validate_scenario(dir.write("s.toml", toml), options)) {
    d.file = "s.toml";
    if (!out.empty()) out += "\n";
    out += d.render();
  }
  return out;
}

inline scenario::Scenario load_text(const std::string& toml,
                                    const scenario::LoadOptions& options = fixed_load_options()) {
  ScratchDir dir;
  return scenario::load_scenario(dir.write("s.toml", toml), options);
}

}  // namespace faultline::test
