// faultline-demo-client --url URL [--count N] [--timeout DUR] [--retries R] [--retry-delay DUR]
//                       [--interval DUR]
// GETs URL N times, one after the other (--interval apart). A request that fails (no answer,
// a timeout, or a status other than 2xx) is tried again up to R more times, --retry-delay
// after the failure, each failure printed to stderr as "request K attempt A: <why>, retrying".
// Prints "K/N ok" (with " (T retries)" when --retries is given) and exits 0 when every request got a 2xx in
// the end (1 otherwise, 2 on bad usage).
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <iostream>
#include <limits>
#include <string>

#include "net/checks.h"
#include "scenarios/services/common/command_line.h"

int main(int argc, char** argv) {
  using namespace faultline;
  std::string url;
  long count = 1;
  long retries = 0;
  Duration timeout = std::chrono::seconds(2);
  Duration retry_delay = std::chrono::milliseconds(100);
  Duration interval{0};
  CLI::App app{"GETs a URL N times, one after the other, retrying failed requests.", "faultline-demo-client"};
  app.add_option("--url", url, "the URL to GET")->required();
  app.add_option("--count", count, "how many requests")
      ->capture_default_str()
      ->check(demo::whole_number(1, std::numeric_limits<long>::max(), "a positive integer"));
  demo::add_duration_option(app, "--timeout", timeout, "deadline of each attempt");
  app.add_option("--retries", retries, "how many more attempts a failed request gets")
      ->capture_default_str()
      ->check(demo::whole_number(0, 1000, "a whole number from 0 to 1000"));
  demo::add_duration_option(app, "--retry-delay", retry_delay, "pause after a failed attempt");
  demo::add_duration_option(app, "--interval", interval, "pause between two requests");
  if (auto rc = demo::parse_command_line(app, argc, argv,
                                         "faultline-demo-client --url URL [--count N] [--timeout DUR] "
                                         "[--retries R] [--retry-delay DUR] [--interval DUR]"))
    return *rc;

  boost::asio::io_context io;
  boost::asio::steady_timer pause(io);
  long ok = 0, sent = 0, retried = 0;
  std::function<void(long)> attempt;
  const auto next_request = [&] {
    if (sent == count) return;
    ++sent;
    if (sent == 1 || interval.count() == 0) return attempt(1);
    pause.expires_after(interval);
    pause.async_wait([&](boost::system::error_code) { attempt(1); });
  };
  attempt = [&](long number) {
    net::async_http_get(io, url, timeout, [&, number](net::HttpResult r) {
      if (r.status && *r.status >= 200 && *r.status < 300) {
        ++ok;
        return next_request();
      }
      const std::string why = r.error ? *r.error : "status " + std::to_string(r.status.value_or(0));
      const bool again = number <= retries;
      std::cerr << "request " << sent << " attempt " << number << ": " << why
                << (again ? ", retrying" : ", giving up") << std::endl;
      if (!again) return next_request();
      ++retried;
      pause.expires_after(retry_delay);
      pause.async_wait([&, number](boost::system::error_code) { attempt(number + 1); });
    });
  };
  next_request();
  io.run();
  std::cout << ok << "/" << count << " ok";
  if (retries > 0) std::cout << " (" << retried << " retries)";
  std::cout << std::endl;
  return ok == count ? 0 : 1;
}
