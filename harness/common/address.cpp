#include "common/address.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <strings.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <vector>

namespace faultline {
namespace {

constexpr std::string_view kHostPortExample = R"(write host:port, such as "127.0.0.1:8080")";

std::optional<HostPort> fail(AddressError* error, std::string message, std::string hint = {}) {
  if (error) *error = {std::move(message), std::move(hint)};
  return std::nullopt;
}

bool host_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
         c == '_';
}

// `default_port` is the scheme's port for URLs; a bare host:port has none.
std::optional<HostPort> split_host_port(std::string_view text, std::optional<std::uint16_t> default_port,
                                        AddressError* error) {
  const std::string example(default_port ? R"(write a URL such as "http://127.0.0.1:8080/healthz")"
                                         : kHostPortExample);
  HostPort out;
  std::string_view rest;
  if (text.starts_with('[')) {
    const auto close = text.find(']');
    if (close == std::string_view::npos) return fail(error, "missing `]` after an IPv6 address", example);
    out.host = std::string(text.substr(1, close - 1));
    rest = text.substr(close + 1);
    if (!out.host.empty() && !is_ip_literal(out.host))
      return fail(error, "`" + out.host + "` in brackets is not an IPv6 address", example);
  } else {
    const auto colon = text.find(':');
    if (colon != std::string_view::npos && text.find(':', colon + 1) != std::string_view::npos)
      return fail(error, "an IPv6 address needs brackets", R"(write "[::1]:8080")");
    out.host = std::string(text.substr(0, colon));
    rest = colon == std::string_view::npos ? std::string_view{} : text.substr(colon);
  }
  // The port first: ":99999" is a bad port more than it is a missing host.
  if (rest.empty()) {
    if (!default_port) return fail(error, "no port", std::string(kHostPortExample));
    out.port = *default_port;
  } else if (rest.front() != ':') {
    return fail(error, "unexpected `" + std::string(rest) + "` after the host", example);
  } else if (rest.size() == 1) {
    return fail(error, "no port after `:`", example);
  } else {
    const auto digits = rest.substr(1);
    unsigned long value = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (ec != std::errc{} || end != digits.data() + digits.size() || value == 0 || value > 65535)
      return fail(error, "port `" + std::string(digits) + "` is not a number from 1 to 65535", example);
    out.port = static_cast<std::uint16_t>(value);
  }
  if (out.host.empty()) return fail(error, "no host", example);
  if (!text.starts_with('[') && !std::all_of(out.host.begin(), out.host.end(), host_char))
    return fail(error, "`" + out.host + "` is not a host name or IP address", example);
  // All digits and dots reads as an IPv4 address, and the resolver would only fail on it later.
  if (out.host.find_first_not_of("0123456789.") == std::string::npos && !is_ip_literal(out.host))
    return fail(error, "`" + out.host + "` is not an IPv4 address (four numbers from 0 to 255)", example);
  return out;
}

}  // namespace

std::string HostPort::text() const {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::optional<Url> parse_http_url(std::string_view url, AddressError* error) {
  constexpr std::string_view scheme = "http://";
  if (!url.starts_with(scheme)) {
    if (url.starts_with("https://"))
      return fail(error, "https is not supported",
                  "readiness gates and probes speak plain HTTP to local services; use an http:// URL"),
             std::nullopt;
    if (url.find("://") == std::string_view::npos)
      return fail(error, "not a URL", R"(write it with http://, such as "http://127.0.0.1:8080/healthz")"),
             std::nullopt;
    return fail(error, "only http:// URLs are supported"), std::nullopt;
  }
  auto rest = url.substr(scheme.size());
  const auto slash = rest.find_first_of("/?#");
  const auto authority = rest.substr(0, slash);
  if (authority.find('@') != std::string_view::npos)
    return fail(error, "user names in URLs are not supported"), std::nullopt;
  auto hp = split_host_port(authority, 80, error);
  if (!hp) return std::nullopt;
  Url out;
  static_cast<HostPort&>(out) = std::move(*hp);
  if (slash != std::string_view::npos) {
    out.target = std::string(rest.substr(slash));
    if (out.target.front() != '/') out.target.insert(0, "/");
  }
  if (const auto hash = out.target.find('#'); hash != std::string::npos) out.target.erase(hash);
  if (std::any_of(out.target.begin(), out.target.end(),
                  [](char c) { return static_cast<unsigned char>(c) <= ' ' || c == 0x7f; }))
    return fail(error, "spaces and control characters must be percent-encoded in a URL"), std::nullopt;
  return out;
}

std::optional<HostPort> parse_host_port(std::string_view text, AddressError* error) {
  if (text.find("://") != std::string_view::npos)
    return fail(error, "expected host:port, not a URL", std::string(kHostPortExample));
  return split_host_port(text, std::nullopt, error);
}

std::optional<Url> parse_http_url(std::string_view url, std::string* why) {
  AddressError error;
  auto out = parse_http_url(url, &error);
  if (!out && why) *why = error.text();
  return out;
}

std::optional<HostPort> parse_host_port(std::string_view text, std::string* why) {
  AddressError error;
  auto out = parse_host_port(text, &error);
  if (!out && why) *why = error.text();
  return out;
}

bool is_ip_literal(const std::string& host) {
  unsigned char buf[16];
  return ::inet_pton(AF_INET, host.c_str(), buf) == 1 || ::inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

std::optional<IpBytes> ip_literal_bytes(const std::string& host) {
  IpBytes out{};
  in_addr v4;
  if (::inet_pton(AF_INET, host.c_str(), &v4) == 1) {
    out[10] = out[11] = 0xff;
    std::memcpy(out.data() + 12, &v4, 4);
    return out;
  }
  if (::inet_pton(AF_INET6, host.c_str(), out.data()) == 1) return out;
  return std::nullopt;
}

namespace {

std::vector<IpBytes> addresses_of(const std::string& host) {
  if (auto literal = ip_literal_bytes(host)) return {*literal};
  std::vector<IpBytes> out;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (::getaddrinfo(host.c_str(), nullptr, &hints, &found) != 0) return out;
  for (const addrinfo* a = found; a; a = a->ai_next) {
    char text[INET6_ADDRSTRLEN] = {};
    const void* raw = a->ai_family == AF_INET
                          ? static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(a->ai_addr)->sin_addr)
                          : static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(a->ai_addr)->sin6_addr);
    if (::inet_ntop(a->ai_family, raw, text, sizeof text))
      if (auto address = ip_literal_bytes(text)) out.push_back(*address);
  }
  ::freeaddrinfo(found);
  return out;
}

const IpBytes kAny6{};
const IpBytes kAny4 = [] {
  IpBytes any4{};
  any4[10] = any4[11] = 0xff;
  return any4;
}();

bool is_ipv4(const IpBytes& a) {
  return std::equal(a.begin(), a.begin() + 12, kAny4.begin());  // ::ffff:a.b.c.d
}

// Whether a socket bound to `bound` takes `other` too: the same address, or a wildcard of its
// family (`::` is bound dual-stack and takes both; 0.0.0.0 only IPv4).
bool covers(const IpBytes& bound, const IpBytes& other) {
  return bound == other || bound == kAny6 || (bound == kAny4 && is_ipv4(other));
}

// Where a connect to `dialed` lands: Linux sends a connect to a wildcard to the loopback address
// of its family (0.0.0.0 to 127.0.0.1, :: to ::1), so `tcp = "0.0.0.0:P"` reaches a proxy
// listening on 127.0.0.1:P.
IpBytes connect_destination(const IpBytes& dialed) {
  if (dialed == kAny6) {
    IpBytes loopback6{};
    loopback6[15] = 1;
    return loopback6;
  }
  if (dialed == kAny4) {
    IpBytes loopback4 = kAny4;
    loopback4[12] = 127;
    loopback4[15] = 1;
    return loopback4;
  }
  return dialed;
}

}  // namespace

bool may_reach(const HostPort& dial, const HostPort& listen) {
  if (dial.port != listen.port) return false;
  const auto listening = ip_literal_bytes(listen.host);
  if (!listening) return false;
  const auto dialed = addresses_of(dial.host);
  return std::any_of(dialed.begin(), dialed.end(),
                     [&](const IpBytes& a) { return covers(*listening, connect_destination(a)); });
}

namespace {
bool is_localhost(const std::string& host) {
  return ::strcasecmp(host.c_str(), "localhost") == 0 || ::strcasecmp(host.c_str(), "localhost.") == 0;
}
}  // namespace

bool is_loopback_destination(const std::string& host) {
  if (is_localhost(host)) return true;
  const auto literal = ip_literal_bytes(host);
  if (!literal) return false;
  const IpBytes to = connect_destination(*literal);
  IpBytes loopback6{};
  loopback6[15] = 1;
  return to == loopback6 || (is_ipv4(to) && to[12] == 127);
}

std::vector<std::string> loopback_literals(const std::string& host) {
  if (is_localhost(host)) return {"127.0.0.1", "::1"};
  return {host};
}

bool listens_collide(const HostPort& a, const HostPort& b) {
  if (a.port != b.port) return false;
  const auto first = ip_literal_bytes(a.host), second = ip_literal_bytes(b.host);
  if (!first || !second) return a.host == b.host;
  return covers(*first, *second) || covers(*second, *first);
}

}  // namespace faultline
