#include "cgroup/cgroup_files.h"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "common/error.h"

using namespace faultline::cgroup;
namespace fs = std::filesystem;

TEST_CASE("keyed_value reads flat keyed files", "[cgroup]") {
  const char* cpu_stat =
      "usage_usec 1500\nuser_usec 1000\nnr_periods 12\nnr_throttled 3\nthrottled_usec 4567\n";
  CHECK(keyed_value(cpu_stat, "usage_usec") == std::optional<std::uint64_t>(1500));
  CHECK(keyed_value(cpu_stat, "throttled_usec") == std::optional<std::uint64_t>(4567));
  CHECK_FALSE(keyed_value(cpu_stat, "usage"));  // whole keys only
  const char* oom_control = "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n";
  CHECK(keyed_value(oom_control, "oom_kill") == std::optional<std::uint64_t>(2));
  CHECK(keyed_value("populated 1\nfrozen 0\n", "frozen") == std::optional<std::uint64_t>(0));
  CHECK_FALSE(keyed_value("max abc\n", "max"));
}

TEST_CASE("limits: max, numbers, the v1 unlimited sentinel", "[cgroup]") {
  CHECK(parse_limit("max\n") == std::optional<std::uint64_t>(faultline::kUnlimited));
  CHECK(parse_limit("33554432\n") == std::optional<std::uint64_t>(33554432));
  CHECK_FALSE(parse_limit("-1"));
  CHECK_FALSE(parse_limit("12abc"));
  CHECK_FALSE(parse_limit(""));
  CHECK(parse_v1_bytes_limit("9223372036854771712\n") == std::optional<std::uint64_t>(faultline::kUnlimited));
  CHECK(parse_v1_bytes_limit("33554432\n") == std::optional<std::uint64_t>(33554432));
}

TEST_CASE("cpu.max lines and quotas", "[cgroup]") {
  auto unlimited = parse_cpu_max_line("max 100000\n");
  REQUIRE(unlimited);
  CHECK_FALSE(unlimited->quota_usec);
  CHECK(unlimited->period_usec == 100000);
  auto half = parse_cpu_max_line("50000 100000\n");
  REQUIRE(half);
  CHECK(half->quota_usec == std::optional<std::uint64_t>(50000));
  CHECK_FALSE(parse_cpu_max_line("50000"));
  CHECK_FALSE(parse_cpu_max_line("50000 0"));
  CHECK_FALSE(parse_cpu_max_line("x 100000"));

  CHECK(cpu_quota_usec(0.1, 100000) == std::optional<std::uint64_t>(10000));
  CHECK(cpu_quota_usec(1.5, 100000) == std::optional<std::uint64_t>(150000));
  CHECK(cpu_quota_usec(0.01, 100000) == std::optional<std::uint64_t>(1000));  // the kernel's minimum
  // Below the minimum is refused, never raised to it: 10% of 1ms raised to 1ms is a whole CPU.
  CHECK_THROWS_WITH(
      cpu_quota_usec(0.1, 1000),
      Catch::Contains("\"10%\" of a 1ms period is a quota of 100us, below the kernel's smallest "
                      "quota of 1ms per period"));
  CHECK_THROWS(cpu_quota_usec(0.005, 100000));
  CHECK_THROWS(cpu_quota_usec(0, 100000));
  CHECK_FALSE(cpu_quota_usec(INFINITY, 100000));
  CHECK(cpus_from_quota(10000, 100000) == Approx(0.1));
  CHECK(std::isinf(cpus_from_quota(std::nullopt, 100000)));
}

TEST_CASE("parse_pid_list ignores blanks", "[cgroup]") {
  CHECK(parse_pid_list("12\n345\n\n") == std::vector<pid_t>{12, 345});
  CHECK(parse_pid_list("").empty());
}

namespace {

struct TempTree {
  fs::path root;
  TempTree() {
    char name[] = "/tmp/faultline-cgroup-files-XXXXXX";
    REQUIRE(::mkdtemp(name) != nullptr);
    root = name;
  }
  ~TempTree() { fs::remove_all(root); }
  void write(const fs::path& relative, const std::string& text) {
    fs::create_directories((root / relative).parent_path());
    std::ofstream(root / relative) << text;
  }
};

}  // namespace

TEST_CASE("subtree_pids and remove_cgroup_tree walk children first", "[cgroup]") {
  TempTree tree;
  tree.write("run/cgroup.procs", "");
  tree.write("run/a/cgroup.procs", "10\n11\n");
  tree.write("run/a/nested/cgroup.procs", "12\n");
  tree.write("run/b/cgroup.procs", "13\n");
  auto pids = subtree_pids(tree.root / "run");
  std::sort(pids.begin(), pids.end());
  CHECK(pids == std::vector<pid_t>{10, 11, 12, 13});
  CHECK(subdirectories(tree.root / "run") == std::vector<fs::path>{tree.root / "run/a", tree.root / "run/b"});
  CHECK(subdirectories(tree.root / "missing").empty());

  // rmdir (unlike a real cgroupfs, a temp dir must be emptied of files first).
  for (const auto& dir : {"run", "run/a", "run/a/nested", "run/b"})
    fs::remove(tree.root / dir / "cgroup.procs");
  remove_cgroup_tree(tree.root / "run");
  CHECK_FALSE(fs::exists(tree.root / "run"));
  remove_cgroup_tree(tree.root / "run");  // idempotent
}

TEST_CASE("read_file and write_file name the path in errors", "[cgroup]") {
  TempTree tree;
  auto missing = tree.root / "nope";
  CHECK_FALSE(read_file_if_exists(missing));
  try {
    read_file(missing);
    FAIL("read_file of a missing file did not throw");
  } catch (const faultline::SystemError& e) {
    CHECK(std::string(e.what()) == "read " + missing.string() + ": No such file or directory");
  }
  try {
    write_file(missing, "1");
    FAIL("write_file of a missing file did not throw");
  } catch (const faultline::SystemError& e) {
    CHECK(std::string(e.what()) == "write \"1\" to " + missing.string() + ": No such file or directory");
  }
}

TEST_CASE("wait_for_event_value wakes on modification and times out otherwise", "[cgroup]") {
  TempTree tree;
  tree.write("cgroup.events", "populated 1\nfrozen 0\n");
  auto file = tree.root / "cgroup.events";
  CHECK(wait_for_event_value(file, "frozen", 0, std::chrono::milliseconds(1)) == WaitResult::reached);
  auto start = std::chrono::steady_clock::now();
  CHECK(wait_for_event_value(file, "populated", 0, std::chrono::milliseconds(50)) == WaitResult::timed_out);
  CHECK(std::chrono::steady_clock::now() - start >= std::chrono::milliseconds(50));
  CHECK(wait_for_event_value(tree.root / "gone", "populated", 0, std::chrono::seconds(1)) ==
        WaitResult::gone);
}
