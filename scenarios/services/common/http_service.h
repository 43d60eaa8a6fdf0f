// The HTTP server side the demo services share: a listener on 127.0.0.1:P, one session per
// connection reading requests and writing the answers of the service's routes, and what SIGTERM
// or SIGINT does. Each service keeps only its routes and its options.
#pragma once

#include <boost/beast/http/status.hpp>
#include <functional>
#include <memory>
#include <string>

namespace boost::asio {
class io_context;
}

namespace faultline::demo {

struct Answer {
  boost::beast::http::status status = boost::beast::http::status::ok;
  std::string body;
  std::string content_type = "text/plain";
};

// Called once per request. The connection waits until it is called, so a route may answer later
// (after a timer, after a call to another service).
using Respond = std::function<void(Answer)>;
using Route = std::function<void(Respond)>;

enum class OnSignal {
  // Stop accepting, close idle connections, answer the requests in flight (with
  // "Connection: close"), then exit 0. Prints "got SIGTERM, draining N request(s) in flight"
  // and, at the end, "drained, served N request(s), exiting".
  drain,
  // Print "got SIGTERM, exiting" and exit 0 at once: requests in flight get no answer.
  exit_now,
};

struct ServiceOptions {
  std::string name;  // the Server header, and the prefix of error messages
  unsigned short port = 0;
  OnSignal on_signal = OnSignal::drain;
  std::string listening_note{};  // printed after "listening on 127.0.0.1:P", e.g. " (breaker on)"
};

namespace detail {
struct Server;
}

// GET /healthz answers 200 "ok"; a GET of a route's target, that route; any other target 404;
// any other method 405.
class HttpService {
 public:
  explicit HttpService(ServiceOptions options);
  ~HttpService();
  HttpService(const HttpService&) = delete;
  HttpService& operator=(const HttpService&) = delete;

  void route(const std::string& target, Route route);
  // The event loop the service runs on, for routes that call other services.
  boost::asio::io_context& io();
  // Listens, prints "listening on 127.0.0.1:P" once it accepts connections, and serves until
  // SIGTERM or SIGINT. Returns the exit code: 0, or 1 (after a message) when it cannot listen.
  int run();

 private:
  std::unique_ptr<detail::Server> server_;
};

}  // namespace faultline::demo
