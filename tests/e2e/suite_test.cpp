// Suites as the release gate and nightly runs use them: filters, shards, repeats, seeds,
// chaos, and Ctrl-C in the middle of a run.
#include <signal.h>
#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <thread>

#include "tests/support/command.h"
#include "tests/support/test_env.h"

using namespace faultline::test;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

std::string quick_dir() { return source_dir() + "/tests/ci-examples/scenarios"; }

struct Run {
  CommandOutput cmd;
  json report;
};

Run run_json(const std::string& args) {
  const fs::path path =
      fs::temp_directory_path() / ("faultline-suite-" + std::to_string(::getpid()) + ".json");
  Run r;
  r.cmd = run_shell(quote(faultline_path()) + " run " + args + " --json " + quote(path));
  INFO("stdout: " << r.cmd.out << "\nstderr: " << r.cmd.err);
  REQUIRE(fs::exists(path));
  r.report = json::parse(read_file(path));
  fs::remove(path);
  return r;
}

std::multiset<std::string> names(const json& report) {
  std::multiset<std::string> n;
  for (const auto& s : report["scenarios"]) n.insert(s["name"].get<std::string>());
  return n;
}

bool running_with_token(const std::string& token) {
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string env = read_file(entry.path() / "environ");
    if (env.find("FAULTLINE_E2E_TOKEN=" + token) != std::string::npos) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("suite: --tag and --exclude-tag filter scenarios") {
  auto even = run_json(quote(quick_dir()) + " --tag even");
  CHECK(even.cmd.status == 0);
  CHECK(names(even.report) ==
        std::multiset<std::string>{"quick scenario 2", "quick scenario 4", "quick scenario 6"});
  auto odd = run_json(quote(quick_dir()) + " --exclude-tag even -j 2");
  CHECK(odd.cmd.status == 0);
  CHECK(names(odd.report).size() == 4);
  CHECK(names(odd.report).count("quick scenario 2") == 0);
}

TEST_CASE("suite: three shards are disjoint and complete") {
  std::multiset<std::string> all;
  for (int i = 1; i <= 3; ++i) {
    auto shard = run_json(quote(quick_dir()) + " --shard " + std::to_string(i) + "/3");
    CHECK(shard.cmd.status == 0);
    CHECK(shard.report["scenarios"].size() >= 2);
    for (const auto& n : names(shard.report)) all.insert(n);
  }
  CHECK(all.size() == 7);
  CHECK(std::set<std::string>(all.begin(), all.end()).size() == 7);
  auto bad = run_shell(quote(faultline_path()) + " run " + quote(quick_dir()) + " --shard 4/3");
  CHECK(bad.status == 2);
  CHECK(bad.err == "faultline: --shard 4/3: shard index must be between 1 and the shard count\n");
}

TEST_CASE("suite: --repeat runs each scenario N times and names the flaky ones") {
  const fs::path counter = fs::temp_directory_path() / ("faultline-flaky-" + std::to_string(::getpid()));
  const fs::path file =
      fs::temp_directory_path() / ("faultline-flaky-" + std::to_string(::getpid()) + ".toml");
  {
    std::ofstream out(file);
    out << "name = \"alternates between failing and passing\"\n[target]\n"
        << "shell = \"n=$(cat " << counter.string() << " 2>/dev/null || echo 0); n=$((n+1)); echo $n > "
        << counter.string() << "; exit $((n % 2))\"\n[expect]\nexit_codes = [0]\n";
  }
  auto r = run_json(quote(file) + " --repeat 3");
  fs::remove(file);
  fs::remove(counter);
  CHECK(r.cmd.status == 1);
  REQUIRE(r.report["scenarios"].size() == 3);
  for (int i = 0; i < 3; ++i) CHECK(r.report["scenarios"][i]["repeat"] == i + 1);
  CHECK(r.report["summary"]["passed"] == 1);
  CHECK(r.report["summary"]["failed"] == 2);
  CHECK(r.cmd.out.find("flaky: alternates between failing and passing (1/3 passed)\n") != std::string::npos);
}

TEST_CASE("suite: the seed is printed and recorded, and chaos applies the drawn faults") {
  auto r = run_json(quote(source_dir() + "/scenarios/selftest/chaos-cpu.toml") + " --seed 4242");
  CHECK(r.cmd.status == 0);
  CHECK(r.cmd.out.find("seed 4242") != std::string::npos);
  CHECK(r.report["seed"] == 4242);
  int applied = 0;
  std::string last_revert;
  for (const auto& e : r.report["scenarios"][0]["timeline"]) {
    if (e["event"] == "inject.apply" && e.value("inject", "").rfind("chaos#", 0) == 0) ++applied;
    if (e["event"] == "inject.revert") last_revert = e["detail"];
  }
  CHECK(applied == 2);
  // However the two drawn windows overlap, the quota ends where it started.
  CHECK(last_revert.ends_with("-> max/100ms"));
}

TEST_CASE("suite: chaos leaves out a drawn memory fault the run would refuse beside a written ramp") {
  // Seed 1 draws two memory faults into the written ramp's window (plan shows them left out); the
  // build before this rule ended that run as an error at the second one's apply.
  const std::string file = quote(source_dir() + "/scenarios/selftest/chaos-memory-beside-ramp.toml");
  const auto plan = run_shell(quote(faultline_path()) + " plan " + file + " --seed 1");
  CHECK(plan.status == 0);
  CHECK(plan.out.find("left out: it could overlap the memory ramp `ramp`, which the run refuses") !=
        std::string::npos);
  auto r = run_json(file + " --seed 1");
  CHECK(r.cmd.status == 0);
  int left_out = 0;
  int chaos_applied = 0;
  bool ramp_applied = false;
  for (const auto& e : r.report["scenarios"][0]["timeline"]) {
    left_out += e["event"] == "chaos.left-out";
    if (e["event"] == "inject.apply") {
      chaos_applied += e.value("inject", "").rfind("chaos#", 0) == 0;
      ramp_applied = ramp_applied || e.value("inject", "") == "ramp";
    }
  }
  CHECK(left_out > 0);
  CHECK(ramp_applied);
  CHECK(chaos_applied + left_out == 3);
}

TEST_CASE("suite: Ctrl-C mid-run tears everything down, writes a partial report and exits 130") {
  const std::string token = std::to_string(std::random_device{}());
  const fs::path dir = fs::temp_directory_path() / ("faultline-interrupt-" + token);
  fs::create_directories(dir);
  const fs::path json_path = dir / "report.json";
  {
    std::ofstream(dir / "a-quick.toml") << "name = \"finishes first\"\n[target]\ncommand = [\""
                                        << payload_path() << "\", \"sleep\", \"10ms\"]\n";
    std::ofstream(dir / "b-hangs.toml")
        << "name = \"hangs until interrupted\"\ntimeout = \"1h\"\n[target]\ncommand = [\"" << payload_path()
        << "\", \"ignore-term\"]\n"
        << "env = { FAULTLINE_E2E_TOKEN = \"" << token << "\" }\n";
  }
  const pid_t harness = ::fork();
  if (harness == 0) {
    ::execl(faultline_path().c_str(), "faultline", "run", dir.c_str(), "--json", json_path.c_str(),
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  for (int i = 0; i < 200 && !running_with_token(token); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  REQUIRE(running_with_token(token));
  ::kill(harness, SIGINT);
  ::kill(harness, SIGINT);  // a second Ctrl-C must not skip the teardown
  int status = 0;
  ::waitpid(harness, &status, 0);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 130);
  CHECK_FALSE(running_with_token(token));
  REQUIRE(fs::exists(json_path));
  const json report = json::parse(read_file(json_path));
  fs::remove_all(dir);
  CHECK(report["interrupted"] == true);
  REQUIRE(report["scenarios"].size() == 2);
  CHECK(report["scenarios"][0]["result"] == "pass");
  CHECK(report["scenarios"][1]["interrupted"] == true);
  CHECK(report["scenarios"][1]["result"] == "error");
}

TEST_CASE("suite: two plans with the same seed are identical, another seed draws other faults") {
  const std::string file = quote(source_dir() + "/scenarios/selftest/chaos-cpu.toml");
  const auto plan = [&](int seed) {
    return run_shell(quote(faultline_path()) + " plan " + file + " --seed " + std::to_string(seed));
  };
  const auto a = plan(7), b = plan(7), c = plan(8);
  CHECK(a.status == 0);
  CHECK(a.out == b.out);
  CHECK(a.out != c.out);
  CHECK(a.out.find("inject chaos#1 (") != std::string::npos);
  CHECK(a.out.find("inject chaos#2 (") != std::string::npos);
  // What plan printed for seed 7 is what run --seed 7 applies.
  auto r = run_json(file + " --seed 7");
  for (const auto& e : r.report["scenarios"][0]["timeline"])
    if (e["event"] == "inject.apply") {
      const std::string name = e["inject"];
      CHECK(a.out.find("inject " + name + " (") != std::string::npos);
    }
}
