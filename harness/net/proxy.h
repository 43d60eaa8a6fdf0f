// A TCP fault proxy on the caller's asio event loop: listens on host:port, forwards every
// accepted connection to an upstream address in both directions, and applies toxics
// (net/toxics.h) at run time to the connections open at that moment and to new ones.
//
// Every method may be called from any thread, including handlers on the proxy's own loop.
// The loop must be run by one thread (see the readiness waits in proxy.cpp). Nothing runs
// until the loop runs; after stop() no socket of the proxy remains open.
#pragma once

#include <array>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/address.h"
#include "net/proxy_series.h"
#include "net/toxics.h"

namespace faultline::net {

struct ProxyConfig {
  std::string name;                       // for error messages
  HostPort listen;                        // port 0: the kernel picks one (see TcpProxy::port)
  HostPort upstream;                      // resolved once at start
  std::uint64_t seed = 0;                 // toxicity choices and jitter draws
  std::size_t buffer_bytes = 256 * 1024;  // per direction and connection
  // Where the stats' series counts time from (the run's start); unset: when the proxy is made.
  std::optional<std::chrono::steady_clock::time_point> origin = std::nullopt;
};

// Latencies counted in fixed log-scale buckets (1, 2, 5 per decade from 1 ms to 10 s): every
// value counts however many there are, and histograms of different runs line up bucket by bucket.
struct LatencyHistogram {
  // Bucket i holds the values below kUpperMs[i] and not below the bound before it; the last
  // bucket, one past these bounds, holds everything from 10 s up.
  static constexpr std::array<double, 13> kUpperMs = {1,   2,   5,    10,   20,   50,   100,
                                                      200, 500, 1000, 2000, 5000, 10000};
  static constexpr std::size_t kBuckets = kUpperMs.size() + 1;

  static std::size_t bucket_of(double ms);
  void add(double ms) { ++counts[bucket_of(ms)]; }
  std::uint64_t total() const;

  std::array<std::uint64_t, kBuckets> counts{};
};

struct ProxyStats {
  std::uint64_t accepted = 0;
  std::uint64_t closed = 0;                      // includes the reset ones
  std::uint64_t reset = 0;                       // closed with RST (reset toxic, or a peer's RST passed on)
  std::uint64_t bytes_upstream = 0;              // written to the upstream server
  std::uint64_t bytes_downstream = 0;            // written to clients
  std::vector<double> first_byte_ms;             // per connection: accept to first byte written to the client
  LatencyHistogram first_byte_histogram;         // the same, every connection counted
  std::map<std::string, std::uint64_t> touched;  // toxic name -> connections it had an effect on
  // Connects refused while a partition (`down`) was in force; they count as touched by it.
  std::uint64_t refused = 0;
  // Why refused connects could not be seen (no CAP_NET_RAW), or empty: then `refused` is exact.
  std::string refused_unseen;
  // Connections (and refused connects) from faultline's own probes and readiness checks
  // (own_ports.h): the toxics act on them too, but no other figure here counts them.
  std::uint64_t own_connections = 0;
  ProxySeries series;  // connections and first bytes over time

  // One connection's time to first byte, reached at `t_ms` from the origin. The list (for
  // percentiles) is bounded so a proxy open for days does not grow without limit; the histogram
  // and the series count every connection.
  void record_first_byte(double t_ms, double ms);
};

class TcpProxy {
 public:
  TcpProxy(boost::asio::io_context& io, ProxyConfig config);
  ~TcpProxy();  // stop()
  TcpProxy(const TcpProxy&) = delete;
  TcpProxy& operator=(const TcpProxy&) = delete;

  // Binds and listens; throws faultline::Error naming the proxy, address and errno.
  void start();
  // Closes the listener and every connection.
  void stop();
  std::uint16_t port() const;  // the bound port (after start)

  // Puts the toxic in force under `name` (replacing one of that name), or takes it away.
  void apply(const std::string& name, const Toxic& toxic);
  void revert(const std::string& name);

  ProxyStats stats() const;
  std::size_t open_connections() const;

  struct State;  // shared with the connections, which may outlive this object by a handler

 private:
  std::shared_ptr<State> state_;
};

}  // namespace faultline::net
