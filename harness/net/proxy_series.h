// A proxy's connections and first-byte latency over time, in fixed slots counted from an origin
// (the run's start), for the report's timeline. The series stays bounded: when a new slot would
// pass kMaxSlots, neighbouring slots merge and the slot span doubles, so a proxy open for days
// keeps at most kMaxSlots slots, each covering a longer stretch.
#pragma once

#include <cstdint>
#include <vector>

namespace faultline::net {

struct ProxySeries {
  static constexpr std::size_t kMaxSlots = 240;
  static constexpr double kFirstSlotMs = 100;

  struct Slot {
    std::uint64_t accepted = 0;
    std::uint64_t closed = 0;
    std::uint64_t peak_open = 0;    // most connections open at once within the slot
    std::uint64_t first_bytes = 0;  // connections whose first byte reached the client within it
    double first_byte_max_ms = 0;   // the slowest of those, accept to first byte
    double first_byte_sum_ms = 0;   // for their mean
  };

  // Times are milliseconds from the origin; earlier ones count in the first slot.
  void on_accept(double t_ms);
  void on_close(double t_ms);
  void on_first_byte(double t_ms, double latency_ms);

  double slot_ms = kFirstSlotMs;
  std::vector<Slot> slots;  // slot i covers [i * slot_ms, (i + 1) * slot_ms)
  std::uint64_t open = 0;   // connections open now

 private:
  Slot& slot_at(double t_ms);
  void halve_resolution();
};

}  // namespace faultline::net
