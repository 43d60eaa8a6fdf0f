// The trace a process leaves when it moved itself out of the command's cgroup and ended before
// any look saw it: CPU time that came back through the waits but was never counted in the cgroup.
// tests/e2e/exec_test.cpp shows it on a real escape.
#include <catch2/catch.hpp>

#include "runner/escapes.h"

using faultline::runner::cpu_outside_cgroup;
using std::chrono::microseconds;
using std::chrono::milliseconds;

TEST_CASE("cpu_outside_cgroup: what the waits brought back beyond the cgroup's count, past a tolerance") {
  // All of it counted, or a few microseconds more (the child's own start before it joined).
  CHECK_FALSE(cpu_outside_cgroup(milliseconds(0), milliseconds(0)));
  CHECK_FALSE(cpu_outside_cgroup(milliseconds(800), milliseconds(800)));
  CHECK_FALSE(cpu_outside_cgroup(microseconds(800'040), milliseconds(800)));
  // More counted than reaped: processes still running at the read, or killed orphans.
  CHECK_FALSE(cpu_outside_cgroup(milliseconds(10), milliseconds(900)));
  // 50ms plus 5% of what was counted.
  CHECK_FALSE(cpu_outside_cgroup(milliseconds(50), milliseconds(0)));
  CHECK(cpu_outside_cgroup(milliseconds(51), milliseconds(0)) == milliseconds(51));
  CHECK_FALSE(cpu_outside_cgroup(milliseconds(1100), milliseconds(1000)));
  CHECK(cpu_outside_cgroup(milliseconds(1101), milliseconds(1000)) == milliseconds(101));
  // A 200MiB allocation outside, beside a shell that counted 3ms.
  CHECK(cpu_outside_cgroup(milliseconds(703), milliseconds(3)) == milliseconds(700));
}

TEST_CASE("cpu_outside_run_cgroups: each run on its own, until the waits are shared") {
  // The only test that calls it: it keeps, between calls, whether runs shared their waits, as a
  // harness running a suite does.
  using faultline::runner::cpu_outside_run_cgroups;
  CHECK_FALSE(cpu_outside_run_cgroups(milliseconds(100), milliseconds(400), true));
  CHECK_FALSE(cpu_outside_run_cgroups(milliseconds(900), std::nullopt, true));  // nothing counted it
  // What one run's cgroups counted beyond its waits (a child reaped by nobody, its parent ignoring
  // SIGCHLD) is no credit for the next run's excess.
  CHECK(cpu_outside_run_cgroups(milliseconds(400), milliseconds(300), true) == milliseconds(100));
  CHECK_FALSE(cpu_outside_run_cgroups(milliseconds(300), milliseconds(300), true));
  // A run beside another, or whose processes could not all be reaped, shares its waits with the
  // runs after it: from then on no run is judged.
  CHECK_FALSE(cpu_outside_run_cgroups(milliseconds(900), milliseconds(100), false));
  CHECK_FALSE(cpu_outside_run_cgroups(milliseconds(900), milliseconds(100), true));
}

TEST_CASE("cpu_outside_cgroup: an allowance the caller knows of widens the tolerance by that much") {
  using std::chrono::milliseconds;
  CHECK_FALSE(cpu_outside_cgroup(milliseconds(150), milliseconds(0), milliseconds(100)));
  CHECK(cpu_outside_cgroup(milliseconds(151), milliseconds(0), milliseconds(100)) == milliseconds(151));
}
