// The memory injector on real cgroups: a squeeze below the usage OOM-kills a steady process
// (v2 by itself, v1 through the charging helper, an exec'd `faultline hog --charge`), or, in
// limit-only mode, leaves it alone on v1 (the refusal makes the fault one without effect); a ramp reaches
// its target in steps, and revert restores the previous limits.
#include "injectors/memory_injector.h"
#include "tests/integration/injector_test_support.h"

using namespace faultline;
using namespace faultline::test;
using injectors::MemoryInjector;
using injectors::Target;

namespace {
constexpr std::uint64_t MiB = 1024 * 1024;

std::uint64_t usage(cgroup::Cgroup& g) { return g.stats().memory_current.value_or(0); }

scenario::MemoryFault memory_fault(std::optional<std::uint64_t> limit, std::optional<std::uint64_t> high,
                                   std::optional<Duration> over,
                                   scenario::MemoryFault::Mode mode = scenario::MemoryFault::Mode::charge) {
  scenario::MemoryFault f;
  f.limit = limit;
  f.high = high;
  f.over = over;
  f.mode = mode;
  return f;
}

// The memory controller is v1 on hybrid and legacy hosts: only there is a limit below the
// usage refused (EBUSY), so only there does a squeeze need the charging helper.
bool memory_is_v1(TargetGroup& t) { return t.backend().mode() != cgroup::Mode::v2; }

// Starts the injector's helpers the way the runner does (exec'd inside the target's cgroup)
// and keeps them for the test to inspect; they are reaped when the test ends.
struct HelperLog {
  std::vector<std::vector<std::string>> argvs;
  std::vector<std::unique_ptr<TargetProcess>> processes;
  injectors::HelperLauncher launcher(cgroup::Cgroup& group) {
    return [this, &group](const std::vector<std::string>& argv) {
      argvs.push_back(argv);
      processes.push_back(std::make_unique<TargetProcess>(group, argv));
      return processes.back()->pid();
    };
  }
};

#define NEEDS_FAULTLINE_BIN()                                       \
  if (faultline_path().empty()) {                                   \
    FAULTLINE_SKIP("FAULTLINE_BIN is not set (run through ctest)"); \
  }
}  // namespace

TEST_CASE("memory: a squeeze below the usage OOM-kills a steady process, revert restores max", "[injector]") {
  INJECTOR_TEST_PRECONDITIONS();
  NEEDS_FAULTLINE_BIN();
  TargetGroup t;
  t.group().set_swap_max(0);  // swapped out is not squeezed
  // Well above the charging helper's own RSS, which an instrumented (ASan) build of faultline
  // makes tens of MiB: the OOM killer must find the target the largest.
  TargetProcess target(t.group(), payload({"alloc", "200MiB", "--hold", "30s"}));
  REQUIRE(target.wait_for_output("allocated"));
  REQUIRE(usage(t.group()) >= 200 * MiB);

  HelperLog helpers;
  MemoryInjector squeeze(memory_fault(48 * MiB, std::nullopt, std::nullopt), faultline_path(),
                         helpers.launcher(t.group()));
  CHECK(squeeze.describe() == "memory limit 48MiB");
  const std::string detail = squeeze.apply(Target{t.group(), target.pid()});
  INFO(detail);
  if (memory_is_v1(t)) {
    // v1 refused the limit: the difference was charged from one exec'd helper, and the text says so.
    REQUIRE(helpers.argvs.size() == 1);
    const auto& argv = helpers.argvs[0];
    REQUIRE(argv.size() == 4);
    CHECK(argv[0] == faultline_path());
    CHECK(argv[1] == "hog");
    CHECK(argv[2] == "--charge");
    const std::uint64_t charged = std::stoull(argv[3]);
    CHECK(charged % MiB == 0);
    CHECK(charged >= 200 * MiB - 48 * MiB);
    CHECK(detail == "memory.max max -> 48MiB, charged " + format_size(charged) +
                        " from a helper: v1 refuses a limit below usage");
    CHECK(helpers.processes[0]->ended_within(1000ms));
    CHECK(helpers.processes[0]->wait() == 0);  // it finished its charge: the target was the victim
  } else {
    CHECK(helpers.argvs.empty());  // v2 kills inside the write
    CHECK(detail == "memory.max max -> 48MiB");
  }
  REQUIRE(target.ended_within(5000ms));
  const int status = target.wait();
  CHECK(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGKILL);
  CHECK(t.group().stats().oom_kills >= 1);
  CHECK(t.group().memory_max() == 48 * MiB);

  CHECK(squeeze.revert(Target{t.group(), 0}) == "memory.max 48MiB -> max");
  CHECK(t.group().memory_max() == kUnlimited);
}

TEST_CASE("memory: limit-only takes v1's refusal of a limit below the usage as a fault without effect",
          "[injector]") {
  // The process runs on under its old limit: recorded as applied, the refusal once passed every
  // check "under the squeeze" with nothing squeezed.
  INJECTOR_TEST_PRECONDITIONS();
  TargetGroup t;
  t.group().set_swap_max(0);
  TargetProcess target(t.group(), payload({"alloc", "100MiB", "--hold", "30s"}));
  REQUIRE(target.wait_for_output("allocated"));
  REQUIRE(usage(t.group()) >= 100 * MiB);

  const auto fault =
      memory_fault(48 * MiB, std::nullopt, std::nullopt, scenario::MemoryFault::Mode::limit_only);
  HelperLog helpers;
  MemoryInjector squeeze(fault, faultline_path().empty() ? "faultline" : faultline_path(),
                         helpers.launcher(t.group()));
  CHECK(squeeze.describe() == "memory limit 48MiB (limit-only)");
  if (!memory_is_v1(t)) {
    // v2 takes the limit as written, and the kernel itself OOM-kills.
    CHECK(squeeze.apply(Target{t.group(), target.pid()}) == "memory.max max -> 48MiB");
    CHECK(helpers.argvs.empty());  // nothing is charged in this mode
    CHECK(target.ended_within(5000ms));
    CHECK(squeeze.revert(Target{t.group(), 0}) == "memory.max 48MiB -> max");
    return;
  }
  std::string refusal;
  try {
    squeeze.apply(Target{t.group(), target.pid()});
  } catch (const injectors::NoEffect& e) {
    refusal = e.what();
  }
  INFO(refusal);
  CHECK(helpers.argvs.empty());
  CHECK(refusal.starts_with("memory.max 48MiB refused (EBUSY): v1 will not set a limit below the usage ("));
  CHECK(refusal.ends_with("), it stays max (mode limit-only)"));
  CHECK(t.group().memory_max() == kUnlimited);
  CHECK_FALSE(target.ended_within(500ms));
  CHECK(t.group().stats().oom_kills == 0);
}

TEST_CASE("memory: a limit-only ramp that v1 refuses at every step never held", "[injector]") {
  // Each refused step only said so in its own event: the fault counted as applied with the
  // process under its old limit throughout.
  INJECTOR_TEST_PRECONDITIONS();
  TargetGroup t;
  t.group().set_swap_max(0);
  TargetProcess target(t.group(), payload({"alloc", "100MiB", "--hold", "30s"}));
  REQUIRE(target.wait_for_output("allocated"));
  MemoryInjector ramp(memory_fault(48 * MiB, std::nullopt, 300ms, scenario::MemoryFault::Mode::limit_only));
  const Target where{t.group(), target.pid()};
  const std::string detail = ramp.apply(where);
  INFO(detail);
  CHECK(detail.starts_with("memory.max max -> 48MiB over 300ms (3 steps from "));
  std::vector<std::string> steps;
  while (auto step = ramp.step(where)) steps.push_back(*step);
  CHECK(steps.size() == 3);
  if (!memory_is_v1(t)) {  // v2 takes each step; the kernel OOM-kills on the way
    CHECK(target.ended_within(5000ms));
    ramp.revert(where);
    CHECK_FALSE(ramp.never_held());
    return;
  }
  for (const auto& step : steps)
    CHECK(step.find(", refused (EBUSY): v1 will not set a limit below the usage") != std::string::npos);
  CHECK(t.group().memory_max() == kUnlimited);
  CHECK(ramp.revert(where) == "memory.max max unchanged, nothing to restore");
  REQUIRE(ramp.never_held());
  CHECK(*ramp.never_held() ==
        "cgroup v1 refused each of its 3 ramp step(s) (EBUSY: the usage stayed above each limit; mode "
        "limit-only), so memory.max never moved");
  CHECK_FALSE(target.ended_within(200ms));
}

TEST_CASE("memory: a ramp reverted before its first step never held, and restores nothing", "[injector]") {
  // A ramp writes nothing at apply: one whose process ended before its first step (or whose
  // window closed first) counted as applied, and every check under it passed for a limit that
  // never moved.
  INJECTOR_TEST_PRECONDITIONS();
  TargetGroup t;
  t.group().set_memory_max(300 * MiB);
  TargetProcess target(t.group(), payload({"alloc", "8MiB", "--hold", "30s"}));
  REQUIRE(target.wait_for_output("allocated"));
  MemoryInjector ramp(memory_fault(48 * MiB, std::nullopt, 1000ms));
  const Target where{t.group(), target.pid()};
  CHECK(ramp.apply(where) == "memory.max 300MiB -> 48MiB over 1s (10 steps from 300MiB)");
  CHECK(ramp.revert(where) == "memory.max 300MiB unchanged, nothing to restore");
  CHECK_FALSE(ramp.step(where));  // a revert ends the ramp
  CHECK(t.group().memory_max() == 300 * MiB);
  REQUIRE(ramp.never_held());
  CHECK(*ramp.never_held() ==
        "it ended before the first of its 10 ramp steps (one every 100ms), so memory.max never moved from "
        "300MiB");

  // Cut short on the way (its window, or the run, ended after 3 of 10 steps): the process was
  // never under 48MiB, and nothing was OOM-killed.
  MemoryInjector short_ramp(memory_fault(48 * MiB, std::nullopt, 1000ms));
  short_ramp.apply(where);
  for (int i = 0; i < 3; ++i) REQUIRE(short_ramp.step(where));
  CHECK(t.group().memory_max() < 300 * MiB);
  CHECK(short_ramp.revert(where).ends_with(" -> 300MiB"));
  REQUIRE(short_ramp.never_held());
  CHECK(short_ramp.never_held()->starts_with("it ended after 3 of its 10 ramp steps with memory.max at 22"));
  CHECK(short_ramp.never_held()->ends_with(
      " on the way to 48MiB, and no OOM kill on the way: the process was never under the limit asked for"));
  CHECK(t.group().memory_max() == 300 * MiB);

  // One step short is short too; every step taken reaches the limit, and holds.
  MemoryInjector nearly(memory_fault(48 * MiB, std::nullopt, 1000ms));
  nearly.apply(where);
  for (int i = 0; i < 9; ++i) REQUIRE(nearly.step(where));
  nearly.revert(where);
  REQUIRE(nearly.never_held());
  CHECK(nearly.never_held()->starts_with("it ended after 9 of its 10 ramp steps with memory.max at 73.2MiB"));
  MemoryInjector whole(memory_fault(48 * MiB, std::nullopt, 1000ms));
  whole.apply(where);
  while (whole.step(where)) {
  }
  CHECK(t.group().memory_max() == 48 * MiB);
  whole.revert(where);
  CHECK_FALSE(whole.never_held());
  CHECK(t.group().memory_max() == 300 * MiB);
}

TEST_CASE("memory: a ramp cut short after it OOM-killed on the way held", "[injector]") {
  INJECTOR_TEST_PRECONDITIONS();
  NEEDS_FAULTLINE_BIN();
  TargetGroup t;
  t.group().set_memory_max(300 * MiB);
  t.group().set_swap_max(0);
  TargetProcess target(t.group(), payload({"alloc", "100MiB", "--hold", "30s"}));
  REQUIRE(target.wait_for_output("allocated"));
  HelperLog helpers;
  MemoryInjector ramp(memory_fault(48 * MiB, std::nullopt, 2000ms), faultline_path(),
                      helpers.launcher(t.group()));
  const Target where{t.group(), target.pid()};
  ramp.apply(where);
  // Steps until the process is gone, as the timeline takes them (it stops at the process's exit),
  // and no further than step 17 of 20 (85.8MiB): well short of 48MiB, below the 100MiB it holds.
  std::uint32_t steps = 0;
  while (steps < 17 && !target.ended_within(20ms) && ramp.step(where)) ++steps;
  INFO(steps << " steps");
  REQUIRE(target.ended_within(5000ms));
  CHECK(t.group().stats().oom_kills >= 1);
  CHECK(t.group().memory_max() > 48 * MiB);
  ramp.revert(where);
  CHECK_FALSE(ramp.never_held());
}

TEST_CASE("memory: a v1 squeeze without a way to start the charging helper fails and says why",
          "[injector]") {
  INJECTOR_TEST_PRECONDITIONS();
  TargetGroup t;
  if (!memory_is_v1(t)) {
    FAULTLINE_SKIP("only cgroup v1 refuses a limit below the usage");
  }
  t.group().set_swap_max(0);
  TargetProcess target(t.group(), payload({"alloc", "64MiB", "--hold", "30s"}));
  REQUIRE(target.wait_for_output("allocated"));
  MemoryInjector squeeze(memory_fault(16 * MiB, std::nullopt, std::nullopt));
  try {
    squeeze.apply(Target{t.group(), target.pid()});
    FAIL("the squeeze was applied without a helper");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("needs the charging helper (`faultline hog --charge`)") !=
          std::string::npos);
    CHECK(std::string(e.what()).find("limit-only") != std::string::npos);
  }
  CHECK_FALSE(target.ended_within(200ms));
}

TEST_CASE("memory: `faultline hog --charge` charges its cgroup, not its own RSS, then exits", "[injector]") {
  INJECTOR_TEST_PRECONDITIONS();
  NEEDS_FAULTLINE_BIN();
  TargetGroup t;
  t.group().set_swap_max(0);
  TargetProcess helper(t.group(), {faultline_path(), "hog", "--charge", "96MiB"});
  REQUIRE(helper.ended_within(10000ms));
  INFO(helper.output());
  CHECK(helper.wait() == 0);
  // The helper's own pages count towards the 96MiB, read from its RssAnon, RssShmem and VmPTE;
  // the kernel's charge for them differs by a MiB or two (seen: 94.7MiB on v2). Without the
  // tmpfs charge the cgroup would peak at the helper's own few MiB (tens in a sanitizer build).
  CHECK(t.group().stats().memory_peak.value_or(0) >= 88 * MiB);
  CHECK(usage(t.group()) < 16 * MiB);  // the charge ended with the helper
}

TEST_CASE("memory: a limit above the usage is set and reverted without harm", "[injector]") {
  INJECTOR_TEST_PRECONDITIONS();
  TargetGroup t;
  t.group().set_memory_max(300 * MiB);
  TargetProcess target(t.group(), payload({"alloc", "16MiB", "--hold", "30s"}));
  REQUIRE(target.wait_for_output("allocated"));
  MemoryInjector lower(memory_fault(64 * MiB, std::nullopt, std::nullopt));
  CHECK(lower.apply(Target{t.group(), target.pid()}) == "memory.max 300MiB -> 64MiB");
  CHECK(t.group().memory_max() == 64 * MiB);
  CHECK_FALSE(target.ended_within(200ms));
  CHECK(lower.revert(Target{t.group(), target.pid()}) == "memory.max 64MiB -> 300MiB");
  CHECK(t.group().memory_max() == 300 * MiB);
}

TEST_CASE("memory: a limit at or above the one in force is no squeeze, and nothing is written",
          "[injector]") {
  INJECTOR_TEST_PRECONDITIONS();
  TargetGroup t;
  t.group().set_memory_max(64 * MiB);
  TargetProcess target(t.group(), payload({"sleep", "10s"}));
  const Target where{t.group(), target.pid()};
  MemoryInjector looser(memory_fault(128 * MiB, std::nullopt, std::nullopt));
  CHECK_THROWS_WITH(looser.apply(where), "memory.max is 64MiB already: a squeeze must lower it");
  MemoryInjector same(memory_fault(64 * MiB, std::nullopt, std::nullopt));
  CHECK_THROWS_AS(same.apply(where), injectors::NoEffect);
  CHECK(t.group().memory_max() == 64 * MiB);
  // memory.high binds only below memory.max; with a lower hard limit too, the fault squeezes.
  const bool has_high = !t.group().unsupported(cgroup::Knob::memory_high);
  if (has_high) {
    MemoryInjector high_above(memory_fault(std::nullopt, 96 * MiB, std::nullopt));
    CHECK_THROWS_WITH(high_above.apply(where), "the memory.high in force is 64MiB: a squeeze must lower it");
    CHECK(t.group().memory_high() == kUnlimited);
  }
  const std::optional<std::uint64_t> high = has_high ? std::optional<std::uint64_t>(96 * MiB) : std::nullopt;
  MemoryInjector one_binds(memory_fault(32 * MiB, high, std::nullopt));
  const std::string detail = one_binds.apply(where);
  CHECK(t.group().memory_max() == 32 * MiB);
  if (has_high) {
    // The value that would not bind is left alone, not written.
    CHECK(detail == "memory.max 64MiB -> 32MiB, the memory.high in force is 64MiB, kept");
    CHECK(t.group().memory_high() == kUnlimited);
  }
  one_binds.revert(where);
  CHECK(t.group().memory_max() == 64 * MiB);
  if (has_high) {
    // Nor does a binding memory.high make the fault raise memory.max.
    MemoryInjector high_only_binds(memory_fault(256 * MiB, 32 * MiB, std::nullopt));
    CHECK(high_only_binds.apply(where) == "memory.high max -> 32MiB, memory.max is 64MiB already, kept");
    CHECK(t.group().memory_max() == 64 * MiB);
    high_only_binds.revert(where);
    CHECK(t.group().memory_high() == kUnlimited);
  }
}

TEST_CASE("memory: a ramp from the current limit reaches the target in steps and kills on the way",
          "[injector]") {
  INJECTOR_TEST_PRECONDITIONS();
  NEEDS_FAULTLINE_BIN();
  TargetGroup t;
  t.group().set_memory_max(300 * MiB);
  t.group().set_swap_max(0);
  TargetProcess target(t.group(), payload({"alloc", "100MiB", "--hold", "30s"}));
  REQUIRE(target.wait_for_output("allocated"));

  HelperLog helpers;
  MemoryInjector ramp(memory_fault(48 * MiB, std::nullopt, std::chrono::milliseconds(500)), faultline_path(),
                      helpers.launcher(t.group()));
  const Target where{t.group(), target.pid()};
  CHECK(ramp.apply(where) == "memory.max 300MiB -> 48MiB over 500ms (5 steps from 300MiB)");
  CHECK(t.group().memory_max() == 300 * MiB);  // nothing moves before the first step
  REQUIRE(ramp.step_interval() == std::chrono::milliseconds(100));
  std::vector<std::uint64_t> limits;
  std::size_t charged_steps = 0;
  while (auto detail = ramp.step(where)) {
    limits.push_back(t.group().memory_max());
    if (detail->find(" from a helper: v1 refuses a limit below usage") != std::string::npos) ++charged_steps;
  }
  REQUIRE(limits.size() == 5);
  // On v1 a step below the usage is charged; the OOM kill it causes is asynchronous, so on a busy
  // machine the next step may still find the victim's pages and charge again. v2 needs none.
  if (memory_is_v1(t))
    CHECK(charged_steps >= 1u);
  else
    CHECK(charged_steps == 0u);
  CHECK(helpers.argvs.size() == charged_steps);
  CHECK(std::is_sorted(limits.rbegin(), limits.rend()));
  CHECK(limits.front() < 300 * MiB);
  CHECK(limits.back() == 48 * MiB);
  REQUIRE(target.ended_within(5000ms));
  CHECK(WIFSIGNALED(target.wait()));
  CHECK(t.group().stats().oom_kills >= 1);
  CHECK(ramp.revert(where) == "memory.max 48MiB -> 300MiB");
}

TEST_CASE("memory: memory.high is set and restored on cgroup v2", "[injector]") {
  INJECTOR_TEST_PRECONDITIONS();
  TargetGroup t;
  if (auto why = t.group().unsupported(cgroup::Knob::memory_high)) {
    record_skip(*why);
    CHECK(*why == "memory_high needs cgroup v2 (memory.high); this host's memory controller is cgroup v1");
    scenario::Injection inj = injection_of("memory", memory_fault(std::nullopt, 32 * MiB, std::nullopt));
    CHECK(injectors::unsupported(inj, t.group()) == why);
    return;
  }
  TargetProcess target(t.group(), payload({"alloc", "8MiB", "--hold", "30s"}));
  REQUIRE(target.wait_for_output("allocated"));
  MemoryInjector high(memory_fault(std::nullopt, 32 * MiB, std::nullopt));
  CHECK(high.apply(Target{t.group(), target.pid()}) == "memory.high max -> 32MiB");
  CHECK(t.group().memory_high() == 32 * MiB);
  CHECK(high.revert(Target{t.group(), target.pid()}) == "memory.high 32MiB -> max");
  CHECK(t.group().memory_high() == kUnlimited);
}
