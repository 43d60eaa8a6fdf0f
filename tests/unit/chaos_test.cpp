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
