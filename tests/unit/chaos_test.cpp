#include "scenario/chaos.h"

#include <catch2/catch.hpp>

using namespace faultline;
using namespace faultline::scenario;

namespace {

Scenario chaotic() {
  Scenario s;
  s.name = "nightly";
  s.processes.push_back(ProcessSpec{});
  s.processes[0].name = "api";
  s.processes.push_back(ProcessSpec{});
  s.processes[1].name = "db";
  Chaos c;
  c.faults = 4;
  c.window.from = {"ready", std::chrono::seconds(0), "ready"};
  c.window.to = {"ready", std::chrono::seconds(10), "ready+10s"};
  c.kinds = {"cpu", "memory", "freeze", "signal"};
  c.ranges["cpu"]["quota"].values = {"5%", "50%"};
  c.ranges["cpu"]["duration"].values = {"200ms", "2s"};
  c.ranges["memory"]["limit"].values = {"64MiB", "256MiB"};
  c.ranges["signal"]["signal"].values = {"SIGSTOP", "SIGCONT"};
  s.chaos = c;
  return s;
}

std::string describe(const Injection& i) {
  std::string d = i.name + " " + i.kind + " into " + i.into + " at " + i.at.text;
  if (i.duration) d += " for " + format_duration(*i.duration);
  if (auto* m = std::get_if<MemoryFault>(&i.params)) d += " limit " + format_size(*m->limit);
  if (auto* c = std::get_if<CpuFault>(&i.params)) d += " quota " + format_cpu(*c->quota);
  if (auto* g = std::get_if<SignalFault>(&i.params)) d += " " + signal_name(g->signal);
  return d;
}

std::vector<std::string> plan(std::uint64_t seed) {
  std::vector<std::string> out;
  for (const auto& i : draw_chaos(chaotic(), seed)) out.push_back(describe(i));
  return out;
}

}  // namespace

TEST_CASE("the same seed draws the same faults, another seed others") {
  CHECK(plan(42) == plan(42));
  CHECK(plan(42) != plan(43));
  CHECK(plan(42).size() == 4);
}

TEST_CASE("drawn values stay inside their ranges and windows") {
  for (std::uint64_t seed = 0; seed < 200; ++seed) {
    for (const auto& i : draw_chaos(chaotic(), seed)) {
      INFO(describe(i));
      CHECK(i.at.anchor == "ready");
      CHECK(i.at.offset >= std::chrono::seconds(0));
      CHECK(i.at.offset < std::chrono::seconds(10));
      CHECK((i.into == "api" || i.into == "db"));
      if (auto* c = std::get_if<CpuFault>(&i.params)) {
        CHECK(*c->quota >= 0.05 - 1e-9);
        CHECK(*c->quota <= 0.50 + 1e-9);
        CHECK(*i.duration >= std::chrono::milliseconds(200));
        CHECK(*i.duration <= std::chrono::seconds(2));
      }
      if (auto* m = std::get_if<MemoryFault>(&i.params)) {
        CHECK(*m->limit >= (64ull << 20));
        CHECK(*m->limit <= (256ull << 20));
      }
      if (auto* g = std::get_if<SignalFault>(&i.params)) CHECK((g->signal == 19 || g->signal == 18));
    }
  }
}

TEST_CASE("a window whose ends count from different points cannot be drawn from") {
  auto s = chaotic();
  s.chaos->window.to = {"", std::chrono::seconds(10), "10s"};
  CHECK_THROWS_WITH(draw_chaos(s, 1),
                    "chaos.window: `from` (ready) and `to` (10s) must count from the same point to draw "
                    "times between them");
}

TEST_CASE("a drawn memory ramp never overlaps another drawn memory fault of its process") {
  // The run refuses such an overlap; a nightly draw must not make a scenario error out on it.
  auto s = chaotic();
  s.chaos->faults = 6;
  s.chaos->kinds = {"memory"};
  s.chaos->ranges["memory"]["over"].values = {"200ms", "1s"};
  s.chaos->ranges["memory"]["duration"].values = {"1s", "4s"};
  int ramps = 0;
  int steadied = 0;
  for (std::uint64_t seed = 0; seed < 100; ++seed) {
    const auto drawn = draw_chaos(s, seed);
    for (std::size_t i = 0; i < drawn.size(); ++i) {
      const auto& a = drawn[i];
      const bool a_ramps = std::get<MemoryFault>(a.params).over.has_value();
      ramps += a_ramps;
      bool overlaps_any = false;
      for (std::size_t j = 0; j < drawn.size(); ++j) {
        const auto& b = drawn[j];
        if (i == j || a.into != b.into) continue;
        // Touching counts: two timers due at one instant run in either order.
        const bool overlap =
            a.at.offset <= b.at.offset + *b.duration && b.at.offset <= a.at.offset + *a.duration;
        overlaps_any = overlaps_any || overlap;
      }
      INFO("seed " << seed << ": " << describe(a));
      CHECK_FALSE((a_ramps && overlaps_any));
      steadied += overlaps_any;
    }
  }
  // Both cases occur in these draws: ramps left alone, and overlapping ones made steps.
  CHECK(ramps > 0);
  CHECK(steadied > 0);
}
