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
// Exits 0 at once on SIGTERM or SIGINT, 1 when it cannot listen, 2 on bad usage.
#include <chrono>
#include <iostream>
#include <memory>
#include <string>

#include "net/checks.h"
#include "scenarios/services/common/command_line.h"
#include "scenarios/services/common/http_service.h"

namespace {

using Clock = std::chrono::steady_clock;
using faultline::Duration;
namespace demo = faultline::demo;
namespace http = boost::beast::http;

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

// "http://host:port/" and "http://host:port" name the same backend: "/orders" is appended.
CLI::Validator backend_url() {
  return CLI::Validator(
      [](std::string& url) {
        const std::string given = url;
        while (!url.empty() && url.back() == '/') url.pop_back();
        return url.empty() ? "wants a URL such as http://127.0.0.1:8080, not `" + given + "`" : std::string();
      },
      "");
}

CLI::Validator on_or_off() {
  return CLI::Validator(
      [](std::string& value) {
        return value == "on" || value == "off" ? std::string() : "wants on or off, not `" + value + "`";
      },
      "");
}

// Answers GET /orders from the backend, through the breaker when there is one.
demo::Route orders_route(demo::HttpService& service, std::string backend, Duration request_timeout,
                         CircuitBreaker* breaker) {
  return [&service, url = backend + "/orders", request_timeout, breaker](demo::Respond respond) {
    if (breaker && !breaker->allow())
      return respond({.status = http::status::service_unavailable, .body = "circuit open\n"});
    faultline::net::async_http_get(
        service.io(), url, request_timeout,
        [respond = std::move(respond), breaker](faultline::net::HttpResult r) {
          if (r.status && *r.status >= 200 && *r.status < 300) {
            if (breaker) breaker->on_success();
            return respond({.status = http::status::ok, .body = r.body});
          }
          const std::string why = r.error ? *r.error : "status " + std::to_string(r.status.value_or(0));
          if (breaker) breaker->on_failure(why);
          respond(
              {.status = http::status::service_unavailable, .body = "backend unavailable: " + why + "\n"});
        });
  };
}

}  // namespace

int main(int argc, char** argv) {
  int port = 0;
  std::string backend;
  std::string breaker_mode;
  int failure_threshold = 3;
  Duration open_timeout = std::chrono::seconds(1);
  Duration request_timeout = std::chrono::seconds(2);
  CLI::App app{"An HTTP frontend calling a backend, with or without a circuit breaker.",
               "faultline-demo-frontend"};
  app.add_option("--port", port, "port on 127.0.0.1 (0: any free port)")
      ->required()
      ->check(demo::whole_number(0, 65535, "a port number"));
  app.add_option("--backend", backend, "base URL of the backend")
      ->type_name("URL")
      ->required()
      ->transform(backend_url());
  app.add_option("--breaker", breaker_mode, "guard the backend with a circuit breaker")
      ->type_name("on|off")
      ->required()
      ->check(on_or_off());
  app.add_option("--failure-threshold", failure_threshold, "failures in a row that open the breaker")
      ->capture_default_str()
      ->check(demo::whole_number(1, 1000, "a number from 1 to 1000"));
  demo::add_duration_option(app, "--open-timeout", open_timeout, "how long the breaker stays open");
  demo::add_duration_option(app, "--request-timeout", request_timeout, "deadline of each backend call");
  if (auto rc =
          demo::parse_command_line(app, argc, argv,
                                   "faultline-demo-frontend --port P --backend URL --breaker on|off "
                                   "[--failure-threshold N] [--open-timeout DUR] [--request-timeout DUR]"))
    return *rc;

  std::unique_ptr<CircuitBreaker> breaker;
  if (breaker_mode == "on") breaker = std::make_unique<CircuitBreaker>(failure_threshold, open_timeout);
  // Requests in flight may be waiting for a frozen backend: the frontend exits at once rather
  // than drain them, so its stop never waits for the request timeout.
  demo::HttpService service({.name = "faultline-demo-frontend",
                             .port = static_cast<unsigned short>(port),
                             .on_signal = demo::OnSignal::exit_now,
                             .listening_note = " (breaker " + breaker_mode + ")"});
  service.route("/orders", orders_route(service, backend, request_timeout, breaker.get()));
  return service.run();
}
