// A scenario's [[proxy]] run by the scenario runner (runner/proxies) with real processes in real
// cgroups: whatever way the run ends (a pass, the scenario timeout, a scenario error), the
// proxy's port is free again, nothing answers on it, no fd of the proxy stays open in the
// harness, and its figures still reach the report.
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <filesystem>
#include <string>

#include "cgroup/backend.h"
#include "common/address.h"
#include "runner/scenario_runner.h"
#include "scenario/loader.h"
#include "tests/support/scratch_dir.h"
#include "tests/support/skips.h"

using namespace faultline;

namespace {

// An echo server that keeps every connection open until the peer closes.
const char* kBackend = R"TOML(
[vars]
backend_port = "auto-port"
proxy_port = "auto-port"

[[process]]
name = "backend"
command = ["/usr/bin/python3", "-c", '''
import socket, sys, threading
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen()
def echo(c):
    while data := c.recv(4096):
        c.sendall(data)
while True:
    c, _ = s.accept()
    threading.Thread(target=echo, args=(c,), daemon=True).start()
''', "${backend_port}"]
ready = { tcp = "127.0.0.1:${backend_port}" }

[[proxy]]
name = "db"
listen = "127.0.0.1:${proxy_port}"
upstream = "127.0.0.1:${backend_port}"
after = ["backend"]
)TOML";

// Two clients hold a connection through the proxy when the run ends: one plain, one under a
// latency fault that is still in force.
const char* kClients = R"TOML(
[[process]]
name = "client"
command = ["/bin/bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/${proxy_port}; echo hi >&3; read -u 3 line; echo got $line; exec sleep 60"]
after = ["db"]
ready = { log = "got hi" }

[[process]]
name = "slow-client"
command = ["/bin/bash", "-c", "sleep 0.3; exec 3<>/dev/tcp/127.0.0.1/${proxy_port}; echo hi >&3; exec sleep 60"]
after = ["client"]

[[inject]]
name = "slow"
kind = "latency"
proxy = "db"
direction = "both"
latency = "30s"
at = "ready"
)TOML";

// The fds a proxy could leave behind: TCP sockets and the pipes it splices through. Not
// AF_UNIX sockets: those are the auto-port claims, held across runs on purpose
// (scenario/variables.cpp), nor fds made once per process (the interrupt eventfd).
std::size_t tcp_and_pipe_fds() {
  std::size_t count = 0;
  for (auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    const int fd = std::stoi(entry.path().filename().string());
    struct stat st {};
    if (::fstat(fd, &st) != 0) continue;  // the iterator's own fd, closed meanwhile
    if (S_ISFIFO(st.st_mode)) {
      ++count;
    } else if (S_ISSOCK(st.st_mode)) {
      int domain = 0;
      socklen_t len = sizeof domain;
      if (::getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) == 0 &&
          (domain == AF_INET || domain == AF_INET6))
        ++count;
    }
  }
  return count;
}

std::string fd_listing() {
  std::string out;
  for (auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    out += entry.path().filename().string() + " -> " +
           std::filesystem::read_symlink(entry.path(), ec).string() + "\n";
  }
  return out;
}

// -errno of connect(2), 0 when something accepted.
int connect_result(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  const int err = errno;
  ::close(fd);
  return rc == 0 ? 0 : -err;
}

// -errno of bind(2) + listen(2) on the port, 0 on success. SO_REUSEADDR as any server sets it:
// the proxy closing its connections leaves them in TIME_WAIT on this port, which is TCP, not a
// socket left behind.
int listen_result(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int rc = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  if (rc == 0) rc = ::listen(fd, 1);
  const int err = errno;
  ::close(fd);
  return rc == 0 ? 0 : -err;
}

report::ScenarioResult run_text(const std::string& text) {
  test::ScratchDir dir;
  const auto s = scenario::load_scenario(dir.write("proxy.toml", text));
  auto backend = cgroup::open_backend();
  return runner::run_scenario(s, *backend);
}

std::uint16_t port_of(const report::ProxyResult& proxy) {
  const auto parsed = parse_host_port(proxy.listen);
  REQUIRE(parsed);
  return parsed->port;
}

void check_nothing_left(const report::ScenarioResult& r, std::size_t fds_before) {
  INFO(r.reason);
  // The figures reach the report however the run ended, with the held connections counted.
  REQUIRE(r.proxies.size() == 1);
  const auto& proxy = r.proxies[0];
  CHECK(proxy.accepted >= 1);
  CHECK(proxy.closed == proxy.accepted);
  const std::uint16_t port = port_of(proxy);
  CHECK(connect_result(port) == -ECONNREFUSED);
  CHECK(listen_result(port) == 0);
  INFO("fds now:\n" << fd_listing());
  CHECK(tcp_and_pipe_fds() == fds_before);
}

}  // namespace

// The backend is a Python echo server and the clients use bash's /dev/tcp.
#define PROXY_RUN_PRECONDITIONS()                                                     \
  if (::geteuid() != 0) FAULTLINE_SKIP("not root: scenarios need to create cgroups"); \
  if (::access("/usr/bin/python3", X_OK) != 0 || ::access("/bin/bash", X_OK) != 0)    \
  FAULTLINE_SKIP("needs /usr/bin/python3 and /bin/bash")

TEST_CASE("proxy in a run: a passing run leaves no socket behind", "[proxy][integration]") {
  PROXY_RUN_PRECONDITIONS();
  const std::size_t before = tcp_and_pipe_fds();
  const auto r =
      run_text(std::string("name = \"proxy teardown\"\ntimeout = \"20s\"\nduration = \"1500ms\"\n") +
               kBackend + kClients);
  CHECK(r.verdict == report::Verdict::pass);
  REQUIRE(r.proxies.size() == 1);
  CHECK(r.proxies[0].accepted == 2);
  CHECK(r.proxies[0].toxics_touched.at("slow") >= 1);
  check_nothing_left(r, before);
}

TEST_CASE("proxy in a run: a run killed at its timeout leaves no socket behind", "[proxy][integration]") {
  PROXY_RUN_PRECONDITIONS();
  const std::size_t before = tcp_and_pipe_fds();
  // No duration: the clients sleep on, the timeout ends the run.
  const auto r = run_text(std::string("name = \"proxy timeout\"\ntimeout = \"3s\"\n") + kBackend + kClients);
  CHECK(r.verdict == report::Verdict::fail);
  CHECK(r.reason.find("timeout") != std::string::npos);
  check_nothing_left(r, before);
}

TEST_CASE("proxy in a run: a run that ends in an error leaves no socket behind", "[proxy][integration]") {
  PROXY_RUN_PRECONDITIONS();
  const std::size_t before = tcp_and_pipe_fds();
  // The second client cannot start: the scenario becomes an error while the proxy forwards.
  const auto r = run_text(std::string("name = \"proxy error\"\ntimeout = \"20s\"\n") + kBackend + kClients +
                          R"TOML(
[[process]]
name = "broken"
command = ["/nonexistent/faultline-no-such-program"]
after = ["slow-client"]
)TOML");
  CHECK(r.verdict == report::Verdict::error);
  check_nothing_left(r, before);
}

TEST_CASE("proxy in a run: a partition still in force at the end leaves no socket behind",
          "[proxy][integration]") {
  PROXY_RUN_PRECONDITIONS();
  const std::size_t before = tcp_and_pipe_fds();
  // The run ends during the partition: the revert at the end listens again, the stop closes.
  const auto r =
      run_text(std::string("name = \"proxy down at the end\"\ntimeout = \"20s\"\nduration = \"1500ms\"\n") +
               kBackend + kClients + R"TOML(
[[inject]]
name = "cut"
kind = "down"
proxy = "db"
at = "ready+200ms"
)TOML");
  CHECK(r.verdict == report::Verdict::pass);
  REQUIRE(r.proxies.size() == 1);
  CHECK(r.proxies[0].toxics_touched.at("cut") >= 1);
  check_nothing_left(r, before);
}
