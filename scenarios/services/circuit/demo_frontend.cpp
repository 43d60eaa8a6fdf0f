// faultline-demo-frontend --port P --backend URL --breaker on|off
//                         [--failure-threshold N] [--open-timeout DUR] [--request-timeout DUR]
// An HTTP service that answers GET /orders by calling its backend (URL + "/orders").
//   breaker on:  a circuit breaker guards the backend. Closed: calls go through; after N failures
//                in a row (error, non-2xx or no answer within the request timeout) it opens.
//                Open: /orders answers 503 "circuit open" at once, without calling the backend.
//                After the open timeout it is half-open: one trial call goes through (others
//                still get 503); its success closes the breaker, its failure opens it again.
//   breaker off: every request waits for the backend, up to the request timeout.
// GET /healthz -> 200 "ok". Prints "listening on 127.0.0.1:P" and every breaker transition.
// Exits 0 on SIGTERM or SIGINT.
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>

#include "common/units.h"
#include "net/checks.h"

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using faultline::Duration;

class CircuitBreaker {
 public:
  enum class State { closed, open, half_open };

  CircuitBreaker(int failure_threshold, Duration open_timeout)
      : failure_threshold_(failure_threshold), open_timeout_(open_timeout) {}

  // Whether a call may go to the backend now; moves open -> half-open once the timeout passed.
  bool allow() {
    if (state_ == State::open && Clock::now() >= open_until_)
      transition(State::half_open, "open timeout passed");
    if (state_ == State::closed) return true;
    if (state_ == State::half_open && !trial_in_flight_) return trial_in_flight_ = true;
    return false;
  }

  void on_success() {
    failures_ = 0;
    if (state_ == State::half_open) {
      trial_in_flight_ = false;
      transition(State::closed, "trial call succeeded");
    }
  }

  void on_failure(const std::string& why) {
    if (state_ == State::half_open) {
      trial_in_flight_ = false;
      return open("trial call failed: " + why);
    }
    if (state_ == State::closed && ++failures_ >= failure_threshold_)
      open(std::to_string(failures_) + " failure(s) in a row, last: " + why);
  }

 private:
  void open(const std::string& why) {
    open_until_ = Clock::now() + open_timeout_;
    failures_ = 0;
    transition(State::open, why);
  }

  void transition(State to, const std::string& why) {
    static const char* names[] = {"closed", "open", "half-open"};
    std::cout << "breaker " << names[static_cast<int>(state_)] << " -> " << names[static_cast<int>(to)]
              << ": " << why << std::endl;
    state_ = to;
  }

  int failure_threshold_;
  Duration open_timeout_;
  State state_ = State::closed;
  int failures_ = 0;
  bool trial_in_flight_ = false;
  Clock::time_point open_until_;
};

struct Config {
  std::string backend;
  bool breaker = false;
  int failure_threshold = 3;
  Duration open_timeout = std::chrono::seconds(1);
  Duration request_timeout = std::chrono::seconds(2);
};

struct Server {
  asio::io_context io;
  tcp::acceptor acceptor{io};
  asio::signal_set signals{io, SIGTERM, SIGINT};
  Config config;
  std::unique_ptr<CircuitBreaker> breaker;
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, Server& server) : stream_(std::move(socket)), server_(server) {}
  void read_request() {
    request_ = {};
    http::async_read(stream_, buffer_, request_,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) {
                       if (!ec) self->handle();
                     });
  }

 private:
  void handle() {
    const std::string target(request_.target());
    if (request_.method() != http::verb::get) return respond(http::status::method_not_allowed, "GET only\n");
    if (target == "/healthz") return respond(http::status::ok, "ok\n");
    if (target != "/orders") return respond(http::status::not_found, "not found\n");
    CircuitBreaker* breaker = server_.breaker.get();
    if (breaker && !breaker->allow()) return respond(http::status::service_unavailable, "circuit open\n");
    faultline::net::async_http_get(
        server_.io, server_.config.backend + "/orders", server_.config.request_timeout,
        [self = shared_from_this(), breaker](faultline::net::HttpResult r) {
          if (r.status && *r.status >= 200 && *r.status < 300) {
            if (breaker) breaker->on_success();
            return self->respond(http::status::ok, r.body);
          }
          const std::string why = r.error ? *r.error : "status " + std::to_string(r.status.value_or(0));
          if (breaker) breaker->on_failure(why);
          self->respond(http::status::service_unavailable, "backend unavailable: " + why + "\n");
        });
  }

  void respond(http::status status, std::string body) {
    response_ = {status, request_.version()};
    response_.set(http::field::server, "faultline-demo-frontend");
    response_.set(http::field::content_type, "text/plain");
    response_.body() = std::move(body);
    response_.keep_alive(request_.keep_alive());
    response_.prepare_payload();
    http::async_write(stream_, response_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec || !self->response_.keep_alive()) {
        beast::error_code ignored;
        self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
        return;
      }
      self->read_request();
    });
  }

  beast::tcp_stream stream_;
  Server& server_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> request_;
  http::response<http::string_body> response_;
};

void accept(Server& server) {
  server.acceptor.async_accept([&server](beast::error_code ec, tcp::socket socket) {
    if (ec) return;
    std::make_shared<Session>(std::move(socket), server)->read_request();
    accept(server);
  });
}

int usage(const std::string& why) {
  std::cerr
      << "faultline-demo-frontend: " << why
      << "\nusage: faultline-demo-frontend --port P --backend URL --breaker on|off [--failure-threshold N]"
         " [--open-timeout DUR] [--request-timeout DUR]\n";
  return 2;
}

bool parse_positive(const std::string& text, long max, long& out) {
  char* end = nullptr;
  out = std::strtol(text.c_str(), &end, 10);
  return !text.empty() && *end == '\0' && out >= 0 && out <= max;
}

}  // namespace

int main(int argc, char** argv) {
  Server server;
  Config& config = server.config;
  long port = -1;
  std::string breaker;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (i + 1 >= argc) return usage("missing value after " + arg);
    const std::string value = argv[++i];
    std::string why;
    if (arg == "--port") {
      if (!parse_positive(value, 65535, port))
        return usage("--port wants a port number, not `" + value + "`");
    } else if (arg == "--backend") {
      config.backend = value;
      while (!config.backend.empty() && config.backend.back() == '/') config.backend.pop_back();
    } else if (arg == "--breaker") {
      if (value != "on" && value != "off") return usage("--breaker wants on or off, not `" + value + "`");
      breaker = value;
    } else if (arg == "--failure-threshold") {
      long n = 0;
      if (!parse_positive(value, 1000, n) || n == 0)
        return usage("--failure-threshold wants a number from 1 to 1000, not `" + value + "`");
      config.failure_threshold = static_cast<int>(n);
    } else if (arg == "--open-timeout" || arg == "--request-timeout") {
      auto d = faultline::parse_duration(value, &why);
      if (!d) return usage(arg + ": " + why);
      (arg == "--open-timeout" ? config.open_timeout : config.request_timeout) = *d;
    } else {
      return usage("unknown option " + arg);
    }
  }
  if (port < 0) return usage("--port is required");
  if (config.backend.empty()) return usage("--backend is required");
  if (breaker.empty()) return usage("--breaker is required");
  if (breaker == "on")
    server.breaker = std::make_unique<CircuitBreaker>(config.failure_threshold, config.open_timeout);

  try {
    const tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port));
    server.acceptor.open(endpoint.protocol());
    server.acceptor.set_option(tcp::acceptor::reuse_address(true));
    server.acceptor.bind(endpoint);
    server.acceptor.listen();
  } catch (const boost::system::system_error& e) {
    std::cerr << "faultline-demo-frontend: cannot listen on 127.0.0.1:" << port << ": " << e.code().message()
              << "\n";
    return 1;
  }
  server.signals.async_wait([&server](beast::error_code ec, int signo) {
    if (ec) return;
    std::cout << "got " << (signo == SIGTERM ? "SIGTERM" : "SIGINT") << ", exiting" << std::endl;
    server.io.stop();
  });
  accept(server);
  std::cout << "listening on 127.0.0.1:" << port << " (breaker " << breaker << ")" << std::endl;
  server.io.run();
  return 0;
}
