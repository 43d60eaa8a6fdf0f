// faultline started in the background, for the tests that signal it while its target runs: the
// target carries a token in its environment, so the test can wait until it runs and see that
// faultline's teardown took it down.
#pragma once

#include <signal.h>
#include <sys/types.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <random>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "tests/support/command.h"
#include "tests/support/test_env.h"

namespace faultline::test {

// A fresh token; a target started with FAULTLINE_E2E_TOKEN=<token> in its environment is found by it.
inline std::string new_token() { return std::to_string(std::random_device{}()); }

// Whether a process whose environment carries this token still runs.
inline bool running_with_token(const std::string& token) {
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(entry.path() / "environ", ec)) continue;
    if (read_file(entry.path() / "environ").find("FAULTLINE_E2E_TOKEN=" + token) != std::string::npos)
      return true;
  }
  return false;
}

class BackgroundHarness {
 public:
  // Starts `faultline ARGS...` with default signal dispositions (see default_signal_dispositions).
  explicit BackgroundHarness(const std::vector<std::string>& args) {
    std::vector<std::string> argv{"faultline"};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<char*> pointers;
    for (auto& arg : argv) pointers.push_back(arg.data());
    pointers.push_back(nullptr);
    const std::string binary = faultline_path();
    pid_ = ::fork();
    if (pid_ == 0) {
      default_signal_dispositions();
      ::execv(binary.c_str(), pointers.data());
      ::_exit(127);
    }
  }
  BackgroundHarness(const BackgroundHarness&) = delete;
  BackgroundHarness& operator=(const BackgroundHarness&) = delete;
  // A test that failed before the wait leaves nothing behind: faultline is asked to tear down
  // (its target and cgroups with it) and killed only if it does not within the bound.
  ~BackgroundHarness() {
    if (pid_ <= 0 || waited_) return;
    ::kill(pid_, SIGTERM);
    wait_bounded(pid_, std::chrono::seconds(30));
  }

  bool started() const { return pid_ > 0; }

  // Whether the target with this token ran within `limit`.
  static bool wait_for_target(const std::string& token,
                              std::chrono::seconds limit = std::chrono::seconds(20)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!running_with_token(token)) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return true;
  }

  void signal(int signo) const {
    if (pid_ > 0) ::kill(pid_, signo);  // never kill(-1): that would signal every process
  }

  // faultline's wait status, or empty when it was still running after 120 s (it is then killed).
  std::optional<int> wait() {
    waited_ = true;
    return wait_bounded(pid_, std::chrono::seconds(120));
  }

 private:
  pid_t pid_ = -1;
  bool waited_ = false;
};

}  // namespace faultline::test
