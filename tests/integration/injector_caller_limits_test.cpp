// The caller's own limits, which a run keeps on its cgroup above every process's: a squeeze
// that does not go below them squeezes nothing, however far below the process's own limit it
// goes, and one that does is written as usual.
#include <cmath>

#include "injectors/cpu_injector.h"
#include "injectors/memory_injector.h"
#include "injectors/pids_injector.h"
#include "tests/integration/injector_test_support.h"

using namespace faultline;
using namespace faultline::test;
using injectors::Target;

namespace {
// Not `MiB`: the sanitizer build compiles the test files in batches (unity), where another file's
// anonymous namespace defines that name.
constexpr std::uint64_t mebibytes(std::uint64_t n) { return n << 20; }

std::string no_effect_of(injectors::Injector& injector, const Target& target) {
  try {
    const std::string applied = injector.apply(target);
    FAIL("applied: " << applied);
  } catch (const injectors::NoEffect& e) {
    return e.what();
  }
  return {};
}
}  // namespace

TEST_CASE("caller's limits: a memory squeeze above the one the run's cgroup holds is no fault",
          "[injector]") {
  INJECTOR_TEST_PRECONDITIONS();
  TargetGroup t;
  if (t.run().unsupported(cgroup::Knob::memory_max)) FAULTLINE_SKIP("no memory controller here");
  t.run().set_memory_max(mebibytes(200));
  TargetProcess target(t.group(), payload({"sleep", "10s"}));
  const Target where{t.group(), target.pid(), nullptr, &t.run()};
  scenario::MemoryFault above;
  above.limit = mebibytes(300);
  injectors::MemoryInjector loose(above);
  CHECK(no_effect_of(loose, where) ==
        "the run's cgroup holds the caller's memory limit 200MiB: a squeeze must lower it");
  CHECK(t.group().memory_max() == kUnlimited);
  // Without the run's cgroup in view, the same fault passed for a squeeze.
  scenario::MemoryFault below;
  below.limit = mebibytes(100);
  injectors::MemoryInjector tight(below);
  if (!t.group().unsupported(cgroup::Knob::memory_high)) {
    // memory.high binds only below memory.max: the caller's too, though no memory.high is set.
    scenario::MemoryFault high;
    high.high = mebibytes(250);
    injectors::MemoryInjector loose_high(high);
    CHECK(no_effect_of(loose_high, where) ==
          "memory.high binds only below the caller's memory limit 200MiB that the run's cgroup "
          "holds: a squeeze must lower it");
  }
  CHECK(tight.apply(where) == "memory.max max -> 100MiB (below the caller's 200MiB)");
  CHECK(t.group().memory_max() == mebibytes(100));
  CHECK(tight.revert(where) == "memory.max 100MiB -> max");
  CHECK(t.group().memory_max() == kUnlimited);
}

TEST_CASE("caller's limits: a pids squeeze above the one the run's cgroup holds is no fault", "[injector]") {
  INJECTOR_TEST_PRECONDITIONS();
  TargetGroup t;
  if (t.run().unsupported(cgroup::Knob::pids_max)) FAULTLINE_SKIP("no pids controller here");
  t.run().set_pids_max(50);
  TargetProcess target(t.group(), payload({"sleep", "10s"}));
  const Target where{t.group(), target.pid(), nullptr, &t.run()};
  injectors::PidsInjector loose(scenario::PidsFault{1000});
  CHECK(no_effect_of(loose, where) ==
        "the run's cgroup holds the caller's pids limit 50: a squeeze must lower it");
  CHECK(t.group().pids_max() == kUnlimited);
  injectors::PidsInjector tight(scenario::PidsFault{10});
  CHECK(tight.apply(where) == "pids.max max -> 10");
  CHECK(tight.revert(where) == "pids.max 10 -> max");
}

TEST_CASE("caller's limits: a CPU quota above the one the run's cgroup holds is no fault, not a kernel error",
          "[injector]") {
  // cgroup v1 refuses a quota above the parent's with EINVAL: the run once ended as an error
  // quoting the kernel instead of saying that the caller's limit was lower already.
  INJECTOR_TEST_PRECONDITIONS();
  TargetGroup t;
  if (t.run().unsupported(cgroup::Knob::cpu_max)) FAULTLINE_SKIP("no cpu controller here");
  t.run().set_cpu_max(cgroup::CpuMax{0.5, kDefaultCpuPeriod});
  TargetProcess target(t.group(), payload({"sleep", "10s"}));
  const Target where{t.group(), target.pid(), nullptr, &t.run()};
  injectors::CpuInjector loose(scenario::CpuFault{0.8, std::nullopt, std::nullopt});
  CHECK(no_effect_of(loose, where) ==
        "the run's cgroup holds the caller's CPU limit 50%: a squeeze must lower it");
  CHECK(std::isinf(t.group().cpu_max().cpus));
  // The caller's quota is enforced in the run's cgroup, with that cgroup's period.
  injectors::CpuInjector period_alone(
      scenario::CpuFault{std::nullopt, std::chrono::milliseconds(50), std::nullopt});
  CHECK(
      no_effect_of(period_alone, where) ==
      "cpu.max is max/100ms: without a quota of the process's own a period alone throttles nothing (the "
      "caller's CPU limit 50% is enforced in the run's cgroup, with that cgroup's period; give `quota` too)");
  injectors::CpuInjector tight(scenario::CpuFault{0.2, std::nullopt, std::nullopt});
  CHECK(tight.apply(where) == "cpu.max max/100ms -> 20%/100ms");
  CHECK(tight.revert(where) == "cpu.max 20%/100ms -> max/100ms");
  // A longer period, and back: v1 checks each file it writes against the parent's quota, and
  // 200ms of quota under the 100ms period the revert writes first is 200%, above the caller's 50%
  // (EINVAL, which once ended the run as an error at the revert).
  injectors::CpuInjector long_period(scenario::CpuFault{0.2, std::chrono::seconds(1), std::nullopt});
  CHECK(long_period.apply(where) == "cpu.max max/100ms -> 20%/1s");
  CHECK(long_period.revert(where) == "cpu.max 20%/1s -> max/100ms");
  CHECK(std::isinf(t.group().cpu_max().cpus));
}
