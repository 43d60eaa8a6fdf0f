// A scenario's [[proxy]] run by the scenario runner (runner/proxies) with real processes in
// real cgroups and connections the test holds through it: whatever way the run ends (a pass,
// the scenario timeout, a scenario error), the proxy's port is free again, nothing answers on
// it, no fd of the proxy stays open in the harness, and its figures still reach the report.
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "cgroup/backend.h"
#include "common/address.h"
#include "runner/scenario_runner.h"
#include "scenario/loader.h"
#include "scenario/variables.h"
#include "tests/support/scratch_dir.h"
#include "tests/support/skips.h"
#include "tests/support/sockets.h"

using namespace faultline;
using faultline::test::connect_result;
using faultline::test::connect_to;

namespace {

// The demo backend (HTTP/1.1, keeps connections open) behind the proxy. `@BACKEND@` and
// `@PROXY_PORT@` are filled in by scenario_text: the test itself connects through the proxy.
const char* kBackend = R"TOML(
[vars]
backend_port = "auto-port"
proxy_port = "@PROXY_PORT@"

[[process]]
name = "backend"
command = ["@BACKEND@", "--port", "${backend_port}"]
ready = { http = "http://127.0.0.1:${backend_port}/healthz" }

[[proxy]]
name = "db"
listen = "127.0.0.1:${proxy_port}"
upstream = "127.0.0.1:${backend_port}"
after = ["backend"]

# In force when the run ends: the request of the second connection is still held.
[[inject]]
name = "slow"
kind = "latency"
proxy = "db"
direction = "both"
latency = "30s"
at = "ready"
)TOML";

const std::string kRequest = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

// Two connections through the proxy, made by the test while the scenario runs and held open
// until the run ended: the first sends a request (held by the latency fault), the second
// stays idle.
class HeldConnections {
 public:
  explicit HeldConnections(std::uint16_t port)
      : thread_([this, port] {
          const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
          while (!stop_ && std::chrono::steady_clock::now() < deadline) {
            const int fd = connect_to(port, std::chrono::seconds(5));
            if (fd < 0) {
              std::this_thread::sleep_for(std::chrono::milliseconds(10));
              continue;
            }
            fds_.push_back(fd);
            if (fds_.size() == 2) return;
            (void)!::write(fd, kRequest.data(), kRequest.size());
          }
        }) {}
  ~HeldConnections() { release(); }
  // Joins the thread and closes the test's own ends (before the fds are counted).
  std::size_t release() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    const std::size_t n = fds_.size();
    for (int fd : fds_) ::close(fd);
    fds_.clear();
    return n;
  }

 private:
  std::atomic<bool> stop_{false};
  std::vector<int> fds_;
  std::thread thread_;
};

std::string scenario_text(const std::string& head, std::uint16_t proxy_port, const std::string& tail = {}) {
  const char* bin = std::getenv("FAULTLINE_BIN");
  std::string text = head + kBackend + tail;
  const auto fill = [&](const std::string& key, const std::string& value) {
    for (auto at = text.find(key); at != std::string::npos; at = text.find(key))
      text.replace(at, key.size(), value);
  };
  fill("@BACKEND@",
       (std::filesystem::path(bin ? bin : "").parent_path() / "faultline-demo-backend").string());
  fill("@PROXY_PORT@", std::to_string(proxy_port));
  return text;
}

// The fds a proxy could leave behind: TCP sockets, and pipes (it spliced through them once). Not
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
  CHECK(connect_result("127.0.0.1", port) == -ECONNREFUSED);
  CHECK(listen_result(port) == 0);
  INFO("fds now:\n" << fd_listing());
  CHECK(tcp_and_pipe_fds() == fds_before);
}

}  // namespace

#define PROXY_RUN_PRECONDITIONS()                                                     \
  if (::geteuid() != 0) FAULTLINE_SKIP("not root: scenarios need to create cgroups"); \
  if (!std::getenv("FAULTLINE_BIN"))                                                  \
  FAULTLINE_SKIP(                                                                     \
      "FAULTLINE_BIN not set (the demo backend sits beside "                          \
      "it)")

// Runs the scenario while the test holds two connections through its proxy.
report::ScenarioResult run_holding(const std::string& head, const std::string& tail = {}) {
  const std::uint16_t port = scenario::allocate_loopback_port();
  HeldConnections held(port);
  auto r = run_text(scenario_text(head, port, tail));
  CHECK(held.release() == 2);
  return r;
}

TEST_CASE("proxy in a run: a passing run leaves no socket behind", "[proxy][integration]") {
  PROXY_RUN_PRECONDITIONS();
  const std::size_t before = tcp_and_pipe_fds();
  const auto r = run_holding("name = \"proxy teardown\"\ntimeout = \"20s\"\nduration = \"1500ms\"\n");
  CHECK(r.verdict == report::Verdict::pass);
  REQUIRE(r.proxies.size() == 1);
  CHECK(r.proxies[0].accepted >= 2);
  CHECK(r.proxies[0].toxics_touched.at("slow") >= 1);
  check_nothing_left(r, before);
}

TEST_CASE("proxy in a run: a run killed at its timeout leaves no socket behind", "[proxy][integration]") {
  PROXY_RUN_PRECONDITIONS();
  const std::size_t before = tcp_and_pipe_fds();
  // No duration: the backend runs on, the timeout ends the run.
  const auto r = run_holding("name = \"proxy timeout\"\ntimeout = \"3s\"\n");
  CHECK(r.verdict == report::Verdict::fail);
  CHECK(r.reason.find("timeout") != std::string::npos);
  check_nothing_left(r, before);
}

TEST_CASE("proxy in a run: a run that ends in an error leaves no socket behind", "[proxy][integration]") {
  PROXY_RUN_PRECONDITIONS();
  const std::size_t before = tcp_and_pipe_fds();
  // A process that cannot start, 1s after the proxy listens: the scenario becomes an error
  // while the proxy holds the connections.
  const auto r = run_holding("name = \"proxy error\"\ntimeout = \"20s\"\n", R"TOML(
[[process]]
name = "later"
command = ["@BACKEND@", "--port", "0", "--delay", "1s"]
after = ["db"]
ready = { log = "no line says this", timeout = "1s" }
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
      run_holding("name = \"proxy down at the end\"\ntimeout = \"20s\"\nduration = \"2s\"\n", R"TOML(
[[inject]]
name = "cut"
kind = "down"
proxy = "db"
at = "ready+1s"
)TOML");
  CHECK(r.verdict == report::Verdict::pass);
  REQUIRE(r.proxies.size() == 1);
  CHECK(r.proxies[0].toxics_touched.at("cut") >= 1);
  check_nothing_left(r, before);
}
