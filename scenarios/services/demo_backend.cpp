// faultline-demo-backend --port P [--delay DUR]: a small HTTP service for example scenarios.
//   GET /healthz -> 200 "ok"
//   GET /orders  -> 200 JSON (after --delay, default 0)
//   anything else -> 404
// Prints "listening on 127.0.0.1:P" once it accepts connections. On SIGTERM (or SIGINT) it stops
// accepting, finishes the requests in flight, closes idle connections, prints
// "drained N request(s) in flight" and exits 0.
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <list>
#include <memory>
#include <string>

#include "common/units.h"

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

struct Server;

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, Server& server)
      : stream_(std::move(socket)), server_(server), delay_(stream_.get_executor()) {}
  void start() { read_request(); }
  // Called on SIGTERM: an idle connection closes now, a busy one after its response.
  void drain();

 private:
  void read_request();
  void handle();
  void respond(http::status status, std::string content_type, std::string body);

  beast::tcp_stream stream_;
  Server& server_;
  asio::steady_timer delay_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> request_;
  http::response<http::string_body> response_;
  bool busy_ = false;
  bool draining_ = false;
};

struct Server {
  asio::io_context io;
  tcp::acceptor acceptor{io};
  asio::signal_set signals{io, SIGTERM, SIGINT};
  faultline::Duration delay{0};
  std::list<std::weak_ptr<Session>> sessions;
  std::uint64_t served = 0;
  int in_flight = 0;
  bool draining = false;

  void accept() {
    acceptor.async_accept([this](beast::error_code ec, tcp::socket socket) {
      if (ec) return;  // closed by drain
      auto session = std::make_shared<Session>(std::move(socket), *this);
      std::erase_if(sessions, [](const std::weak_ptr<Session>& s) { return s.expired(); });
      sessions.push_back(session);
      session->start();
      accept();
    });
  }

  void drain(int signo) {
    draining = true;
    std::cout << "got " << (signo == SIGTERM ? "SIGTERM" : "SIGINT") << ", draining " << in_flight
              << " request(s) in flight" << std::endl;
    beast::error_code ignored;
    acceptor.close(ignored);
    for (auto& weak : sessions)
      if (auto s = weak.lock()) s->drain();
  }
};

void Session::read_request() {
  if (draining_) return;
  request_ = {};
  http::async_read(stream_, buffer_, request_,
                   [self = shared_from_this()](beast::error_code ec, std::size_t) {
                     if (ec) return;  // the client went away, or drain closed an idle connection
                     self->handle();
                   });
}

void Session::handle() {
  busy_ = true;
  ++server_.in_flight;
  const std::string target(request_.target());
  if (request_.method() != http::verb::get)
    return respond(http::status::method_not_allowed, "text/plain", "GET only\n");
  if (target == "/healthz") return respond(http::status::ok, "text/plain", "ok\n");
  if (target == "/orders") {
    delay_.expires_after(server_.delay);
    delay_.async_wait([self = shared_from_this()](beast::error_code) {
      self->respond(http::status::ok, "application/json",
                    R"({"orders": [{"id": 1, "item": "book"}, {"id": 2, "item": "lamp"}]})"
                    "\n");
    });
    return;
  }
  respond(http::status::not_found, "text/plain", "not found\n");
}

void Session::respond(http::status status, std::string content_type, std::string body) {
  response_ = {status, request_.version()};
  response_.set(http::field::server, "faultline-demo-backend");
  response_.set(http::field::content_type, content_type);
  response_.body() = std::move(body);
  response_.keep_alive(request_.keep_alive() && !server_.draining);
  response_.prepare_payload();
  http::async_write(stream_, response_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
    self->busy_ = false;
    --self->server_.in_flight;
    ++self->server_.served;
    if (ec || !self->response_.keep_alive() || self->server_.draining) {
      beast::error_code ignored;
      self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
      return;
    }
    self->read_request();
  });
}

void Session::drain() {
  draining_ = true;
  if (busy_) return;
  beast::error_code ignored;
  stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
  stream_.socket().close(ignored);
}

int usage(const std::string& why) {
  std::cerr << "faultline-demo-backend: " << why
            << "\nusage: faultline-demo-backend --port P [--delay DUR]\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  Server server;
  long port = -1;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (i + 1 >= argc) return usage("missing value after " + arg);
    const std::string value = argv[++i];
    if (arg == "--port") {
      char* end = nullptr;
      port = std::strtol(value.c_str(), &end, 10);
      if (*end != '\0' || port < 0 || port > 65535)
        return usage("--port wants a port number, not `" + value + "`");
    } else if (arg == "--delay") {
      std::string why;
      auto d = faultline::parse_duration(value, &why);
      if (!d) return usage("--delay: " + why);
      server.delay = *d;
    } else {
      return usage("unknown option " + arg);
    }
  }
  if (port < 0) return usage("--port is required");

  try {
    const tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port));
    server.acceptor.open(endpoint.protocol());
    server.acceptor.set_option(tcp::acceptor::reuse_address(true));
    server.acceptor.bind(endpoint);
    server.acceptor.listen();
  } catch (const boost::system::system_error& e) {
    std::cerr << "faultline-demo-backend: cannot listen on 127.0.0.1:" << port << ": " << e.code().message()
              << "\n";
    return 1;
  }
  server.signals.async_wait([&server](beast::error_code ec, int signo) {
    if (!ec) server.drain(signo);
  });
  server.accept();
  std::cout << "listening on 127.0.0.1:" << server.acceptor.local_endpoint().port() << std::endl;
  server.io.run();
  std::cout << "drained, served " << server.served << " request(s), exiting" << std::endl;
  return 0;
}
