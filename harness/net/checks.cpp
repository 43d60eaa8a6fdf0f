#include "net/checks.h"

#include <array>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <memory>

#include "common/address.h"

namespace faultline::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kBodyKeep = 64 * 1024;

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

std::string endpoint_text(const tcp::endpoint& ep) {
  const auto addr = ep.address();
  return (addr.is_v6() ? "[" + addr.to_string() + "]" : addr.to_string()) + ":" + std::to_string(ep.port());
}

// One attempt: resolve, connect, send, read. A single deadline covers all of it, so a server
// that accepts and then never answers is reported as a timeout like one that never accepts.
class HttpGet : public std::enable_shared_from_this<HttpGet> {
 public:
  HttpGet(asio::io_context& io, Url url, Duration timeout, std::function<void(HttpResult)> done)
      : url_(std::move(url)),
        timeout_(timeout),
        done_(std::move(done)),
        resolver_(io),
        stream_(io),
        deadline_(io) {}

  void start() {
    start_ = Clock::now();
    deadline_.expires_after(timeout_);
    deadline_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (ec) return;
      self->timed_out_ = true;
      self->resolver_.cancel();
      self->stream_.socket().close();
    });
    resolver_.async_resolve(
        url_.host, std::to_string(url_.port),
        [self = shared_from_this()](boost::system::error_code ec, tcp::resolver::results_type r) {
          self->on_resolve(ec, std::move(r));
        });
  }

 private:
  void on_resolve(boost::system::error_code ec, tcp::resolver::results_type results) {
    if (ec) return fail("resolve " + url_.host, ec);
    stream_.async_connect(results,
                          [self = shared_from_this()](boost::system::error_code e, const tcp::endpoint& ep) {
                            self->on_connect(e, ep);
                          });
  }

  void on_connect(boost::system::error_code ec, const tcp::endpoint& ep) {
    if (ec) return fail("connect " + url_.authority(), ec);
    peer_ = endpoint_text(ep);
    request_.method(http::verb::get);
    request_.target(url_.target);
    request_.version(11);
    request_.set(http::field::host, url_.authority());
    request_.set(http::field::user_agent, "faultline");
    request_.set(http::field::connection, "close");
    http::async_write(
        stream_, request_,
        [self = shared_from_this()](boost::system::error_code e, std::size_t) { self->on_write(e); });
  }

  void on_write(boost::system::error_code ec) {
    if (ec) return fail("send request to " + peer_, ec);
    // Large bodies are read to the end (the response is only complete then) but only the
    // first 64 KiB are kept; the deadline bounds the download.
    parser_.body_limit(boost::none);
    http::async_read_header(
        stream_, buffer_, parser_,
        [self = shared_from_this()](boost::system::error_code e, std::size_t) { self->on_header(e); });
  }

  void on_header(boost::system::error_code ec) {
    if (ec) return fail("read response from " + peer_, ec);
    read_body_chunk();
  }

  void read_body_chunk() {
    if (parser_.is_done()) return succeed();
    parser_.get().body().data = chunk_.data();
    parser_.get().body().size = chunk_.size();
    http::async_read_some(
        stream_, buffer_, parser_,
        [self = shared_from_this()](boost::system::error_code e, std::size_t) { self->on_body(e); });
  }

  void on_body(boost::system::error_code ec) {
    if (ec == http::error::need_buffer) ec = {};
    const std::size_t got = chunk_.size() - parser_.get().body().size;
    if (body_.size() < kBodyKeep) body_.append(chunk_.data(), std::min(got, kBodyKeep - body_.size()));
    if (ec) return fail("read response body from " + peer_, ec);
    read_body_chunk();
  }

  void succeed() {
    HttpResult r;
    r.status = static_cast<int>(parser_.get().result_int());
    r.body = std::move(body_);
    finish(std::move(r));
  }

  void fail(const std::string& what, boost::system::error_code ec) {
    HttpResult r;
    if (timed_out_)
      r.error = "timed out after " + format_duration(timeout_) + " (" + what + ")";
    else
      r.error = what + ": " + ec.message();
    // A status line that arrived before the failure is still worth reporting.
    if (parser_.is_header_done()) r.status = static_cast<int>(parser_.get().result_int());
    r.body = std::move(body_);
    finish(std::move(r));
  }

  void finish(HttpResult r) {
    r.latency_ms = ms_since(start_);
    deadline_.cancel();
    boost::system::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.socket().close(ignored);
    auto done = std::move(done_);
    done(std::move(r));
  }

  Url url_;
  Duration timeout_;
  std::function<void(HttpResult)> done_;
  tcp::resolver resolver_;
  beast::tcp_stream stream_;
  asio::steady_timer deadline_;
  Clock::time_point start_;
  bool timed_out_ = false;
  std::string peer_;
  http::request<http::empty_body> request_;
  beast::flat_buffer buffer_;
  http::response_parser<http::buffer_body> parser_;
  std::array<char, 16 * 1024> chunk_{};
  std::string body_;
};

class TcpConnect : public std::enable_shared_from_this<TcpConnect> {
 public:
  TcpConnect(asio::io_context& io, HostPort target, Duration timeout, std::function<void(TcpResult)> done)
      : target_(std::move(target)),
        timeout_(timeout),
        done_(std::move(done)),
        resolver_(io),
        socket_(io),
        deadline_(io) {}

  void start() {
    start_ = Clock::now();
    deadline_.expires_after(timeout_);
    deadline_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (ec) return;
      self->timed_out_ = true;
      self->resolver_.cancel();
      self->socket_.close();
    });
    resolver_.async_resolve(
        target_.host, std::to_string(target_.port),
        [self = shared_from_this()](boost::system::error_code ec, tcp::resolver::results_type r) {
          if (ec) return self->finish("resolve " + self->target_.host, ec);
          asio::async_connect(self->socket_, r, [self](boost::system::error_code e, const tcp::endpoint&) {
            self->finish("connect " + self->target_.text(), e);
          });
        });
  }

 private:
  void finish(const std::string& what, boost::system::error_code ec) {
    TcpResult r;
    r.latency_ms = ms_since(start_);
    r.connected = !ec && !timed_out_;
    if (timed_out_)
      r.error = "timed out after " + format_duration(timeout_) + " (" + what + ")";
    else if (ec)
      r.error = what + ": " + ec.message();
    deadline_.cancel();
    boost::system::error_code ignored;
    socket_.close(ignored);
    auto done = std::move(done_);
    done(std::move(r));
  }

  HostPort target_;
  Duration timeout_;
  std::function<void(TcpResult)> done_;
  tcp::resolver resolver_;
  tcp::socket socket_;
  asio::steady_timer deadline_;
  Clock::time_point start_;
  bool timed_out_ = false;
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
      r.error = "bad address `" + host_port + "`: " + why;
      done(std::move(r));
    });
    return;
  }
  std::make_shared<TcpConnect>(io, std::move(*parsed), timeout, std::move(done))->start();
}

}  // namespace faultline::net
