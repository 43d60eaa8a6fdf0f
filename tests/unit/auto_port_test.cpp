// auto-port allocation: never the same port twice, even from threads loading scenarios at once.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <csignal>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "scenario/variables.h"

TEST_CASE("allocate_loopback_port hands out distinct bindable ports below the ephemeral range", "[vars]") {
  unsigned ephemeral_low = 32768, ephemeral_high = 60999;
  std::ifstream("/proc/sys/net/ipv4/ip_local_port_range") >> ephemeral_low >> ephemeral_high;
  std::set<std::uint16_t> seen;
  for (int i = 0; i < 50; ++i) {
    const auto port = faultline::scenario::allocate_loopback_port();
    CHECK(seen.insert(port).second);
    CHECK(port < ephemeral_low);
    // Free for the target: it can bind and listen on it.
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    CHECK(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    ::close(fd);
  }
}

TEST_CASE("allocate_loopback_port is safe from several threads at once", "[vars]") {
  std::mutex mutex;
  std::vector<std::uint16_t> all;
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&] {
      std::vector<std::uint16_t> mine;
      for (int i = 0; i < 25; ++i) mine.push_back(faultline::scenario::allocate_loopback_port());
      std::lock_guard lock(mutex);
      all.insert(all.end(), mine.begin(), mine.end());
    });
  for (auto& t : threads) t.join();
  const std::set<std::uint16_t> distinct(all.begin(), all.end());
  CHECK(all.size() == 200);
  CHECK(distinct.size() == all.size());
}

TEST_CASE("a port claimed by another process is not handed out", "[vars]") {
  // A forked child allocates (and so claims) as many ports as a process keeps claimed; the
  // parent's registry does not know them, so only the claims keep the parent off them. Without
  // claims, 1000 draws from the ~22000 candidates would hit the child's ports about 11 times.
  std::vector<std::uint16_t> child_ports;
  int ports_pipe[2];
  REQUIRE(::pipe(ports_pipe) == 0);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    ::close(ports_pipe[0]);
    for (std::size_t i = 0; i < faultline::scenario::kPortClaimsHeld; ++i) {
      const auto p = faultline::scenario::allocate_loopback_port();
      if (::write(ports_pipe[1], &p, sizeof p) != sizeof p) ::_exit(1);
    }
    ::close(ports_pipe[1]);
    for (;;) ::pause();  // hold the claims until the parent is done and kills us
  }
  ::close(ports_pipe[1]);
  std::uint16_t p;
  while (::read(ports_pipe[0], &p, sizeof p) == sizeof p) child_ports.push_back(p);
  ::close(ports_pipe[0]);
  REQUIRE(child_ports.size() == faultline::scenario::kPortClaimsHeld);
  const std::set<std::uint16_t> taken(child_ports.begin(), child_ports.end());
  int clashes = 0;
  for (int i = 0; i < 1000; ++i)
    if (taken.contains(faultline::scenario::allocate_loopback_port())) ++clashes;
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  CHECK(clashes == 0);
  CHECK(WIFSIGNALED(status));
}
