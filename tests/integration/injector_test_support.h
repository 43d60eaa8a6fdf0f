// Shared by the injector integration tests: a throwaway run cgroup on this host's real
// cgroups, and targets (faultline-payload, /bin/sh) started inside it with their output in a
// temp file. Everything is killed and removed when the test leaves its scope.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>

#include "cgroup/backend.h"
#include "cgroup/layout.h"
#include "injectors/injector.h"
#include "tests/support/skips.h"
#include "tests/support/test_env.h"

namespace faultline::test {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

inline std::optional<std::string> injector_skip_reason() {
  if (::geteuid() != 0) return "not root: the injector tests need to create cgroups";
  if (payload_path().empty()) return "FAULTLINE_PAYLOAD is not set (run through ctest)";
  try {
    cgroup::open_backend();
  } catch (const cgroup::HostRefusal& e) {  // any other failure is a defect: the test fails on it
    return std::string("this host cannot create cgroups: ") + e.what();
  }
  return std::nullopt;
}

#define INJECTOR_TEST_PRECONDITIONS() \
  if (auto why_ = ::faultline::test::injector_skip_reason()) FAULTLINE_SKIP(*why_)

// A run cgroup with one child, "target", destroyed (everything in it killed) at scope exit.
class TargetGroup {
 public:
  TargetGroup() : backend_(cgroup::open_backend()) {
    run_ = backend_->create_run(cgroup::next_run_name());
    group_ = run_->create_child("target");
  }
  ~TargetGroup() {
    try {
      group_.reset();
      run_->destroy();
    } catch (...) {
    }
  }
  cgroup::Cgroup& group() { return *group_; }
  // The run's cgroup above `group()`, where a run keeps its caller's limits.
  cgroup::Cgroup& run() { return *run_; }
  cgroup::Backend& backend() { return *backend_; }

 private:
  std::unique_ptr<cgroup::Backend> backend_;
  std::unique_ptr<cgroup::Cgroup> run_;
  std::unique_ptr<cgroup::Cgroup> group_;
};

// A process started inside a cgroup (attached before exec), stdout+stderr into a temp file.
class TargetProcess {
 public:
  TargetProcess(const cgroup::Cgroup& group, std::vector<std::string> argv) {
    char path[] = "/tmp/faultline-injector-out-XXXXXX";
    const int out = ::mkstemp(path);
    REQUIRE(out >= 0);
    out_path_ = path;
    const auto attach = group.open_attach_fds();
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    // The write end closes at exec (CLOEXEC): once the read sees EOF, the target is inside.
    int started[2];
    REQUIRE(::pipe2(started, O_CLOEXEC) == 0);
    std::fflush(nullptr);
    pid_ = ::fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      for (const auto& fd : attach)
        if (::write(fd.get(), "0", 1) != 1) ::_exit(120);
      ::dup2(out, 1);
      ::dup2(out, 2);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
    ::close(out);
    ::close(started[1]);
    char byte = 0;
    while (::read(started[0], &byte, 1) < 0 && errno == EINTR) {
    }
    ::close(started[0]);
  }
  ~TargetProcess() {
    if (!status_) {
      ::kill(pid_, SIGKILL);
      wait();
    }
    std::remove(out_path_.c_str());
  }
  pid_t pid() const { return pid_; }
  // The wait status; blocks.
  int wait() {
    if (!status_) {
      int status = 0;
      while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
      }
      status_ = status;
    }
    return *status_;
  }
  // Whether it ended within `timeout` (reaped then).
  bool ended_within(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!status_) {
      int status = 0;
      const pid_t r = ::waitpid(pid_, &status, WNOHANG);
      if (r == pid_)
        status_ = status;
      else if (std::chrono::steady_clock::now() > deadline)
        return false;
      else
        std::this_thread::sleep_for(5ms);
    }
    return true;
  }
  std::string output() const {
    std::ifstream in(out_path_);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  // Polls until the output contains `text`.
  bool wait_for_output(const std::string& text, std::chrono::milliseconds timeout = 5000ms) const {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (output().find(text) == std::string::npos) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(10ms);
    }
    return true;
  }

 private:
  pid_t pid_ = -1;
  std::string out_path_;
  std::optional<int> status_;
};

inline std::vector<std::string> payload(std::vector<std::string> args) {
  args.insert(args.begin(), payload_path());
  return args;
}

// "sh -c 'sleep DELAY; exec payload ARGS'": the payload's work starts after an injection.
inline std::vector<std::string> payload_after(const std::string& delay, const std::string& args) {
  return {"/bin/sh", "-c", "sleep " + delay + "; exec '" + payload_path() + "' " + args};
}

inline bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout = 5000ms) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

inline scenario::Injection injection_of(std::string kind, scenario::FaultParams params) {
  scenario::Injection inj;
  inj.name = kind + "#1";
  inj.into = "target";
  inj.kind = std::move(kind);
  inj.params = std::move(params);
  return inj;
}

}  // namespace faultline::test
