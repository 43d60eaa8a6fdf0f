// The hog injector: `faultline hog` started inside the cgroup holds memory until revert.
#include <cerrno>
#include <chrono>
#include <csignal>
#include <fstream>
#include <thread>

#include "injectors/hog_injector.h"
#include "tests/integration/injector_test_support.h"

using namespace faultline;
using namespace faultline::test;
using injectors::HogInjector;
using injectors::Target;

TEST_CASE("hog: a 120MiB noisy neighbour shows in the cgroup and is killed by revert", "[injector]") {
  INJECTOR_TEST_PRECONDITIONS();
  if (faultline_path().empty()) FAULTLINE_SKIP("FAULTLINE_BIN is not set (run through ctest)");
  constexpr std::uint64_t MiB = 1024 * 1024;
  TargetGroup t;
  TargetProcess target(t.group(), payload({"sleep", "30s"}));
  std::unique_ptr<TargetProcess> helper;
  HogInjector hog(scenario::HogFault{120 * MiB, 0.5}, faultline_path(),
                  [&](const std::vector<std::string>& argv) {
                    helper = std::make_unique<TargetProcess>(t.group(), argv);
                    return helper->pid();
                  });
  CHECK(hog.describe() == "hog memory 120MiB cpu 50%");
  CHECK(hog.helper_argv() ==
        std::vector<std::string>{faultline_path(), "hog", "--memory", "125829120B", "--cpu", "0.5"});
  const Target where{t.group(), target.pid()};
  const std::string detail = hog.apply(where);
  CHECK(detail == "hog pid " + std::to_string(helper->pid()) + " started (hog memory 120MiB cpu 50%)");
  REQUIRE(helper->wait_for_output("hog: holding 120MiB, burning 50%"));
  CHECK(t.group().stats().memory_current.value_or(0) >= 120 * MiB);
  CHECK(hog.revert(where) == "hog pid " + std::to_string(helper->pid()) + " killed");
  CHECK_FALSE(hog.never_held());
  REQUIRE(helper->ended_within(2000ms));
  CHECK(t.group().stats().memory_peak.value_or(0) >= 120 * MiB);
  CHECK(hog.revert(where).empty());
}

// A hog killed while it still touches its pages never was the neighbour written: its fault
// counts as never taken effect.
TEST_CASE("hog: one reverted before it held its memory says so", "[injector]") {
  INJECTOR_TEST_PRECONDITIONS();
  if (faultline_path().empty()) FAULTLINE_SKIP("FAULTLINE_BIN is not set (run through ctest)");
  // Half the host's memory: allowed by the kernel's overcommit rule, and far more than a hog
  // faults in within the 100ms it is given.
  std::uint64_t total_kib = 0;
  {
    std::ifstream meminfo("/proc/meminfo");
    std::string key;
    meminfo >> key >> total_kib;
    REQUIRE(key == "MemTotal:");
  }
  const std::uint64_t memory = total_kib / 2 / 1024 * 1024 * 1024;
  TargetGroup t;
  TargetProcess target(t.group(), payload({"sleep", "30s"}));
  std::unique_ptr<TargetProcess> helper;
  HogInjector hog(scenario::HogFault{memory, std::nullopt}, faultline_path(),
                  [&](const std::vector<std::string>& argv) {
                    helper = std::make_unique<TargetProcess>(t.group(), argv);
                    return helper->pid();
                  });
  const Target where{t.group(), target.pid()};
  hog.apply(where);
  std::this_thread::sleep_for(100ms);
  CHECK(hog.revert(where) == "hog pid " + std::to_string(helper->pid()) + " killed");
  REQUIRE(hog.never_held());
  INFO(*hog.never_held());
  CHECK(hog.never_held()->starts_with("hog pid " + std::to_string(helper->pid()) + " held "));
  CHECK(hog.never_held()->find(" of its " + format_size(memory) + " when it was killed") !=
        std::string::npos);
  REQUIRE(helper->ended_within(5000ms));
}

namespace {

// A process outside every cgroup of the test that takes `pid` once it is free: the kernel hands
// out ns_last_pid + 1 next (root only). Other forks on the host can take it first (a build
// beside the tests forks a compiler every few milliseconds, which may then hold the number for
// seconds): retried for up to 30 s, waiting while another process holds it.
pid_t fork_with_pid(pid_t wanted) {
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (std::chrono::steady_clock::now() < deadline) {
    if (::kill(wanted, 0) == 0 || errno != ESRCH) {
      std::this_thread::sleep_for(10ms);
      continue;
    }
    {
      std::ofstream last("/proc/sys/kernel/ns_last_pid");
      last << wanted - 1;
    }
    std::fflush(nullptr);
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::pause();
      ::_exit(0);
    }
    if (pid == wanted) return pid;
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
  }
  return -1;
}

}  // namespace

TEST_CASE("hog: revert never signals a process that got the reaped hog's pid", "[injector]") {
  INJECTOR_TEST_PRECONDITIONS();
  TargetGroup t;
  std::unique_ptr<TargetProcess> helper;
  // The launcher starts a sleeper in place of `faultline hog`: only its pid matters here.
  HogInjector hog(scenario::HogFault{std::uint64_t{1024 * 1024}, std::nullopt}, "faultline",
                  [&](const std::vector<std::string>&) {
                    helper = std::make_unique<TargetProcess>(t.group(), payload({"sleep", "30s"}));
                    return helper->pid();
                  });
  const Target where{t.group(), 0};
  hog.apply(where);
  const pid_t hog_pid = helper->pid();
  // The hog dies on its own (OOM, a crash) and its owner reaps it; the number is free again.
  ::kill(hog_pid, SIGKILL);
  helper->wait();
  const pid_t victim = fork_with_pid(hog_pid);
  REQUIRE(victim == hog_pid);  // the host kept the pid for itself for 30 s
  CHECK(hog.revert(where) == "hog pid " + std::to_string(hog_pid) +
                                 " was gone before its revert (a memory hog may be the OOM killer's choice)");
  // Signalled by pid, the unrelated process now holding the number would be dead.
  int status = 0;
  CHECK(::waitpid(victim, &status, WNOHANG) == 0);
  ::kill(victim, SIGKILL);
  ::waitpid(victim, nullptr, 0);
}
