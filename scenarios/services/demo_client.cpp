// faultline-demo-client --url URL [--count N] [--timeout DUR] [--interval DUR] [--retries N]
//                       [--retry-delay DUR]: GETs URL N times, one after the other (--interval
// apart), prints "K/N ok" and exits 0 when every answer was 2xx (1 otherwise, 2 on bad usage).
// A request that got no answer at all (refused, reset, timed out) is tried again up to --retries
// times, --retry-delay apart, each retry announced on stderr: the client that must ride out a
// dependency refusing connections for a while.
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
  long count = 1, retries = 0;
  Duration timeout = std::chrono::seconds(2);
  Duration interval{0};
  Duration retry_delay = std::chrono::milliseconds(100);
  CLI::App app{"GETs a URL N times, one after the other.", "faultline-demo-client"};
  app.add_option("--url", url, "the URL to GET")->required();
  app.add_option("--count", count, "how many requests")
      ->capture_default_str()
      ->check(demo::whole_number(1, std::numeric_limits<long>::max(), "a positive integer"));
  demo::add_duration_option(app, "--timeout", timeout, "deadline of each request");
  demo::add_duration_option(app, "--interval", interval, "pause between two requests");
  app.add_option("--retries", retries, "how often a request that got no answer is tried again")
      ->capture_default_str()
      ->check(demo::whole_number(0, 1000, "a number from 0 to 1000"));
  demo::add_duration_option(app, "--retry-delay", retry_delay, "pause before each retry");
  if (auto rc = demo::parse_command_line(app, argc, argv,
                                         "faultline-demo-client --url URL [--count N] [--timeout DUR] "
                                         "[--interval DUR] [--retries N] [--retry-delay DUR]"))
    return *rc;

  boost::asio::io_context io;
  boost::asio::steady_timer pause(io);
  long ok = 0, sent = 0, tries = 0;
  std::function<void()> next, attempt;
  attempt = [&] {
    net::async_http_get(io, url, timeout, [&](net::HttpResult r) {
      if (r.status && *r.status >= 200 && *r.status < 300) {
        ++ok;
        if (tries > 0) std::cerr << "request " << sent << ": ok after " << tries << " retries\n";
      } else if (r.error && tries < retries) {
        ++tries;
        std::cerr << "request " << sent << ": " << *r.error << "; retry " << tries << "/" << retries << "\n";
        pause.expires_after(retry_delay);
        pause.async_wait([&](boost::system::error_code) { attempt(); });
        return;
      } else if (r.error) {
        std::cerr << "request " << sent << ": " << *r.error << "\n";
      } else {
        std::cerr << "request " << sent << ": status " << r.status.value_or(0) << "\n";
      }
      if (sent == count) return;
      pause.expires_after(interval);
      pause.async_wait([&](boost::system::error_code) { next(); });
    });
  };
  next = [&] {
    ++sent;
    tries = 0;
    attempt();
  };
  next();
  io.run();
  std::cout << ok << "/" << count << " ok" << std::endl;
  return ok == count ? 0 : 1;
}
