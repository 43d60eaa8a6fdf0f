// The limits a caller's own cgroups put on it, read from fake cgroup trees (plain directories):
// which levels count (those the faultline parent is not inside), the tightest one, and each
// controller's notation on v1 and v2. tests/e2e/exec_test.cpp shows it on the host's real cgroups.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "cgroup/enclosing_limits.h"
#include "tests/support/scratch_dir.h"

using namespace faultline::cgroup;
using faultline::test::ScratchDir;
namespace fs = std::filesystem;

namespace {

void put(const fs::path& dir, const std::string& file, const std::string& text) {
  fs::create_directories(dir);
  std::ofstream(dir / file) << text << "\n";
}

}  // namespace

TEST_CASE("enclosing limits on v1: the tightest level outside the parent, per hierarchy") {
  ScratchDir tree;
  const fs::path root = tree.path();
  HostCgroups host;
  host.mode = Mode::hybrid;
  host.v1["memory"] = CgroupMount{root / "memory", "/", false, {"memory"}};
  host.v1["pids"] = CgroupMount{root / "pids", "/", false, {"pids"}};
  host.v1["cpu"] = CgroupMount{root / "cpu,cpuacct", "/", false, {"cpu", "cpuacct"}};
  put(root / "memory/job", "memory.limit_in_bytes", "104857600");
  put(root / "memory/job/step", "memory.limit_in_bytes", "9223372036854771712");  // v1's "no limit"
  put(root / "pids/job", "pids.max", "max");
  put(root / "cpu,cpuacct/job", "cpu.cfs_quota_us", "50000");
  put(root / "cpu,cpuacct/job", "cpu.cfs_period_us", "100000");
  const std::string self = "9:memory:/job/step\n8:pids:/job\n7:cpu,cpuacct:/job\n0::/job\n";

  const auto outside = enclosing_limits(host, self, "faultline");
  REQUIRE(outside.memory);
  CHECK(outside.memory->value == 104857600);
  CHECK(outside.memory->cgroup == "/job");
  CHECK_FALSE(outside.pids);  // "max"
  REQUIRE(outside.cpus);
  CHECK(outside.cpus->value == 0.5);
  CHECK(outside.cpus->cgroup == "/job");

  // A parent inside the job's cgroup keeps the job's limits by itself: nothing to copy.
  const auto inside = enclosing_limits(host, self, "job/faultline");
  CHECK_FALSE(inside.memory);
  CHECK_FALSE(inside.cpus);

  // A tighter level below wins over a looser one above.
  put(root / "memory/job/step", "memory.limit_in_bytes", "52428800");
  const auto tighter = enclosing_limits(host, self, "faultline");
  REQUIRE(tighter.memory);
  CHECK(tighter.memory->value == 52428800);
  CHECK(tighter.memory->cgroup == "/job/step");

  // A container's view of v1 (its own cgroup mounted as the hierarchy's top): the parent is made
  // inside the container's cgroup, whose limit then holds for runs by itself.
  HostCgroups container;
  container.mode = Mode::v1;
  container.v1["memory"] = CgroupMount{root / "memory/job", "/job", false, {"memory"}};
  CHECK_FALSE(enclosing_limits(container, "9:memory:/job\n", "faultline").memory);
  // The same parent given as a path from the top of the hierarchy would be outside it.
  CHECK(enclosing_limits(host, "9:memory:/job\n", "faultline").memory);

  // A caller at the top of every hierarchy has no limit of its own to leave.
  CHECK_FALSE(enclosing_limits(host, "9:memory:/\n8:pids:/\n7:cpu,cpuacct:/\n", "faultline").memory);

  // Swap: v1 bounds memory + swap together (memsw). The swap kept is what the tightest sum
  // leaves beside the tightest memory limit: /job/step holds memory to 50MiB here.
  CHECK_FALSE(tighter.swap);  // no memsw file: no swap accounting
  put(root / "memory/job", "memory.memsw.limit_in_bytes", "9223372036854771712");
  CHECK_FALSE(enclosing_limits(host, self, "faultline").swap);           // memsw unlimited
  put(root / "memory/job", "memory.memsw.limit_in_bytes", "104857600");  // /job: 100MiB + 0 swap
  const auto some_swap = enclosing_limits(host, self, "faultline");
  REQUIRE(some_swap.swap);
  CHECK(some_swap.swap->value == 52428800);  // 100MiB together, 50MiB of it memory
  CHECK(some_swap.swap->cgroup == "/job");
  put(root / "memory/job/step", "memory.memsw.limit_in_bytes", "52428800");  // /job/step: no swap
  const auto no_swap = enclosing_limits(host, self, "faultline");
  REQUIRE(no_swap.swap);
  CHECK(no_swap.swap->value == 0);
  CHECK(no_swap.swap->cgroup == "/job/step");
}

TEST_CASE("enclosing limits on v2: memory.max, pids.max and cpu.max of the caller's levels") {
  ScratchDir tree;
  const fs::path root = tree.path();
  HostCgroups host;
  host.mode = Mode::v2;
  host.unified = CgroupMount{root, "/", true, {}};
  put(root / "system.slice/runner.service", "memory.max", "max");
  put(root / "system.slice/runner.service", "pids.max", "64");
  put(root / "system.slice/runner.service", "cpu.max", "max 100000");
  put(root / "system.slice", "memory.max", "2147483648");
  put(root / "system.slice", "cpu.max", "150000 100000");
  const std::string self = "0::/system.slice/runner.service\n";

  const auto limits = enclosing_limits(host, self, "faultline");
  REQUIRE(limits.memory);
  CHECK(limits.memory->value == 2147483648);
  CHECK(limits.memory->cgroup == "/system.slice");
  REQUIRE(limits.pids);
  CHECK(limits.pids->value == 64);
  CHECK(limits.pids->cgroup == "/system.slice/runner.service");
  REQUIRE(limits.cpus);
  CHECK(limits.cpus->value == 1.5);
  CHECK_FALSE(limits.swap);
  put(root / "system.slice/runner.service", "memory.swap.max", "max");
  CHECK_FALSE(enclosing_limits(host, self, "faultline").swap);
  put(root / "system.slice/runner.service", "memory.swap.max", "0");  // MemorySwapMax=0
  const auto no_swap = enclosing_limits(host, self, "faultline");
  REQUIRE(no_swap.swap);
  CHECK(no_swap.swap->value == 0);
  CHECK(no_swap.swap->cgroup == "/system.slice/runner.service");

  // Mounted from a sub-tree, with the parent made inside it: the paths are the hierarchy's, the
  // files under the mount point, and the levels holding the parent are left out.
  HostCgroups sub_tree;
  sub_tree.mode = Mode::v2;
  sub_tree.unified = CgroupMount{root / "system.slice", "/system.slice", true, {}};
  const auto seen = enclosing_limits(sub_tree, self, "faultline");
  REQUIRE(seen.pids);
  CHECK(seen.pids->value == 64);
  CHECK_FALSE(seen.memory);  // set on /system.slice, which holds the parent
}
