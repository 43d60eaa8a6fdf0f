// faultline-demo-backend --port P [--delay DUR]: a small HTTP service for example scenarios.
//   GET /healthz -> 200 "ok"
//   GET /orders  -> 200 JSON (after --delay, default 0)
//   anything else -> 404
// Prints "listening on 127.0.0.1:P" once it accepts connections. On SIGTERM (or SIGINT) it stops
// accepting, closes idle connections, finishes the requests in flight, prints "drained, served
// N request(s), exiting" and exits 0. Exits 1 when it cannot listen, 2 on bad usage.
#include <boost/asio/steady_timer.hpp>
#include <memory>

#include "scenarios/services/common/command_line.h"
#include "scenarios/services/common/http_service.h"

int main(int argc, char** argv) {
  using namespace faultline;
  int port = 0;
  Duration delay{0};
  CLI::App app{"A small HTTP service for example scenarios.", "faultline-demo-backend"};
  app.add_option("--port", port, "port on 127.0.0.1 (0: any free port)")
      ->required()
      ->check(demo::whole_number(0, 65535, "a port number"));
  demo::add_duration_option(app, "--delay", delay, "how long GET /orders waits before it answers");
  if (auto rc = demo::parse_command_line(app, argc, argv, "faultline-demo-backend --port P [--delay DUR]"))
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
  return service.run();
}
