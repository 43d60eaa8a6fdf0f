// Counts the TCP connects the kernel refuses at a local address nothing listens on. A partition
// (`down`) closes the proxy's listener, so the client's connects are refused without any socket
// of faultline seeing them; this watch sees their SYNs through a raw socket, so a partition can
// show that a client tried it. Needs CAP_NET_RAW.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

namespace faultline::net {

// When `packet`, as a raw socket of `family` (AF_INET: from the IP header; AF_INET6: from the
// TCP header) receives it, opens a TCP connection (SYN without ACK) to `port`: the port it comes
// from. nullopt for any other packet.
std::optional<std::uint16_t> is_connect_attempt(const unsigned char* packet, std::size_t size, int family,
                                                std::uint16_t port);

class RefusedConnectWatch {
 public:
  using OnAttempt = std::function<void(std::uint16_t source_port)>;
  // Watches connects to `where` (an unspecified IPv6 address also takes IPv4 ones) and calls
  // `on_attempt` on the io_context's thread for each, with the port it came from. Throws faultline::Error
  // with the errno and what is missing when the raw socket cannot be opened.
  RefusedConnectWatch(boost::asio::io_context& io, const boost::asio::ip::tcp::endpoint& where,
                      OnAttempt on_attempt);
  // Stops calling `on_attempt`; the sockets are closed on the io_context's thread.
  ~RefusedConnectWatch();
  RefusedConnectWatch(const RefusedConnectWatch&) = delete;
  RefusedConnectWatch& operator=(const RefusedConnectWatch&) = delete;

  struct Socket;

 private:
  std::vector<std::shared_ptr<Socket>> sockets_;
};

}  // namespace faultline::net
