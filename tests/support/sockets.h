// Client sockets of the proxy tests, and the host facts they skip on.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <string>

namespace faultline::test {

// A blocking TCP connection to `host` (a numeric IPv4 or IPv6 address) and `port`, with a receive
// timeout and TCP_NODELAY; a negative value is -errno of the connect.
inline int connect_to(const std::string& host, std::uint16_t port,
                      std::chrono::seconds receive_timeout = std::chrono::seconds(10)) {
  sockaddr_storage address{};
  socklen_t length = 0;
  if (auto* v4 = reinterpret_cast<sockaddr_in*>(&address);
      ::inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    length = sizeof *v4;
  } else {
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&address);
    REQUIRE(::inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1);
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    length = sizeof *v6;
  }
  const int fd = ::socket(address.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  timeval tv{static_cast<time_t>(receive_timeout.count()), 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), length) != 0) {
    const int err = errno;
    ::close(fd);
    return -err;
  }
  return fd;
}

// The same on 127.0.0.1.
inline int connect_to(std::uint16_t port, std::chrono::seconds receive_timeout = std::chrono::seconds(10)) {
  return connect_to("127.0.0.1", port, receive_timeout);
}

// Whether a connect is accepted: 0, or -errno of the connect. The connection is closed at once.
inline int connect_result(const std::string& host, std::uint16_t port) {
  const int fd = connect_to(host, port);
  if (fd < 0) return fd;
  ::close(fd);
  return 0;
}

// Why refused connects cannot be seen here (no raw socket: no CAP_NET_RAW; for IPv6 also a host
// without ::1), or empty. Bound to the family's loopback address, as the proxy's watch binds it.
inline std::string raw_socket_missing(int family = AF_INET) {
  const int fd = ::socket(family, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_TCP);
  if (fd < 0)
    return std::string("no raw socket (") + std::strerror(errno) + "): refused connects need CAP_NET_RAW";
  sockaddr_storage loopback{};
  socklen_t size = 0;
  if (family == AF_INET6) {
    auto* six = reinterpret_cast<sockaddr_in6*>(&loopback);
    six->sin6_family = AF_INET6;
    six->sin6_addr = in6addr_loopback;
    size = sizeof *six;
  } else {
    auto* four = reinterpret_cast<sockaddr_in*>(&loopback);
    four->sin_family = AF_INET;
    four->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    size = sizeof *four;
  }
  const bool bound = ::bind(fd, reinterpret_cast<sockaddr*>(&loopback), size) == 0;
  const int err = errno;
  ::close(fd);
  if (!bound) return std::string("raw socket not bound to the loopback address (") + std::strerror(err) + ")";
  return {};
}

// A loopback port nothing listens on: one the kernel handed out and that was closed again.
inline std::uint16_t closed_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t size = sizeof address;
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&address), size) == 0);
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size) == 0);
  ::close(fd);
  return ntohs(address.sin_port);
}

}  // namespace faultline::test
