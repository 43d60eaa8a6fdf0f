// The output matcher on the supervisor's real read path: a real target, a real pipe.
#include <catch2/catch.hpp>

#include "supervisor/supervised_process.h"
#include "tests/support/test_env.h"

using namespace faultline;
using namespace faultline::supervisor;

TEST_CASE("a forbidden line that scrolled out of the tail is still found, with its line number") {
  boost::asio::io_context io;
  SupervisedProcess p(io, "flood", 4096);
  p.match_output(Stream::stdout_stream,
                 OutputPatterns{{"panic", "never printed"}, {"^worker \\d+: panic", "dog$"}});
  SpawnRequest request;
  request.argv = {test::payload_path(), "flood", "8MiB", "--first", "worker 3: panic: nil map"};
  request.env = current_environment();
  REQUIRE(p.start(request, [](SupervisedProcess&) {}));
  io.run();
  REQUIRE(p.exit_status());
  REQUIRE(p.output_closed());
  CHECK(p.output(Stream::stdout_stream).tail().find("panic") == std::string::npos);
  const OutputMatcher* m = p.matcher(Stream::stdout_stream);
  REQUIRE(m);
  CHECK(m->bytes() == 8u * 1024 * 1024 + 25);
  CHECK(m->lines() == 8u * 1024 * 1024 / 64 + 1);
  REQUIRE(m->literal_match(0));
  CHECK(m->literal_match(0)->line == 1);
  CHECK(m->literal_match(0)->excerpt == "worker 3: panic: nil map");
  CHECK_FALSE(m->literal_match(1));
  REQUIRE(m->regex_match(0));
  CHECK(m->regex_match(0)->line == 1);
  REQUIRE(m->regex_match(1));
  CHECK(m->regex_match(1)->line == 2);
  CHECK_FALSE(p.matcher(Stream::stderr_stream));
}
