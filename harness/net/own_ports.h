// The local TCP ports of the connections faultline itself makes (probes and readiness checks).
// A proxy counts a connection from one of them as the harness looking, not as the client
// meeting a fault: a network fault that only faultline's own probe ran into never fired on the
// client, whose claim the scenario tests.
#pragma once

#include <cstdint>

namespace faultline::net {

// Holds `port` in the set for as long as it lives (a dialer binds before it connects, so the
// port is known before the proxy can accept the connection).
class OwnPort {
 public:
  OwnPort() = default;
  explicit OwnPort(std::uint16_t port);
  ~OwnPort();
  OwnPort(OwnPort&& other) noexcept;
  OwnPort& operator=(OwnPort&& other) noexcept;
  OwnPort(const OwnPort&) = delete;
  OwnPort& operator=(const OwnPort&) = delete;

 private:
  std::uint16_t port_ = 0;  // 0: holds none
};

// Whether a connection of faultline's own comes from `port` (any thread, any run of this process):
// a port held now, or let go less than 10 s ago (a probe's connect may be looked at after it closed).
bool is_own_port(std::uint16_t port);

}  // namespace faultline::net
