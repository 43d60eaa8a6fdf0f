// The demo services that example scenarios run (scenarios/services): their usage errors, and what
// SIGTERM does to requests in flight. Scenarios rely on both: a bad option must end the process
// at once with a message naming it, and the backend's drain answers what it already accepted.
#include <arpa/inet.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/background_harness.h"
#include "tests/support/bundled_scenario.h"
#include "tests/support/command.h"
#include "tests/support/scratch_dir.h"
#include "tests/support/skips.h"
#include "tests/support/test_env.h"

using namespace faultline::test;
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

// The demo programs are built next to the faultline executable.
std::string demo_program(const std::string& name) {
  return (fs::path(faultline_path()).parent_path() / name).string();
}

// Bounds that hold on a loaded machine: these tests assert order, not speed.
constexpr auto kPatience = 20s;

// A demo service started with its stdout on a pipe, killed if the test ends before it exits.
class Service {
 public:
  explicit Service(std::vector<std::string> argv) {
    int fds[2];
    REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
    pid_ = ::fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      ::dup2(fds[1], STDOUT_FILENO);
      std::vector<char*> args;
      for (auto& a : argv) args.push_back(a.data());
      args.push_back(nullptr);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
    ::close(fds[1]);
    out_ = fds[0];
  }
  pid_t pid() const { return pid_; }
  ~Service() {
    if (pid_ > 0 && !status_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    ::close(out_);
  }

  // Reads stdout until `pattern` matches a line; returns its first group ("" without one).
  std::optional<std::string> wait_for_line(const std::string& pattern) {
    const std::regex re(pattern);
    const auto deadline = Clock::now() + kPatience;
    while (Clock::now() < deadline) {
      std::size_t start = 0, end;
      while ((end = text_.find('\n', start)) != std::string::npos) {
        std::smatch m;
        const std::string line = text_.substr(start, end - start);
        if (std::regex_search(line, m, re)) return m.size() > 1 ? m[1].str() : "";
        start = end + 1;
      }
      if (!read_some()) return std::nullopt;
    }
    return std::nullopt;
  }

  void signal(int signo) { REQUIRE(::kill(pid_, signo) == 0); }

  // The exit code (128 + signal for a signal), or nullopt when it is still running at the bound.
  std::optional<int> wait_exit() {
    const auto deadline = Clock::now() + kPatience;
    while (Clock::now() < deadline) {
      int raw = 0;
      if (::waitpid(pid_, &raw, WNOHANG) == pid_) {
        status_ = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
        while (read_some() && Clock::now() < deadline) {
        }
        return status_;
      }
      std::this_thread::sleep_for(20ms);
    }
    return std::nullopt;
  }

  const std::string& output() const { return text_; }

 private:
  // Waits up to 200ms for output; false at end of file.
  bool read_some() {
    pollfd p{out_, POLLIN, 0};
    if (::poll(&p, 1, 200) <= 0) return true;
    char buf[4096];
    const ssize_t n = ::read(out_, buf, sizeof buf);
    if (n <= 0) return false;
    text_.append(buf, static_cast<std::size_t>(n));
    return true;
  }

  pid_t pid_ = -1;
  int out_ = -1;
  std::string text_;
  std::optional<int> status_;
};

// A client connection to 127.0.0.1:port; fd -1 when the connection was refused.
struct Connection {
  explicit Connection(int port) : fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      ::close(fd);
      fd = -1;
    }
  }
  ~Connection() {
    if (fd >= 0) ::close(fd);
  }
  void get(const std::string& target) {
    const std::string request = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    REQUIRE(::send(fd, request.data(), request.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(request.size()));
  }
  // Everything until the server closes the connection (or the bound passes).
  std::string read_until_closed() {
    std::string text;
    const auto deadline = Clock::now() + kPatience;
    while (Clock::now() < deadline) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 200) <= 0) continue;
      char buf[4096];
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) return text;
      text.append(buf, static_cast<std::size_t>(n));
    }
    FAIL("the server kept the connection open; read so far: " << text);
    return text;
  }
  int fd;
};

int listening_port(Service& service) {
  const auto port = service.wait_for_line(R"(^listening on 127\.0\.0\.1:(\d+))");
  REQUIRE(port);
  return std::stoi(*port);
}

}  // namespace

TEST_CASE("demo services: a bad option exits 2 with a message naming the option", "[demo]") {
  if (faultline_path().empty()) FAULTLINE_SKIP("FAULTLINE_BIN not set");
  struct Case {
    std::string program;
    std::string args;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"faultline-demo-backend", "--port abc", "--port: wants a port number, not `abc`"},
      {"faultline-demo-backend", "--port 65536", "--port: wants a port number, not `65536`"},
      {"faultline-demo-backend", "--port 0 --delay 5x", "--delay: expected a duration"},
      {"faultline-demo-backend", "--delay 1s", "--port is required"},
      {"faultline-demo-backend", "--port 0 --colour red", "--colour"},
      {"faultline-demo-client", "--url http://127.0.0.1:9/ --count 0", "--count: wants a positive integer"},
      {"faultline-demo-client", "--url http://127.0.0.1:9/ --timeout 2", "--timeout: expected a duration"},
      {"faultline-demo-frontend", "--port 0 --backend http://127.0.0.1:9 --breaker maybe",
       "--breaker: wants on or off, not `maybe`"},
      {"faultline-demo-frontend", "--port 0 --backend / --breaker on", "--backend: wants a URL"},
      {"faultline-demo-frontend", "--port 0 --backend http://127.0.0.1:9 --breaker on --failure-threshold 0",
       "--failure-threshold: wants a number from 1 to 1000, not `0`"},
      {"faultline-demo-frontend", "--port 0 --backend http://127.0.0.1:9 --breaker on --open-timeout soon",
       "--open-timeout: expected a duration"},
      {"faultline-demo-frontend", "--port 0 --backend http://127.0.0.1:9", "--breaker is required"},
  };
  for (const auto& c : cases) {
    INFO(c.program << " " << c.args);
    const auto r = run_shell(quote(demo_program(c.program)) + " " + c.args);
    CHECK(r.status == 2);
    CHECK(r.out.empty());
    CHECK(r.err.starts_with(c.program + ": "));
    CHECK(r.err.find(c.message) != std::string::npos);
    CHECK(r.err.find("\nusage: " + c.program + " ") != std::string::npos);
  }
}

TEST_CASE("demo backend: SIGTERM stops accepting, closes idle connections and answers the request in flight",
          "[demo]") {
  if (faultline_path().empty()) FAULTLINE_SKIP("FAULTLINE_BIN not set");
  Service backend({demo_program("faultline-demo-backend"), "--port", "0", "--delay", "3s"});
  const int port = listening_port(backend);

  Connection idle(port);
  REQUIRE(idle.fd >= 0);
  Connection slow(port);
  REQUIRE(slow.fd >= 0);
  slow.get("/orders");
  // The request is read long before its 3s delay ends; SIGTERM lands while it waits.
  std::this_thread::sleep_for(1s);
  backend.signal(SIGTERM);
  REQUIRE(backend.wait_for_line(R"(^got SIGTERM, draining 1 request\(s\) in flight$)"));

  CHECK(idle.read_until_closed().empty());  // closed without an answer
  CHECK(Connection(port).fd == -1);         // closed after the listener: no longer accepting
  const std::string answer = slow.read_until_closed();
  CHECK(answer.starts_with("HTTP/1.1 200 OK\r\n"));
  CHECK(answer.find("Connection: close\r\n") != std::string::npos);
  CHECK(answer.ends_with(R"({"orders": [{"id": 1, "item": "book"}, {"id": 2, "item": "lamp"}]})"
                         "\n"));
  CHECK(backend.wait_exit() == 0);
  CHECK(backend.output().ends_with("drained, served 1 request(s), exiting\n"));
}

TEST_CASE("demo frontend: SIGTERM exits 0 at once, without waiting for a slow backend call", "[demo]") {
  if (faultline_path().empty()) FAULTLINE_SKIP("FAULTLINE_BIN not set");
  // The backend answers after 30s, the frontend would wait for it up to 60s.
  Service backend({demo_program("faultline-demo-backend"), "--port", "0", "--delay", "30s"});
  const int backend_port = listening_port(backend);
  Service frontend({demo_program("faultline-demo-frontend"), "--port", "0", "--backend",
                    "http://127.0.0.1:" + std::to_string(backend_port), "--breaker", "off",
                    "--request-timeout", "60s"});
  const int port = listening_port(frontend);
  REQUIRE(frontend.output().find("listening on 127.0.0.1:" + std::to_string(port) + " (breaker off)\n") !=
          std::string::npos);

  Connection waiting(port);
  REQUIRE(waiting.fd >= 0);
  waiting.get("/orders");
  std::this_thread::sleep_for(1s);
  const auto signalled = Clock::now();
  frontend.signal(SIGTERM);
  CHECK(frontend.wait_exit() == 0);
  CHECK(Clock::now() - signalled < 15s);  // far below the backend's 30s
  CHECK(frontend.output().ends_with("got SIGTERM, exiting\n"));
  CHECK(waiting.read_until_closed().empty());  // no answer: the call was abandoned
  backend.signal(SIGKILL);
  backend.wait_exit();
}

TEST_CASE("readiness: a gate on a port another program already listens on is an error, not ready", "[demo]") {
  if (auto why = bundled_scenario_skip_reason()) FAULTLINE_SKIP(*why);
  Service squatter({demo_program("faultline-demo-backend"), "--port", "0"});
  const int port = listening_port(squatter);
  ScratchDir dir;
  const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/";
  // The backend would listen there only after 1.5s; the squatter answers at once.
  const auto file = dir.write("s.toml",
                              "name = \"foreign listener\"\ntimeout = \"10s\"\nstop = \"client.exit\"\n"
                              "[[process]]\nname = \"backend\"\nshell = \"sleep 1.5\"\n"
                              "ready = { http = \"" +
                                  url +
                                  "\" }\n"
                                  "[[process]]\nname = \"client\"\nafter = [\"backend\"]\n"
                                  "command = [\"true\"]\n");
  const auto r = run_shell(quote(faultline_path()) + " run " + quote(file));
  INFO(r.out << r.err);
  CHECK(r.status == 1);
  CHECK(r.out.find("ERROR") != std::string::npos);
  CHECK(r.out.find("port " + std::to_string(port) + " was already listened on") != std::string::npos);
  CHECK(r.out.find("(faultline-demo-)") != std::string::npos);  // names the program (comm: 15 chars)
}

TEST_CASE("readiness: a gate on this host's own network address counts another program's listener there",
          "[demo]") {
  // A connect to the host's LAN address stays on the host, where a program outside the run
  // listening on every address answers it: the gate passed on it while its process never listened.
  if (auto why = bundled_scenario_skip_reason()) FAULTLINE_SKIP(*why);
  std::optional<std::string> own_address;
  ifaddrs* interfaces = nullptr;
  REQUIRE(::getifaddrs(&interfaces) == 0);
  for (const ifaddrs* i = interfaces; i && !own_address; i = i->ifa_next) {
    if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET || (i->ifa_flags & IFF_LOOPBACK)) continue;
    char text[INET_ADDRSTRLEN] = {};
    ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(i->ifa_addr)->sin_addr, text, sizeof text);
    own_address = text;
  }
  ::freeifaddrs(interfaces);
  if (!own_address) FAULTLINE_SKIP("this machine has no IPv4 address but loopback");
  // The other program: this test, listening on 0.0.0.0 (a connect completes without an accept).
  const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(listener >= 0);
  sockaddr_in any{};
  any.sin_family = AF_INET;
  any.sin_addr.s_addr = htonl(INADDR_ANY);
  REQUIRE(::bind(listener, reinterpret_cast<const sockaddr*>(&any), sizeof any) == 0);
  REQUIRE(::listen(listener, 16) == 0);
  socklen_t length = sizeof any;
  REQUIRE(::getsockname(listener, reinterpret_cast<sockaddr*>(&any), &length) == 0);
  const int port = ntohs(any.sin_port);
  ScratchDir dir;
  const auto file = dir.write("s.toml",
                              "name = \"gate on the host's own address\"\ntimeout = \"10s\"\n"
                              "duration = \"300ms\"\n[target]\nshell = \"exec sleep 30\"\n"
                              "ready = { tcp = \"" +
                                  *own_address + ":" + std::to_string(port) + "\", timeout = \"3s\" }\n");
  const auto r = run_shell(quote(faultline_path()) + " run " + quote(file));
  ::close(listener);
  INFO(r.out << r.err);
  CHECK(r.status == 1);
  CHECK(r.out.find("ERROR") != std::string::npos);
  CHECK(r.out.find("port " + std::to_string(port) + " was already listened on (0.0.0.0:" +
                   std::to_string(port) + " by pid " + std::to_string(::getpid())) != std::string::npos);
}

TEST_CASE("readiness: a gate that another program began to answer after the start is an error, not ready",
          "[demo]") {
  // The port was free when the process started, so the check before the start passed; a program
  // outside the run then listened there and answered the gate, and the process, which never
  // listened, was taken for ready.
  if (auto why = bundled_scenario_skip_reason()) FAULTLINE_SKIP(*why);
  int port = 0;
  {
    Service probe({demo_program("faultline-demo-backend"), "--port", "0"});
    port = listening_port(probe);
  }  // a port the kernel just handed out, free again
  ScratchDir dir;
  const std::string token = new_token();
  const auto file = dir.write("s.toml",
                              "name = \"listener after the start\"\ntimeout = \"30s\"\nduration = \"500ms\"\n"
                              "[target]\nshell = \"exec sleep 60\"\n"
                              "env = { FAULTLINE_E2E_TOKEN = \"" +
                                  token +
                                  "\" }\n"
                                  "ready = { http = \"http://127.0.0.1:" +
                                  std::to_string(port) + "/healthz\", timeout = \"20s\" }\n");
  const std::string json_path = (dir.path() / "report.json").string();
  BackgroundHarness harness({"run", file, "--json", json_path});
  REQUIRE(harness.started());
  REQUIRE(BackgroundHarness::wait_for_target(token));
  Service squatter({demo_program("faultline-demo-backend"), "--port", std::to_string(port)});
  REQUIRE(listening_port(squatter) == port);
  const auto status = harness.wait();
  REQUIRE(status);
  CHECK(WIFEXITED(*status));
  CHECK(WEXITSTATUS(*status) == 1);
  const auto report = nlohmann::json::parse(read_file(json_path));
  const auto& s = report.at("scenarios").at(0);
  INFO(s.dump(1));
  CHECK(s.at("result") == "error");
  const std::string reason = s.at("reason");
  CHECK(reason.find("port " + std::to_string(port) + " was listened on by another program (127.0.0.1:" +
                    std::to_string(port) + " by pid " + std::to_string(squatter.pid()) +
                    " (faultline-demo-)) when the gate passed") != std::string::npos);
}
