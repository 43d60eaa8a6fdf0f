// faultline-demo-client --url URL [--count N] [--timeout DUR]: GETs URL N times, one after the
// other, prints "K/N ok" and exits 0 when every answer was 2xx (1 otherwise, 2 on bad usage).
#include <boost/asio/io_context.hpp>
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
  Duration timeout = std::chrono::seconds(2);
  CLI::App app{"GETs a URL N times, one after the other.", "faultline-demo-client"};
  app.add_option("--url", url, "the URL to GET")->required();
  app.add_option("--count", count, "how many requests")
      ->capture_default_str()
      ->check(demo::whole_number(1, std::numeric_limits<long>::max(), "a positive integer"));
  demo::add_duration_option(app, "--timeout", timeout, "deadline of each request");
  if (auto rc = demo::parse_command_line(app, argc, argv,
                                         "faultline-demo-client --url URL [--count N] [--timeout DUR]"))
    return *rc;

  boost::asio::io_context io;
  long ok = 0, sent = 0;
  std::function<void()> next = [&] {
    if (sent == count) return;
    ++sent;
    net::async_http_get(io, url, timeout, [&](net::HttpResult r) {
      if (r.status && *r.status >= 200 && *r.status < 300) {
        ++ok;
      } else if (r.error) {
        std::cerr << "request " << sent << ": " << *r.error << "\n";
      } else {
        std::cerr << "request " << sent << ": status " << r.status.value_or(0) << "\n";
      }
      next();
    });
  };
  next();
  io.run();
  std::cout << ok << "/" << count << " ok" << std::endl;
  return ok == count ? 0 : 1;
}
