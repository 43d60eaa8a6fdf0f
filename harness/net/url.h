// The two address forms the checks accept: "http://host[:port][/path]" and "host:port"
// ("[::1]:8080" for IPv6). No https, no userinfo: readiness and probes talk to local services.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace faultline::net {

struct HostPort {
  std::string host;  // without brackets
  std::uint16_t port = 0;
  std::string text() const;  // "127.0.0.1:80", "[::1]:80"
};

struct Url : HostPort {
  std::string target = "/";  // path and query
  std::string authority() const { return text(); }
};

// nullopt with `why` set ("only http:// URLs are supported") on a malformed value.
std::optional<Url> parse_http_url(std::string_view url, std::string* why = nullptr);
std::optional<HostPort> parse_host_port(std::string_view text, std::string* why = nullptr);

}  // namespace faultline::net
