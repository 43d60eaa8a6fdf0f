// A static Go binary under a syscall fault: the test of scenarios/examples/go-emfile/ built with
// `CGO_ENABLED=0 go test -c`, its openat failing with EMFILE on the 5th open of a run file. The
// careful merge takes its error path and passes, the best-effort one loses a run and fails, and
// libfiu's fiu-run (LD_PRELOAD) cannot fail that open at all. Needs Debian's golang-go and
// fiu-utils (tools/setup.sh test_packages), so CI runs these tests.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "tests/support/bundled_scenario.h"
#include "tests/support/command.h"
#include "tests/support/scratch_dir.h"
#include "tests/support/skips.h"
#include "tests/support/test_env.h"

using namespace faultline::test;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

std::optional<std::string> go_skip_reason() {
  if (auto why = bundled_scenario_skip_reason()) return why;
  if (run_shell("command -v go").status != 0)
    return "go is not installed (golang-go, tools/setup.sh test_packages)";
  return std::nullopt;
}

// The Go build cache lives in the build tree next to the faultline under test, never in $HOME:
// a cold cache costs seconds of compiling, a warm one a link. The scenarios take it from the
// environment.
std::string use_build_tree_go_cache() {
  const std::string cache = (fs::path(faultline_path()).parent_path() / "go-cache").string();
  ::setenv("GOCACHE", cache.c_str(), 1);
  return cache;
}

#define GO_PRECONDITIONS()                                 \
  if (auto why_ = go_skip_reason()) FAULTLINE_SKIP(*why_); \
  use_build_tree_go_cache()

// The rule hit exactly one call (nth = 5), the 5th open of a run file, with EMFILE.
void check_fifth_open_failed(const json& s) {
  REQUIRE(s.at("syscall_faults").size() == 1);
  const json& counted = s.at("syscall_faults")[0];
  CHECK(counted.at("inject") == "emfile");
  CHECK(counted.at("hit") == 1);
  CHECK(counted.at("matched").get<int>() >= 5);
  const auto failed = timeline_events(s, "syscall.fail", "emfile");
  REQUIRE(failed.size() == 1);
  const std::string detail = failed[0].at("detail");
  CHECK(detail.find(" openat /") != std::string::npos);
  CHECK(detail.find("/run-4.sorted -> EMFILE") != std::string::npos);
}

std::string stdout_of_target(const json& s) {
  REQUIRE(s.at("processes").size() == 1);
  return s.at("processes")[0].at("stdout_tail");
}

}  // namespace

TEST_CASE("go: a static Go test binary takes its EMFILE error path under an openat fault", "[e2e][go]") {
  GO_PRECONDITIONS();
  CommandOutput cmd;
  const json s = run_bundled_scenario("examples/go-emfile.toml", cmd);
  INFO("stdout: " << cmd.out << "\nreport: " << s.dump(1));
  CHECK(cmd.status == 0);
  CHECK(s.at("result") == "pass");
  check_fifth_open_failed(s);
  const std::string out = stdout_of_target(s);
  CHECK(out.find("error path taken: merge: opening run 5 of 8: open /") != std::string::npos);
  CHECK(out.find("run-4.sorted: too many open files") != std::string::npos);
  CHECK(out.find("--- PASS: TestMerge ") != std::string::npos);
}

TEST_CASE("go: a Go merge that skips the run it cannot open fails under EMFILE, naming the test",
          "[e2e][go]") {
  GO_PRECONDITIONS();
  CommandOutput cmd;
  const json s = run_bundled_scenario("selftest/failing/go-emfile-best-effort.toml", cmd);
  INFO("stdout: " << cmd.out << "\nreport: " << s.dump(1));
  CHECK(cmd.status == 1);
  CHECK(s.at("result") == "fail");
  check_fifth_open_failed(s);
  bool named = false;
  for (const auto& f : s.at("failures"))
    if (f.at("check") == "expect.stdout.not_matches")
      named = f.at("actual").get<std::string>().find("--- FAIL: TestMergeBestEffort ") != std::string::npos;
  CHECK(named);
  CHECK(stdout_of_target(s).find("lost data: merged 700 of 800 lines") != std::string::npos);
}

TEST_CASE("go: fiu-run's open fault does not reach a static Go test binary", "[e2e][go]") {
  GO_PRECONDITIONS();
  if (run_shell("command -v fiu-run").status != 0)
    FAULTLINE_SKIP("fiu-run is not installed (fiu-utils, tools/setup.sh test_packages)");
  ScratchDir dir;
  const std::string binary = dir / "merge.test";
  const auto build =
      run_shell("cd " + quote(source_dir() + "/scenarios/examples/go-emfile") +
                " && CGO_ENABLED=0 GOFLAGS= GOPROXY=off GOTOOLCHAIN=local GOPATH=" + quote(dir / "gopath") +
                " go test -c -o " + quote(binary) + " .");
  INFO(build.out << build.err);
  REQUIRE(build.status == 0);
  const auto kind = run_shell("file " + quote(binary));
  CHECK(kind.out.find("statically linked") != std::string::npos);

  // Every libc open fails with EMFILE (24), no control fifos: a dynamically linked program sees it...
  const std::string fiu = "fiu-run -x -f '' -c 'enable name=posix/io/oc/open,failinfo=24' ";
  const auto cat = run_shell(fiu + "cat " + quote(dir.write("input", "x\n")));
  INFO(cat.out << cat.err);
  CHECK(cat.status == 1);
  CHECK(cat.err.find("Too many open files") != std::string::npos);
  // ...the static Go binary does not: no dynamic loader reads LD_PRELOAD, and Go opens files
  // with the openat system call, not through libc. Both merges see every run.
  const auto go = run_shell(fiu + quote(binary) + " -test.v");
  INFO(go.out << go.err);
  CHECK(go.status == 0);
  CHECK(go.out.find("error path taken") == std::string::npos);
  CHECK(go.out.find("--- PASS: TestMerge ") != std::string::npos);
  CHECK(go.out.find("--- PASS: TestMergeBestEffort ") != std::string::npos);
}
