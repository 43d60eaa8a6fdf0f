// The memory injector on real cgroups: a squeeze below the usage OOM-kills a steady process
// (v2 by itself, v1 through the pressure child), a ramp reaches its target in steps, and
// revert restores the previous limits.
#include "injectors/memory_injector.h"
#include "tests/integration/injector_test_support.h"

using namespace faultline;
using namespace faultline::test;
using injectors::MemoryInjector;
using injectors::Target;

namespace {
constexpr std::uint64_t MiB = 1024 * 1024;

std::uint64_t usage(cgroup::Cgroup& g) { return g.stats().memory_current.value_or(0); }
}  // namespace

TEST_CASE("memory: a squeeze below the usage OOM-kills a steady process, revert restores max", "[injector]") {
  INJECTOR_TEST_PRECONDITIONS();
  TargetGroup t;
  t.group().set_swap_max(0);  // swapped out is not squeezed
  TargetProcess target(t.group(), payload({"alloc", "100MiB", "--hold", "30s"}));
  REQUIRE(target.wait_for_output("allocated"));
  REQUIRE(usage(t.group()) >= 100 * MiB);

  MemoryInjector squeeze(scenario::MemoryFault{48 * MiB, std::nullopt, std::nullopt});
  CHECK(squeeze.describe() == "memory limit 48MiB");
  CHECK(squeeze.apply(Target{t.group(), target.pid()}) == "memory.max max -> 48MiB");
  REQUIRE(target.ended_within(5000ms));
  const int status = target.wait();
  CHECK(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGKILL);
  CHECK(t.group().stats().oom_kills >= 1);
  CHECK(t.group().memory_max() == 48 * MiB);

  CHECK(squeeze.revert(Target{t.group(), 0}) == "memory.max 48MiB -> max");
  CHECK(t.group().memory_max() == kUnlimited);
}

TEST_CASE("memory: a limit above the usage is set and reverted without harm", "[injector]") {
  INJECTOR_TEST_PRECONDITIONS();
  TargetGroup t;
  t.group().set_memory_max(300 * MiB);
  TargetProcess target(t.group(), payload({"alloc", "16MiB", "--hold", "30s"}));
  REQUIRE(target.wait_for_output("allocated"));
  MemoryInjector lower(scenario::MemoryFault{64 * MiB, std::nullopt, std::nullopt});
  CHECK(lower.apply(Target{t.group(), target.pid()}) == "memory.max 300MiB -> 64MiB");
  CHECK(t.group().memory_max() == 64 * MiB);
  CHECK_FALSE(target.ended_within(200ms));
  CHECK(lower.revert(Target{t.group(), target.pid()}) == "memory.max 64MiB -> 300MiB");
  CHECK(t.group().memory_max() == 300 * MiB);
}

TEST_CASE("memory: a ramp from the current limit reaches the target in steps and kills on the way",
          "[injector]") {
  INJECTOR_TEST_PRECONDITIONS();
  TargetGroup t;
  t.group().set_memory_max(300 * MiB);
  t.group().set_swap_max(0);
  TargetProcess target(t.group(), payload({"alloc", "100MiB", "--hold", "30s"}));
  REQUIRE(target.wait_for_output("allocated"));

  MemoryInjector ramp(scenario::MemoryFault{48 * MiB, std::nullopt, std::chrono::milliseconds(500)});
  const Target where{t.group(), target.pid()};
  CHECK(ramp.apply(where) == "memory.max 300MiB -> 48MiB over 500ms (5 steps from 300MiB)");
  CHECK(t.group().memory_max() == 300 * MiB);  // nothing moves before the first step
  REQUIRE(ramp.step_interval() == std::chrono::milliseconds(100));
  std::vector<std::uint64_t> limits;
  while (auto detail = ramp.step(where)) limits.push_back(t.group().memory_max());
  REQUIRE(limits.size() == 5);
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
    scenario::Injection inj =
        injection_of("memory", scenario::MemoryFault{std::nullopt, 32 * MiB, std::nullopt});
    CHECK(injectors::unsupported(inj, t.group()) == why);
    return;
  }
  TargetProcess target(t.group(), payload({"alloc", "8MiB", "--hold", "30s"}));
  REQUIRE(target.wait_for_output("allocated"));
  MemoryInjector high(scenario::MemoryFault{std::nullopt, 32 * MiB, std::nullopt});
  CHECK(high.apply(Target{t.group(), target.pid()}) == "memory.high max -> 32MiB");
  CHECK(t.group().memory_high() == 32 * MiB);
  CHECK(high.revert(Target{t.group(), target.pid()}) == "memory.high 32MiB -> max");
  CHECK(t.group().memory_high() == kUnlimited);
}
