#include "net/checks.h"

#include <array>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "common/address.h"
#include "net/own_ports.h"

namespace faultline::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

std::string endpoint_text(const tcp::endpoint& ep) {
  const auto addr = ep.address();
  return (addr.is_v6() ? "[" + addr.to_string() + "]" : addr.to_string()) + ":" + std::to_string(ep.port());
}

// The one way the checks reach a TCP endpoint: resolve the host (an IP address needs no
// resolver), connect a beast::tcp_stream, all within one deadline. The stream's expiry is set once, so it
// also bounds whatever the caller does with the stream afterwards: a server that accepts and then never
// answers times out like one that never accepts. Beast's expiry does not cover the resolver; a timer of its
// own, on the same deadline, does.
class Dialer {
 public:
  using Done = std::function<void(boost::system::error_code, const std::string& step)>;

  explicit Dialer(asio::io_context& io) : resolver_(io), stream_(io), resolve_deadline_(io) {}

  // `done` gets the step that failed ("resolve localhost", "connect 127.0.0.1:9") with its error,
  // or success. The pending handlers own `done` (and through it, whoever owns this dialer): when
  // the loop is destroyed first, dropping them releases everything.
  void start(const HostPort& target, Duration timeout, Done done) {
    target_ = target;
    timeout_ = timeout;
    stream_.expires_after(timeout);
    // An address needs no resolver (and no trip through its thread): connect at once.
    boost::system::error_code parse_error;
    const auto literal = asio::ip::make_address(target_.host, parse_error);
    if (!parse_error) {
      endpoints_ = {tcp::endpoint(literal, target_.port)};
      return connect_next(0, std::move(done));
    }
    resolve_deadline_.expires_after(timeout);
    resolve_deadline_.async_wait([this](boost::system::error_code ec) {
      if (ec) return;
      resolve_timed_out_ = true;
      resolver_.cancel();
    });
    resolver_.async_resolve(target_.host, std::to_string(target_.port),
                            [this, done = std::move(done)](boost::system::error_code ec,
                                                           tcp::resolver::results_type results) mutable {
                              resolve_deadline_.cancel();
                              if (resolve_timed_out_) ec = beast::error::timeout;
                              if (ec) return done(ec, "resolve " + target_.host);
                              for (const auto& entry : results) endpoints_.push_back(entry.endpoint());
                              connect_next(0, std::move(done));
                            });
  }

  // Each address in turn until one connects (as asio's range connect, which cannot bind first).
  // The socket is bound before it connects so that its port is in the own-port set (own_ports.h)
  // before a proxy on the way can accept it.
  void connect_next(std::size_t i, Done done) {
    const tcp::endpoint endpoint = endpoints_[i];
    auto& socket = stream_.socket();
    boost::system::error_code ec;
    socket.close(ec);
    socket.open(endpoint.protocol(), ec);
    if (!ec) socket.bind(tcp::endpoint(endpoint.protocol(), 0), ec);
    if (!ec) own_port_ = OwnPort(socket.local_endpoint(ec).port());
    if (ec) return done(ec, "bind a local port to connect to " + endpoint_text(endpoint));
    stream_.async_connect(endpoint, [this, i, endpoint, done = std::move(done)](boost::system::error_code e) {
      if (!e) {
        peer_ = endpoint_text(endpoint);
        return done(e, "connect " + target_.text());
      }
      if (e != beast::error::timeout && i + 1 < endpoints_.size())
        return connect_next(i + 1, std::move(done));
      done(e, "connect " + target_.text());
    });
  }

  beast::tcp_stream& stream() { return stream_; }
  // "127.0.0.1:8080" once connected.
  const std::string& peer() const { return peer_; }
  // "connect 127.0.0.1:9: Connection refused", or "timed out after 2s (connect 127.0.0.1:9)"
  // when the deadline ended the step.
  std::string describe_failure(const std::string& step, boost::system::error_code ec) const {
    if (ec == beast::error::timeout)
      return "timed out after " + format_duration(timeout_) + " (" + step + ")";
    return step + ": " + ec.message();
  }
  void close() {
    resolve_deadline_.cancel();
    boost::system::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
  }

 private:
  HostPort target_;
  Duration timeout_{0};
  tcp::resolver resolver_;
  beast::tcp_stream stream_;
  asio::steady_timer resolve_deadline_;
  bool resolve_timed_out_ = false;
  std::vector<tcp::endpoint> endpoints_;
  OwnPort own_port_;
  std::string peer_;
};

// One GET: dial, send, read, under the dialer's single deadline.
class HttpGet : public std::enable_shared_from_this<HttpGet> {
 public:
  HttpGet(asio::io_context& io, Url url, Duration timeout, std::function<void(HttpResult)> done)
      : url_(std::move(url)), timeout_(timeout), done_(std::move(done)), dialer_(io) {}

  void start() {
    start_ = Clock::now();
    dialer_.start(url_, timeout_,
                  [self = shared_from_this()](boost::system::error_code ec, const std::string& step) {
                    if (ec) return self->fail(step, ec);
                    self->send();
                  });
  }

 private:
  void send() {
    request_.method(http::verb::get);
    request_.target(url_.target);
    request_.version(11);
    request_.set(http::field::host, url_.authority());
    request_.set(http::field::user_agent, "faultline");
    request_.set(http::field::connection, "close");
    http::async_write(
        dialer_.stream(), request_,
        [self = shared_from_this()](boost::system::error_code e, std::size_t) { self->on_write(e); });
  }

  void on_write(boost::system::error_code ec) {
    if (ec) return fail("send request to " + dialer_.peer(), ec);
    // Large bodies are read to the end (the response is only complete then) but only the
    // first kHttpBodyKeep bytes are kept; the deadline bounds the download.
    read_header();
  }

  void read_header() {
    parser_->body_limit(boost::none);
    http::async_read_header(
        dialer_.stream(), buffer_, *parser_,
        [self = shared_from_this()](boost::system::error_code e, std::size_t) { self->on_header(e); });
  }

  void on_header(boost::system::error_code ec) {
    if (ec) return fail("read response from " + dialer_.peer(), ec);
    // "100 Continue", "103 Early Hints": interim answers, the final one follows (101 switches
    // protocols and is final for a GET that never asked to).
    const unsigned status = parser_->get().result_int();
    if (status >= 100 && status < 200 && status != 101) {
      if (++interim_responses_ > 16)
        return finish(failed("more than 16 interim (1xx) responses from " + dialer_.peer()));
      parser_.emplace();
      return read_header();
    }
    read_body_chunk();
  }

  void read_body_chunk() {
    if (parser_->is_done()) return succeed();
    parser_->get().body().data = chunk_.data();
    parser_->get().body().size = chunk_.size();
    http::async_read_some(
        dialer_.stream(), buffer_, *parser_,
        [self = shared_from_this()](boost::system::error_code e, std::size_t) { self->on_body(e); });
  }

  void on_body(boost::system::error_code ec) {
    if (ec == http::error::need_buffer) ec = {};
    const std::size_t got = chunk_.size() - parser_->get().body().size;
    body_bytes_ += got;
    if (body_.size() < kHttpBodyKeep)
      body_.append(chunk_.data(), std::min(got, kHttpBodyKeep - body_.size()));
    // A server that closes (or crashes) before the body it announced is complete gives
    // partial_message; a malformed chunked body gives bad_chunk and the like. Either way the
    // answer is not the service's answer: the attempt fails, whatever the status line said.
    if (ec == http::error::partial_message) return fail_cut_short();
    if (ec) return fail("read response body from " + dialer_.peer() + " after " + status_text(), ec);
    read_body_chunk();
  }

  void fail_cut_short() {
    std::string error = "response from " + dialer_.peer() + " cut short after " + std::to_string(body_bytes_);
    if (const auto length = parser_->content_length()) error += " of " + std::to_string(*length);
    error += " body bytes (" + status_text() + ")";
    finish(failed(std::move(error)));
  }

  void succeed() {
    HttpResult r;
    r.status = static_cast<int>(parser_->get().result_int());
    r.body_cut = body_bytes_ > kHttpBodyKeep;
    r.body = std::move(body_);
    finish(std::move(r));
  }

  void fail(const std::string& step, boost::system::error_code ec) {
    HttpResult r = failed(dialer_.describe_failure(step, ec));
    r.tried = step.rfind("resolve", 0) != 0;
    finish(std::move(r));
  }

  // No status: callers take a status as "the service answered", and an answer cut short or
  // malformed is not one. A status line that arrived is named in `error` instead.
  HttpResult failed(std::string error) {
    HttpResult r;
    r.error = std::move(error);
    r.body_cut = body_bytes_ > kHttpBodyKeep;
    r.body = std::move(body_);
    return r;
  }

  std::string status_text() const { return "status " + std::to_string(parser_->get().result_int()); }

  void finish(HttpResult r) {
    r.latency_ms = ms_since(start_);
    dialer_.close();
    auto done = std::move(done_);
    done(std::move(r));
  }

  Url url_;
  Duration timeout_;
  std::function<void(HttpResult)> done_;
  Dialer dialer_;
  Clock::time_point start_;
  http::request<http::empty_body> request_;
  beast::flat_buffer buffer_;
  // Re-made for each interim (1xx) response: the final answer comes in a message of its own.
  std::optional<http::response_parser<http::buffer_body>> parser_{std::in_place};
  int interim_responses_ = 0;
  std::array<char, 16 * 1024> chunk_{};
  std::string body_;
  std::uint64_t body_bytes_ = 0;  // all body bytes received, kept or not
};

// One connect, closed again at once.
class TcpConnect : public std::enable_shared_from_this<TcpConnect> {
 public:
  TcpConnect(asio::io_context& io, HostPort target, Duration timeout, std::function<void(TcpResult)> done)
      : target_(std::move(target)), timeout_(timeout), done_(std::move(done)), dialer_(io) {}

  void start() {
    start_ = Clock::now();
    dialer_.start(target_, timeout_,
                  [self = shared_from_this()](boost::system::error_code ec, const std::string& step) {
                    TcpResult r;
                    r.latency_ms = ms_since(self->start_);
                    r.connected = !ec;
                    r.tried = !(ec && step.rfind("resolve", 0) == 0);
                    if (ec) r.error = self->dialer_.describe_failure(step, ec);
                    self->dialer_.close();
                    auto done = std::move(self->done_);
                    done(std::move(r));
                  });
  }

 private:
  HostPort target_;
  Duration timeout_;
  std::function<void(TcpResult)> done_;
  Dialer dialer_;
  Clock::time_point start_;
};

}  // namespace

void async_http_get(asio::io_context& io, const std::string& url, Duration timeout,
                    std::function<void(HttpResult)> done) {
  std::string why;
  auto parsed = parse_http_url(url, &why);
  if (!parsed) {
    // Still asynchronous, so callers see one behaviour whatever went wrong.
    asio::post(io, [done = std::move(done), why, url] {
      HttpResult r;
      r.error = "bad URL `" + url + "`: " + why;
      done(std::move(r));
    });
    return;
  }
  std::make_shared<HttpGet>(io, std::move(*parsed), timeout, std::move(done))->start();
}

void async_tcp_connect(asio::io_context& io, const std::string& host_port, Duration timeout,
                       std::function<void(TcpResult)> done) {
  std::string why;
  auto parsed = parse_host_port(host_port, &why);
  if (!parsed) {
    asio::post(io, [done = std::move(done), why, host_port] {
      TcpResult r;
      r.tried = false;
      r.error = "bad address `" + host_port + "`: " + why;
      done(std::move(r));
    });
    return;
  }
  std::make_shared<TcpConnect>(io, std::move(*parsed), timeout, std::move(done))->start();
}

}  // namespace faultline::net
