// faultline-demo-backend --port P [--delay DUR] [--journal FILE [--write-timeout DUR]]: a small
// HTTP service for example scenarios.
//   GET /healthz -> 200 "ok"
//   GET /orders  -> 200 JSON (after --delay, default 0)
//   GET /write   -> (with --journal) appends a line to FILE and fsyncs it: 200 "written" and
//                   "write ok" on stdout; when the fsync takes longer than --write-timeout (default
//                   1s), 503 at the timeout and "write timed out after DUR" on stdout (the fsync
//                   finishes in the background)
//   anything else -> 404
// Prints "listening on 127.0.0.1:P" once it accepts connections. On SIGTERM (or SIGINT) it stops
// accepting, closes idle connections, finishes the requests in flight, prints "drained, served
// N request(s), exiting" and exits 0. Exits 1 when it cannot listen, 2 on bad usage.
#include <fcntl.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cerrno>
#include <cstring>
#include <iostream>
#include <memory>
#include <thread>

#include "scenarios/services/common/command_line.h"
#include "scenarios/services/common/http_service.h"

namespace {

using namespace faultline;

// One /write: the fsync runs on its own thread (it blocks), the timeout on the event loop; the
// first of the two answers, both on the loop, so `answered` needs no lock.
void journal_write(demo::HttpService& service, const std::string& journal, Duration write_timeout,
                   demo::Respond respond) {
  struct State {
    demo::Respond respond;
    boost::asio::steady_timer timer;
    bool answered = false;
  };
  auto state =
      std::make_shared<State>(State{std::move(respond), boost::asio::steady_timer(service.io()), false});
  state->timer.expires_after(write_timeout);
  state->timer.async_wait([state, write_timeout](boost::system::error_code ec) {
    if (ec || state->answered) return;
    state->answered = true;
    std::cout << "write timed out after " << format_duration(write_timeout) << std::endl;
    state->respond({.status = boost::beast::http::status::service_unavailable, .body = "write timed out\n"});
  });
  std::thread([state, journal, &io = service.io()] {
    std::string error;
    const int fd = ::open(journal.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0 || ::write(fd, "order\n", 6) != 6 || ::fsync(fd) != 0) error = std::strerror(errno);
    if (fd >= 0) ::close(fd);
    boost::asio::post(io, [state, error] {
      if (state->answered) return;
      state->answered = true;
      state->timer.cancel();
      std::cout << (error.empty() ? "write ok" : "write failed: " + error) << std::endl;
      state->respond(error.empty() ? demo::Answer{.body = "written\n"}
                                   : demo::Answer{.status = boost::beast::http::status::internal_server_error,
                                                  .body = error + "\n"});
    });
  }).detach();
}

}  // namespace

int main(int argc, char** argv) {
  int port = 0;
  Duration delay{0};
  CLI::App app{"A small HTTP service for example scenarios.", "faultline-demo-backend"};
  app.add_option("--port", port, "port on 127.0.0.1 (0: any free port)")
      ->required()
      ->check(demo::whole_number(0, 65535, "a port number"));
  demo::add_duration_option(app, "--delay", delay, "how long GET /orders waits before it answers");
  std::string journal;
  Duration write_timeout = std::chrono::seconds(1);
  app.add_option("--journal", journal, "file GET /write appends to and fsyncs");
  demo::add_duration_option(app, "--write-timeout", write_timeout, "how long GET /write waits for its fsync");
  if (auto rc = demo::parse_command_line(
          app, argc, argv,
          "faultline-demo-backend --port P [--delay DUR] [--journal FILE [--write-timeout DUR]]"))
    return *rc;

  demo::HttpService service({.name = "faultline-demo-backend",
                             .port = static_cast<unsigned short>(port),
                             .on_signal = demo::OnSignal::drain});
  service.route("/orders", [&service, delay](demo::Respond respond) {
    auto timer = std::make_shared<boost::asio::steady_timer>(service.io(), delay);
    timer->async_wait([timer, respond = std::move(respond)](boost::system::error_code) {
      respond({.body = R"({"orders": [{"id": 1, "item": "book"}, {"id": 2, "item": "lamp"}]})"
                       "\n",
               .content_type = "application/json"});
    });
  });
  if (!journal.empty())
    service.route("/write", [&service, journal, write_timeout](demo::Respond respond) {
      journal_write(service, journal, write_timeout, std::move(respond));
    });
  const int rc = service.run();
  // A journal fsync may still be held (that is what the timeout is for): end without destroying
  // the event loop its thread will post to.
  std::cout.flush();
  ::_exit(rc);
}
