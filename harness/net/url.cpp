#include "net/url.h"

#include <charconv>

namespace faultline::net {
namespace {

std::optional<HostPort> split_host_port(std::string_view text, std::optional<std::uint16_t> default_port,
                                        std::string* why) {
  auto fail = [&](std::string message) -> std::optional<HostPort> {
    if (why) *why = std::move(message);
    return std::nullopt;
  };
  HostPort out;
  std::string_view rest;
  if (text.starts_with('[')) {
    const auto close = text.find(']');
    if (close == std::string_view::npos) return fail("missing `]` after an IPv6 address");
    out.host = std::string(text.substr(1, close - 1));
    rest = text.substr(close + 1);
  } else {
    const auto colon = text.rfind(':');
    out.host = std::string(text.substr(0, colon));
    rest = colon == std::string_view::npos ? std::string_view{} : text.substr(colon);
  }
  if (out.host.empty()) return fail("no host");
  if (rest.empty()) {
    if (!default_port) return fail("no port (write host:port)");
    out.port = *default_port;
    return out;
  }
  if (rest.front() != ':' || rest.size() == 1) return fail("no port after `:`");
  const auto digits = rest.substr(1);
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec != std::errc{} || end != digits.data() + digits.size() || value == 0 || value > 65535)
    return fail("port `" + std::string(digits) + "` is not a number from 1 to 65535");
  out.port = static_cast<std::uint16_t>(value);
  return out;
}

}  // namespace

std::string HostPort::text() const {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::optional<Url> parse_http_url(std::string_view url, std::string* why) {
  constexpr std::string_view scheme = "http://";
  if (!url.starts_with(scheme)) {
    if (why) *why = "only http:// URLs are supported";
    return std::nullopt;
  }
  auto rest = url.substr(scheme.size());
  const auto slash = rest.find_first_of("/?");
  const auto authority = rest.substr(0, slash);
  if (authority.find('@') != std::string_view::npos) {
    if (why) *why = "user names in URLs are not supported";
    return std::nullopt;
  }
  auto hp = split_host_port(authority, 80, why);
  if (!hp) return std::nullopt;
  Url out;
  static_cast<HostPort&>(out) = std::move(*hp);
  if (slash != std::string_view::npos) {
    out.target = std::string(rest.substr(slash));
    if (out.target.front() == '?') out.target.insert(0, "/");
  }
  if (const auto hash = out.target.find('#'); hash != std::string::npos) out.target.erase(hash);
  return out;
}

std::optional<HostPort> parse_host_port(std::string_view text, std::string* why) {
  return split_host_port(text, std::nullopt, why);
}

}  // namespace faultline::net
