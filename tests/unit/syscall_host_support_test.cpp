// What `doctor` says about syscall faults, from made-up host facts: each missing piece makes the
// kind unavailable with its own reason.
#include <sys/prctl.h>

#include <catch2/catch.hpp>
#include <cerrno>

#include "syscall/host_support.h"

using namespace faultline::syscall;

namespace {

HostFacts capable() {
  HostFacts f;
  f.kernel_release = "6.1.0-18-amd64";
  f.actions_avail = "kill_process kill_thread trap errno user_notif trace log allow";
  return f;
}

std::string why_of(const HostFacts& facts) {
  const auto s = assess(facts);
  CHECK_FALSE(s.usable);
  return s.why;
}

}  // namespace

TEST_CASE("kernel versions are read from uname releases", "[syscall_host]") {
  CHECK(kernel_version("6.1.0-18-amd64") == std::pair{6, 1});
  CHECK(kernel_version("5.4.0") == std::pair{5, 4});
  CHECK(kernel_version("6.18.2+deb13") == std::pair{6, 18});
  CHECK_FALSE(kernel_version("garbage"));
}

TEST_CASE("a capable host can run syscall faults", "[syscall_host]") {
  const auto s = assess(capable());
  CHECK(s.usable);
  CHECK(s.why.empty());
  REQUIRE(s.checks.size() == 3);
  for (const auto& c : s.checks) CHECK(c.ok);
  CHECK(s.fast_path.find("no SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP") != std::string::npos);  // 6.1 < 6.6
  auto newer = capable();
  newer.kernel_release = "6.6.0";
  CHECK(assess(newer).fast_path.find("SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP available") == 0);
}

TEST_CASE("each missing piece makes syscall faults unavailable with its reason", "[syscall_host]") {
  auto old = capable();
  old.kernel_release = "5.4.0-150-generic";
  CHECK(
      why_of(old) ==
      "kernel: 5.4.0-150-generic is older than 5.5: without SECCOMP_USER_NOTIF_FLAG_CONTINUE a trapped call "
      "cannot be let through");

  auto no_notif = capable();
  no_notif.actions_avail = "kill_process kill_thread trap errno trace log allow";
  CHECK(why_of(no_notif).find("user notification: /proc/sys/kernel/seccomp/actions_avail lacks user_notif") ==
        0);
  no_notif.actions_avail.reset();
  CHECK(why_of(no_notif).find("actions_avail is unreadable") != std::string::npos);

  auto refused = capable();
  refused.filter_load_error = EACCES;
  refused.filter_load_step = "seccomp(SECCOMP_SET_MODE_FILTER, NEW_LISTENER)";
  CHECK(why_of(refused).find("filter load: a test child could not load a notification filter: "
                             "seccomp(SECCOMP_SET_MODE_FILTER, NEW_LISTENER): Permission denied; it needs "
                             "no_new_privs or CAP_SYS_ADMIN") == 0);
}

TEST_CASE("this host's facts are gathered: a release, and a filter load tried in a child", "[syscall_host]") {
  const auto facts = gather_host_facts();
  CHECK(kernel_version(facts.kernel_release));
  CHECK_FALSE(facts.filter_load_step.empty());
  // The caller itself stays without a filter: the test child loaded it.
  CHECK(::prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 0);
}
