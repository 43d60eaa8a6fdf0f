// Who listens on a TCP port of this host, from /proc/net/tcp and /proc/net/tcp6: a readiness
// gate must not take another program's listener for its process's.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace faultline {

struct TcpListener {
  std::string ip;         // "127.0.0.1", "0.0.0.0", "::1", "::"
  std::string address;    // "127.0.0.1:8080", "[::]:8080"
  bool wildcard = false;  // bound to every address (0.0.0.0, ::)
  std::uint64_t inode = 0;
};

// Whether `ip` (an IP literal: "192.0.2.7", "fe80::1", "::ffff:192.0.2.7") is an address of one of
// this host's network interfaces, in this network namespace: a connect to it stays on this
// machine, where any program listening on the port (or on a wildcard) takes it.
bool is_this_hosts_address(const std::string& ip);

// The sockets in LISTEN state on `port`, on any local address, in this network namespace.
std::vector<TcpListener> tcp_listeners(std::uint16_t port);

// The lines of /proc/net/tcp or tcp6 (`table`), parsed for LISTEN sockets on `port`.
std::vector<TcpListener> parse_tcp_listeners(const std::string& table, std::uint16_t port);

// Whether this very process holds the socket (a [[proxy]] listener of faultline's own).
bool socket_is_ours(std::uint64_t inode);

// Whether one of `pids` holds the socket: a look at a few processes' descriptors, not all of /proc.
bool socket_held_by_any(std::uint64_t inode, const std::vector<pid_t>& pids);

struct SocketHolder {
  pid_t pid = 0;
  std::string comm;  // its command name
};

// A process holding the socket, when one can be found.
std::optional<SocketHolder> socket_holder(std::uint64_t inode);

}  // namespace faultline
