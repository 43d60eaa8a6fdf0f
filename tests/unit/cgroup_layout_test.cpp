#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <set>
#include <string>

#include "cgroup/layout.h"
#include "cgroup/proc_stat.h"

using namespace faultline::cgroup;

TEST_CASE("run names round-trip", "[cgroup]") {
  RunName name{RunOwner{4242, 987654321, std::nullopt}, 7};
  auto text = format_run_name(name);
  CHECK(text == "run-4242-987654321-7");
  auto parsed = parse_run_name(text);
  REQUIRE(parsed);
  CHECK(parsed->owner.pid == 4242);
  CHECK(parsed->owner.start_ticks == 987654321);
  CHECK(parsed->sequence == 7);
}

TEST_CASE("run names carry the owner's pid namespace; names without one still parse", "[cgroup]") {
  RunName name{RunOwner{4242, 987654321, 4026531836}, 7};
  const auto text = format_run_name(name);
  CHECK(text == "run-4242-987654321-7-4026531836");
  const auto parsed = parse_run_name(text);
  REQUIRE(parsed);
  CHECK(parsed->owner.pid_namespace == std::optional<std::uint64_t>(4026531836));
  CHECK(parsed->sequence == 7);
  const auto old = parse_run_name("run-4242-987654321-7");
  REQUIRE(old);
  CHECK_FALSE(old->owner.pid_namespace);
  CHECK(current_owner().pid_namespace);  // this process's is readable here
}

TEST_CASE("an owner in another pid namespace is not judged by its pid here", "[cgroup]") {
  auto me = current_owner();
  REQUIRE(me.pid_namespace);
  // Its pid means another process here (or none): a faultline in another container sharing the
  // host's cgroup tree once removed a live run this way, SIGKILLing a healthy command.
  const RunOwner foreign{0x3fffffff, 1, *me.pid_namespace + 1};
  struct stat own {};
  REQUIRE(::stat("/proc/self/ns/pid", &own) == 0);
  if (own.st_ino == 0xEFFFFFFCU)
    CHECK_FALSE(owner_alive(foreign));  // from the first namespace: no process is in that one
  else
    CHECK(owner_alive(foreign));  // from a nested one, whose processes are all this one sees
  // The same pid and start in this namespace still decide as before.
  CHECK(owner_alive(me));
  CHECK_FALSE(owner_alive(RunOwner{me.pid, me.start_ticks + 1, me.pid_namespace}));
}

TEST_CASE("parse_run_name rejects anything that is not exactly a run name", "[cgroup]") {
  for (const char* text :
       {"", "run-", "run-1-2", "run-1-2-3-4-5", "run-1-2-3-", "run-1-2-3-04", "run-a-2-3", "run--2-3",
        "run-1-2-", "Run-1-2-3", "run-01-2-3", "run-1-2-3 ", "run-0-2-3", "run-+1-2-3", "run-99999999999-2-3",
        "run-1-2-99999999999999999999", "probe", "supervisor"}) {
    INFO(text);
    CHECK_FALSE(parse_run_name(text));
  }
  CHECK(parse_run_name("run-1-0-0"));
}

TEST_CASE("next_run_name names this process and counts up", "[cgroup]") {
  auto first = parse_run_name(next_run_name());
  auto second = parse_run_name(next_run_name());
  REQUIRE(first);
  REQUIRE(second);
  CHECK(first->owner.pid == ::getpid());
  CHECK(first->owner.start_ticks == second->owner.start_ticks);
  CHECK(second->sequence == first->sequence + 1);
  CHECK(owner_alive(first->owner));
}

TEST_CASE("owner_alive is false for a gone pid or a reused one", "[cgroup]") {
  auto me = current_owner();
  CHECK_FALSE(
      owner_alive(RunOwner{me.pid, me.start_ticks + 1, std::nullopt}));  // same pid, other start: reused
  CHECK_FALSE(owner_alive(RunOwner{0x3fffffff, 1, std::nullopt}));       // beyond any pid_max
  CHECK_FALSE(owner_alive(RunOwner{0, 0, std::nullopt}));
}

TEST_CASE("sanitize_cgroup_name keeps [A-Za-z0-9_.-] and replaces the rest", "[cgroup]") {
  CHECK(sanitize_cgroup_name("api-server_2.v1") == "api-server_2.v1");
  CHECK(sanitize_cgroup_name("web/api") == "web_api");
  CHECK(sanitize_cgroup_name("a b:c*d") == "a_b_c_d");
  CHECK(sanitize_cgroup_name("caf\xc3\xa9") == "caf__");
  CHECK(sanitize_cgroup_name("") == "_");
  CHECK(sanitize_cgroup_name(".") == "_");
  CHECK(sanitize_cgroup_name("..") == "__");
}

TEST_CASE("parse_stat_start_ticks counts fields after the last parenthesis", "[cgroup]") {
  // Field 22 is 4242; the comm contains spaces and parentheses.
  std::string line =
      "1234 (evil) name (x)) S 1 1234 1234 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 4242 1000 200 "
      "18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";
  CHECK(parse_stat_start_ticks(line) == std::optional<std::uint64_t>(4242));
  CHECK(parse_stat_state(line) == std::optional<char>('S'));
  CHECK(parse_stat_parent(line) == std::optional<std::uint64_t>(1));
  CHECK_FALSE(parse_stat_parent("no parentheses at all"));
  CHECK(parse_stat_flags(line) == std::optional<std::uint64_t>(4194560));  // field 9
  CHECK_FALSE(parse_stat_flags("1234 (short) S 1 2 3"));
  CHECK_FALSE(parse_stat_start_ticks("1234 (short) S 1 2 3"));
  CHECK_FALSE(parse_stat_start_ticks("no parentheses at all"));
}

TEST_CASE("read_stat_line reads a live process's line and says nothing of a reaped one", "[cgroup]") {
  const auto mine = read_stat_line(::getpid());
  REQUIRE(mine);
  CHECK(parse_stat_parent(*mine) == std::optional<std::uint64_t>(static_cast<std::uint64_t>(::getppid())));
  CHECK(parse_stat_start_ticks(*mine) == current_owner().start_ticks);

  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) ::_exit(0);
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  CHECK_FALSE(read_stat_line(child));  // reaped: its pid names nothing now (pids are not reused at once)
  CHECK(exiting(child));
}

TEST_CASE("enclosing_run_cgroup finds a live run's cgroup in /proc/<pid>/cgroup, and nothing else",
          "[cgroup]") {
  const pid_t parent = ::getppid();
  std::ifstream stat("/proc/" + std::to_string(parent) + "/stat");
  std::string line;
  std::getline(stat, line);
  const auto ticks = parse_stat_start_ticks(line);
  REQUIRE(ticks);
  const std::string outer =
      "/faultline/" + format_run_name(RunName{RunOwner{parent, *ticks, std::nullopt}, 0});
  CHECK(enclosing_run_cgroup("12:pids:/user.slice\n4:memory:" + outer + "/command\n0::/\n") ==
        outer + "/command");
  CHECK(enclosing_run_cgroup("0::/ci" + outer + "\n") == "/ci" + outer);
  // A run whose harness is gone (a stale run), this process's own runs, and plain paths: not nested.
  CHECK_FALSE(enclosing_run_cgroup("4:memory:/faultline/" +
                                   format_run_name(RunName{RunOwner{parent, *ticks + 1, std::nullopt}, 0}) +
                                   "\n"));
  CHECK_FALSE(enclosing_run_cgroup("0::/faultline/" + next_run_name() + "\n"));
  CHECK_FALSE(enclosing_run_cgroup("0::/system.slice/ci.service\n1:name=systemd:/user.slice\n"));
  CHECK_FALSE(enclosing_run_cgroup(""));
}
