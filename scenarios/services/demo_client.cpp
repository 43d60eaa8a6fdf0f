// faultline-demo-client --url URL [--count N] [--timeout DUR]: GETs URL N times, one after the
// other, prints "K/N ok" and exits 0 when every answer was 2xx (1 otherwise, 2 on bad usage).
#include <boost/asio/io_context.hpp>
#include <cstdlib>
#include <iostream>
#include <string>
#include <string_view>

#include "common/units.h"
#include "net/checks.h"

namespace {

int usage(const std::string& why) {
  std::cerr << "faultline-demo-client: " << why
            << "\nusage: faultline-demo-client --url URL [--count N] [--timeout DUR]\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace faultline;
  std::string url;
  long count = 1;
  Duration timeout = std::chrono::seconds(2);
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (i + 1 >= argc) return usage("missing value after " + std::string(arg));
    const std::string value = argv[++i];
    if (arg == "--url") {
      url = value;
    } else if (arg == "--count") {
      char* end = nullptr;
      count = std::strtol(value.c_str(), &end, 10);
      if (*end != '\0' || count < 1) return usage("--count wants a positive integer, not `" + value + "`");
    } else if (arg == "--timeout") {
      std::string why;
      auto d = parse_duration(value, &why);
      if (!d) return usage("--timeout: " + why);
      timeout = *d;
    } else {
      return usage("unknown option " + std::string(arg));
    }
  }
  if (url.empty()) return usage("--url is required");

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
