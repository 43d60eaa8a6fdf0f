// Address forms accepted by the network checks (readiness gates and probes).
#include <catch2/catch.hpp>

#include "net/url.h"

using faultline::net::parse_host_port;
using faultline::net::parse_http_url;

TEST_CASE("parse_http_url splits host, port and target", "[net]") {
  auto u = parse_http_url("http://127.0.0.1:8080/healthz?full=1");
  REQUIRE(u);
  CHECK(u->host == "127.0.0.1");
  CHECK(u->port == 8080);
  CHECK(u->target == "/healthz?full=1");
  CHECK(u->authority() == "127.0.0.1:8080");

  u = parse_http_url("http://localhost");
  REQUIRE(u);
  CHECK(u->port == 80);
  CHECK(u->target == "/");

  u = parse_http_url("http://[::1]:9000?x#frag");
  REQUIRE(u);
  CHECK(u->host == "::1");
  CHECK(u->target == "/?x");
  CHECK(u->authority() == "[::1]:9000");
}

TEST_CASE("parse_http_url says what is wrong", "[net]") {
  std::string why;
  CHECK_FALSE(parse_http_url("https://example.test/", &why));
  CHECK(why == "only http:// URLs are supported");
  CHECK_FALSE(parse_http_url("http://user@127.0.0.1/", &why));
  CHECK(why == "user names in URLs are not supported");
  CHECK_FALSE(parse_http_url("http://127.0.0.1:0/", &why));
  CHECK(why == "port `0` is not a number from 1 to 65535");
  CHECK_FALSE(parse_http_url("http://127.0.0.1:80x/", &why));
  CHECK(why == "port `80x` is not a number from 1 to 65535");
  CHECK_FALSE(parse_http_url("http:///path", &why));
  CHECK(why == "no host");
  CHECK_FALSE(parse_http_url("http://[::1/", &why));
  CHECK(why == "missing `]` after an IPv6 address");
}

TEST_CASE("parse_host_port needs a port", "[net]") {
  auto hp = parse_host_port("127.0.0.1:5432");
  REQUIRE(hp);
  CHECK(hp->host == "127.0.0.1");
  CHECK(hp->port == 5432);
  CHECK(parse_host_port("[::1]:80")->text() == "[::1]:80");
  std::string why;
  CHECK_FALSE(parse_host_port("127.0.0.1", &why));
  CHECK(why == "no port (write host:port)");
  CHECK_FALSE(parse_host_port("127.0.0.1:", &why));
  CHECK(why == "no port after `:`");
}
