// The faults a TcpProxy can put on a connection ("toxics", after Toxiproxy) and the pure
// arithmetic behind them: which connections a toxic picks, how data is sliced and paced.
// Kept free of sockets so the choices are unit-tested and identical run after run.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace faultline::net {

using Micros = std::chrono::microseconds;

enum class ToxicKind { latency, bandwidth, timeout, reset, slow_close, slicer, limit_data, down };
// upstream: client -> upstream server; downstream: upstream server -> client.
enum class Direction { upstream, downstream, both };

std::string_view to_string(ToxicKind kind);
std::string_view to_string(Direction direction);

struct Toxic {
  ToxicKind kind = ToxicKind::latency;
  Direction direction = Direction::both;
  double toxicity = 1.0;            // share of connections affected, 0..1
  Micros latency{0};                // latency: added to every chunk
  Micros jitter{0};                 // latency: +- uniform, drawn from the seed
  std::uint64_t rate = 0;           // bandwidth: bytes per second
  Micros after{0};                  // timeout: close after (0 = never); reset: RST after; slow_close: delay
  std::size_t slice_average = 0;    // slicer: bytes per slice
  std::size_t slice_variation = 0;  // slicer: +- bytes
  Micros slice_delay{0};            // slicer: pause between slices
  std::uint64_t limit = 0;          // limit_data: bytes forwarded before the close
};

// Whether a toxic set for `toxic` acts on the data flowing in `flow` (upstream or downstream).
bool acts_on(Direction toxic, Direction flow);

// A stable 64-bit hash of a toxic's name (std::hash may differ between builds).
std::uint64_t stable_hash(std::string_view text);

// Whether the toxic named `toxic_name` affects the connection accepted as number `index`: a
// hash of (seed, name, index) against `toxicity`, so a seed picks the same connections in every
// run whatever the order of events, and two toxics pick independently of each other.
bool selects_connection(std::uint64_t seed, std::string_view toxic_name, std::uint64_t index,
                        double toxicity);

// splitmix64: small, fast and the same sequence on every platform.
class SeededRandom {
 public:
  explicit SeededRandom(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next();
  // Uniform in [low, high] (inclusive).
  std::int64_t between(std::int64_t low, std::int64_t high);

 private:
  std::uint64_t state_;
};

// latency +- uniform jitter, never below zero.
Micros latency_sample(const Toxic& toxic, SeededRandom& random);

// Slice sizes for `total` bytes: each average +- variation (at least 1), the last one the rest.
std::vector<std::size_t> slice_sizes(std::size_t total, std::size_t average, std::size_t variation,
                                     SeededRandom& random);

// Paces a flow at `rate` bytes/s: how long to wait before sending the next `bytes`.
// Idle time is not saved up, so a pause is never followed by a burst above the rate.
class TokenBucket {
 public:
  using Clock = std::chrono::steady_clock;
  explicit TokenBucket(std::uint64_t rate) : rate_(rate) {}
  Micros reserve(std::size_t bytes, Clock::time_point now);
  // The largest write that keeps bursts short (20 ms worth of the rate, at least 1 byte).
  std::size_t chunk_limit() const;
  // When the bytes reserved so far will all have left at the rate.
  Clock::time_point busy_until() const { return next_free_; }

 private:
  std::uint64_t rate_;
  Clock::time_point next_free_{};
};

// The p-th percentile (0..100) of `samples`, nearest rank; 0 when empty.
double percentile(std::vector<double> samples, double p);

}  // namespace faultline::net
