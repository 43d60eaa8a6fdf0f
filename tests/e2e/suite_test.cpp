// Suites as the release gate and nightly runs use them: filters, shards, repeats, seeds,
// chaos, and Ctrl-C in the middle of a run.
#include <signal.h>
#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <utility>

#include "tests/support/background_harness.h"
#include "tests/support/command.h"
#include "tests/support/scratch_dir.h"
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

CommandOutput run_cmd(const std::string& args) {
  auto r = run_shell(quote(faultline_path()) + " run " + args);
  INFO("stdout: " << r.out << "\nstderr: " << r.err);
  return r;
}

// A scenario that passes at once, tagged `tags` (a TOML array body).
std::string quick_scenario(const std::string& name, const std::string& tags = "") {
  return "name = \"" + name + "\"\ntags = [" + tags + "]\n[target]\ncommand = [\"" + payload_path() +
         "\", \"sleep\", \"10ms\"]\n";
}

// Starts `faultline run DIR --json DIR/report.json --junit DIR/report.xml` on a folder whose second
// scenario hangs until interrupted and whose third and fourth come after it (-j 1), sends `signo`
// once the hanging target runs, and returns the exit status (the reports are left in `dir`).
int interrupt_between_scenarios(const ScratchDir& dir, int signo) {
  const std::string token = new_token();
  dir.write("a-quick.toml", quick_scenario("finishes first"));
  dir.write("b-hangs.toml", "name = \"hangs until interrupted\"\ntimeout = \"1h\"\n[target]\ncommand = [\"" +
                                payload_path() + "\", \"ignore-term\"]\nenv = { FAULTLINE_E2E_TOKEN = \"" +
                                token + "\" }\n");
  dir.write("c-later.toml", quick_scenario("never started", "\"late\""));
  dir.write("d-later.toml", quick_scenario("never started either"));
  const std::string json_path = dir / "report.json", junit_path = dir / "report.xml";
  BackgroundHarness harness(
      {"run", dir.path().string(), "-j", "1", "--json", json_path, "--junit", junit_path});
  REQUIRE(harness.started());
  REQUIRE(BackgroundHarness::wait_for_target(token));
  harness.signal(signo);
  const auto ended = harness.wait();
  REQUIRE(ended);
  const int status = *ended;
  CHECK_FALSE(running_with_token(token));
  if (!WIFEXITED(status)) return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  return WEXITSTATUS(status);
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
  // An `auto-port` in the name may expand differently in each run: runs are paired by the name
  // as written.
  const fs::path counter = fs::temp_directory_path() / ("faultline-flaky-" + std::to_string(::getpid()));
  const fs::path file =
      fs::temp_directory_path() / ("faultline-flaky-" + std::to_string(::getpid()) + ".toml");
  {
    std::ofstream out(file);
    out << "name = \"alternates between failing and passing on ${port}\"\n[vars]\nport = "
           "\"auto-port\"\n[target]\n"
        << "shell = \"n=$(cat " << counter.string() << " 2>/dev/null || echo 0); n=$((n+1)); echo $n > "
        << counter.string() << "; exit $((n % 2))\"\n[expect]\nexit_codes = [0]\n";
  }
  ScratchDir dir;
  auto r = run_json(quote(file) + " --repeat 3 --junit " + quote(dir / "junit.xml"));
  fs::remove(file);
  fs::remove(counter);
  // A CI's test history keys on the test case name: the same on every run, not the port drawn.
  const std::string junit = read_file(dir / "junit.xml");
  CHECK(junit.find("name=\"alternates between failing and passing on ${port} (repeat 2)\"") !=
        std::string::npos);
  CHECK(r.cmd.status == 1);
  REQUIRE(r.report["scenarios"].size() == 3);
  for (int i = 0; i < 3; ++i) {
    CHECK(r.report["scenarios"][i]["repeat"] == i + 1);
    CHECK(r.report["scenarios"][i]["name_as_written"] == "alternates between failing and passing on ${port}");
    CHECK(r.report["scenarios"][i]["name"] != r.report["scenarios"][i]["name_as_written"]);
  }
  CHECK(r.report["summary"]["passed"] == 1);
  CHECK(r.report["summary"]["failed"] == 2);
  CHECK(r.cmd.out.find("flaky: alternates between failing and passing on ${port} (1/3 passed)\n") !=
        std::string::npos);
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
  const std::string token = new_token();
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
  BackgroundHarness harness({"run", dir.string(), "--json", json_path.string()});
  REQUIRE(harness.started());
  REQUIRE(BackgroundHarness::wait_for_target(token));
  harness.signal(SIGINT);
  harness.signal(SIGINT);  // a second Ctrl-C must not skip the teardown
  const auto ended = harness.wait();
  REQUIRE(ended);
  const int status = *ended;
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

TEST_CASE("suite: a selection that leaves nothing to run is a usage error, not a green run") {
  ScratchDir dir;
  fs::create_directories(dir.path() / "empty" / "nested");
  dir.write("empty/nested/readme.txt", "not a scenario\n");
  const std::string empty = dir / "empty";
  const std::string json_path = dir / "report.json";

  // An emptied folder, alone or beside paths that do hold scenarios.
  auto alone = run_cmd(quote(empty) + " --json " + quote(json_path));
  CHECK(alone.status == 2);
  CHECK(alone.err == "faultline: no scenario file (*.toml) in directory `" + empty + "`\n");
  auto beside = run_cmd(quote(empty) + " " + quote(quick_dir() + "/quick-1.toml"));
  CHECK(beside.status == 2);
  CHECK(beside.err == "faultline: no scenario file (*.toml) in directory `" + empty + "`\n");
  // The same wording as an unmatched glob.
  auto glob = run_cmd(quote(dir / "nothing-*.toml"));
  CHECK(glob.status == 2);
  CHECK(glob.err.starts_with("faultline: no scenario file "));
  // An unmatched glob beside a path that does hold a scenario.
  const std::string unmatched = dir / "nothing-*.toml";
  auto glob_beside = run_cmd(quote(quick_dir() + "/quick-1.toml") + " " + quote(unmatched));
  CHECK(glob_beside.status == 2);
  CHECK(glob_beside.err == "faultline: no scenario file matches `" + unmatched + "`\n");

  // Filters that leave nothing name themselves.
  auto typo = run_cmd(quote(quick_dir()) + " --tag nosuchtag --json " + quote(json_path));
  CHECK(typo.status == 2);
  CHECK(typo.err == "faultline: no scenario matches --tag nosuchtag among 7 loaded\n");
  auto excluded = run_cmd(quote(quick_dir()) + " --exclude-tag quick");
  CHECK(excluded.status == 2);
  CHECK(excluded.err == "faultline: no scenario matches --exclude-tag quick among 7 loaded\n");
  auto both = run_cmd(quote(quick_dir()) + " --tag even --exclude-tag quick");
  CHECK(both.status == 2);
  CHECK(both.err == "faultline: no scenario matches --tag even --exclude-tag quick among 7 loaded\n");
  CHECK_FALSE(fs::exists(json_path));
}

// A scenario tagged `tags` whose target exits with `code` (expected: 0).
std::string exiting_scenario(const std::string& name, const std::string& tags, int code) {
  return "name = \"" + name + "\"\ntags = [" + tags + "]\n[target]\ncommand = [\"" + payload_path() +
         "\", \"exit\", \"" + std::to_string(code) + "\"]\n[expect]\nexit_codes = [0]\n";
}

TEST_CASE("suite: --tag takes one word; the paths after it still run") {
  ScratchDir dir;
  dir.write("pass.toml", exiting_scenario("passes", "\"gate\"", 0));
  fs::create_directories(dir / "more");
  dir.write("more/fail.toml", exiting_scenario("fails", "\"gate\"", 3));
  for (const char* option : {"--tag gate", "--exclude-tag slow"}) {
    INFO(option);
    auto r = run_json(quote(dir / "pass.toml") + " " + option + " " + quote(dir / "more"));
    CHECK(r.cmd.status == 1);
    CHECK(names(r.report) == std::multiset<std::string>{"passes", "fails"});
  }
  // Of several tags, each must be some scenario's: a mistyped one would drop its scenarios while
  // the others keep the run from being empty.
  auto typo = run_cmd(quote(dir.path().string()) + " --tag gate --tag gaet");
  CHECK(typo.status == 2);
  CHECK(typo.err == "faultline: --tag gaet matches no scenario among 2 loaded (their tags: gate)\n");
  // Also when the tag is used only in another shard's files.
  for (const char* shard : {"1/2", "2/2"}) {
    auto elsewhere = run_cmd(quote(dir.path().string()) + " --tag gate --tag nightly --shard " + shard);
    CHECK(elsewhere.status == 2);
    dir.write("nightly.toml", exiting_scenario("nightly", "\"nightly\"", 0));
    auto used = run_json(quote(dir.path().string()) + " --tag gate --tag nightly --shard " + shard);
    CHECK(used.cmd.status != 2);
    CHECK_FALSE(used.report["shard"].is_null());
    fs::remove(dir / "nightly.toml");
  }
}

TEST_CASE("suite: two scenario files of one name are a usage error, in every shard") {
  // Reports, JUnit and --baseline key scenarios by name: with both, the failing one's later
  // deletion read as "fixed" in the trend.
  ScratchDir dir;
  dir.write("a-ok.toml", exiting_scenario("same name", "", 0));
  dir.write("z-bad.toml", exiting_scenario("same name", "", 3));
  for (const std::string shard : {"", " --shard 1/2", " --shard 2/2"}) {
    INFO(shard);
    auto r = run_cmd(quote(dir.path().string()) + shard);
    CHECK(r.status == 2);
    CHECK(r.err ==
          "faultline: two scenario files are named `same name`: " + dir / "a-ok.toml" + " and " +
              dir / "z-bad.toml" +
              "; reports, JUnit and --baseline tell scenarios apart by name, so give each its own\n");
  }
  // One name with an auto-port in it: each run draws its own port, so the names run differ, but
  // reports pair runs by the name as written, where the two are one.
  const auto templated = [](int code) {
    return "name = \"svc on ${port}\"\n[vars]\nport = \"auto-port\"\n[target]\ncommand = [\"" +
           payload_path() + "\", \"exit\", \"" + std::to_string(code) + "\"]\n[expect]\nexit_codes = [0]\n";
  };
  dir.write("a-ok.toml", templated(0));
  dir.write("z-bad.toml", templated(3));
  auto r = run_cmd(quote(dir.path().string()));
  CHECK(r.status == 2);
  CHECK(r.err == "faultline: two scenario files are named `svc on ${port}`: " + dir / "a-ok.toml" + " and " +
                     dir / "z-bad.toml" +
                     "; reports, JUnit and --baseline tell scenarios apart by name, so give each its own\n");
}

TEST_CASE("suite: a scenario without any [expect] fails when its command exits 1") {
  ScratchDir dir;
  dir.write("t.toml", "name = \"bare\"\n[target]\ncommand = [\"" + payload_path() + "\", \"exit\", \"1\"]\n");
  auto r = run_json(quote(dir / "t.toml"));
  CHECK(r.cmd.status == 1);
  REQUIRE(r.report["scenarios"].size() == 1);
  CHECK(r.report["scenarios"][0]["failures"][0]["check"] == "expect.exit_codes");
}

TEST_CASE("suite: scenarios in a symlinked folder run; a link back up is walked once") {
  ScratchDir dir;
  fs::create_directories(dir / "suite");
  fs::create_directories(dir / "shared/critical");
  dir.write("suite/ok.toml", exiting_scenario("ok", "", 0));
  dir.write("shared/critical/crit.toml", exiting_scenario("critical", "", 3));
  fs::create_directory_symlink("../shared/critical", dir / "suite/critical");
  fs::create_directory_symlink(".", dir / "suite/again");  // a loop
  auto r = run_json(quote(dir / "suite"));
  CHECK(r.cmd.status == 1);
  CHECK(names(r.report) == std::multiset<std::string>{"ok", "critical"});
  auto validate = run_shell(quote(faultline_path()) + " validate " + quote(dir / "suite"));
  CHECK(validate.out.find("2 scenario file(s) valid") != std::string::npos);

  // A folder reached two ways runs once, under its first spelling in path order, whatever order
  // the filesystem lists the links in: the shard split must be the same on every machine.
  fs::create_directory_symlink("critical", dir / "suite/b-alias");
  fs::create_directory_symlink("critical", dir / "suite/z-alias");
  auto twice = run_json(quote(dir / "suite"));
  REQUIRE(twice.report["scenarios"].size() == 2);
  std::set<std::string> files;
  for (const auto& s : twice.report["scenarios"]) files.insert(s["file"].get<std::string>());
  CHECK(files.count(dir / "suite/b-alias/crit.toml") == 1);
}

TEST_CASE("suite: a mistyped option keeps the --baseline that is also the --json, and empties the rest") {
  ScratchDir dir;
  dir.write("ok.toml", exiting_scenario("ok", "", 0));
  const std::string report = dir / "r.json", junit = dir / "r.xml";
  REQUIRE(run_cmd(quote(dir / "ok.toml") + " --json " + quote(report)).status == 0);
  const auto size = fs::file_size(report);
  std::ofstream(junit) << "<testsuites failures=\"0\"/>";
  auto typo = run_cmd(quote(dir / "ok.toml") + " --baseline " + quote(report) + " --json " + quote(report) +
                      " --junit " + quote(junit) + " --seed x");
  CHECK(typo.status == 2);
  CHECK(fs::file_size(report) == size);  // still the baseline of the next run
  CHECK(fs::file_size(junit) == 0);
  CHECK(
      run_cmd(quote(dir / "ok.toml") + " --baseline " + quote(report) + " --json " + quote(report)).status ==
      0);
}

TEST_CASE("suite: a glob that matches an emptied folder is a usage error, as the folder named alone") {
  ScratchDir dir;
  fs::create_directories(dir / "api");
  fs::create_directories(dir / "db");
  dir.write("api/a.toml", exiting_scenario("api", "", 0));
  const std::string glob = dir / "*";
  auto r = run_cmd(quote(glob));
  CHECK(r.status == 2);
  CHECK(r.err == "faultline: no scenario file (*.toml) in directory `" + dir / "db" + "` (matched by `" +
                     glob + "`)\n");
}

TEST_CASE("suite: an empty shard passes with a note, a tag no shard selects fails every shard") {
  ScratchDir dir;
  dir.write("a.toml", quick_scenario("tagged", "\"x\""));
  dir.write("b.toml", quick_scenario("untagged"));
  // More shards than scenario files.
  auto more = run_json(quote(dir / "a.toml") + " --shard 2/3");
  CHECK(more.cmd.status == 0);
  CHECK(more.cmd.out.find("faultline: shard 2/3 has no scenario: 3 shards for 1 scenario file(s); nothing to "
                          "run here\n") != std::string::npos);
  CHECK(more.report["scenarios"].empty());
  // The tagged scenario was dealt to the other shard.
  auto other = run_json(quote(dir.path().string()) + " --tag x --shard 2/2");
  CHECK(other.cmd.status == 0);
  CHECK(other.cmd.out.find("faultline: shard 2/2 has no scenario: the 1 scenario(s) --tag x selects are in "
                           "other shards; nothing to run here\n") != std::string::npos);
  // A mistyped tag fails every shard, also the one whose own files would have been filtered out.
  for (const char* shard : {"1/2", "2/2", "3/4"}) {
    auto typo = run_cmd(quote(dir.path().string()) + " --tag nosuchtag --shard " + shard);
    CHECK(typo.status == 2);
    CHECK(typo.err == "faultline: no scenario matches --tag nosuchtag among 2 loaded, in any of the " +
                          std::string(1, shard[2]) + " shards\n");
  }
}

TEST_CASE("suite: a seed out of range is a usage error, not 2^64-1") {
  const std::string file = quote(quick_dir() + "/quick-1.toml");
  for (const char* seed : {"-1", "18446744073709551616", "12abc", "0x10"}) {
    auto r = run_cmd(file + " --seed " + seed);
    CHECK(r.status == 2);
    CHECK(r.err.find("is not a seed: a whole number from 0 to 18446744073709551615") != std::string::npos);
    CHECK(r.out.find("seed 18446744073709551615") == std::string::npos);
    // plan takes the same seeds as run: what it shows for a seed is what run applies.
    auto plan = run_shell(quote(faultline_path()) + " plan " + file + " --seed " + seed);
    CHECK(plan.status == 2);
    CHECK(plan.err.find("is not a seed: a whole number from 0 to 18446744073709551615") != std::string::npos);
  }
  auto max = run_json(file + " --seed 18446744073709551615");
  CHECK(max.cmd.status == 0);
  CHECK(max.report["seed"] == 18446744073709551615ull);
}

TEST_CASE("suite: two reports written to one file are a usage error") {
  ScratchDir dir;
  const std::string file = quote(quick_dir() + "/quick-1.toml");
  const std::string report = dir / "report";
  auto junit = run_cmd(file + " --json " + quote(report) + " --junit " + quote(report));
  CHECK(junit.status == 2);
  CHECK(junit.err ==
        "faultline: --json and --junit both write `" + report + "`: give each report its own file\n");
  // The same file by another spelling.
  const std::string other_spelling = dir.path().string() + "/./report";
  auto html = run_cmd(file + " --junit " + quote(report) + " --html " + quote(other_spelling));
  CHECK(html.status == 2);
  CHECK(html.err ==
        "faultline: --junit and --html both write `" + other_spelling + "`: give each report its own file\n");
  CHECK_FALSE(fs::exists(report));
  // Through a symlink whose target does not exist yet: the JSON report once became the XML.
  const std::string link = dir / "latest.json";
  fs::create_symlink(dir / "report", link);
  auto dangling = run_cmd(file + " --json " + quote(report) + " --junit " + quote(link));
  CHECK(dangling.status == 2);
  CHECK(dangling.err ==
        "faultline: --json and --junit both write `" + link + "`: give each report its own file\n");
  CHECK_FALSE(fs::exists(report));
}

TEST_CASE("suite: a report path that cannot be written is refused before anything runs") {
  ScratchDir dir;
  const std::string file = quote(quick_dir() + "/quick-1.toml");
  const std::string junit = dir / "report.xml";
  auto missing_dir = run_cmd(file + " --json " + quote(dir / "missing/r.json") + " --junit " + quote(junit));
  CHECK(missing_dir.status == 2);
  CHECK(missing_dir.err == "faultline: --json " + dir / "missing/r.json" + ": cannot write into " +
                               dir / "missing" + ": No such file or directory\n");
  CHECK(missing_dir.out.empty());  // nothing ran
  CHECK_FALSE(fs::exists(junit));
  auto directory = run_cmd(file + " --html " + quote(dir.path()));
  CHECK(directory.status == 2);
  CHECK(directory.err == "faultline: --html " + dir.path().string() + ": is a directory\n");
}

TEST_CASE("suite: a report that fails at the end does not take the others or the summary with it") {
  // A full disk at the end: every other report is still written, the summary still printed, and
  // a run whose scenarios all passed exits 4, not 0 and not 1.
  ScratchDir dir;
  const std::string json_path = dir / "r.json";
  auto r = run_cmd(quote(quick_dir() + "/quick-1.toml") + " --junit /dev/full --json " + quote(json_path));
  CHECK(r.status == 4);
  CHECK(r.err.find("faultline: --junit /dev/full: the report could not be written: ") != std::string::npos);
  CHECK(r.out.find("1 passed, 0 failed") != std::string::npos);
  CHECK(r.out.find("faultline: a report could not be written (stderr says which and why)") !=
        std::string::npos);
  REQUIRE(fs::exists(json_path));
  CHECK(json::parse(read_file(json_path))["summary"]["passed"] == 1);
}

TEST_CASE("suite: a file named twice runs once, and shards stay disjoint") {
  // `scenarios/ scenarios/critical/*.toml` ran the critical ones twice: counted twice, two
  // identical JUnit test cases, and the same file in two shards.
  ScratchDir dir;
  fs::create_directory(dir / "x");
  for (const char* n : {"a", "b", "c"})
    dir.write(std::string("x/") + n + ".toml", quick_scenario(std::string("x-") + n));
  const std::string twice =
      quote(dir / "x") + " " + quote(dir / "x/a.toml") + " " + quote(dir / "x" + "/*.toml");
  auto all = run_json(twice);
  CHECK(all.cmd.status == 0);
  CHECK(names(all.report) == std::multiset<std::string>{"x-a", "x-b", "x-c"});
  CHECK(all.cmd.out.find("3 run(s) of 3 scenario(s)") != std::string::npos);
  std::multiset<std::string> dealt;
  for (int i = 1; i <= 2; ++i)
    for (const auto& n : names(run_json(twice + " --shard " + std::to_string(i) + "/2").report))
      dealt.insert(n);
  CHECK(dealt == std::multiset<std::string>{"x-a", "x-b", "x-c"});
}

TEST_CASE("suite: runs that never started are in every report as errors after SIGTERM") {
  ScratchDir dir;
  CHECK(interrupt_between_scenarios(dir, SIGTERM) == 130);
  const json report = json::parse(read_file(dir / "report.json"));
  CHECK(report["interrupted"] == true);
  REQUIRE(report["scenarios"].size() == 4);
  CHECK(report["scenarios"][0]["result"] == "pass");
  CHECK(report["scenarios"][1]["result"] == "error");
  for (int i : {2, 3}) {
    const auto& s = report["scenarios"][i];
    CHECK(s["result"] == "error");
    CHECK(s["interrupted"] == true);
    CHECK(s["reason"] == "not run: interrupted by SIGTERM before it started");
  }
  CHECK(report["scenarios"][2]["name"] == "never started");
  CHECK(report["scenarios"][2]["tags"] == json::array({"late"}));
  CHECK(report["summary"]["passed"] == 1);
  CHECK(report["summary"]["errors"] == 3);
  const std::string junit = read_file(dir / "report.xml");
  CHECK(junit.find("tests=\"4\" failures=\"0\" errors=\"3\"") != std::string::npos);
  CHECK(junit.find("not run: interrupted by SIGTERM before it started") != std::string::npos);
}

// Their default actions would end the harness at once and leave the hanging target in its cgroup.
TEST_CASE("suite: SIGQUIT and SIGHUP tear down like SIGTERM, write the reports and exit 128+N") {
  const auto [signo, name] = GENERATE(std::make_pair(SIGQUIT, "SIGQUIT"), std::make_pair(SIGHUP, "SIGHUP"));
  INFO(name);
  ScratchDir dir;
  CHECK(interrupt_between_scenarios(dir, signo) == 128 + signo);
  REQUIRE(fs::exists(dir / "report.json"));
  const json report = json::parse(read_file(dir / "report.json"));
  CHECK(report["interrupted"] == true);
  REQUIRE(report["scenarios"].size() == 4);
  CHECK(report["scenarios"][1]["interrupted"] == true);
  CHECK(report["scenarios"][3]["reason"] ==
        std::string("not run: interrupted by ") + name + " before it started");
}
