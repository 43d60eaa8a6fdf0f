// The TCP fault proxy against a direct loopback connection, measured in the same run so the
// figures are ratios on whatever the host is doing: throughput of 512 MiB (beside a minimal
// minimal copy and splice relays', and socat's when installed), added latency of small request/response on a
// kept connection, how close the latency toxic's added delay stays to the configured value,
// and 1000 connections at once.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/executor_work_guard.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
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

// A loopback listener on its own thread handing each accepted connection to `serve` on a
// detached thread of its own.
class LoopbackListener {
 public:
  explicit LoopbackListener(std::function<void(int)> serve) : serve_(std::move(serve)) {
    listener_ = listen_loopback(&port_);
    thread_ = std::thread([this] {
      for (;;) {
        const int fd = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0) return;
        std::thread(serve_, fd).detach();
      }
    });
  }
  ~LoopbackListener() {
    ::shutdown(listener_, SHUT_RDWR);
    ::close(listener_);
    thread_.join();
  }
  LoopbackListener(const LoopbackListener&) = delete;
  LoopbackListener& operator=(const LoopbackListener&) = delete;
  std::uint16_t port() const { return port_; }

 private:
  std::function<void(int)> serve_;
  std::uint16_t port_ = 0;
  int listener_ = -1;
  std::thread thread_;
};

// A server on its own threads: `sink` reads to EOF and answers one byte; otherwise it echoes.
class Server {
 public:
  explicit Server(bool sink) : sink_(sink), listener_([this](int fd) { serve(fd); }) {}
  std::uint16_t port() const { return listener_.port(); }

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
  bool sink_;  // before listener_: its thread may call serve() as soon as it exists
  LoopbackListener listener_;
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
      : proxy(io, ProxyConfig{.name = "bench",
                              .listen = {"127.0.0.1", 0},
                              .upstream = {"127.0.0.1", upstream},
                              .seed = 1}) {
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

// The least a user-space relay costs: per connection, one thread per direction moving the data
// with blocking calls, either recv/send through a 4 MiB buffer (`copy`) or splice(2) through a
// 1 MiB pipe; no event loop, no toxics, nothing counted. What the proxy costs beyond the copy
// relay is the proxy's own; what the relays cost beyond the direct connection is the kernel's
// second TCP connection over loopback. The splice relay shows why the proxy copies: on kernel
// 6.x splicing into a TCP socket copies the data anyway, and costs more than a plain send.
class MinimalRelay {
 public:
  enum class Mode { copy, splice };
  MinimalRelay(std::uint16_t upstream, Mode mode)
      : listener_([upstream, mode](int client) { relay(client, upstream, mode); }) {}
  std::uint16_t port() const { return listener_.port(); }

 private:
  static void relay(int client, std::uint16_t upstream, Mode mode) {
    int one = 1;
    ::setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    const int server = connect_loopback(upstream);
    if (server >= 0) {
      const auto pump = mode == Mode::copy ? copy : splice;
      std::thread up(pump, client, server);
      pump(server, client);
      up.join();
      ::close(server);
    }
    ::close(client);
  }
  static void copy(int from, int to) {
    std::vector<char> buffer(4u << 20);
    for (;;) {
      const ssize_t in = ::recv(from, buffer.data(), buffer.size(), 0);
      if (in <= 0) break;
      if (!send_all(to, buffer.data(), static_cast<std::size_t>(in))) break;
    }
    ::shutdown(to, SHUT_WR);
  }
  static bool send_all(int to, const char* data, std::size_t size) {
    while (size > 0) {
      const ssize_t out = ::send(to, data, size, MSG_NOSIGNAL);
      if (out <= 0) return false;
      data += out;
      size -= static_cast<std::size_t>(out);
    }
    return true;
  }
  static void splice(int from, int to) {
    int pipe[2];
    if (::pipe2(pipe, O_CLOEXEC) != 0) return;
    ::fcntl(pipe[1], F_SETPIPE_SZ, 1 << 20);
    bool open = true;
    while (open) {
      ssize_t in = ::splice(from, nullptr, pipe[1], nullptr, 1 << 20, SPLICE_F_MOVE);
      if (in <= 0) break;
      while (in > 0) {
        const ssize_t out =
            ::splice(pipe[0], nullptr, to, nullptr, static_cast<std::size_t>(in), SPLICE_F_MOVE);
        if (out <= 0) {
          open = false;
          break;
        }
        in -= out;
      }
    }
    ::shutdown(to, SHUT_WR);
    ::close(pipe[0]);
    ::close(pipe[1]);
  }
  LoopbackListener listener_;
};

// CPU time (user + system) of the whole process so far, in ms: the sender, the receiver and
// the proxy all run in it, so this is what a transfer costs the machine's CPUs.
double process_cpu_ms() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  const auto ms = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) * 1e3 + static_cast<double>(t.tv_usec) / 1e3;
  };
  return ms(usage.ru_utime) + ms(usage.ru_stime);
}

struct Transfer {
  double seconds;
  double cpu_ms;
};
Transfer measured_transfer(std::uint16_t port) {
  const double cpu = process_cpu_ms();
  const double seconds = transfer_seconds(port);
  return {seconds, process_cpu_ms() - cpu};
}

// Rounds of the direct connection, the proxy and the splice relay, the order rotating, so a
// burst of load on the shared host hits each alike; medians, and the median of each round's own
// ratios.
void BM_ProxyThroughput512MiB(benchmark::State& state) {
  constexpr int kRounds = 6;
  constexpr int kWays = 4;  // direct, proxy, copy relay, splice relay
  Server sink(true);
  RunningProxy proxy(sink.port());
  MinimalRelay copy_relay(sink.port(), MinimalRelay::Mode::copy);
  MinimalRelay splice_relay(sink.port(), MinimalRelay::Mode::splice);
  Socat socat(sink.port());
  std::vector<double> seconds[kWays], ratios[kWays], cpu[kWays], proxy_vs_copy;
  std::vector<double> via_socat, socat_ratios;
  const double loop_cpu_before = proxy.cpu_ms();
  for (auto _ : state) {
    for (int round = 0; round < kRounds; ++round) {
      const std::uint16_t ports[kWays] = {sink.port(), proxy.proxy.port(), copy_relay.port(),
                                          splice_relay.port()};
      Transfer measured[kWays]{};
      for (int i = 0; i < kWays; ++i) {
        const int which = (round + i) % kWays;
        measured[which] = measured_transfer(ports[which]);
      }
      for (int way = 0; way < kWays; ++way) {
        seconds[way].push_back(measured[way].seconds);
        ratios[way].push_back(measured[way].seconds / measured[0].seconds);
        cpu[way].push_back(measured[way].cpu_ms);
      }
      proxy_vs_copy.push_back(measured[1].seconds / measured[2].seconds);
    }
    // socat is slow: two rounds, each paired with a direct transfer of its own.
    for (int round = 0; socat.ready && round < 2; ++round) {
      const double d = transfer_seconds(sink.port());
      const double s = transfer_seconds(socat.port);
      via_socat.push_back(s);
      socat_ratios.push_back(s / d);
    }
  }
  const double mib = static_cast<double>(kTransfer >> 20);
  const char* names[kWays] = {"direct", "proxy", "copy_relay", "splice_relay"};
  for (int way = 0; way < kWays; ++way) {
    const std::string name = names[way];
    state.counters[name + "_MiB_s"] = mib / percentile(seconds[way], 50);
    if (way == 0) continue;
    state.counters[name + "_time_ratio"] = percentile(ratios[way], 50);
    // Independent of the host's load: what moving 512 MiB costs the CPUs, all threads included.
    state.counters[name + "_cpu_ratio"] = percentile(cpu[way], 50) / percentile(cpu[0], 50);
  }
  state.counters["proxy_time_ratio_min"] = percentile(ratios[1], 0);
  state.counters["proxy_time_ratio_max"] = percentile(ratios[1], 100);
  state.counters["proxy_vs_copy_relay_time_ratio"] = percentile(proxy_vs_copy, 50);
  state.counters["direct_cpu_ms"] = percentile(cpu[0], 50);
  state.counters["proxy_cpu_ms"] = percentile(cpu[1], 50);
  state.counters["proxy_loop_cpu_ms"] = (proxy.cpu_ms() - loop_cpu_before) / kRounds;
  if (!via_socat.empty()) {
    state.counters["socat_MiB_s"] = mib / percentile(via_socat, 50);
    state.counters["socat_time_ratio"] = percentile(socat_ratios, 50);
  }
}
BENCHMARK(BM_ProxyThroughput512MiB)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();

// Added round-trip latency of 64-byte request/response over a kept connection, rounds of
// direct and proxied interleaved.
void BM_ProxyAddedLatency(benchmark::State& state) {
  Server echo(false);
  RunningProxy proxy(echo.port());
  MinimalRelay relay(echo.port(), MinimalRelay::Mode::copy);
  std::vector<double> direct, proxied, relayed;
  for (auto _ : state) {
    for (int round = 0; round < 5; ++round) {
      for (double v : round_trips_us(echo.port(), 1000)) direct.push_back(v);
      for (double v : round_trips_us(proxy.proxy.port(), 1000)) proxied.push_back(v);
      for (double v : round_trips_us(relay.port(), 1000)) relayed.push_back(v);
    }
  }
  state.counters["direct_p50_us"] = percentile(direct, 50);
  state.counters["direct_p99_us"] = percentile(direct, 99);
  state.counters["proxy_p50_us"] = percentile(proxied, 50);
  state.counters["proxy_p99_us"] = percentile(proxied, 99);
  state.counters["added_p50_us"] = percentile(proxied, 50) - percentile(direct, 50);
  state.counters["added_p99_us"] = percentile(proxied, 99) - percentile(direct, 99);
  // The same through the minimal relay: what a second hop through any user-space relay adds.
  state.counters["relay_added_p50_us"] = percentile(relayed, 50) - percentile(direct, 50);
  state.counters["relay_added_p99_us"] = percentile(relayed, 99) - percentile(direct, 99);
}
BENCHMARK(BM_ProxyAddedLatency)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();

// Round-trip times in µs of `count` 64-byte requests sent every `interval` on one kept
// connection without waiting for the replies (a client that pipelines, or many callers on one
// multiplexed connection): a reader thread stamps each reply.
std::vector<double> paced_round_trips_us(std::uint16_t port, int count, std::chrono::microseconds interval) {
  std::vector<double> samples;
  const int fd = connect_loopback(port);
  if (fd < 0) return samples;
  std::vector<Clock::time_point> sent(static_cast<std::size_t>(count));
  std::vector<Clock::time_point> answered(static_cast<std::size_t>(count));
  std::thread reader([&] {
    char reply[64];
    for (auto& at : answered) {
      if (::recv(fd, reply, sizeof reply, MSG_WAITALL) != sizeof reply) return;
      at = Clock::now();
    }
  });
  char request[64] = {};
  const auto start = Clock::now();
  for (int i = 0; i < count; ++i) {
    std::this_thread::sleep_until(start + interval * i);
    sent[static_cast<std::size_t>(i)] = Clock::now();
    if (::send(fd, request, sizeof request, MSG_NOSIGNAL) != sizeof request) break;
  }
  reader.join();
  ::close(fd);
  for (int i = 0; i < count; ++i) {
    const auto index = static_cast<std::size_t>(i);
    if (answered[index] == Clock::time_point{}) break;
    samples.push_back(std::chrono::duration<double, std::micro>(answered[index] - sent[index]).count());
  }
  return samples;
}

// A 50 ms downstream latency toxic without jitter: the added delay of each reply against the
// proxy's own median round trip without the toxic, measured just before, and its deviation
// from the configured 50 ms, for request/response one at a time and for requests every 5 ms
// (ten of them held at once); beside it how late a plain sleeping thread wakes on this host.
void BM_LatencyToxicAccuracy(benchmark::State& state) {
  Server echo(false);
  RunningProxy proxy(echo.port());
  const double configured_us = 50000;
  std::vector<double> serial, paced;
  std::size_t paced_replies = 0;
  double base = 0;
  for (auto _ : state) {
    base = percentile(round_trips_us(proxy.proxy.port(), 500), 50);
    Toxic toxic;
    toxic.kind = ToxicKind::latency;
    toxic.direction = Direction::downstream;
    toxic.latency = std::chrono::microseconds(static_cast<long>(configured_us));
    proxy.proxy.apply("slow", toxic);
    for (double v : round_trips_us(proxy.proxy.port(), 100)) serial.push_back(v - base - configured_us);
    const auto replies = paced_round_trips_us(proxy.proxy.port(), 200, std::chrono::milliseconds(5));
    paced_replies = replies.size();
    for (double v : replies) paced.push_back(v - base - configured_us);
    proxy.proxy.revert("slow");
  }
  // The host's own floor: how late a plain thread wakes from a 5 ms sleep, in the same run.
  std::vector<double> late;
  for (int i = 0; i < 200; ++i) {
    const auto due = Clock::now() + std::chrono::milliseconds(5);
    std::this_thread::sleep_until(due);
    late.push_back(std::chrono::duration<double, std::micro>(Clock::now() - due).count());
  }
  const auto deviation = [](std::vector<double> v, double p) {
    for (double& x : v) x = std::abs(x);
    return percentile(v, p);
  };
  state.counters["base_rtt_p50_us"] = base;
  state.counters["serial_dev_p50_us"] = deviation(serial, 50);
  state.counters["serial_dev_p99_us"] = deviation(serial, 99);
  state.counters["serial_added_max_ms"] = (percentile(serial, 100) + configured_us) / 1000;
  state.counters["paced_dev_p50_us"] = deviation(paced, 50);
  state.counters["paced_dev_p99_us"] = deviation(paced, 99);
  state.counters["paced_added_max_ms"] = (percentile(paced, 100) + configured_us) / 1000;
  state.counters["paced_replies"] = static_cast<double>(paced_replies);
  state.counters["host_wakeup_late_p50_us"] = percentile(late, 50);
  state.counters["host_wakeup_late_p99_us"] = percentile(late, 99);
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
  const double process_cpu_before = process_cpu_ms();
  const auto start = Clock::now();
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
  state.counters["process_cpu_ms"] = process_cpu_ms() - process_cpu_before;
  state.counters["wall_ms"] = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}
BENCHMARK(BM_Proxy1000Connections)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
