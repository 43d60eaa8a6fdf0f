#include "scenario/chaos.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "scenario/loader.h"

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

namespace {

// The scenario of the test above with one memory fault written into `api`: ready+3s for 2s.
Scenario chaotic_with_written_memory_fault(std::optional<Duration> written_over,
                                           const std::string& written_at = "ready") {
  auto s = chaotic();
  s.chaos->faults = 6;
  s.chaos->kinds = {"memory"};
  s.chaos->ranges["memory"]["over"].values = {"200ms", "1s"};
  s.chaos->ranges["memory"]["duration"].values = {"500ms", "2s"};
  Injection written;
  written.name = "squeeze";
  written.into = "api";
  written.kind = "memory";
  written.at = {written_at, std::chrono::seconds(3), written_at + "+3s"};
  written.duration = std::chrono::seconds(2);
  MemoryFault limit;
  limit.limit = 128ull << 20;
  limit.over = written_over;
  written.params = limit;
  s.injections.push_back(written);
  return s;
}

// Whether a drawn fault's window [at, at + duration] meets the written one's [3s, 5s] after ready.
bool meets_written(const Injection& drawn) {
  return drawn.at.offset <= std::chrono::seconds(5) &&
         drawn.at.offset + *drawn.duration >= std::chrono::seconds(3);
}

}  // namespace

TEST_CASE("a drawn memory ramp that would overlap a written memory fault of its process is a step") {
  const auto s = chaotic_with_written_memory_fault(std::nullopt);
  int ramps_kept = 0;
  int steadied = 0;
  for (std::uint64_t seed = 0; seed < 100; ++seed)
    for (const auto& drawn : draw_chaos(s, seed)) {
      if (drawn.into != "api" || !meets_written(drawn)) continue;
      INFO("seed " << seed << ": " << describe(drawn));
      CHECK_FALSE(std::get<MemoryFault>(drawn.params).over.has_value());
      ++steadied;
    }
  for (std::uint64_t seed = 0; seed < 100; ++seed)
    for (const auto& drawn : draw_chaos(s, seed))
      ramps_kept += drawn.into == "api" && std::get<MemoryFault>(drawn.params).over.has_value();
  // Both cases occur: ramps of `api` clear of the written window keep their `over`.
  CHECK(steadied > 0);
  CHECK(ramps_kept > 0);
}

TEST_CASE("a drawn memory fault that would overlap a written memory ramp of its process is left out") {
  const auto s = chaotic_with_written_memory_fault(std::chrono::seconds(1));
  int left_out = 0;
  int kept_beside = 0;
  for (std::uint64_t seed = 0; seed < 100; ++seed) {
    const auto drawn = draw_chaos(s, seed);
    left_out += static_cast<int>(6 - drawn.size());
    for (const auto& d : drawn) {
      INFO("seed " << seed << ": " << describe(d));
      CHECK_FALSE((d.into == "api" && meets_written(d)));
      kept_beside += d.into == "api";
    }
  }
  CHECK(left_out > 0);
  CHECK(kept_beside > 0);
}

TEST_CASE(
    "a written memory ramp whose time counts from another point keeps every drawn fault of its process off") {
  // `api.ready+3s` and the window's `ready` cannot be compared before the run: any overlap is possible.
  const auto s = chaotic_with_written_memory_fault(std::chrono::seconds(1), "api.ready");
  int db_faults = 0;
  for (std::uint64_t seed = 0; seed < 50; ++seed)
    for (const auto& d : draw_chaos(s, seed)) {
      CHECK(d.into == "db");
      ++db_faults;
    }
  CHECK(db_faults > 0);
}

TEST_CASE("a name with an auto-port draws the same faults from one seed on every load") {
  const auto file = std::filesystem::temp_directory_path() /
                    ("faultline-chaos-name-" + std::to_string(::getpid()) + ".toml");
  std::ofstream(file) << "name = \"chaos on ${port}\"\n[vars]\nport = \"auto-port\"\n"
                         "[target]\ncommand = [\"true\"]\n"
                         "[chaos]\nfaults = 3\nwindow = { from = \"ready\", to = \"ready+10s\" }\n";
  std::vector<std::vector<std::string>> draws;
  std::vector<std::string> names;
  for (const std::uint16_t port : {4101, 4202}) {
    LoadOptions options;
    options.allocate_port = [port] { return port; };
    const Scenario s = load_scenario(file, options);
    names.push_back(s.name);
    std::vector<std::string> drawn;
    for (const auto& i : draw_chaos(s, 42)) drawn.push_back(describe(i));
    draws.push_back(drawn);
  }
  std::filesystem::remove(file);
  CHECK(names[0] != names[1]);  // "chaos on 4101", "chaos on 4202"
  CHECK(draws[0] == draws[1]);
}

// `max_memory` judges the cgroup's peak, and a hog runs in the cgroup it crowds.
TEST_CASE("a drawn memory hog into a process whose max_memory is checked is left out, and said so") {
  auto s = chaotic();
  s.chaos->kinds = {"hog"};
  s.chaos->faults = 6;
  Expect judged;
  judged.process = "api";
  judged.max_memory = 512ull << 20;
  s.expects.push_back(judged);
  int into_db = 0;
  int left_out = 0;
  for (std::uint64_t seed = 0; seed < 50; ++seed) {
    std::vector<std::string> notes;
    const auto drawn = draw_chaos(s, seed, &notes);
    for (const auto& d : drawn) {
      INFO("seed " << seed << ": " << describe(d));
      CHECK(d.into == "db");
      into_db += 1;
    }
    left_out += static_cast<int>(notes.size());
    CHECK(drawn.size() + notes.size() == 6);
    for (const auto& note : notes) {
      CHECK(note.find("into `api`") != std::string::npos);
      CHECK(note.find("left out: `api`'s max_memory would count the hog's memory as the process's") !=
            std::string::npos);
    }
  }
  CHECK(into_db > 0);
  CHECK(left_out > 0);
}

TEST_CASE("a drawn memory squeeze is scaled below the limit its process starts under") {
  auto limited = chaotic();
  limited.processes[0].limits.memory = 128ull << 20;  // api; db has none
  int into_api = 0, upper_half = 0;
  for (std::uint64_t seed = 0; seed < 200; ++seed) {
    const auto free = draw_chaos(chaotic(), seed);
    const auto fitted = draw_chaos(limited, seed);
    REQUIRE(free.size() == fitted.size());
    for (std::size_t i = 0; i < fitted.size(); ++i) {
      INFO("seed " << seed << ": " << describe(free[i]) << " / " << describe(fitted[i]));
      const auto* m = std::get_if<MemoryFault>(&fitted[i].params);
      // Only the squeezes of the limited process change; every other draw of the seed stays.
      if (!m || fitted[i].into != "api") {
        CHECK(describe(fitted[i]) == describe(free[i]));
        continue;
      }
      ++into_api;
      CHECK(*m->limit >= (64ull << 20));
      CHECK(*m->limit < (128ull << 20));
      CHECK(*m->limit % (1ull << 20) == 0);
      upper_half += *m->limit >= (96ull << 20);
      CHECK(fitted[i].at.text == free[i].at.text);
    }
  }
  CHECK(into_api > 20);
  // Scaled evenly, not pressed against the bottom of the range.
  CHECK(upper_half > into_api / 4);
}

TEST_CASE("a process limit at the bottom of the range leaves the draw to the injector's skip") {
  auto limited = chaotic();
  limited.processes[0].limits.memory = 64ull << 20;
  for (std::uint64_t seed = 0; seed < 50; ++seed) {
    const auto free = draw_chaos(chaotic(), seed);
    const auto fitted = draw_chaos(limited, seed);
    REQUIRE(free.size() == fitted.size());
    for (std::size_t i = 0; i < fitted.size(); ++i) CHECK(describe(fitted[i]) == describe(free[i]));
  }
}

TEST_CASE("a drawn memory ramp is never longer than its fault's duration") {
  // Drawn apart, `over` could come out longer than `duration`: reverted before its last step, the
  // ramp would never reach its limit and fail as a fault that never held.
  auto s = chaotic();
  s.chaos->faults = 6;
  s.chaos->kinds = {"memory"};
  s.chaos->ranges["memory"]["over"].values = {"1s", "3s"};
  s.chaos->ranges["memory"]["duration"].values = {"200ms", "2s"};
  int ramps = 0, shortened = 0;
  for (std::uint64_t seed = 0; seed < 100; ++seed)
    for (const auto& inj : draw_chaos(s, seed)) {
      const auto& over = std::get<MemoryFault>(inj.params).over;
      if (!over) continue;
      ++ramps;
      INFO("seed " << seed << ": " << describe(inj));
      REQUIRE(inj.duration);
      CHECK(*over <= *inj.duration);
      shortened += *over == *inj.duration;
    }
  CHECK(ramps > 0);
  CHECK(shortened > 0);  // the draws did come out longer, and were shortened
}
