#include "net/proxy_series.h"

#include <algorithm>
#include <cmath>

namespace faultline::net {

void ProxySeries::halve_resolution() {
  std::vector<Slot> merged((slots.size() + 1) / 2);
  for (std::size_t i = 0; i < slots.size(); ++i) {
    Slot& m = merged[i / 2];
    const Slot& s = slots[i];
    m.accepted += s.accepted;
    m.closed += s.closed;
    m.peak_open = std::max(m.peak_open, s.peak_open);
    m.first_bytes += s.first_bytes;
    m.first_byte_max_ms = std::max(m.first_byte_max_ms, s.first_byte_max_ms);
    m.first_byte_sum_ms += s.first_byte_sum_ms;
  }
  slots = std::move(merged);
  slot_ms *= 2;
}

// A slot that had no event yet starts with the connections still open from before it.
ProxySeries::Slot& ProxySeries::slot_at(double t_ms) {
  const double t = std::max(t_ms, 0.0);
  while (std::floor(t / slot_ms) >= static_cast<double>(kMaxSlots)) halve_resolution();
  const auto index = static_cast<std::size_t>(t / slot_ms);
  while (slots.size() <= index) slots.push_back(Slot{.peak_open = open});
  return slots[index];
}

void ProxySeries::on_accept(double t_ms) {
  Slot& s = slot_at(t_ms);
  ++open;
  ++s.accepted;
  s.peak_open = std::max(s.peak_open, open);
}

void ProxySeries::on_close(double t_ms) {
  Slot& s = slot_at(t_ms);
  if (open > 0) --open;
  ++s.closed;
}

void ProxySeries::on_first_byte(double t_ms, double latency_ms) {
  Slot& s = slot_at(t_ms);
  ++s.first_bytes;
  s.first_byte_max_ms = std::max(s.first_byte_max_ms, latency_ms);
  s.first_byte_sum_ms += latency_ms;
}

}  // namespace faultline::net
