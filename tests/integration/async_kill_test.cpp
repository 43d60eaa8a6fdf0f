// Killing a cgroup from the event loop: the loop keeps serving other handlers while the kill
// waits for the subtree to empty (Cgroup::kill_all would block it for up to 10 s).
#include "runner/async_kill.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "tests/integration/injector_test_support.h"
#include "tests/support/command.h"

using namespace faultline;
using namespace faultline::test;

namespace {

// The v1 freezer directory of the cgroup holding `pid`'s parent cgroup, from /proc/PID/cgroup.
std::optional<fs::path> v1_freezer_parent_of(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/cgroup");
  for (std::string line; std::getline(in, line);) {
    const auto first = line.find(':'), second = line.find(':', first + 1);
    if (first == std::string::npos || second == std::string::npos) continue;
    if (line.substr(first + 1, second - first - 1) != "freezer") continue;
    const fs::path dir = fs::path("/sys/fs/cgroup/freezer") / line.substr(second + 2);
    if (fs::exists(dir.parent_path() / "freezer.state")) return dir.parent_path();
  }
  return std::nullopt;
}

void write_state(const fs::path& dir, const char* state) {
  std::ofstream out(dir / "freezer.state");
  out << state;
}

// The v1 freezer parent of `pid`'s cgroup, frozen for as long as this lives: from there, the
// target survives SIGKILL (thawing the child alone does not help) until the parent is thawed.
class FrozenParent {
 public:
  explicit FrozenParent(fs::path dir) : dir_(std::move(dir)) {
    write_state(dir_, "FROZEN");
    REQUIRE(wait_until([&] {
      return faultline::test::read_file((dir_ / "freezer.state").string()).rfind("FROZEN", 0) == 0;
    }));
  }
  FrozenParent(const FrozenParent&) = delete;
  FrozenParent& operator=(const FrozenParent&) = delete;
  ~FrozenParent() { thaw(); }
  void thaw() { write_state(dir_, "THAWED"); }

 private:
  fs::path dir_;
};

}  // namespace

TEST_CASE("async kill: the loop keeps running while a kill waits, and the kill completes", "[cgroup]") {
  INJECTOR_TEST_PRECONDITIONS();
  TargetGroup t;
  TargetProcess target(t.group(), payload({"sleep", "30s"}));
  const auto parent = v1_freezer_parent_of(target.pid());
  if (!parent) {
    FAULTLINE_SKIP("needs the cgroup v1 freezer (a parent freeze that SIGKILL cannot pass)");
  }
  FrozenParent frozen(*parent);  // the kill has to wait

  boost::asio::io_context io;
  std::optional<std::optional<std::string>> result;
  bool timer_ran_while_kill_pending = false;
  runner::async_kill_all(
      io, t.group(), [&](std::optional<std::string> error) { result = error; }, std::chrono::seconds(20));
  CHECK_FALSE(result);  // never completes inside the call
  boost::asio::steady_timer other(io, std::chrono::milliseconds(300));
  other.async_wait([&](boost::system::error_code) {
    timer_ran_while_kill_pending = !result;
    frozen.thaw();
  });
  io.run();
  CHECK(timer_ran_while_kill_pending);
  REQUIRE(result);
  CHECK_FALSE(*result);
  CHECK(t.group().pids().empty());
  CHECK(target.ended_within(std::chrono::milliseconds(2000)));
}

TEST_CASE("async kill: a kill that cannot finish ends in an error naming the cgroup", "[cgroup]") {
  INJECTOR_TEST_PRECONDITIONS();
  TargetGroup t;
  TargetProcess target(t.group(), payload({"sleep", "30s"}));
  const auto parent = v1_freezer_parent_of(target.pid());
  if (!parent) {
    FAULTLINE_SKIP("needs the cgroup v1 freezer (a parent freeze that SIGKILL cannot pass)");
  }
  FrozenParent frozen(*parent);
  boost::asio::io_context io;
  std::optional<std::optional<std::string>> result;
  runner::async_kill_all(
      io, t.group(), [&](std::optional<std::string> error) { result = error; },
      std::chrono::milliseconds(300));
  io.run();
  REQUIRE(result);
  REQUIRE(*result);
  CHECK((*result)->find("cgroup " + t.group().describe() + " still has processes 300ms after SIGKILL: pids " +
                        std::to_string(target.pid())) != std::string::npos);
}
