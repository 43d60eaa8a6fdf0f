// `${name}` expansion in scenario strings.
//   ${name}          a [vars] entry or a built-in (scenario_dir, LoadOptions::builtin_vars)
//   ${env:NAME}      the harness's environment; unset is an error, not an empty string
//   $${              a literal "${" (so "$${HOME}" stays "${HOME}"); any other `$` is literal
// [vars] values may refer to other variables; "auto-port" allocates a free loopback TCP port
// once per variable, so every use of ${port} sees the same number.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace faultline::scenario {

// A loopback TCP port for an `auto-port` variable, free when handed out. Ports come from below
// the kernel's ephemeral range (net.ipv4.ip_local_port_range), so bind(0) and outgoing
// connections elsewhere never take them in the meantime. A process-wide registry never hands
// the same port out twice, and an abstract unix socket "@faultline-port-<N>" held by this
// process claims the port against other faultline processes on the host (the most recent
// kPortClaimsHeld claims stay held; older ones are released). Thread-safe. Throws Error when
// no candidate is free.
std::uint16_t allocate_loopback_port();
inline constexpr std::size_t kPortClaimsHeld = 256;

class Variables {
 public:
  Variables(std::map<std::string, std::string> builtins, std::function<std::uint16_t()> allocate_port);

  // A [vars] entry. Throws Error when "auto-port" cannot allocate a port.
  void define(const std::string& name, const std::string& raw_value);
  bool is_builtin(const std::string& name) const { return builtins_.contains(name); }

  // The expanded text, or nullopt with `error` (and maybe `hint`) set. `error` is left empty when
  // the failure is a [vars] entry whose own error was already returned once.
  std::optional<std::string> expand(std::string_view text, std::string* error, std::string* hint = nullptr);
  // The same, but a variable whose value comes from an `auto-port` (itself, or a [vars] entry
  // that uses one) stays `${name}`: the text as every run of the scenario has it. Nullopt
  // where expand() fails.
  std::optional<std::string> expand_keeping_ports(std::string_view text);

 private:
  std::optional<std::string> value_of(const std::string& name, std::string* error, std::string* hint);
  std::vector<std::string> names() const;

  std::map<std::string, std::string> builtins_;
  std::function<std::uint16_t()> allocate_port_;
  std::map<std::string, std::string> raw_;
  std::map<std::string, std::string> resolved_;
  std::vector<std::string> resolving_;  // the chain being expanded, to name a cycle
  std::set<std::string> failed_;
  bool keeping_ports_ = false;  // inside expand_keeping_ports
};

}  // namespace faultline::scenario
