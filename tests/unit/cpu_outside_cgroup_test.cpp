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

TEST_CASE("cpu_outside_run_cgroups: runs in a row carry what was counted but not reaped yet") {
  // The only test that calls it: it keeps what earlier runs left between calls, as a harness
  // running a suite does. A run whose processes were not all reaped by its end (a process killed
  // as it ended) is reaped during the next: that one's waits bring back more than its own
  // cgroups counted, and it is no escape.
  using faultline::runner::cpu_outside_run_cgroups;
  CHECK_FALSE(cpu_outside_run_cgroups(milliseconds(100), milliseconds(400), false));  // 300 not reaped
  CHECK_FALSE(cpu_outside_run_cgroups(milliseconds(600), milliseconds(300), false));  // those 300 came back
  // Nothing is carried any more: the next run's own excess is an escape.
  CHECK(cpu_outside_run_cgroups(milliseconds(700), milliseconds(300), false) == milliseconds(400));
  // Nor is an excess carried as credit against a later run.
  CHECK(cpu_outside_run_cgroups(milliseconds(400), milliseconds(300), false) == milliseconds(100));
  // A run beside another shares its waits: from then on no run is judged.
  CHECK_FALSE(cpu_outside_run_cgroups(milliseconds(900), milliseconds(100), true));
  CHECK_FALSE(cpu_outside_run_cgroups(milliseconds(900), milliseconds(100), false));
}
