// The TCP fault proxy against a direct loopback connection, measured in the same run so the
// figures are ratios on whatever the host is doing: throughput of 512 MiB (and socat's, when
// installed), added latency of small request/response on a kept connection, and how close the
// latency toxic's added delay stays to the configured value.
#include <benchmark/benchmark.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/executor_work_guard.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "net/proxy.h"

namespace {

using namespace faultline::net;
using Clock = std::chrono::steady_clock;
namespace asio = boost::asio;

constexpr std::size_t kTransfer = 512u << 20;
constexpr std::size_t kChunk = 256u << 10;

int listen_loopback(std::uint16_t* port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 || ::listen(fd, 128) != 0)
    return -1;
  socklen_t length = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  *port = ntohs(address.sin_port);
  return fd;
}

int connect_loopback(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// A server on its own threads: `sink` reads to EOF and answers one byte; otherwise it echoes.
class Server {
 public:
  explicit Server(bool sink) : sink_(sink) {
    listener_ = listen_loopback(&port_);
    thread_ = std::thread([this] {
      for (;;) {
        const int fd = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0) return;
        std::thread([this, fd] { serve(fd); }).detach();
      }
    });
  }
  ~Server() {
    ::shutdown(listener_, SHUT_RDWR);
    ::close(listener_);
    thread_.join();
  }
  std::uint16_t port() const { return port_; }

 private:
  void serve(int fd) {
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    std::vector<char> buffer(sink_ ? kChunk : 4096);  // small echo buffers: 1000 of them in RSS
    for (;;) {
      const ssize_t n = ::recv(fd, buffer.data(), buffer.size(), 0);
      if (n <= 0) break;
      if (!sink_ && ::send(fd, buffer.data(), static_cast<std::size_t>(n), MSG_NOSIGNAL) != n) break;
    }
    if (sink_) ::send(fd, "k", 1, MSG_NOSIGNAL);
    ::close(fd);
  }
  bool sink_;
  std::uint16_t port_ = 0;
  int listener_ = -1;
  std::thread thread_;
};

// Seconds to push kTransfer bytes to `port` and get the sink's answer.
double transfer_seconds(std::uint16_t port) {
  const int fd = connect_loopback(port);
  if (fd < 0) return NAN;
  std::vector<char> buffer(kChunk, 'x');
  const auto start = Clock::now();
  std::size_t sent = 0;
  while (sent < kTransfer) {
    const ssize_t n = ::send(fd, buffer.data(), std::min(kChunk, kTransfer - sent), MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<std::size_t>(n);
  }
  ::shutdown(fd, SHUT_WR);
  char answer = 0;
  const bool ok = ::recv(fd, &answer, 1, 0) == 1;
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  ::close(fd);
  return ok && sent == kTransfer ? seconds : NAN;
}

// Round-trip times in µs of `count` 64-byte requests on one kept connection.
std::vector<double> round_trips_us(std::uint16_t port, int count) {
  std::vector<double> samples;
  const int fd = connect_loopback(port);
  if (fd < 0) return samples;
  char request[64] = {}, reply[64];
  for (int i = 0; i < count; ++i) {
    const auto start = Clock::now();
    if (::send(fd, request, sizeof request, MSG_NOSIGNAL) != sizeof request) break;
    std::size_t got = 0;
    while (got < sizeof reply) {
      const ssize_t n = ::recv(fd, reply + got, sizeof reply - got, 0);
      if (n <= 0) break;
      got += static_cast<std::size_t>(n);
    }
    if (got != sizeof reply) break;
    samples.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
  }
  ::close(fd);
  return samples;
}

// A proxy on its own event loop thread.
struct RunningProxy {
  explicit RunningProxy(std::uint16_t upstream)
      : proxy(io, ProxyConfig{"bench", {"127.0.0.1", 0}, {"127.0.0.1", upstream}, 1}) {
    proxy.start();
    thread = std::thread([this] { io.run(); });
  }
  ~RunningProxy() {
    proxy.stop();
    guard.reset();
    io.stop();
    thread.join();
  }
  // CPU time of the proxy's loop thread so far, in ms.
  double cpu_ms() {
    clockid_t clock;
    timespec now{};
    if (::pthread_getcpuclockid(thread.native_handle(), &clock) != 0 || ::clock_gettime(clock, &now) != 0)
      return NAN;
    return static_cast<double>(now.tv_sec) * 1e3 + static_cast<double>(now.tv_nsec) / 1e6;
  }
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> guard = asio::make_work_guard(io);
  TcpProxy proxy;
  std::thread thread;
};

// `socat TCP-LISTEN:port,fork,reuseaddr TCP:127.0.0.1:upstream` with its default buffer.
struct Socat {
  explicit Socat(std::uint16_t upstream) {
    if (::access("/usr/bin/socat", X_OK) != 0) return;
    int probe = listen_loopback(&port);
    ::close(probe);  // a free port for socat (a tiny race, acceptable in a benchmark)
    const std::string listen = "TCP-LISTEN:" + std::to_string(port) + ",fork,reuseaddr,bind=127.0.0.1";
    const std::string target = "TCP:127.0.0.1:" + std::to_string(upstream);
    pid = ::fork();
    if (pid == 0) {
      ::execl("/usr/bin/socat", "socat", listen.c_str(), target.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    for (int i = 0; i < 200; ++i) {  // up to 2 s for socat to listen
      const int fd = connect_loopback(port);
      if (fd >= 0) {
        ::close(fd);
        ready = true;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  ~Socat() {
    if (pid <= 0) return;
    ::kill(pid, SIGTERM);
    ::waitpid(pid, nullptr, 0);
  }
  std::uint16_t port = 0;
  pid_t pid = -1;
  bool ready = false;
};

// Best of three rounds each, interleaved, so a burst of load on the host hits both sides alike.
void BM_ProxyThroughput512MiB(benchmark::State& state) {
  Server sink(true);
  RunningProxy proxy(sink.port());
  Socat socat(sink.port());
  double direct = INFINITY, proxied = INFINITY, via_socat = INFINITY;
  const double cpu_before = proxy.cpu_ms();
  for (auto _ : state) {
    for (int round = 0; round < 3; ++round) {
      direct = std::min(direct, transfer_seconds(sink.port()));
      proxied = std::min(proxied, transfer_seconds(proxy.proxy.port()));
    }
    if (socat.ready) via_socat = transfer_seconds(socat.port);
  }
  const double mib = static_cast<double>(kTransfer >> 20);
  state.counters["direct_MiB_s"] = mib / direct;
  state.counters["proxy_MiB_s"] = mib / proxied;
  state.counters["proxy_time_ratio"] = proxied / direct;
  // Independent of the host's load: what forwarding 512 MiB costs the harness's loop thread.
  state.counters["proxy_cpu_ms_per_512MiB"] = (proxy.cpu_ms() - cpu_before) / 3;
  if (socat.ready) {
    state.counters["socat_MiB_s"] = mib / via_socat;
    state.counters["socat_time_ratio"] = via_socat / direct;
  }
}
BENCHMARK(BM_ProxyThroughput512MiB)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();

// Added round-trip latency of 64-byte request/response over a kept connection.
void BM_ProxyAddedLatency(benchmark::State& state) {
  Server echo(false);
  RunningProxy proxy(echo.port());
  std::vector<double> direct, proxied;
  for (auto _ : state) {
    for (int round = 0; round < 5; ++round) {
      for (double v : round_trips_us(echo.port(), 1000)) direct.push_back(v);
      for (double v : round_trips_us(proxy.proxy.port(), 1000)) proxied.push_back(v);
    }
  }
  state.counters["direct_p50_us"] = percentile(direct, 50);
  state.counters["direct_p99_us"] = percentile(direct, 99);
  state.counters["proxy_p50_us"] = percentile(proxied, 50);
  state.counters["proxy_p99_us"] = percentile(proxied, 99);
  state.counters["added_p50_us"] = percentile(proxied, 50) - percentile(direct, 50);
  state.counters["added_p99_us"] = percentile(proxied, 99) - percentile(direct, 99);
}
BENCHMARK(BM_ProxyAddedLatency)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();

// A 10 ms downstream latency toxic: the added delay of each round trip (against the proxy's
// own median without the toxic), its p50/p99 error against the configured 10 ms.
void BM_LatencyToxicAccuracy(benchmark::State& state) {
  Server echo(false);
  RunningProxy proxy(echo.port());
  const double configured_us = 10000;
  std::vector<double> errors;
  double base = 0;
  for (auto _ : state) {
    base = percentile(round_trips_us(proxy.proxy.port(), 500), 50);
    Toxic toxic;
    toxic.kind = ToxicKind::latency;
    toxic.direction = Direction::downstream;
    toxic.latency = std::chrono::microseconds(static_cast<long>(configured_us));
    proxy.proxy.apply("slow", toxic);
    for (double v : round_trips_us(proxy.proxy.port(), 300))
      errors.push_back(std::abs(v - base - configured_us));
    proxy.proxy.revert("slow");
  }
  state.counters["base_rtt_p50_us"] = base;
  state.counters["error_p50_us"] = percentile(errors, 50);
  state.counters["error_p90_us"] = percentile(errors, 90);
  state.counters["error_p99_us"] = percentile(errors, 99);
}
BENCHMARK(BM_LatencyToxicAccuracy)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();

long rss_kib() {
  std::FILE* status = std::fopen("/proc/self/status", "r");
  if (!status) return -1;
  char line[256];
  long kib = -1;
  while (std::fgets(line, sizeof line, status))
    if (std::sscanf(line, "VmRSS: %ld kB", &kib) == 1) break;
  std::fclose(status);
  return kib;
}

// 1000 connections open at once through one proxy, one small echo each: errors, the proxy
// thread's CPU and the process's RSS growth (clients and echo threads included).
void BM_Proxy1000Connections(benchmark::State& state) {
  Server echo(false);
  RunningProxy proxy(echo.port());
  const long rss_before = rss_kib();
  const double cpu_before = proxy.cpu_ms();
  int failures = 0;
  for (auto _ : state) {
    std::vector<int> clients;
    for (int i = 0; i < 1000; ++i) {
      const int fd = connect_loopback(proxy.proxy.port());
      if (fd < 0) {
        ++failures;
        continue;
      }
      clients.push_back(fd);
    }
    char reply[8];
    for (int fd : clients)
      if (::send(fd, "1234567", 8, MSG_NOSIGNAL) != 8 || ::recv(fd, reply, 8, MSG_WAITALL) != 8) ++failures;
    state.counters["rss_growth_MiB"] = static_cast<double>(rss_kib() - rss_before) / 1024.0;
    state.counters["open_connections"] = static_cast<double>(proxy.proxy.open_connections());
    for (int fd : clients) ::close(fd);
  }
  state.counters["failures"] = failures;
  state.counters["proxy_cpu_ms"] = proxy.cpu_ms() - cpu_before;
}
BENCHMARK(BM_Proxy1000Connections)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
