// The pure parts of the TCP fault proxy: which connections a toxic picks, jitter draws,
// slicing and pacing arithmetic.
#include <catch2/catch.hpp>
#include <numeric>

#include "net/toxics.h"

using namespace faultline::net;
using namespace std::chrono_literals;

TEST_CASE("toxicity picks the same connections for the same seed and name", "[proxy][toxics]") {
  std::vector<std::uint64_t> first, second, other_seed, other_name;
  for (std::uint64_t i = 0; i < 200; ++i) {
    if (selects_connection(42, "slow-db", i, 0.5)) first.push_back(i);
    if (selects_connection(42, "slow-db", i, 0.5)) second.push_back(i);
    if (selects_connection(43, "slow-db", i, 0.5)) other_seed.push_back(i);
    if (selects_connection(42, "reset-db", i, 0.5)) other_name.push_back(i);
  }
  CHECK(first == second);
  CHECK(first != other_seed);
  CHECK(first != other_name);
}

TEST_CASE("toxicity is the share of connections picked", "[proxy][toxics]") {
  int picked = 0;
  for (std::uint64_t i = 0; i < 10000; ++i) picked += selects_connection(7, "t", i, 0.3) ? 1 : 0;
  CHECK(picked > 2700);
  CHECK(picked < 3300);
  for (std::uint64_t i = 0; i < 1000; ++i) {
    CHECK(selects_connection(7, "t", i, 1.0));
    CHECK_FALSE(selects_connection(7, "t", i, 0.0));
  }
}

TEST_CASE("the stable hash does not depend on the build", "[proxy][toxics]") {
  // FNV-1a 64 of "a", a published test vector.
  CHECK(stable_hash("a") == 0xaf63dc4c8601ec8cull);
}

TEST_CASE("latency samples stay within latency +- jitter and repeat with the seed", "[proxy][toxics]") {
  Toxic toxic;
  toxic.latency = 10ms;
  toxic.jitter = 2ms;
  SeededRandom a(5), b(5);
  bool below = false, above = false;
  for (int i = 0; i < 1000; ++i) {
    const auto sample = latency_sample(toxic, a);
    CHECK(sample == latency_sample(toxic, b));
    CHECK(sample >= 8ms);
    CHECK(sample <= 12ms);
    below = below || sample < 10ms;
    above = above || sample > 10ms;
  }
  CHECK(below);
  CHECK(above);
  toxic.latency = 1ms;
  toxic.jitter = 5ms;
  for (int i = 0; i < 100; ++i) CHECK(latency_sample(toxic, a) >= 0us);
}

TEST_CASE("slices add up to the data and stay within average +- variation", "[proxy][toxics]") {
  SeededRandom random(1);
  const auto sizes = slice_sizes(10000, 100, 20, random);
  CHECK(std::accumulate(sizes.begin(), sizes.end(), std::size_t{0}) == 10000);
  for (std::size_t i = 0; i + 1 < sizes.size(); ++i) {
    CHECK(sizes[i] >= 80);
    CHECK(sizes[i] <= 120);
  }
  CHECK(slice_sizes(0, 100, 20, random).empty());
  // A variation larger than the average never yields an empty slice.
  for (auto size : slice_sizes(500, 3, 50, random)) CHECK(size >= 1);
}

TEST_CASE("the token bucket paces at the rate and saves no idle time", "[proxy][toxics]") {
  TokenBucket bucket(1000);  // 1000 bytes/s
  const auto t0 = TokenBucket::Clock::now();
  CHECK(bucket.reserve(500, t0) == 0us);
  CHECK(bucket.reserve(500, t0) == 500ms);
  CHECK(bucket.reserve(100, t0) == 1000ms);
  // Ten seconds idle: the next send waits for nothing but is not granted a burst either.
  const auto later = t0 + 10s;
  CHECK(bucket.reserve(1000, later) == 0us);
  CHECK(bucket.reserve(1, later) == 1s);
  CHECK(bucket.chunk_limit() == 20);
  CHECK(TokenBucket(10).chunk_limit() == 1);
}

TEST_CASE("percentiles use the nearest rank", "[proxy][toxics]") {
  std::vector<double> samples;
  for (int i = 100; i >= 1; --i) samples.push_back(i);
  CHECK(percentile(samples, 50) == 50);
  CHECK(percentile(samples, 99) == 99);
  CHECK(percentile(samples, 100) == 100);
  CHECK(percentile(samples, 0) == 1);
  CHECK(percentile({}, 50) == 0);
}
