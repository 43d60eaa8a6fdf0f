// The proxy's time-to-first-byte histogram: fixed log-scale bounds, every value counted once,
// and the bounded list of values beside it.
#include <catch2/catch.hpp>

#include "net/proxy.h"

using faultline::net::LatencyHistogram;
using faultline::net::ProxyStats;

TEST_CASE("proxy histogram: a value falls in the bucket whose bound is the first above it") {
  CHECK(LatencyHistogram::bucket_of(0) == 0);
  CHECK(LatencyHistogram::bucket_of(0.999) == 0);
  CHECK(LatencyHistogram::bucket_of(1) == 1);  // bounds are exclusive: 1 ms is not "< 1 ms"
  CHECK(LatencyHistogram::bucket_of(4.9) == 2);
  CHECK(LatencyHistogram::bucket_of(250) == 8);  // [200, 500)
  CHECK(LatencyHistogram::bucket_of(9999.9) == 12);
  CHECK(LatencyHistogram::bucket_of(10000) == LatencyHistogram::kBuckets - 1);
  CHECK(LatencyHistogram::bucket_of(3.6e6) == LatencyHistogram::kBuckets - 1);
}

TEST_CASE("proxy histogram: bounds go 1, 2, 5 per decade from 1 ms to 10 s") {
  const auto& b = LatencyHistogram::kUpperMs;
  CHECK(b.front() == 1);
  CHECK(b.back() == 10000);
  for (std::size_t i = 1; i < b.size(); ++i) {
    const double ratio = b[i] / b[i - 1];
    CHECK((ratio == 2 || ratio == 2.5));
  }
}

TEST_CASE("proxy stats: every first byte is counted in the histogram, the list stays bounded") {
  ProxyStats stats;
  for (int i = 0; i < 3; ++i) stats.record_first_byte(0, 0.4);
  stats.record_first_byte(0, 300);
  stats.record_first_byte(0, 12000);
  CHECK(stats.first_byte_histogram.total() == 5);
  CHECK(stats.first_byte_histogram.counts[0] == 3);
  CHECK(stats.first_byte_histogram.counts[8] == 1);
  CHECK(stats.first_byte_histogram.counts[LatencyHistogram::kBuckets - 1] == 1);
  CHECK(stats.first_byte_ms == std::vector<double>{0.4, 0.4, 0.4, 300, 12000});

  const std::size_t bound = 1u << 20;
  stats.first_byte_ms.resize(bound, 1.5);
  stats.record_first_byte(0, 1.5);
  CHECK(stats.first_byte_ms.size() == bound);
  CHECK(stats.first_byte_histogram.total() == 6);
}
