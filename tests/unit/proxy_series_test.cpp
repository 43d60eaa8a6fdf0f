// A proxy's connections and first bytes over time: slots from the origin, gaps that carry the
// open connections, and a bounded length that merges slots as the run goes on.
#include "net/proxy_series.h"

#include <catch2/catch.hpp>

using faultline::net::ProxySeries;

TEST_CASE("proxy series: events land in the slot of their time") {
  ProxySeries s;
  s.on_accept(20);
  s.on_accept(30);
  s.on_first_byte(50, 30);
  s.on_close(250);  // slot 2
  REQUIRE(s.slots.size() == 3);
  CHECK(s.slot_ms == ProxySeries::kFirstSlotMs);
  CHECK(s.slots[0].accepted == 2);
  CHECK(s.slots[0].peak_open == 2);
  CHECK(s.slots[0].first_bytes == 1);
  CHECK(s.slots[0].first_byte_max_ms == 30);
  CHECK(s.slots[1].accepted == 0);
  CHECK(s.slots[1].peak_open == 2);  // nothing happened, both stayed open
  CHECK(s.slots[2].closed == 1);
  CHECK(s.slots[2].peak_open == 2);  // open at the slot's start
  CHECK(s.open == 1);
}

TEST_CASE("proxy series: a time before the origin counts in the first slot") {
  ProxySeries s;
  s.on_accept(-5);
  REQUIRE(s.slots.size() == 1);
  CHECK(s.slots[0].accepted == 1);
}

TEST_CASE("proxy series: past the bound, neighbouring slots merge and the span doubles") {
  ProxySeries s;
  // One connection per slot for the whole bound, each answered: every total must survive merging.
  for (std::size_t i = 0; i < ProxySeries::kMaxSlots; ++i) {
    const double t = static_cast<double>(i) * ProxySeries::kFirstSlotMs + 10;
    s.on_accept(t);
    s.on_first_byte(t + 1, static_cast<double>(i));
    s.on_close(t + 2);
  }
  REQUIRE(s.slots.size() == ProxySeries::kMaxSlots);
  CHECK(s.slot_ms == ProxySeries::kFirstSlotMs);

  s.on_accept(static_cast<double>(ProxySeries::kMaxSlots) * ProxySeries::kFirstSlotMs + 10);
  CHECK(s.slot_ms == 2 * ProxySeries::kFirstSlotMs);
  REQUIRE(s.slots.size() == ProxySeries::kMaxSlots / 2 + 1);
  CHECK(s.slots[0].accepted == 2);
  CHECK(s.slots[0].first_bytes == 2);
  CHECK(s.slots[0].first_byte_max_ms == 1);
  CHECK(s.slots[0].first_byte_sum_ms == 1);
  CHECK(s.slots[0].peak_open == 1);
  CHECK(s.slots.back().accepted == 1);

  std::uint64_t accepted = 0, closed = 0;
  for (const auto& slot : s.slots) accepted += slot.accepted, closed += slot.closed;
  CHECK(accepted == ProxySeries::kMaxSlots + 1);
  CHECK(closed == ProxySeries::kMaxSlots);

  // A day later: still bounded, nothing lost.
  s.on_close(24 * 3600e3);
  CHECK(s.slots.size() <= ProxySeries::kMaxSlots);
  CHECK(s.slot_ms * static_cast<double>(s.slots.size()) > 24 * 3600e3);
  closed = 0;
  for (const auto& slot : s.slots) closed += slot.closed;
  CHECK(closed == ProxySeries::kMaxSlots + 1);
  CHECK(s.open == 0);
}
