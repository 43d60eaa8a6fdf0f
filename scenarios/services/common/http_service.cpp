#include "scenarios/services/common/http_service.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <csignal>
#include <cstdint>
#include <iostream>
#include <list>
#include <map>

namespace faultline::demo {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace detail {

class Session;

struct Server {
  explicit Server(ServiceOptions o) : options(std::move(o)) {}

  void accept();
  void on_signal(int signo);

  ServiceOptions options;
  std::map<std::string, Route> routes;
  asio::io_context io;
  tcp::acceptor acceptor{io};
  asio::signal_set signals{io, SIGTERM, SIGINT};
  std::list<std::weak_ptr<Session>> sessions;
  std::uint64_t served = 0;
  int in_flight = 0;
  bool draining = false;
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, detail::Server& server) : stream_(std::move(socket)), server_(server) {}
  void start() { read_request(); }
  // On drain: an idle connection closes now, a busy one after its answer.
  void drain();

 private:
  void read_request();
  void handle();
  void respond(Answer answer);

  beast::tcp_stream stream_;
  detail::Server& server_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> request_;
  http::response<http::string_body> response_;
  bool busy_ = false;
  bool draining_ = false;
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
  if (request_.method() != http::verb::get)
    return respond({.status = http::status::method_not_allowed, .body = "GET only\n"});
  const std::string target(request_.target());
  if (target == "/healthz") return respond({.status = http::status::ok, .body = "ok\n"});
  const auto route = server_.routes.find(target);
  if (route == server_.routes.end())
    return respond({.status = http::status::not_found, .body = "not found\n"});
  route->second([self = shared_from_this()](Answer answer) { self->respond(std::move(answer)); });
}

void Session::respond(Answer answer) {
  response_ = {answer.status, request_.version()};
  response_.set(http::field::server, server_.options.name);
  response_.set(http::field::content_type, answer.content_type);
  response_.body() = std::move(answer.body);
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

}  // namespace detail

namespace {

const char* signal_name(int signo) { return signo == SIGTERM ? "SIGTERM" : "SIGINT"; }

}  // namespace

void detail::Server::accept() {
  acceptor.async_accept([this](beast::error_code ec, tcp::socket socket) {
    if (ec) return;  // closed by drain
    auto session = std::make_shared<Session>(std::move(socket), *this);
    std::erase_if(sessions, [](const std::weak_ptr<Session>& s) { return s.expired(); });
    sessions.push_back(session);
    session->start();
    accept();
  });
}

void detail::Server::on_signal(int signo) {
  if (options.on_signal == OnSignal::exit_now) {
    std::cout << "got " << signal_name(signo) << ", exiting" << std::endl;
    io.stop();
    return;
  }
  draining = true;
  std::cout << "got " << signal_name(signo) << ", draining " << in_flight << " request(s) in flight"
            << std::endl;
  beast::error_code ignored;
  acceptor.close(ignored);
  for (auto& weak : sessions)
    if (auto s = weak.lock()) s->drain();
}

HttpService::HttpService(ServiceOptions options)
    : server_(std::make_unique<detail::Server>(std::move(options))) {}

HttpService::~HttpService() = default;

void HttpService::route(const std::string& target, Route route) {
  server_->routes[target] = std::move(route);
}

asio::io_context& HttpService::io() { return server_->io; }

int HttpService::run() {
  detail::Server& s = *server_;
  try {
    const tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), s.options.port);
    s.acceptor.open(endpoint.protocol());
    s.acceptor.set_option(tcp::acceptor::reuse_address(true));
    s.acceptor.bind(endpoint);
    s.acceptor.listen();
  } catch (const boost::system::system_error& e) {
    std::cerr << s.options.name << ": cannot listen on 127.0.0.1:" << s.options.port << ": "
              << e.code().message() << "\n";
    return 1;
  }
  s.signals.async_wait([&s](beast::error_code ec, int signo) {
    if (!ec) s.on_signal(signo);
  });
  s.accept();
  std::cout << "listening on 127.0.0.1:" << s.acceptor.local_endpoint().port() << s.options.listening_note
            << std::endl;
  s.io.run();
  if (s.options.on_signal == OnSignal::drain)
    std::cout << "drained, served " << s.served << " request(s), exiting" << std::endl;
  return 0;
}

}  // namespace faultline::demo
