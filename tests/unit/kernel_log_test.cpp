#include "common/kernel_log.h"

#include <catch2/catch.hpp>

using faultline::kernel_log::record_names_oom_kill;
using std::chrono::microseconds;

namespace {
const char* const kCgroupOom =
    "3,661,992403659,-;Memory cgroup out of memory: Killed process 9644 (faultline-paylo) "
    "total-vm:210568kB, anon-rss:65024kB, file-rss:2560kB, shmem-rss:0kB, UID:0 pgtables:172kB "
    "oom_score_adj:0";
}

TEST_CASE("an OOM kill record names its pid exactly, from the given time on", "[kernel_log]") {
  CHECK(record_names_oom_kill(kCgroupOom, 9644, microseconds(992403659)));
  CHECK(record_names_oom_kill(kCgroupOom, 9644, microseconds(0)));
  // Another pid, even one whose digits start the same, is not named.
  CHECK_FALSE(record_names_oom_kill(kCgroupOom, 964, microseconds(0)));
  CHECK_FALSE(record_names_oom_kill(kCgroupOom, 96441, microseconds(0)));
  // A record from before the process started belongs to an earlier process with that pid.
  CHECK_FALSE(record_names_oom_kill(kCgroupOom, 9644, microseconds(992403660)));
  // The whole machine's OOM killer words it the same way.
  CHECK(record_names_oom_kill("3,12,5000,-;Out of memory: Killed process 77 (python3) total-vm:1kB", 77,
                              microseconds(1)));
}

TEST_CASE("records that are not OOM kills, or are malformed, name nobody", "[kernel_log]") {
  CHECK_FALSE(record_names_oom_kill("6,1,100,-;oom_reaper: reaped process 9644 (x), now anon-rss:0kB", 9644,
                                    microseconds(0)));
  CHECK_FALSE(record_names_oom_kill("no header Killed process 9644 (x)", 9644, microseconds(0)));
  CHECK_FALSE(record_names_oom_kill("3,661,abc,-;Killed process 9644 (x)", 9644, microseconds(0)));
  CHECK_FALSE(record_names_oom_kill("3,661;Killed process 9644 (x)", 9644, microseconds(0)));
}
