// Which raw packets count as a connect to the partitioned port: the check behind a `down`
// fault's refused count, on hand-made IPv4 and IPv6 packets.
#include "net/refused_connects.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <catch2/catch.hpp>
#include <vector>

namespace {

using faultline::net::is_connect_attempt;

constexpr unsigned char kSyn = 0x02;
constexpr unsigned char kAck = 0x10;
constexpr unsigned char kRst = 0x04;

std::vector<unsigned char> tcp_header(std::uint16_t destination, unsigned char flags) {
  std::vector<unsigned char> tcp(20, 0);
  tcp[0] = 0xc3;  // source port 50000
  tcp[1] = 0x50;
  tcp[2] = static_cast<unsigned char>(destination >> 8);
  tcp[3] = static_cast<unsigned char>(destination & 0xff);
  tcp[12] = 0x50;  // 5 words, no options
  tcp[13] = flags;
  return tcp;
}

// An IPv4 packet as a raw socket receives it: the IP header (with `option_words` of options) first.
std::vector<unsigned char> ipv4_packet(std::uint16_t destination, unsigned char flags, int option_words = 0,
                                       unsigned char protocol = IPPROTO_TCP) {
  std::vector<unsigned char> packet(20 + 4 * option_words, 0);
  packet[0] = static_cast<unsigned char>(0x40 | (5 + option_words));
  packet[9] = protocol;
  const auto tcp = tcp_header(destination, flags);
  packet.insert(packet.end(), tcp.begin(), tcp.end());
  return packet;
}

}  // namespace

TEST_CASE("refused connects: a SYN without ACK to the port is a connect attempt, over IPv4 and IPv6") {
  // Each names the port it came from (faultline's own probes are told apart by it).
  const auto from = std::optional<std::uint16_t>(50000);
  const auto v4 = ipv4_packet(8080, kSyn);
  CHECK(is_connect_attempt(v4.data(), v4.size(), AF_INET, 8080) == from);
  const auto with_options = ipv4_packet(8080, kSyn, 3);
  CHECK(is_connect_attempt(with_options.data(), with_options.size(), AF_INET, 8080) == from);
  const auto v6 = tcp_header(8080, kSyn);  // IPv6 raw sockets get the packet from the TCP header
  CHECK(is_connect_attempt(v6.data(), v6.size(), AF_INET6, 8080) == from);
}

TEST_CASE("refused connects: other ports, answers, resets, other protocols and short packets are not") {
  const auto other_port = ipv4_packet(8081, kSyn);
  CHECK_FALSE(is_connect_attempt(other_port.data(), other_port.size(), AF_INET, 8080));
  const auto syn_ack = ipv4_packet(8080, kSyn | kAck);
  CHECK_FALSE(is_connect_attempt(syn_ack.data(), syn_ack.size(), AF_INET, 8080));
  const auto reset = ipv4_packet(8080, kRst | kAck);
  CHECK_FALSE(is_connect_attempt(reset.data(), reset.size(), AF_INET, 8080));
  const auto udp = ipv4_packet(8080, kSyn, 0, IPPROTO_UDP);
  CHECK_FALSE(is_connect_attempt(udp.data(), udp.size(), AF_INET, 8080));
  const auto v4 = ipv4_packet(8080, kSyn);
  CHECK_FALSE(is_connect_attempt(v4.data(), 20 + 13, AF_INET, 8080));  // cut before the flags
  const auto lying_length = ipv4_packet(8080, kSyn, 10);               // header says 60 bytes
  CHECK_FALSE(is_connect_attempt(lying_length.data(), 60, AF_INET, 8080));
  const auto v6_ack = tcp_header(8080, kAck);
  CHECK_FALSE(is_connect_attempt(v6_ack.data(), v6_ack.size(), AF_INET6, 8080));
  CHECK_FALSE(is_connect_attempt(v4.data(), v4.size(), AF_UNIX, 8080));
}
