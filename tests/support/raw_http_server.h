// A loopback HTTP "server" that answers every request with fixed bytes, for tests of answers
// a correct server never gives.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace faultline::test {

// Sends one fixed answer, byte for byte, on every connection once the request arrived: for
// answers a correct server never gives (a body cut short, a broken chunked body). Then it
// closes the connection, as a crashing service would, or holds it open (`hold`).
class RawServer {
 public:
  explicit RawServer(std::string answer, bool hold = false)
      : answer_(std::move(answer)),
        hold_(hold),
        acceptor_(io_, {boost::asio::ip::make_address("127.0.0.1"), 0}) {
    accept();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~RawServer() {
    io_.stop();
    thread_.join();
  }
  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port()) + "/healthz"; }
  std::string peer() const { return "127.0.0.1:" + std::to_string(port()); }

 private:
  void accept() {
    acceptor_.async_accept([this](boost::system::error_code ec, boost::asio::ip::tcp::socket socket) {
      if (ec) return;
      auto s = std::make_shared<boost::asio::ip::tcp::socket>(std::move(socket));
      auto request = std::make_shared<std::string>();
      boost::asio::async_read_until(*s, boost::asio::dynamic_buffer(*request), "\r\n\r\n",
                                    [this, s, request](boost::system::error_code e, std::size_t) {
                                      if (e) return;
                                      boost::asio::async_write(
                                          *s, boost::asio::buffer(answer_),
                                          [this, s](boost::system::error_code, std::size_t) {
                                            if (hold_) return held_.push_back(s);
                                            boost::system::error_code ignored;
                                            s->shutdown(boost::asio::ip::tcp::socket::shutdown_send, ignored);
                                            s->close(ignored);
                                          });
                                    });
      accept();
    });
  }

  std::string answer_;
  bool hold_;
  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::vector<std::shared_ptr<boost::asio::ip::tcp::socket>> held_;
  std::thread thread_;
};

}  // namespace faultline::test
