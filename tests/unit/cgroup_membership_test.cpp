// Reading /proc/<pid>/cgroup to tell a member of some run from a process that moved itself out.
#include <catch2/catch.hpp>
#include <string>

#include "cgroup/backend_base.h"

using faultline::cgroup::proc_cgroups_under;

TEST_CASE("proc_cgroups_under: a run's member in any hierarchy", "[cgroup]") {
  const std::string hybrid =
      "12:pids:/faultline/r-1-2/api\n"
      "4:memory:/faultline/r-1-2/api\n"
      "1:name=systemd:/user.slice\n"
      "0::/faultline/r-1-2/api\n";
  CHECK(proc_cgroups_under(hybrid, "/faultline"));
  CHECK(proc_cgroups_under("0::/faultline\n", "/faultline"));
  CHECK(proc_cgroups_under("0::/ci/faultline/r-1-2\n", "/ci/faultline"));
  // Only the last hierarchy still holds it: still a member, the run's own kill reaches it there.
  CHECK(proc_cgroups_under("4:memory:/\n0::/faultline/r-1-2\n", "/faultline"));
}

TEST_CASE("proc_cgroups_under: moved out, or a look-alike name", "[cgroup]") {
  CHECK_FALSE(proc_cgroups_under("4:memory:/\n1:name=systemd:/\n0::/\n", "/faultline"));
  CHECK_FALSE(proc_cgroups_under("0::/faultline-other/r-1\n", "/faultline"));
  CHECK_FALSE(proc_cgroups_under("0::/system.slice/faultline\n", "/faultline"));
  CHECK_FALSE(proc_cgroups_under("0::/ci\n", "/ci/faultline"));
  CHECK_FALSE(proc_cgroups_under("", "/faultline"));  // gone: nothing to read
  CHECK_FALSE(proc_cgroups_under("garbage without colons\n", "/faultline"));
  // A path holding ':' is read whole, after the second ':'.
  CHECK(proc_cgroups_under("0::/faultline/odd:name\n", "/faultline"));
}
