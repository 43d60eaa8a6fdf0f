// Address forms accepted by readiness gates and probes, checked by the loader and the network checks.
#include "common/address.h"

#include <catch2/catch.hpp>

using faultline::AddressError;
using faultline::is_loopback_destination;
using faultline::listens_collide;
using faultline::may_reach;
using faultline::parse_host_port;
using faultline::parse_http_url;

TEST_CASE("parse_http_url splits host, port and target", "[address]") {
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

TEST_CASE("parse_http_url says what is wrong", "[address]") {
  std::string why;
  CHECK_FALSE(parse_http_url("https://example.test/", &why));
  CHECK(why ==
        "https is not supported; readiness gates and probes speak plain HTTP to local services; use "
        "an http:// URL");
  CHECK_FALSE(parse_http_url("http://user@127.0.0.1/", &why));
  CHECK(why == "user names in URLs are not supported");
  CHECK_FALSE(parse_http_url("http://127.0.0.1:0/", &why));
  CHECK(why ==
        "port `0` is not a number from 1 to 65535; write a URL such as \"http://127.0.0.1:8080/healthz\"");
  CHECK_FALSE(parse_http_url("http://127.0.0.1:80x/", &why));
  CHECK(why ==
        "port `80x` is not a number from 1 to 65535; write a URL such as \"http://127.0.0.1:8080/healthz\"");
  CHECK_FALSE(parse_http_url("http:///path", &why));
  CHECK(why == "no host; write a URL such as \"http://127.0.0.1:8080/healthz\"");
  CHECK_FALSE(parse_http_url("http://[::1/", &why));
  CHECK(why == "missing `]` after an IPv6 address; write a URL such as \"http://127.0.0.1:8080/healthz\"");
}

TEST_CASE("parse_host_port needs a port", "[address]") {
  auto hp = parse_host_port("127.0.0.1:5432");
  REQUIRE(hp);
  CHECK(hp->host == "127.0.0.1");
  CHECK(hp->port == 5432);
  CHECK(parse_host_port("[::1]:80")->text() == "[::1]:80");
  std::string why;
  CHECK_FALSE(parse_host_port("127.0.0.1", &why));
  CHECK(why == "no port; write host:port, such as \"127.0.0.1:8080\"");
  CHECK_FALSE(parse_host_port("127.0.0.1:", &why));
  CHECK(why == "no port after `:`; write host:port, such as \"127.0.0.1:8080\"");
}

namespace {
AddressError host_port_error(std::string_view text) {
  AddressError e;
  CHECK_FALSE(parse_host_port(text, &e));
  return e;
}
AddressError url_error(std::string_view text) {
  AddressError e;
  CHECK_FALSE(parse_http_url(text, &e));
  return e;
}
}  // namespace

TEST_CASE("parse_host_port refuses ports out of range, bad ports, URLs and bare IPv6", "[address]") {
  CHECK(host_port_error(":99999").message == "port `99999` is not a number from 1 to 65535");
  CHECK(host_port_error(":abc").message == "port `abc` is not a number from 1 to 65535");
  CHECK(host_port_error("127.0.0.1:4294967377").message ==
        "port `4294967377` is not a number from 1 to 65535");
  CHECK(host_port_error("127.0.0.1:-1").message == "port `-1` is not a number from 1 to 65535");
  CHECK(host_port_error(":8080").message == "no host");
  const auto no_port = host_port_error("127.0.0.1");
  CHECK(no_port.message == "no port");
  CHECK(no_port.hint == R"(write host:port, such as "127.0.0.1:8080")");
  CHECK(host_port_error("http://127.0.0.1:80/").message == "expected host:port, not a URL");
  CHECK(host_port_error("::1:80").message == "an IPv6 address needs brackets");
  CHECK(host_port_error("[nope]:80").message == "`nope` in brackets is not an IPv6 address");
  CHECK(host_port_error("127.0.0.1:80/x").message == "port `80/x` is not a number from 1 to 65535");
  CHECK(host_port_error("my host:80").message == "`my host` is not a host name or IP address");
  CHECK(parse_host_port("localhost:65535")->port == 65535);
}

TEST_CASE("parse_http_url refuses https with a hint, and out-of-range ports", "[address]") {
  const auto https = url_error("https://127.0.0.1:8443/");
  CHECK(https.message == "https is not supported");
  CHECK(https.hint.find("use an http:// URL") != std::string::npos);
  CHECK(url_error("http://127.0.0.1:99999/").message == "port `99999` is not a number from 1 to 65535");
  CHECK(url_error("127.0.0.1:8080/healthz").message == "not a URL");
  CHECK(url_error("ftp://127.0.0.1/").message == "only http:// URLs are supported");
  CHECK(url_error("http://127.0.0.1/a b").message ==
        "spaces and control characters must be percent-encoded in a URL");
}

TEST_CASE("is_ip_literal tells addresses from host names", "[address]") {
  CHECK(faultline::is_ip_literal("127.0.0.1"));
  CHECK(faultline::is_ip_literal("::1"));
  CHECK_FALSE(faultline::is_ip_literal("localhost"));
  CHECK_FALSE(faultline::is_ip_literal(""));
}

TEST_CASE("a host of digits and dots must be an IPv4 address", "[address]") {
  std::string why;
  CHECK_FALSE(parse_host_port("256.1.1.1:80", &why));
  CHECK(why ==
        "`256.1.1.1` is not an IPv4 address (four numbers from 0 to 255); write host:port, such as "
        "\"127.0.0.1:8080\"");
  CHECK_FALSE(parse_host_port("10.0.0:80", &why));
  CHECK_FALSE(parse_http_url("http://1.2.3.4.5/", &why));
  CHECK(parse_host_port("10.0.0.1:80"));
  CHECK(parse_host_port("db1.internal:80"));  // digits in a name are fine
}

TEST_CASE("listens_collide: the same place for bind(2), a wildcard covering its own family", "[address]") {
  const auto at = [](const char* text) { return *parse_host_port(text); };
  // The same address, also written as an IPv4-mapped IPv6 address.
  CHECK(listens_collide(at("127.0.0.1:80"), at("127.0.0.1:80")));
  CHECK(listens_collide(at("127.0.0.1:80"), at("[::ffff:127.0.0.1]:80")));
  // 0.0.0.0 takes the port on every IPv4 address, :: on every address of both families.
  CHECK(listens_collide(at("0.0.0.0:80"), at("127.0.0.1:80")));
  CHECK(listens_collide(at("127.0.0.1:80"), at("0.0.0.0:80")));
  CHECK(listens_collide(at("[::]:80"), at("127.0.0.1:80")));
  CHECK(listens_collide(at("[::]:80"), at("0.0.0.0:80")));
  CHECK(listens_collide(at("[::1]:80"), at("[::]:80")));
  // An IPv4 wildcard does not cover IPv6 addresses: both binds succeed.
  CHECK_FALSE(listens_collide(at("0.0.0.0:80"), at("[::1]:80")));
  CHECK_FALSE(listens_collide(at("[::1]:80"), at("0.0.0.0:80")));
  CHECK_FALSE(listens_collide(at("127.0.0.1:80"), at("127.0.0.2:80")));
  CHECK_FALSE(listens_collide(at("127.0.0.1:80"), at("[::1]:80")));
  CHECK_FALSE(listens_collide(at("0.0.0.0:80"), at("0.0.0.0:81")));
}

TEST_CASE("may_reach: a wildcard listener takes connects of its own family only", "[address]") {
  const auto at = [](const char* text) { return *parse_host_port(text); };
  CHECK(may_reach(at("127.0.0.1:80"), at("127.0.0.1:80")));
  CHECK(may_reach(at("[::ffff:127.0.0.1]:80"), at("127.0.0.1:80")));
  CHECK(may_reach(at("localhost:80"), at("127.0.0.1:80")));
  CHECK(may_reach(at("127.0.0.1:80"), at("0.0.0.0:80")));
  CHECK(may_reach(at("127.0.0.1:80"), at("[::]:80")));  // bound dual-stack
  CHECK(may_reach(at("[::1]:80"), at("[::]:80")));
  // An IPv6 connect never lands on an IPv4 listener, wildcard or not.
  CHECK_FALSE(may_reach(at("[::1]:80"), at("0.0.0.0:80")));
  CHECK_FALSE(may_reach(at("127.0.0.1:80"), at("[::1]:80")));
  CHECK_FALSE(may_reach(at("127.0.0.1:81"), at("0.0.0.0:80")));
}

TEST_CASE("may_reach: a dialled wildcard lands on the loopback address of its family", "[address]") {
  // Linux sends a connect to 0.0.0.0 to 127.0.0.1 and one to :: to ::1: a probe of 0.0.0.0:P
  // reached a proxy on 127.0.0.1:P, yet passed the check that refuses probes of a proxy.
  const auto at = [](const char* text) { return *parse_host_port(text); };
  CHECK(may_reach(at("0.0.0.0:80"), at("127.0.0.1:80")));
  CHECK(may_reach(at("[::ffff:0.0.0.0]:80"), at("127.0.0.1:80")));
  CHECK(may_reach(at("0.0.0.0:80"), at("0.0.0.0:80")));
  CHECK(may_reach(at("[::]:80"), at("[::1]:80")));
  CHECK(may_reach(at("[::]:80"), at("[::]:80")));
  // Only the loopback address: a listener on another one is not where the connect lands.
  CHECK_FALSE(may_reach(at("0.0.0.0:80"), at("127.0.0.2:80")));
  CHECK_FALSE(may_reach(at("0.0.0.0:80"), at("[::1]:80")));
  CHECK_FALSE(may_reach(at("[::]:80"), at("127.0.0.1:80")));
  CHECK_FALSE(may_reach(at("[::]:80"), at("0.0.0.0:80")));
  CHECK_FALSE(may_reach(at("0.0.0.0:81"), at("127.0.0.1:80")));
}

TEST_CASE("is_loopback_destination: every spelling of the loopback and the wildcards", "[address]") {
  for (const char* host : {"127.0.0.1", "127.1.2.3", "::1", "0:0:0:0:0:0:0:1", "::ffff:127.0.0.1", "0.0.0.0",
                           "::", "::ffff:0.0.0.0", "localhost"}) {
    INFO(host);
    CHECK(is_loopback_destination(host));
  }
  for (const char* host :
       {"192.0.2.7", "::ffff:192.0.2.7", "2001:db8::1", "128.0.0.1", "::2", "no-such-host.invalid"}) {
    INFO(host);
    CHECK_FALSE(is_loopback_destination(host));
  }
}
