// The two address forms readiness gates and probes accept: "http://host[:port][/path]" and
// "host:port" ("[::1]:8080" for IPv6). No https, no userinfo: the checks talk plain HTTP to local
// services. Pure parsing, so the loader rejects a bad address when the file is loaded with the
// same rules the network checks apply when they run.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace faultline {

struct HostPort {
  std::string host;  // without brackets
  std::uint16_t port = 0;
  std::string text() const;  // "127.0.0.1:80", "[::1]:80"
};

struct Url : HostPort {
  std::string target = "/";  // path and query
  std::string authority() const { return text(); }
};

// Why an address was refused: what is wrong, and how to write it instead.
struct AddressError {
  std::string message;  // "port `99999` is not a number from 1 to 65535"
  std::string hint;     // "write host:port, such as \"127.0.0.1:8080\"" (may be empty)
  std::string text() const { return hint.empty() ? message : message + "; " + hint; }
};

// nullopt with `error` set on a malformed value.
std::optional<Url> parse_http_url(std::string_view url, AddressError* error);
std::optional<HostPort> parse_host_port(std::string_view text, AddressError* error);

// The same, with the message and hint joined into `why`.
std::optional<Url> parse_http_url(std::string_view url, std::string* why = nullptr);
std::optional<HostPort> parse_host_port(std::string_view text, std::string* why = nullptr);

// An IPv4 or IPv6 literal ("127.0.0.1", "::1"), as opposed to a host name.
bool is_ip_literal(const std::string& host);

// The 16 bytes of an IP literal, an IPv4 address in its IPv4-mapped form (::ffff:a.b.c.d), so
// that both forms of one address compare equal; nullopt for anything else.
using IpBytes = std::array<unsigned char, 16>;
std::optional<IpBytes> ip_literal_bytes(const std::string& host);

// Whether a connect to `dial` can land on a socket listening on `listen` (an IP literal): the
// same port, and the same address (an IPv4-mapped IPv6 address is its IPv4 one) or a wildcard
// listener that takes its family (0.0.0.0 IPv4, :: both). A wildcard dialled is the loopback
// address of its family, where Linux sends such a connect (0.0.0.0 reaches 127.0.0.1, :: ::1). A
// host name counts by any address it resolves to (getaddrinfo, so /etc/hosts: `localhost`); one
// that does not resolve reaches nothing.
bool may_reach(const HostPort& dial, const HostPort& listen);

// Whether every connect to `host` stays on this machine's loopback: a loopback or wildcard
// literal in any of its forms (127.0.0.0/8, ::1, 0.0.0.0, ::, ::ffff:127.0.0.1,
// 0:0:0:0:0:0:0:1), or `localhost`. No other name is looked up (this is asked on a run's event
// loop, where a resolver that does not answer would hold everything up).
bool is_loopback_destination(const std::string& host);

// The literal addresses a connect to `host` may use when it is `localhost` (127.0.0.1 and ::1),
// else `host` itself.
std::vector<std::string> loopback_literals(const std::string& host);

// Whether two listeners (IP literals) would want the same place, the second bind(2) failing
// with EADDRINUSE: the same port, and the same address or a wildcard that covers the other's:
// 0.0.0.0 covers every IPv4 address, `::` every address of both families (Linux binds it
// dual-stack unless net.ipv6.bindv6only is set). 0.0.0.0 and ::1 do not collide.
bool listens_collide(const HostPort& a, const HostPort& b);

}  // namespace faultline
