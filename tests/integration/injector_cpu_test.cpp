// The cpu injector on real cgroups: a quota throttles a spinning process, revert lifts it.
#include <sched.h>

#include "common/units.h"
#include "injectors/cpu_injector.h"
#include "tests/integration/injector_test_support.h"

using namespace faultline;
using namespace faultline::test;
using injectors::CpuInjector;
using injectors::Target;

TEST_CASE("cpu: a 10% quota throttles a spinning process and revert restores the old quota", "[injector]") {
  INJECTOR_TEST_PRECONDITIONS();
  TargetGroup t;
  TargetProcess target(t.group(), payload({"spin", "10s"}));
  const Target where{t.group(), target.pid()};
  CpuInjector cpu(scenario::CpuFault{0.1, std::chrono::milliseconds(50), std::nullopt});
  CHECK(cpu.describe() == "cpu quota 10% period 50ms");
  CHECK(cpu.apply(where) == "cpu.max max/100ms -> 10%/50ms");
  const auto before = t.group().stats();
  const auto from = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(1s);
  const auto after = t.group().stats();
  const auto elapsed_usec =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - from).count();
  REQUIRE(after.cpu_usage_usec);
  REQUIRE(after.cpu_throttled_usec);
  // 10% of one CPU over however long that second really was (a loaded machine stretches it):
  // at most twice that plus one period's burst, far below an unthrottled spin, and throttled.
  CHECK(*after.cpu_usage_usec - *before.cpu_usage_usec <
        static_cast<std::uint64_t>(elapsed_usec) / 5 + 50'000);
  CHECK(*after.cpu_throttled_usec > *before.cpu_throttled_usec);
  CHECK(cpu.revert(where) == "cpu.max 10%/50ms -> max/100ms");
  CHECK(std::isinf(t.group().cpu_max().cpus));
}

TEST_CASE("cpu: a cpuset pins the cgroup and revert restores the previous set", "[injector]") {
  INJECTOR_TEST_PRECONDITIONS();
  TargetGroup t;
  if (auto why = t.group().unsupported(cgroup::Knob::cpuset)) {
    FAULTLINE_SKIP(*why);
  }
  TargetProcess target(t.group(), payload({"sleep", "10s"}));
  const std::string old = t.group().cpuset();
  CpuInjector cpu(scenario::CpuFault{std::nullopt, std::nullopt, "0"});
  CHECK(cpu.apply(Target{t.group(), target.pid()}).starts_with("cpuset "));
  CHECK(t.group().cpuset() == "0");
  std::ifstream status("/proc/" + std::to_string(target.pid()) + "/status");
  std::string line, allowed;
  while (std::getline(status, line))
    if (line.starts_with("Cpus_allowed_list:")) allowed = line.substr(line.find_first_not_of(" \t", 18));
  CHECK(allowed == "0");
  cpu.revert(Target{t.group(), target.pid()});
  CHECK(t.group().cpuset() == old);
}

TEST_CASE("cpu: a quota at or above the CPUs the process may use, or the quota in force, is no fault",
          "[injector]") {
  INJECTOR_TEST_PRECONDITIONS();
  TargetGroup t;
  TargetProcess target(t.group(), payload({"sleep", "10s"}));
  const Target where{t.group(), target.pid()};
  cpu_set_t set;
  CPU_ZERO(&set);
  REQUIRE(::sched_getaffinity(target.pid(), sizeof set, &set) == 0);
  const double all = CPU_COUNT(&set);
  CpuInjector at_all(scenario::CpuFault{all, std::nullopt, std::nullopt});
  CHECK_THROWS_AS(at_all.apply(where), injectors::NoEffect);
  CHECK(std::isinf(t.group().cpu_max().cpus));  // nothing was written
  // Without a quota in force a period alone throttles nothing: "runs fast while throttled" would
  // pass with cpu.max at max/50ms and not one throttled period.
  CpuInjector period_alone(scenario::CpuFault{std::nullopt, std::chrono::milliseconds(50), std::nullopt});
  CHECK_THROWS_WITH(period_alone.apply(where),
                    "cpu.max is max/100ms: without a quota in force a period alone throttles nothing (give "
                    "`quota` too)");
  CHECK(t.group().cpu_max().period == kDefaultCpuPeriod);
  // A cpuset that names the set already in force changes nothing either.
  CpuInjector same_set(scenario::CpuFault{all, std::nullopt, t.group().cpuset()});
  if (!t.group().cpuset().empty()) CHECK_THROWS_AS(same_set.apply(where), injectors::NoEffect);
  // One CPU of the set: a quota of them all is no throttle, but the pinning is a fault.
  if (all >= 2) {
    CpuInjector pin(scenario::CpuFault{all, std::nullopt, "0"});
    CHECK(pin.apply(where).find("cpuset ") != std::string::npos);
    pin.revert(where);
  }
  // A fault never loosens a limit: under a 50% quota, 90% or 50% again squeezes nothing, and
  // the quota in force stays ("finishes in 2s squeezed to 90%" must not pass on a lifted limit).
  CpuInjector half(scenario::CpuFault{0.5, std::nullopt, std::nullopt});
  half.apply(where);
  for (double quota : {all, 0.9, 0.5}) {
    INFO("quota " << quota);
    CpuInjector looser(scenario::CpuFault{quota, std::nullopt, std::nullopt});
    CHECK_THROWS_AS(looser.apply(where), injectors::NoEffect);
    CHECK(t.group().cpu_max().cpus == Approx(0.5));
  }
  // A new period alone is written, the quota in force kept.
  CpuInjector period(scenario::CpuFault{0.9, std::chrono::milliseconds(50), std::nullopt});
  CHECK(period.apply(where) == "cpu.max 50%/100ms -> 50%/50ms (the quota in force is lower than 90%)");
  period.revert(where);
  CpuInjector only_period(scenario::CpuFault{std::nullopt, std::chrono::milliseconds(50), std::nullopt});
  CHECK(only_period.apply(where) == "cpu.max 50%/100ms -> 50%/50ms");
  only_period.revert(where);
  // The period in force again changes nothing.
  CpuInjector same_period(scenario::CpuFault{std::nullopt, std::chrono::milliseconds(100), std::nullopt});
  CHECK_THROWS_WITH(same_period.apply(where), "the period in force is 100ms already");
  CpuInjector tighter(scenario::CpuFault{0.2, std::nullopt, std::nullopt});
  CHECK(tighter.apply(where) == "cpu.max 50%/100ms -> 20%/100ms");
  tighter.revert(where);
  half.revert(where);
  // A cpuset-only fault naming the set in force changes nothing, however it is written.
  if (!t.group().cpuset().empty()) {
    CpuInjector same(scenario::CpuFault{std::nullopt, std::nullopt, t.group().cpuset()});
    CHECK_THROWS_AS(same.apply(where), injectors::NoEffect);
  }
  if (t.group().cpuset() == "0-1") {
    CpuInjector listed(scenario::CpuFault{std::nullopt, std::nullopt, "0,1"});
    CHECK_THROWS_AS(listed.apply(where), injectors::NoEffect);
    CpuInjector strided(scenario::CpuFault{std::nullopt, std::nullopt, "0-3:2/4"});
    CHECK_THROWS_AS(strided.apply(where), injectors::NoEffect);
    // The kernel's stride groups are written as they are: every other CPU of the two is CPU 0.
    CpuInjector every_other(scenario::CpuFault{std::nullopt, std::nullopt, "0-1:1/2"});
    CHECK(every_other.apply(where).ends_with("-> 0-1:1/2"));
    CHECK(t.group().cpuset() == "0");
    every_other.revert(where);
    CHECK(t.group().cpuset() == "0-1");
  }
}

TEST_CASE("cpu: a cpuset of more CPUs than the one in force is no fault, and changes nothing", "[injector]") {
  // A process started pinned to one CPU got a second one from a "fault", and every expectation
  // under it was judged with more CPU than the process started with.
  INJECTOR_TEST_PRECONDITIONS();
  TargetGroup t;
  if (auto why = t.group().unsupported(cgroup::Knob::cpuset)) FAULTLINE_SKIP(*why);
  const std::string all = t.group().cpuset();
  const auto cpus = parse_cpu_list(all);
  REQUIRE(cpus);
  if (cpus->size() < 2) FAULTLINE_SKIP("one CPU here: nothing wider than a single CPU to widen to");
  const std::string last = std::to_string(*cpus->rbegin()), first = std::to_string(*cpus->begin());
  t.group().set_cpuset(last);
  TargetProcess target(t.group(), payload({"sleep", "10s"}));
  const Target where{t.group(), target.pid()};
  CpuInjector widen(scenario::CpuFault{std::nullopt, std::nullopt, all});
  CHECK_THROWS_WITH(widen.apply(where), "a cpuset of " + std::to_string(cpus->size()) + " CPU(s) (" + all +
                                            ") would widen the 1 in force (" + last +
                                            "): a squeeze must narrow it, and a fault never loosens a limit");
  CHECK(t.group().cpuset() == last);
  // With a quota beside it, the quota is not written either.
  CpuInjector throttle_and_widen(scenario::CpuFault{0.5, std::nullopt, all});
  CHECK_THROWS_AS(throttle_and_widen.apply(where), injectors::NoEffect);
  CHECK(std::isinf(t.group().cpu_max().cpus));
  CHECK(t.group().cpuset() == last);
  // As many CPUs elsewhere is a move: applied, and reverted.
  CpuInjector move(scenario::CpuFault{std::nullopt, std::nullopt, first});
  CHECK(move.apply(where) == "cpuset " + last + " -> " + first);
  CHECK(move.revert(where) == "cpuset " + first + " -> " + last);
}

TEST_CASE("cpu: whether a quota can throttle counts the CPUs of every process, not the main one's",
          "[injector]") {
  INJECTOR_TEST_PRECONDITIONS();
  TargetGroup t;
  TargetProcess main_process(t.group(), payload({"sleep", "10s"}));
  TargetProcess worker(t.group(), payload({"sleep", "10s"}));
  cpu_set_t set;
  CPU_ZERO(&set);
  REQUIRE(::sched_getaffinity(worker.pid(), sizeof set, &set) == 0);
  const int all = CPU_COUNT(&set);
  if (all < 2)
    FAULTLINE_SKIP("one CPU here: no affinity narrower than all of them to pin the main process to");
  cpu_set_t first;
  CPU_ZERO(&first);
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu)
    if (CPU_ISSET(cpu, &set)) {
      CPU_SET(cpu, &first);
      break;
    }
  REQUIRE(::sched_setaffinity(main_process.pid(), sizeof first, &first) == 0);
  // The main process may use one CPU, its worker all of them: 1.5 CPUs can throttle the worker.
  CpuInjector quota(scenario::CpuFault{1.5, std::nullopt, std::nullopt});
  const Target where{t.group(), main_process.pid()};
  CHECK(quota.apply(where).starts_with("cpu.max "));
  quota.revert(where);
}
