#include "net/toxics.h"

#include <algorithm>
#include <cmath>

namespace faultline::net {

std::string_view to_string(ToxicKind kind) {
  switch (kind) {
    case ToxicKind::latency:
      return "latency";
    case ToxicKind::bandwidth:
      return "bandwidth";
    case ToxicKind::timeout:
      return "timeout";
    case ToxicKind::reset:
      return "reset";
    case ToxicKind::slow_close:
      return "slow_close";
    case ToxicKind::slicer:
      return "slicer";
    case ToxicKind::limit_data:
      return "limit_data";
    case ToxicKind::down:
      return "down";
  }
  return "?";
}

std::string_view to_string(Direction direction) {
  switch (direction) {
    case Direction::upstream:
      return "upstream";
    case Direction::downstream:
      return "downstream";
    case Direction::both:
      return "both";
  }
  return "?";
}

bool acts_on(Direction toxic, Direction flow) { return toxic == Direction::both || toxic == flow; }

std::uint64_t stable_hash(std::string_view text) {
  std::uint64_t hash = 0xcbf29ce484222325ull;  // FNV-1a offset basis
  for (unsigned char c : text) hash = (hash ^ c) * 1099511628211ull;
  return hash;
}

namespace {
std::uint64_t mix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}
}  // namespace

bool selects_connection(std::uint64_t seed, std::string_view toxic_name, std::uint64_t index,
                        double toxicity) {
  if (toxicity >= 1.0) return true;
  if (toxicity <= 0.0) return false;
  const std::uint64_t draw = mix(mix(seed ^ stable_hash(toxic_name)) ^ mix(index));
  // The top 53 bits as a double in [0, 1).
  return static_cast<double>(draw >> 11) * 0x1.0p-53 < toxicity;
}

std::uint64_t SeededRandom::next() {
  state_ += 0x9e3779b97f4a7c15ull;
  std::uint64_t z = state_;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

std::int64_t SeededRandom::between(std::int64_t low, std::int64_t high) {
  if (high <= low) return low;
  const auto span = static_cast<std::uint64_t>(high - low) + 1;
  return low + static_cast<std::int64_t>(next() % span);
}

Micros latency_sample(const Toxic& toxic, SeededRandom& random) {
  const std::int64_t jitter = toxic.jitter.count();
  const std::int64_t value = toxic.latency.count() + random.between(-jitter, jitter);
  return Micros(std::max<std::int64_t>(0, value));
}

std::vector<std::size_t> slice_sizes(std::size_t total, std::size_t average, std::size_t variation,
                                     SeededRandom& random) {
  std::vector<std::size_t> sizes;
  if (average == 0) average = 1;
  variation = std::min(variation, average - 1);
  while (total > 0) {
    const auto low = static_cast<std::int64_t>(average - variation);
    const auto high = static_cast<std::int64_t>(average + variation);
    const auto size = std::min<std::size_t>(total, static_cast<std::size_t>(random.between(low, high)));
    sizes.push_back(size);
    total -= size;
  }
  return sizes;
}

Micros TokenBucket::reserve(std::size_t bytes, Clock::time_point now) {
  if (rate_ == 0) return Micros(0);
  const auto start = std::max(now, next_free_);
  const auto cost = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(static_cast<double>(bytes) / static_cast<double>(rate_)));
  next_free_ = start + cost;
  return std::chrono::duration_cast<Micros>(start - now);
}

std::size_t TokenBucket::chunk_limit() const {
  return static_cast<std::size_t>(std::max<std::uint64_t>(1, rate_ / 50));
}

double percentile(std::vector<double> samples, double p) {
  if (samples.empty()) return 0;
  std::sort(samples.begin(), samples.end());
  const double rank = std::ceil(p / 100.0 * static_cast<double>(samples.size()));
  const auto index = static_cast<std::size_t>(std::clamp(rank, 1.0, static_cast<double>(samples.size()))) - 1;
  return samples[index];
}

}  // namespace faultline::net
