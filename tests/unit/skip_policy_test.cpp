// Skips are counted, listed and, where the environment promises every capability, fail the run
// (tests/support/skips.h). The last test runs this very binary on hidden test cases that skip.
#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "tests/support/command.h"
#include "tests/support/skips.h"

using namespace faultline::test;
namespace fs = std::filesystem;

namespace {

SkipPolicy strict_policy(std::set<std::string> environments, std::vector<ExpectedSkip> expected = {}) {
  SkipPolicy p;
  p.strict_because = "FAULTLINE_REQUIRE_ALL=1";
  p.environments = std::move(environments);
  p.expected = std::move(expected);
  return p;
}

const std::string kDelegation = "cgroup: delegation";

std::string last_line(const std::string& text) {
  auto end = text.find_last_not_of('\n');
  if (end == std::string::npos) return "";
  auto start = text.rfind('\n', end);
  return text.substr(start == std::string::npos ? 0 : start + 1,
                     end - (start == std::string::npos ? 0 : start + 1) + 1);
}

}  // namespace

TEST_CASE("skips: a skipped test is counted as skipped, never as passed", "[skips]") {
  RunOutcome run{{"a", "b", "c"}, {"c"}, {{"b", "not root"}, {"c", "partly"}}};
  SkipPolicy lenient;
  lenient.environments = {"hybrid"};
  const auto s = summarize(run, lenient);
  CHECK(s.passed == 1);
  CHECK(s.skipped == 1);
  CHECK(s.failed == 1);  // a test that skipped part and then failed is a failure
  CHECK_FALSE(s.fails_run);
  REQUIRE(s.lines.size() >= 3);
  CHECK(s.lines.front() == "skipped: 1 test case(s); skips: 0 expected, 2 unexpected (environment: hybrid)");
  CHECK(s.lines.back() == "1 passed, 1 failed, 1 skipped");
  CHECK(std::find(s.lines.begin(), s.lines.end(), "  SKIPPED (unexpected): b -- not root") != s.lines.end());
  // The failed test is named once, just above the closing line.
  CHECK(s.lines[s.lines.size() - 2] == "  FAILED TEST CASE: c");
  CHECK(std::count_if(s.lines.begin(), s.lines.end(), [](const std::string& l) {
          return l.find("FAILED TEST CASE") != std::string::npos;
        }) == 1);
}

TEST_CASE("skips: under CI=true or FAULTLINE_REQUIRE_ALL=1 an undeclared skip fails the run", "[skips]") {
  RunOutcome run{{kDelegation, "other"}, {}, {{kDelegation, "needs a pure cgroup v2 host"}}};
  CHECK(summarize(run, strict_policy({"hybrid"})).fails_run);
  // Declared for this environment: expected, the run passes, the skip is still counted and shown.
  const auto declared = strict_policy({"hybrid"}, {{"hybrid", kDelegation, "v2 only"}});
  const auto s = summarize(run, declared);
  CHECK_FALSE(s.fails_run);
  CHECK(s.skipped == 1);
  CHECK(s.lines.back() == "1 passed, 0 failed, 1 skipped");
  CHECK(std::find(s.lines.begin(), s.lines.end(),
                  "  SKIPPED (expected on hybrid): " + kDelegation + " -- needs a pure cgroup v2 host") !=
        s.lines.end());
  // Declared for another environment only: not expected here.
  CHECK(summarize(run, strict_policy({"v2", "vm"}, {{"hybrid", kDelegation, "v2 only"}})).fails_run);
}

TEST_CASE("skips: a declared skip that did not happen fails a strict run", "[skips]") {
  RunOutcome ran_in_full{{kDelegation}, {}, {}};
  const auto s = summarize(ran_in_full, strict_policy({"hybrid"}, {{"hybrid", kDelegation, "v2 only"}}));
  CHECK(s.fails_run);
  CHECK(s.lines.back() == "1 passed, 0 failed, 0 skipped");
  // A filtered run that did not include the test says nothing about it.
  RunOutcome filtered{{"other"}, {}, {}};
  CHECK_FALSE(summarize(filtered, strict_policy({"hybrid"}, {{"hybrid", kDelegation, "v2 only"}})).fails_run);
}

TEST_CASE("skips: per-tag counts tell which test cases of a tag passed, failed or skipped", "[skips]") {
  // "b" skipped, "c" skipped part and then failed, "a" ran twice (a GENERATE): counted once.
  RunOutcome run{{"a", "b", "c", "d", "a"}, {"c"}, {{"b", "no seccomp"}, {"c", "partly"}}};
  const std::map<std::string, std::set<std::string>> tags{
      {"a", {"syscall"}}, {"b", {"syscall", "e2e"}}, {"c", {"syscall"}}, {"d", {"proxy"}}};
  CHECK(tag_count_lines(run, tags, {"syscall", "proxy", "toxics"}) ==
        std::vector<std::string>{"tag [syscall]: 1 passed, 1 failed, 1 skipped",
                                 "tag [proxy]: 1 passed, 0 failed, 0 skipped",
                                 "tag [toxics]: 0 passed, 0 failed, 0 skipped"});
  CHECK(tag_count_lines(run, tags, {}).empty());
}

TEST_CASE("skips: the declared list names environment, test and reason on every line", "[skips]") {
  const auto list = parse_expected_skips(
      "# comment\n\nhybrid | cgroup: delegation | needs v2 | with a bar\n  vm|report: html|no chromium  \n");
  REQUIRE(list.size() == 2);
  CHECK(list[0].environment == "hybrid");
  CHECK(list[0].test == "cgroup: delegation");
  CHECK(list[0].reason == "needs v2 | with a bar");
  CHECK(list[1].environment == "vm");
  CHECK(list[1].test == "report: html");
  CHECK_THROWS_WITH(parse_expected_skips("hybrid | no reason\n"),
                    "line 1: expected `environment | test case name | reason`, got `hybrid | no reason`");
  CHECK_THROWS_WITH(parse_expected_skips("\n| a | b\n"),
                    "line 2: expected `environment | test case name | reason`, got `| a | b`");
}

TEST_CASE("skips: the repository's declared list parses", "[skips]") {
  const std::string path = expected_skips_path();
  REQUIRE(fs::exists(path));
  CHECK_NOTHROW(parse_expected_skips(read_file(path)));
}

TEST_CASE("skip self-test: a test that skips", "[.][skip-selftest]") {
  CHECK(true);
  FAULTLINE_SKIP("skipping on purpose");
}

TEST_CASE("skips: a test binary lists its skips after Catch2's totals and exits 1 when they are not allowed",
          "[skips]") {
  const std::string self = fs::read_symlink("/proc/self/exe");
  const std::string run = quote(self) + " '[skip-selftest]'";
  const std::string lenient = "env -u CI -u FAULTLINE_REQUIRE_ALL -u FAULTLINE_TEST_ENVIRONMENT ";
  const auto allowed = run_shell(lenient + run);
  INFO(allowed.out << allowed.err);
  CHECK(allowed.status == 0);
  CHECK(allowed.out.find("SKIPPED: skip self-test: a test that skips: skipping on purpose\n") !=
        std::string::npos);
  // Catch2's totals first (they count the early return as passed), then ours.
  const auto totals = allowed.out.find("All tests passed (1 assertion in 1 test case)");
  const auto ours = allowed.out.find("\nskipped: 1 test case(s); skips: 0 expected, 1 unexpected (");
  CHECK(totals != std::string::npos);
  CHECK(ours != std::string::npos);
  CHECK(totals < ours);
  CHECK(allowed.out.find(
            "  SKIPPED (unexpected): skip self-test: a test that skips -- skipping on purpose\n") !=
        std::string::npos);
  CHECK(last_line(allowed.out) == "0 passed, 0 failed, 1 skipped");
  // The per-tag counts come from the tags Catch2 reports, before the closing line.
  const auto counted = run_shell(lenient + "FAULTLINE_COUNT_TAGS=skip-selftest,syscall " + run);
  INFO(counted.out << counted.err);
  CHECK(counted.out.find("\ntag [skip-selftest]: 0 passed, 0 failed, 1 skipped\n"
                         "tag [syscall]: 0 passed, 0 failed, 0 skipped\n") != std::string::npos);
  CHECK(last_line(counted.out) == "0 passed, 0 failed, 1 skipped");

  for (const char* strict : {"CI=true ", "FAULTLINE_REQUIRE_ALL=1 "}) {
    const auto refused = run_shell(lenient + strict + run);
    INFO(refused.out << refused.err);
    CHECK(refused.status == 1);
    CHECK(refused.out.find("FAILED: skips are not allowed here (") != std::string::npos);
    CHECK(last_line(refused.out) == "0 passed, 0 failed, 1 skipped");
  }

  const fs::path list =
      fs::temp_directory_path() / ("faultline-expected-skips-" + std::to_string(::getpid()));
  std::ofstream(list) << "selftest | skip self-test: a test that skips | declared by the skip policy test\n";
  const auto declared = run_shell(lenient + "FAULTLINE_REQUIRE_ALL=1 FAULTLINE_TEST_ENVIRONMENT=selftest " +
                                  "FAULTLINE_EXPECTED_SKIPS=" + quote(list) + " " + run);
  fs::remove(list);
  INFO(declared.out << declared.err);
  CHECK(declared.status == 0);
  CHECK(declared.out.find("  SKIPPED (expected on selftest): skip self-test: a test that skips") !=
        std::string::npos);
  CHECK(last_line(declared.out) == "0 passed, 0 failed, 1 skipped");
}
