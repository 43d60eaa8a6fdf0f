// One-shot network checks on an asio event loop, shared by readiness gates and probes:
// an HTTP GET and a TCP connect, each with its own deadline. Loopback targets only in tests.
#pragma once

#include <boost/asio/io_context.hpp>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>

#include "common/units.h"

namespace faultline::net {

// How much of a response body an HTTP check keeps (for `body_contains`); the rest is read and
// dropped.
inline constexpr std::size_t kHttpBodyKeep = 64 * 1024;

struct HttpResult {
  // Set only when a whole response arrived. A status line followed by a body cut short (the
  // server closed or crashed mid-answer), a malformed chunked body or a deadline mid-body is a
  // failed attempt: `error` says so, naming the status, and `status` stays empty.
  std::optional<int> status;
  std::string body;                  // the first kHttpBodyKeep bytes
  bool body_cut = false;             // the body was longer than kHttpBodyKeep: `body` is not all of it
  double latency_ms = 0;             // request start to full response (or to the failure)
  std::optional<std::string> error;  // "connect 127.0.0.1:8080: Connection refused", "timed out after 2s"
  // False when no request was even attempted (the host did not resolve): a failure that says
  // nothing about the service, as for TcpResult.
  bool tried = true;
};

struct TcpResult {
  bool connected = false;
  // False when no connection was even attempted (the host did not resolve, a bad address): a
  // "no connection" that says nothing about the endpoint.
  bool tried = true;
  double latency_ms = 0;
  std::optional<std::string> error;
};

// GET `url` ("http://host:port/path"; http only). `done` runs exactly once, on `io`'s thread.
void async_http_get(boost::asio::io_context& io, const std::string& url, Duration timeout,
                    std::function<void(HttpResult)> done);

// Connect to "host:port" and close again. `done` runs exactly once, on `io`'s thread.
void async_tcp_connect(boost::asio::io_context& io, const std::string& host_port, Duration timeout,
                       std::function<void(TcpResult)> done);

}  // namespace faultline::net
