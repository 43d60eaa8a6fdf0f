#include <catch2/catch.hpp>

#include "cgroup/mountinfo.h"

using namespace faultline::cgroup;

namespace {

// This machine's layout: v1 controllers mounted separately (cpu and cpuacct apart), cgroup2 at
// <root>/unified with no controllers.
const char* kHybrid =
    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
    "33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
    "34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset\n"
    "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices\n"
    "37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer\n"
    "39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
    "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
    "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";

// A systemd v1 host of old: cpu and cpuacct co-mounted, optional fields before the dash.
const char* kLegacyComounted =
    "25 18 0:21 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755\n"
    "28 25 0:24 / /sys/fs/cgroup/systemd rw,nosuid shared:11 - cgroup cgroup rw,xattr,name=systemd\n"
    "31 25 0:27 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:13 - cgroup cgroup "
    "rw,cpu,cpuacct\n"
    "32 25 0:28 / /sys/fs/cgroup/memory rw,nosuid shared:14 - cgroup cgroup rw,memory\n"
    "33 25 0:29 / /sys/fs/cgroup/pids rw,nosuid shared:15 - cgroup cgroup rw,pids\n"
    "34 25 0:30 / /sys/fs/cgroup/freezer rw,nosuid shared:16 - cgroup cgroup rw,freezer\n"
    "35 25 0:31 / /sys/fs/cgroup/cpuset rw,nosuid shared:17 - cgroup cgroup rw,cpuset,clone_children\n";

const char* kPureV2 =
    "22 1 0:20 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw\n"
    "26 22 0:23 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 "
    "rw,nsdelegate,memory_recursiveprot\n";

}  // namespace

TEST_CASE("parse_cgroup_mounts keeps only cgroup mounts and their controllers", "[cgroup]") {
  auto mounts = parse_cgroup_mounts(kHybrid);
  REQUIRE(mounts.size() == 9);
  CHECK(mounts[0].mount_point == "/sys/fs/cgroup/cpu");
  CHECK(mounts[0].controllers == std::vector<std::string>{"cpu"});
  CHECK_FALSE(mounts[0].v2);
  CHECK(mounts[7].mount_point == "/sys/fs/cgroup/systemd");
  CHECK(mounts[7].controllers.empty());  // name=systemd is no controller
  CHECK(mounts[8].v2);
  CHECK(mounts[8].root == "/");
}

TEST_CASE("parse_cgroup_mounts decodes octal escapes and skips optional fields", "[cgroup]") {
  auto mounts = parse_cgroup_mounts(
      "40 31 0:38 /sub\\040dir /mnt/my\\040cgroups rw shared:3 master:1 - cgroup2 cgroup2 rw\n"
      "garbage line\n");
  REQUIRE(mounts.size() == 1);
  CHECK(mounts[0].mount_point == "/mnt/my cgroups");
  CHECK(mounts[0].root == "/sub dir");
  CHECK(mounts[0].v2);
}

TEST_CASE("classify_host: hybrid with separately mounted cpu and cpuacct", "[cgroup]") {
  std::string why;
  auto host = classify_host(parse_cgroup_mounts(kHybrid), "/sys/fs/cgroup", false, &why);
  REQUIRE(host);
  CHECK(host->mode == Mode::hybrid);
  REQUIRE(host->unified);
  CHECK(host->unified->mount_point == "/sys/fs/cgroup/unified");
  CHECK(host->v1.at("cpu").mount_point == "/sys/fs/cgroup/cpu");
  CHECK(host->v1.at("cpuacct").mount_point == "/sys/fs/cgroup/cpuacct");
  CHECK(host->v1.at("memory").mount_point == "/sys/fs/cgroup/memory");
  CHECK(host->v1.size() == 6);
  CHECK(host->v1.count("devices") == 0);
}

TEST_CASE("classify_host: legacy v1 with co-mounted cpu,cpuacct", "[cgroup]") {
  std::string why;
  auto host = classify_host(parse_cgroup_mounts(kLegacyComounted), "/sys/fs/cgroup", false, &why);
  REQUIRE(host);
  CHECK(host->mode == Mode::v1);
  CHECK_FALSE(host->unified);
  CHECK(host->v1.at("cpu").mount_point == "/sys/fs/cgroup/cpu,cpuacct");
  CHECK(host->v1.at("cpuacct").mount_point == "/sys/fs/cgroup/cpu,cpuacct");
  CHECK(host->v1.at("cpuset").controllers == std::vector<std::string>{"cpuset"});  // clone_children dropped
}

TEST_CASE("classify_host: pure v2 from statfs and from mountinfo alone", "[cgroup]") {
  std::string why;
  auto host = classify_host(parse_cgroup_mounts(kPureV2), "/sys/fs/cgroup", true, &why);
  REQUIRE(host);
  CHECK(host->mode == Mode::v2);
  CHECK(host->unified->mount_point == "/sys/fs/cgroup");
  CHECK(host->v1.empty());

  // statfs not consulted (or elsewhere): a lone cgroup2 mount is still a v2 host.
  auto elsewhere = classify_host(parse_cgroup_mounts(kPureV2), "/other", false, &why);
  REQUIRE(elsewhere);
  CHECK(elsewhere->mode == Mode::v2);
  CHECK(elsewhere->unified->mount_point == "/sys/fs/cgroup");
}

TEST_CASE("classify_host: nothing mounted says so", "[cgroup]") {
  std::string why;
  auto host = classify_host(parse_cgroup_mounts("22 1 0:20 / /sys rw - sysfs sysfs rw\n"), "/sys/fs/cgroup",
                            false, &why);
  CHECK_FALSE(host);
  CHECK(
      why ==
      "no cgroup filesystem is mounted (neither cgroup2 nor a cgroup v1 hierarchy with memory, cpu, cpuacct, "
      "cpuset, pids or freezer appears in /proc/self/mountinfo)");
}

TEST_CASE("classify_host prefers mounts under the mount root", "[cgroup]") {
  // Listed first, but outside /sys/fs/cgroup.
  std::string text = "90 1 0:38 / /mnt/elsewhere rw - cgroup2 cgroup2 rw\n" + std::string(kHybrid);
  std::string why;
  auto host = classify_host(parse_cgroup_mounts(text), "/sys/fs/cgroup", false, &why);
  REQUIRE(host);
  CHECK(host->unified->mount_point == "/sys/fs/cgroup/unified");
}

TEST_CASE("parse_proc_cgroup maps hierarchies to paths", "[cgroup]") {
  auto paths = parse_proc_cgroup(
      "9:name=systemd:/\n4:memory:/process_api/ff04\n2:cpu,cpuacct:/a:b\n0::/user.slice/app.scope\n");
  CHECK(paths.at("memory") == "/process_api/ff04");
  CHECK(paths.at("cpu,cpuacct") == "/a:b");
  CHECK(paths.at("name=systemd") == "/");
  CHECK(paths.at("") == "/user.slice/app.scope");
}

TEST_CASE("cgroup_dir maps hierarchy paths through the mount's root", "[cgroup]") {
  CgroupMount whole{"/sys/fs/cgroup", "/", true, {}};
  CHECK(cgroup_dir(whole, "/user.slice/x") == std::filesystem::path("/sys/fs/cgroup/user.slice/x"));
  CHECK(cgroup_dir(whole, "/") == std::filesystem::path("/sys/fs/cgroup"));
  CgroupMount sub{"/sys/fs/cgroup", "/docker/abc", true, {}};
  CHECK(cgroup_dir(sub, "/docker/abc/app") == std::filesystem::path("/sys/fs/cgroup/app"));
  CHECK(cgroup_dir(sub, "/docker/abc") == std::filesystem::path("/sys/fs/cgroup"));
  CHECK_FALSE(cgroup_dir(sub, "/docker/other"));
}

#include "cgroup/v1_backend.h"

TEST_CASE("V1Layout: one directory per hierarchy, unified first, co-mounted ones once", "[cgroup]") {
  std::string why;
  auto hybrid = classify_host(parse_cgroup_mounts(kHybrid), "/sys/fs/cgroup", false, &why);
  REQUIRE(hybrid);
  auto layout = V1Layout::from(*hybrid);
  CHECK(layout.dirs("faultline/run-1-2-3") ==
        std::vector<std::filesystem::path>{
            "/sys/fs/cgroup/unified/faultline/run-1-2-3", "/sys/fs/cgroup/memory/faultline/run-1-2-3",
            "/sys/fs/cgroup/cpu/faultline/run-1-2-3", "/sys/fs/cgroup/cpuacct/faultline/run-1-2-3",
            "/sys/fs/cgroup/cpuset/faultline/run-1-2-3", "/sys/fs/cgroup/pids/faultline/run-1-2-3",
            "/sys/fs/cgroup/freezer/faultline/run-1-2-3"});
  CHECK(layout.describe("faultline/run-1-2-3") ==
        "/sys/fs/cgroup/{memory,cpu,cpuacct,cpuset,pids,freezer,unified}/faultline/run-1-2-3");
  CHECK(layout.dir("cpuacct", "faultline") ==
        std::optional<std::filesystem::path>("/sys/fs/cgroup/cpuacct/faultline"));
  CHECK_FALSE(layout.dir("devices", "faultline"));

  auto legacy = classify_host(parse_cgroup_mounts(kLegacyComounted), "/sys/fs/cgroup", false, &why);
  REQUIRE(legacy);
  auto comounted = V1Layout::from(*legacy);
  CHECK(comounted.dirs("faultline") ==
        std::vector<std::filesystem::path>{"/sys/fs/cgroup/memory/faultline",
                                           "/sys/fs/cgroup/cpu,cpuacct/faultline",
                                           "/sys/fs/cgroup/cpuset/faultline", "/sys/fs/cgroup/pids/faultline",
                                           "/sys/fs/cgroup/freezer/faultline"});
  CHECK(comounted.dir("cpu", "x") == comounted.dir("cpuacct", "x"));
  CHECK(comounted.describe("faultline") ==
        "/sys/fs/cgroup/{memory,cpu,cpuacct,cpuset,pids,freezer}/faultline");
}
