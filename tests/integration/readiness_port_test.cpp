// The check made before a process with a tcp or http gate starts: is its port already listened on
// by another program? Against real listening sockets of this test.
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <catch2/catch.hpp>
#include <csignal>
#include <string>
#include <vector>

#include "runner/readiness.h"

namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using faultline::runner::gate_port_taken;
using faultline::runner::GateMoment;
using faultline::scenario::ProcessSpec;
using faultline::scenario::Readiness;

// A listener of another program's: held by a child of this test (one this process holds is taken
// for a proxy of faultline's own).
struct Squatter {
  pid_t holder = 0;
  std::string port;
  explicit Squatter(const char* address) {
    asio::io_context io;
    tcp::acceptor acceptor(io);
    const tcp::endpoint at(asio::ip::make_address(address), 0);
    acceptor.open(at.protocol());
    if (at.address().is_v6()) acceptor.set_option(asio::ip::v6_only(false));  // dual-stack, Linux's default
    acceptor.bind(at);
    acceptor.listen();
    port = std::to_string(acceptor.local_endpoint().port());
    holder = ::fork();
    REQUIRE(holder >= 0);
    if (holder == 0) {
      ::pause();
      ::_exit(0);
    }
  }
  ~Squatter() {
    ::kill(holder, SIGKILL);
    ::waitpid(holder, nullptr, 0);
  }
};

std::optional<std::string> taken(const std::string& tcp_gate, GateMoment when = GateMoment::before_start,
                                 std::vector<pid_t> run_pids = {}) {
  ProcessSpec process;
  process.name = "api";
  process.ready.kind = Readiness::Kind::tcp;
  process.ready.address = tcp_gate;
  return gate_port_taken(
      process, [&] { return run_pids; }, when);
}

}  // namespace

TEST_CASE("a gate's port already taken is found by address, not by how it is written", "[readiness]") {
  Squatter v4_any("0.0.0.0");
  const std::string p4 = v4_any.port;
  CHECK(taken("127.0.0.1:" + p4));
  CHECK(taken("localhost:" + p4));
  // The IPv4 loopback written as IPv6: the string test took it for a remote host, and the gate
  // passed on the squatter's answer.
  const auto mapped = taken("[::ffff:127.0.0.1]:" + p4);
  REQUIRE(mapped);
  CHECK(mapped->find("port " + p4 + " was already listened on (0.0.0.0:" + p4) != std::string::npos);
  CHECK(mapped->find("by pid " + std::to_string(v4_any.holder)) != std::string::npos);
  // An IPv6 connect never reaches an IPv4 listener, wildcard or not: the gate cannot pass on it.
  CHECK_FALSE(taken("[::1]:" + p4));
  CHECK_FALSE(taken("[0:0:0:0:0:0:0:1]:" + p4));

  Squatter dual("::");
  const std::string p6 = dual.port;
  CHECK(taken("[::1]:" + p6));
  CHECK(taken("[0:0:0:0:0:0:0:1]:" + p6));
  CHECK(taken("127.0.0.1:" + p6));  // `::` takes IPv4 too
  // A host that is not this machine's loopback is not looked at.
  CHECK_FALSE(taken("192.0.2.7:" + p6));
}

TEST_CASE("as a gate passes, a listener of the run's is its own and another program's is named",
          "[readiness]") {
  Squatter listener("127.0.0.1");
  const std::string gate = "127.0.0.1:" + listener.port;
  // Held by a process of the run (the process itself, or a worker it handed the socket to).
  CHECK_FALSE(taken(gate, GateMoment::at_pass, {::getpid() + 100000, listener.holder}));
  // Held by a program outside the run, which began to listen after the process started.
  const auto other = taken(gate, GateMoment::at_pass);
  REQUIRE(other);
  CHECK(other->find("port " + listener.port +
                    " was listened on by another program (127.0.0.1:" + listener.port + " by pid " +
                    std::to_string(listener.holder) + " (") != std::string::npos);
  CHECK(other->find(") when the gate passed, so it may have passed on that program's answer, not `api`'s") !=
        std::string::npos);
}
