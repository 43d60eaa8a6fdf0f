// The fd injector on real processes: RLIMIT_NOFILE of every process in the cgroup changed at
// runtime, new opens fail with EMFILE, revert restores each process's own limits.
#include <linux/capability.h>
#include <sys/resource.h>
#include <sys/syscall.h>

#include <algorithm>
#include <optional>

#include "injectors/fd_injector.h"
#include "tests/integration/injector_test_support.h"

using namespace faultline;
using namespace faultline::test;
using injectors::FdInjector;
using injectors::Target;

namespace {
rlimit nofile_of(pid_t pid) {
  rlimit r{};
  REQUIRE(::prlimit(pid, RLIMIT_NOFILE, nullptr, &r) == 0);
  return r;
}

// This thread without a capability in its effective set, as in a container that does not grant
// it, until the end of the scope (it stays permitted, so it can come back).
class WithoutCapability {
 public:
  explicit WithoutCapability(int cap) {
    REQUIRE(::syscall(SYS_capget, &header_, saved_) == 0);
    __user_cap_data_struct lowered[_LINUX_CAPABILITY_U32S_3];
    std::copy(std::begin(saved_), std::end(saved_), std::begin(lowered));
    lowered[cap / 32].effective &= ~(1U << (cap % 32));
    REQUIRE(::syscall(SYS_capset, &header_, lowered) == 0);
  }
  ~WithoutCapability() { ::syscall(SYS_capset, &header_, saved_); }
  WithoutCapability(const WithoutCapability&) = delete;
  WithoutCapability& operator=(const WithoutCapability&) = delete;

 private:
  __user_cap_header_struct header_{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct saved_[_LINUX_CAPABILITY_U32S_3]{};
};
}  // namespace

TEST_CASE("fd: a runtime RLIMIT_NOFILE makes new opens fail with EMFILE", "[injector]") {
  INJECTOR_TEST_PRECONDITIONS();
  TargetGroup t;
  TargetProcess target(t.group(), payload_after("0.5", "open-fds 64 --hold 10s"));
  const rlimit before = nofile_of(target.pid());
  FdInjector fd(scenario::FdFault{16}, /*ends_in_window=*/true);
  CHECK(fd.describe() == "RLIMIT_NOFILE 16");
  const std::string detail = fd.apply(Target{t.group(), target.pid()});
  CHECK(detail.starts_with("RLIMIT_NOFILE "));
  CHECK(detail.find(" -> 16") != std::string::npos);
  CHECK(nofile_of(target.pid()).rlim_cur == 16);
  // The hard limit moves too where the harness can raise it back (CAP_SYS_RESOURCE).
  CHECK((nofile_of(target.pid()).rlim_max == 16) == injectors::can_raise_hard_limits());
  REQUIRE(target.wait_for_output("open failed"));
  const std::string out = target.output();
  INFO(out);
  CHECK(out.find("open failed: Too many open files") != std::string::npos);
  CHECK(out.find("opened 64 of 64") == std::string::npos);

  CHECK(fd.revert(Target{t.group(), target.pid()}).starts_with("RLIMIT_NOFILE 16 -> "));
  CHECK(nofile_of(target.pid()).rlim_cur == before.rlim_cur);
  CHECK(nofile_of(target.pid()).rlim_max == before.rlim_max);
}

TEST_CASE("fd: every process in the cgroup is limited, and revert survives their exit", "[injector]") {
  INJECTOR_TEST_PRECONDITIONS();
  TargetGroup t;
  TargetProcess target(t.group(), payload({"fork", "3", "--hold", "10s"}));
  REQUIRE(target.wait_for_output("forked 3 of 3"));
  FdInjector fd(scenario::FdFault{32}, /*ends_in_window=*/true);
  CHECK(fd.apply(Target{t.group(), target.pid()}).ends_with(" on 4 process(es)"));
  for (pid_t pid : t.group().pids()) CHECK(nofile_of(pid).rlim_cur == 32);
  ::kill(target.pid(), SIGKILL);
  target.wait();
  t.group().kill_all();
  // Gone (or zombies not yet reaped by init): either way revert does not fail.
  std::string detail;
  CHECK_NOTHROW(detail = fd.revert(Target{t.group(), 0}));
  CHECK(detail.starts_with("RLIMIT_NOFILE"));
}

// What Go's runtime does at start: raise the soft limit to the hard one.
const char* const kRaiseSoftLimit = R"(import resource, sys, time
time.sleep(0.5)
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
print("soft", resource.getrlimit(resource.RLIMIT_NOFILE)[0], flush=True)
time.sleep(10)
)";

TEST_CASE("fd: a fault without an end lowers the hard limit too, so a program cannot raise its way out",
          "[injector]") {
  INJECTOR_TEST_PRECONDITIONS();
  if (::access("/usr/bin/python3", X_OK) != 0) FAULTLINE_SKIP("no python3 here (it plays Go's runtime)");
  TargetGroup t;
  TargetProcess target(t.group(), {"/usr/bin/python3", "-c", kRaiseSoftLimit});
  FdInjector fd(scenario::FdFault{16}, /*ends_in_window=*/false);
  const std::string detail = fd.apply(Target{t.group(), target.pid()});
  CHECK(detail.find("soft only") == std::string::npos);
  CHECK(nofile_of(target.pid()).rlim_max == 16);
  REQUIRE(target.wait_for_output("soft "));
  CHECK(target.output().find("soft 16\n") != std::string::npos);
  // Its end (the run's) restores what it can: without CAP_SYS_RESOURCE the hard limit stays.
  const std::string reverted = fd.revert(Target{t.group(), target.pid()});
  CHECK(reverted.starts_with("RLIMIT_NOFILE 16 -> "));
  CHECK((reverted.find("hard limit left at 16") != std::string::npos) == !injectors::can_raise_hard_limits());
}

TEST_CASE("fd: a windowed fault that a program raised its way out of is an error at its end", "[injector]") {
  INJECTOR_TEST_PRECONDITIONS();
  if (::access("/usr/bin/python3", X_OK) != 0) FAULTLINE_SKIP("no python3 here (it plays Go's runtime)");
  // Both ways: with the capabilities this host gives, and without CAP_SYS_RESOURCE.
  std::optional<WithoutCapability> dropped;
  if (GENERATE(false, true)) dropped.emplace(CAP_SYS_RESOURCE);
  // The program is there when the fault is applied, or starts under it as a shell's child.
  const bool born_during = GENERATE(false, true);
  const std::string python = std::string("/usr/bin/python3 -c '") + kRaiseSoftLimit + "'";
  TargetGroup t;
  TargetProcess target(t.group(), born_during
                                      ? std::vector<std::string>{"/bin/sh", "-c", "sleep 0.3; " + python}
                                      : std::vector<std::string>{"/usr/bin/python3", "-c", kRaiseSoftLimit});
  FdInjector fd(scenario::FdFault{16}, /*ends_in_window=*/true);
  fd.apply(Target{t.group(), target.pid()});
  REQUIRE(target.wait_for_output("soft "));
  if (injectors::can_raise_hard_limits()) {
    // Both limits moved: the program could not get past 16, and the end restores both.
    CHECK(target.output().find("soft 16\n") != std::string::npos);
    CHECK_NOTHROW(fd.revert(Target{t.group(), target.pid()}));
  } else {
    // Only the soft limit could move; the program raised it back, and the end says so.
    CHECK(target.output().find("soft 16\n") == std::string::npos);
    CHECK_THROWS_WITH(fd.revert(Target{t.group(), target.pid()}),
                      Catch::Contains(std::string(born_during ? " (started while the fault was on)" : "") +
                                      " raised its soft RLIMIT_NOFILE from 16 to ") &&
                          Catch::Contains("it never held"));
  }
}

TEST_CASE("fd: children forked while the fault was on get the limits back at its end", "[injector]") {
  INJECTOR_TEST_PRECONDITIONS();
  TargetGroup t;
  TargetProcess target(t.group(), payload_after("0.5", "fork 2 --hold 10s"));
  const rlimit before = nofile_of(target.pid());
  FdInjector fd(scenario::FdFault{16}, /*ends_in_window=*/true);
  fd.apply(Target{t.group(), target.pid()});  // before the forks (the payload waits 0.5s)
  REQUIRE(target.wait_for_output("forked 2 of 2"));
  const auto members = t.group().pids();
  REQUIRE(members.size() >= 3);
  for (pid_t pid : members) CHECK(nofile_of(pid).rlim_cur == 16);  // inherited from the fault
  CHECK(fd.revert(Target{t.group(), target.pid()})
            .ends_with(" on " + std::to_string(members.size()) + " process(es)"));
  for (pid_t pid : members) {
    INFO("pid " << pid);
    CHECK(nofile_of(pid).rlim_cur == before.rlim_cur);
    CHECK(nofile_of(pid).rlim_max == before.rlim_max);
  }
}

TEST_CASE("fd: a child born during the fault gets the main process's limits back after the main one ended",
          "[injector]") {
  INJECTOR_TEST_PRECONDITIONS();
  TargetGroup t;
  // A neighbour started first (a lower pid) under limits of its own, then the main process,
  // which forks once the fault is on and ends before the revert: the revert then knows no main
  // pid, and the child must still get what the main process had, not the neighbour's.
  TargetProcess neighbour(t.group(), {"/bin/sh", "-c", "ulimit -Sn 64; echo limited; exec sleep 10"});
  REQUIRE(neighbour.wait_for_output("limited"));
  TargetProcess target(t.group(), {"/bin/sh", "-c", "sleep 0.5; sleep 10 & echo forked"});
  REQUIRE(neighbour.pid() < target.pid());
  const rlimit before = nofile_of(target.pid());
  REQUIRE(before.rlim_cur != 64);
  FdInjector fd(scenario::FdFault{16}, /*ends_in_window=*/true);
  fd.apply(Target{t.group(), target.pid()});
  REQUIRE(target.wait_for_output("forked"));
  REQUIRE(target.ended_within(5000ms));
  pid_t child = 0;
  for (pid_t pid : t.group().pids())
    if (pid != neighbour.pid()) child = pid;
  REQUIRE(child > 0);
  CHECK(nofile_of(child).rlim_cur == 16);
  fd.revert(Target{t.group(), 0});
  CHECK(nofile_of(child).rlim_cur == before.rlim_cur);
  CHECK(nofile_of(child).rlim_max == before.rlim_max);
  CHECK(nofile_of(neighbour.pid()).rlim_cur == 64);
}

TEST_CASE("fd: a child born during the fault that set its own limit keeps it, and is no escape",
          "[injector]") {
  INJECTOR_TEST_PRECONDITIONS();
  TargetGroup t;
  TargetProcess target(
      t.group(),
      {"/bin/sh", "-c", "sleep 0.5; sh -c 'ulimit -Sn 8; echo own-limit; exec sleep 10' & exec sleep 10"});
  FdInjector fd(scenario::FdFault{16}, /*ends_in_window=*/true);
  fd.apply(Target{t.group(), target.pid()});
  REQUIRE(target.wait_for_output("own-limit"));
  pid_t child = 0;
  for (pid_t pid : t.group().pids())
    if (pid != target.pid()) child = pid;
  REQUIRE(child > 0);
  CHECK(nofile_of(child).rlim_cur == 8);
  CHECK_NOTHROW(fd.revert(Target{t.group(), target.pid()}));
  CHECK(nofile_of(child).rlim_cur == 8);
}

TEST_CASE(
    "fd: a program that raised its way out of a soft-only fault and exited is seen while the fault is on",
    "[injector]") {
  INJECTOR_TEST_PRECONDITIONS();
  if (::access("/usr/bin/python3", X_OK) != 0) FAULTLINE_SKIP("no python3 here (it plays Go's runtime)");
  const WithoutCapability no_cap_sys_resource(CAP_SYS_RESOURCE);
  REQUIRE_FALSE(injectors::can_raise_hard_limits());
  TargetGroup t;
  const std::string python =
      "/usr/bin/python3 -c 'import resource as r; r.setrlimit(r.RLIMIT_NOFILE, "
      "(r.getrlimit(r.RLIMIT_NOFILE)[1],) * 2); import time; time.sleep(0.3)'";
  TargetProcess target(t.group(),
                       {"/bin/sh", "-c", "sleep 0.3; " + python + "; echo python-done; exec sleep 10"});
  FdInjector fd(scenario::FdFault{16}, /*ends_in_window=*/true);
  CHECK(fd.apply(Target{t.group(), target.pid()}).find("(soft only)") != std::string::npos);
  REQUIRE(fd.watch_interval().has_value());
  // What the run's loop does every watch_interval() while the fault is on.
  for (int i = 0; i < 500 && target.output().find("python-done") == std::string::npos; ++i) {
    fd.watch(Target{t.group(), target.pid()});
    std::this_thread::sleep_for(*fd.watch_interval());
  }
  REQUIRE(target.wait_for_output("python-done"));
  CHECK_THROWS_WITH(
      fd.revert(Target{t.group(), target.pid()}),
      Catch::Contains("(started while the fault was on) raised its soft RLIMIT_NOFILE from 16 to ") &&
          Catch::Contains("it never held"));
}

TEST_CASE("fd: a fault that lowers both limits needs no watch", "[injector]") {
  INJECTOR_TEST_PRECONDITIONS();
  TargetGroup t;
  TargetProcess target(t.group(), {"/bin/sleep", "10"});
  FdInjector without_end(scenario::FdFault{16}, /*ends_in_window=*/false);
  without_end.apply(Target{t.group(), target.pid()});
  CHECK_FALSE(without_end.watch_interval().has_value());
}

TEST_CASE("fd: a limit at or above the one in force is no fault, and never raises one", "[injector]") {
  INJECTOR_TEST_PRECONDITIONS();
  TargetGroup t;
  TargetProcess target(t.group(), payload({"sleep", "10s"}));
  const rlimit low{16, 16};
  REQUIRE(::prlimit(target.pid(), RLIMIT_NOFILE, &low, nullptr) == 0);
  const Target where{t.group(), target.pid()};
  for (bool ends_in_window : {true, false})
    for (std::uint64_t nofile : {1024, 16}) {
      INFO("nofile " << nofile << (ends_in_window ? " with an end" : " without"));
      FdInjector looser(scenario::FdFault{nofile}, ends_in_window);
      CHECK_THROWS_AS(looser.apply(where), injectors::NoEffect);
      CHECK(nofile_of(target.pid()).rlim_cur == 16);
      CHECK(nofile_of(target.pid()).rlim_max == 16);
    }
  FdInjector tighter(scenario::FdFault{8}, /*ends_in_window=*/true);
  CHECK(tighter.apply(where).find(" -> 8") != std::string::npos);
  CHECK(nofile_of(target.pid()).rlim_cur == 8);
  tighter.revert(where);
  CHECK(nofile_of(target.pid()).rlim_cur == 16);
}
