// The network checks against a small HTTP server on 127.0.0.1 run by the test itself.
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <catch2/catch.hpp>
#include <memory>
#include <thread>
#include <vector>

#include "net/checks.h"
#include "tests/support/raw_http_server.h"
#include "tests/support/sockets.h"

namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;
using faultline::test::closed_port;
using faultline::test::RawServer;
using namespace std::chrono_literals;

// Answers on its own thread: /ok 200 "hello", /unavailable 503, /big 200 with 200 KiB,
// /silent never answers (the connection stays open), anything else 404.
class TestServer {
 public:
  TestServer() : acceptor_(io_, {asio::ip::make_address("127.0.0.1"), 0}) {
    accept();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~TestServer() {
    io_.stop();
    thread_.join();
  }
  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port()) + path;
  }

 private:
  void accept() {
    acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
      if (ec) return;
      serve(std::make_shared<tcp::socket>(std::move(socket)));
      accept();
    });
  }

  void serve(std::shared_ptr<tcp::socket> socket) {
    auto buffer = std::make_shared<boost::beast::flat_buffer>();
    auto request = std::make_shared<http::request<http::string_body>>();
    http::async_read(*socket, *buffer, *request,
                     [this, socket, buffer, request](boost::system::error_code ec, std::size_t) {
                       if (ec) return;
                       const std::string target(request->target());
                       if (target == "/silent") {
                         held_.push_back(socket);
                         return;
                       }
                       auto response = std::make_shared<http::response<http::string_body>>();
                       response->version(11);
                       response->keep_alive(false);
                       if (target == "/ok") {
                         response->result(http::status::ok);
                         response->body() = "hello";
                       } else if (target == "/unavailable") {
                         response->result(http::status::service_unavailable);
                         response->body() = "circuit open";
                       } else if (target == "/big") {
                         response->result(http::status::ok);
                         response->body() = std::string(200 * 1024, 'x');
                         response->body().replace(0, 5, "start");
                       } else {
                         response->result(http::status::not_found);
                       }
                       response->prepare_payload();
                       http::async_write(*socket, *response,
                                         [socket, response](boost::system::error_code, std::size_t) {
                                           boost::system::error_code ignored;
                                           socket->shutdown(tcp::socket::shutdown_send, ignored);
                                         });
                     });
  }

  asio::io_context io_;
  tcp::acceptor acceptor_;
  std::vector<std::shared_ptr<tcp::socket>> held_;
  std::thread thread_;
};

// One check run to its end on a loop of its own, and how often it called back (once, always).
template <typename Result>
struct CheckOutcome {
  int calls = 0;
  Result result;
};

template <typename Result, typename Start>
CheckOutcome<Result> run_check(const Start& start) {
  asio::io_context io;
  CheckOutcome<Result> out;
  start(io, [&](Result r) {
    ++out.calls;
    out.result = std::move(r);
  });
  io.run();
  return out;
}

CheckOutcome<faultline::net::HttpResult> get(const std::string& url, faultline::Duration timeout = 2s) {
  return run_check<faultline::net::HttpResult>(
      [&](asio::io_context& io, auto done) { faultline::net::async_http_get(io, url, timeout, done); });
}

CheckOutcome<faultline::net::TcpResult> connect(const std::string& host_port,
                                                faultline::Duration timeout = 2s) {
  return run_check<faultline::net::TcpResult>([&](asio::io_context& io, auto done) {
    faultline::net::async_tcp_connect(io, host_port, timeout, done);
  });
}

}  // namespace

TEST_CASE("async_http_get reports status, body and latency of a 2xx answer", "[net]") {
  TestServer server;
  const auto out = get(server.url("/ok"));
  CHECK(out.calls == 1);
  REQUIRE_FALSE(out.result.error);
  CHECK(out.result.status == 200);
  CHECK(out.result.body == "hello");
  CHECK(out.result.latency_ms > 0);
  CHECK(out.result.latency_ms < 2000);
}

TEST_CASE("async_http_get reports non-2xx statuses as answers, not errors", "[net]") {
  TestServer server;
  auto out = get(server.url("/unavailable"));
  CHECK_FALSE(out.result.error);
  CHECK(out.result.status == 503);
  CHECK(out.result.body == "circuit open");
  out = get(server.url("/missing"));
  CHECK(out.result.status == 404);
}

TEST_CASE("async_http_get keeps only the first 64 KiB of a large body", "[net]") {
  TestServer server;
  const auto out = get(server.url("/big"));
  REQUIRE_FALSE(out.result.error);
  CHECK(out.result.status == 200);
  CHECK(out.result.body.size() == 64 * 1024);
  CHECK(out.result.body.substr(0, 6) == "startx");
  CHECK(out.result.body_cut);  // our limit, not the server's doing: still an answer
  CHECK_FALSE(get(server.url("/ok")).result.body_cut);
}

TEST_CASE("async_http_get fails an answer cut short, whatever its status line said", "[net]") {
  // A service that crashes mid-response: 13 of the 100 bytes it announced, then the end.
  RawServer truncated("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"status\":\"up");
  auto out = get(truncated.url());
  CHECK(out.calls == 1);
  CHECK_FALSE(out.result.status);  // no answer: readiness gates and probes must not pass on it
  CHECK(out.result.error ==
        "response from " + truncated.peer() + " cut short after 13 of 100 body bytes (status 200)");

  RawServer chunks_cut("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n");
  out = get(chunks_cut.url());
  CHECK_FALSE(out.result.status);
  CHECK(out.result.error ==
        "response from " + chunks_cut.peer() + " cut short after 5 body bytes (status 200)");

  // The same, still connected when the deadline ends.
  RawServer stalled("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nhello", true);
  out = get(stalled.url(), 300ms);
  CHECK_FALSE(out.result.status);
  CHECK(out.result.error ==
        "timed out after 300ms (read response body from " + stalled.peer() + " after status 200)");
}

TEST_CASE("async_http_get reads past interim 1xx responses to the final answer", "[net]") {
  RawServer hints(
      "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"
      "HTTP/1.1 100 Continue\r\n\r\n"
      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello");
  auto out = get(hints.url());
  INFO(out.result.error.value_or(""));
  REQUIRE(out.result.status);
  CHECK(*out.result.status == 200);
  CHECK(out.result.body == "hello");

  // An interim answer and then nothing is no answer.
  RawServer only_hints("HTTP/1.1 103 Early Hints\r\n\r\n");
  out = get(only_hints.url());
  CHECK_FALSE(out.result.status);
}

TEST_CASE("async_http_get fails a malformed chunked body", "[net]") {
  RawServer server("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nZZ\r\n");
  const auto out = get(server.url());
  CHECK(out.calls == 1);
  CHECK_FALSE(out.result.status);
  CHECK(out.result.error == "read response body from " + server.peer() + " after status 200: bad chunk");
}

TEST_CASE("async_http_get takes whole answers: by length, chunked, or up to the close", "[net]") {
  for (const std::string answer : {
           "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
           "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhe\r\n3\r\nllo\r\n0\r\n\r\n",
           "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nhello",  // no length: the close ends it
       }) {
    INFO(answer);
    RawServer server(answer);
    const auto out = get(server.url());
    CHECK_FALSE(out.result.error);
    CHECK(out.result.status == 200);
    CHECK(out.result.body == "hello");
  }
}

TEST_CASE("async_http_get names the address when nothing listens", "[net]") {
  const auto port = std::to_string(closed_port());
  const auto out = get("http://127.0.0.1:" + port + "/healthz");
  CHECK(out.calls == 1);
  CHECK_FALSE(out.result.status);
  CHECK(out.result.error == "connect 127.0.0.1:" + port + ": Connection refused");
}

TEST_CASE("async_http_get gives up at its deadline on a server that never answers", "[net]") {
  TestServer server;
  const auto out = get(server.url("/silent"), 300ms);
  CHECK(out.calls == 1);
  CHECK_FALSE(out.result.status);
  CHECK(out.result.error ==
        "timed out after 300ms (read response from 127.0.0.1:" + std::to_string(server.port()) + ")");
  CHECK(out.result.latency_ms >= 290);
  CHECK(out.result.latency_ms < 2000);
}

TEST_CASE("async_http_get rejects URLs it cannot fetch, still through the callback", "[net]") {
  auto out = get("https://127.0.0.1/");
  CHECK(out.calls == 1);
  CHECK(
      out.result.error ==
      "bad URL `https://127.0.0.1/`: https is not supported; readiness gates and probes speak plain HTTP to "
      "local services; use an http:// URL");
  out = get("http://127.0.0.1:99999/");
  CHECK(
      out.result.error ==
      "bad URL `http://127.0.0.1:99999/`: port `99999` is not a number from 1 to 65535; write a URL such as "
      "\"http://127.0.0.1:8080/healthz\"");
}

TEST_CASE("async_http_get runs many requests on one loop, each callback once", "[net]") {
  TestServer server;
  asio::io_context io;
  int ok = 0, calls = 0;
  for (int i = 0; i < 20; ++i)
    faultline::net::async_http_get(io, server.url("/ok"), 2s, [&](faultline::net::HttpResult r) {
      ++calls;
      if (r.status == 200) ++ok;
    });
  io.run();
  CHECK(calls == 20);
  CHECK(ok == 20);
}

TEST_CASE("async_tcp_connect connects to a listener and names the address when refused", "[net]") {
  TestServer server;
  auto out = connect("127.0.0.1:" + std::to_string(server.port()));
  CHECK(out.calls == 1);
  CHECK(out.result.connected);
  CHECK_FALSE(out.result.error);

  const auto port = std::to_string(closed_port());
  out = connect("127.0.0.1:" + port);
  CHECK(out.calls == 1);
  CHECK_FALSE(out.result.connected);
  CHECK(out.result.error == "connect 127.0.0.1:" + port + ": Connection refused");

  out = connect("localhost");
  CHECK(out.result.error == "bad address `localhost`: no port; write host:port, such as \"127.0.0.1:8080\"");
}
