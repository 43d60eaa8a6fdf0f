// `${name}` expansion in scenario strings.
//   ${name}          a [vars] entry or a built-in (scenario_dir, LoadOptions::builtin_vars)
//   ${env:NAME}      the harness's environment; unset is an error, not an empty string
//   $${              a literal "${" (so "$${HOME}" stays "${HOME}"); any other `$` is literal
// [vars] values may refer to other variables; "auto-port" allocates a free loopback TCP port
// once per variable, so every use of ${port} sees the same number.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace faultline::scenario {

// Binds a TCP socket to 127.0.0.1:0 and returns the port the kernel chose (the socket is closed,
// so another process could take the port before the target binds it: good enough for tests).
std::uint16_t allocate_loopback_port();

class Variables {
 public:
  Variables(std::map<std::string, std::string> builtins, std::function<std::uint16_t()> allocate_port);

  // A [vars] entry. Throws Error when "auto-port" cannot allocate a port.
  void define(const std::string& name, const std::string& raw_value);
  bool is_builtin(const std::string& name) const { return builtins_.contains(name); }

  // The expanded text, or nullopt with `error` (and maybe `hint`) set. `error` is left empty when
  // the failure is a [vars] entry whose own error was already returned once.
  std::optional<std::string> expand(std::string_view text, std::string* error, std::string* hint = nullptr);

 private:
  std::optional<std::string> value_of(const std::string& name, std::string* error, std::string* hint);
  std::vector<std::string> names() const;

  std::map<std::string, std::string> builtins_;
  std::function<std::uint16_t()> allocate_port_;
  std::map<std::string, std::string> raw_;
  std::map<std::string, std::string> resolved_;
  std::vector<std::string> resolving_;  // the chain being expanded, to name a cycle
  std::set<std::string> failed_;
};

}  // namespace faultline::scenario
