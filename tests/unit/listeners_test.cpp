// Parsing /proc/net/tcp and tcp6 for the listeners on a port.
#include "common/listeners.h"

#include <catch2/catch.hpp>

using namespace faultline;

TEST_CASE("the LISTEN sockets on a port are found, other states and ports are not", "[listeners]") {
  const std::string tcp =
      "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
      "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 3187585 1 "
      "0 100\n"
      "   1: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1060 1 0 "
      "100\n"
      "   2: 0100007F:1F90 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0        0 4242 1 0 "
      "20\n"
      "   3: 0100007F:1F91 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 777 1 0 "
      "100\n";
  const auto found = parse_tcp_listeners(tcp, 8080);  // 0x1F90
  REQUIRE(found.size() == 2);
  CHECK(found[0].address == "127.0.0.1:8080");
  CHECK(found[0].inode == 3187585);
  CHECK(found[1].address == "0.0.0.0:8080");
  CHECK(found[1].inode == 1060);  // the established connection (01) on 8080 is no listener
  CHECK(parse_tcp_listeners(tcp, 8082).empty());

  const std::string tcp6 =
      "  sl  local_address                         remote_address                        st tx_queue "
      "rx_queue tr "
      "tm->when retrnsmt   uid  timeout inode\n"
      "   0: 00000000000000000000000000000000:1F90 00000000000000000000000000000000:0000 0A "
      "00000000:00000000 "
      "00:00000000 00000000     0        0 99 1 0 100\n";
  const auto six = parse_tcp_listeners(tcp6, 8080);
  REQUIRE(six.size() == 1);
  CHECK(six[0].address == "[::]:8080");
  CHECK(six[0].inode == 99);
}

TEST_CASE("this host's addresses are its interfaces' addresses, in either form", "[listeners]") {
  // lo, with 127.0.0.1 once it is up, as on any machine that runs this suite.
  CHECK(is_this_hosts_address("127.0.0.1"));
  CHECK(is_this_hosts_address("::ffff:127.0.0.1"));
  CHECK_FALSE(is_this_hosts_address("127.0.0.2"));      // reaches lo, but is not its address
  CHECK_FALSE(is_this_hosts_address("203.0.113.254"));  // TEST-NET-3: no host's own
  CHECK_FALSE(is_this_hosts_address("localhost"));      // names are not looked up here
  CHECK_FALSE(is_this_hosts_address(""));
}
