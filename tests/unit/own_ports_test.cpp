// faultline's own connections are told from the client's by their local port (net/own_ports.h).
#include "net/own_ports.h"

#include <catch2/catch.hpp>

using faultline::net::is_own_port;
using faultline::net::OwnPort;

TEST_CASE("a port stays faultline's after its socket let go of it", "[proxy]") {
  // A probe that connects and closes at once is looked up by the proxy only afterwards.
  constexpr std::uint16_t port = 1;  // no dialer of this process binds port 1
  CHECK_FALSE(is_own_port(port));
  {
    const OwnPort held(port);
    CHECK(is_own_port(port));
  }
  CHECK(is_own_port(port));
  CHECK_FALSE(is_own_port(2));
}
