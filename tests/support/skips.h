// Skipped tests that are counted and, where the environment promises the capability, fail the run.
// Catch2 v2 has no SKIP: a test that returns early passes. Every skip goes through record_skip
// instead: it names the test and the reason, and the test binary's main (test_main.cpp) ends with a
// summary of every skip and a non-zero exit code when an unexpected skip is not allowed.
//
// Policy (docs in tests/README.md): skipping is not allowed when CI=true or
// FAULTLINE_REQUIRE_ALL=1, except for skips declared in tests/expected-skips.txt for this
// environment (the host's cgroup mode, or FAULTLINE_TEST_ENVIRONMENT such as `vm`).
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace faultline::test {

// Records that the running test case skips (the rest of) its checks and why; prints it at once.
void record_skip(const std::string& reason);

// Skips the rest of the current test case (use in the test body, not in a helper).
#define FAULTLINE_SKIP(reason)                \
  do {                                        \
    ::faultline::test::record_skip((reason)); \
    return;                                   \
  } while (false)

struct SkipRecord {
  std::string test;
  std::string reason;
};

// One line of tests/expected-skips.txt: `environment | test case name | why`.
struct ExpectedSkip {
  std::string environment;  // v2, hybrid, v1 (the cgroup mode) or a FAULTLINE_TEST_ENVIRONMENT name
  std::string test;
  std::string reason;
};

// Parses the declared list; throws std::runtime_error naming the line of a malformed entry.
std::vector<ExpectedSkip> parse_expected_skips(std::string_view text);

struct SkipPolicy {
  // Non-empty when skips fail the run: "CI=true", "FAULTLINE_REQUIRE_ALL=1".
  std::string strict_because;
  // The names this run answers to: the cgroup mode and FAULTLINE_TEST_ENVIRONMENT.
  std::set<std::string> environments;
  std::vector<ExpectedSkip> expected;
  // Why the declared list could not be read, if it could not (a failure when strict).
  std::string list_error;
};

// The declaration covering `test` in these environments, if any.
std::optional<ExpectedSkip> declared_skip(const SkipPolicy& policy, const std::string& test);

// What one run of a test binary did, test case by test case.
struct RunOutcome {
  std::vector<std::string> ran;   // test cases, in order
  std::set<std::string> failed;   // of those, the ones with a failed assertion
  std::vector<SkipRecord> skips;  // every record_skip, in order
};

struct SkipSummary {
  std::size_t passed = 0, failed = 0, skipped = 0;  // test cases; a failed test is never "skipped"
  std::vector<std::string> lines;                   // the text after Catch2's totals
  bool fails_run = false;                           // an unexpected skip where none is allowed
};

SkipSummary summarize(const RunOutcome& outcome, const SkipPolicy& policy);

// One line per tag in `tags`, counting the test cases of `outcome` that carry it (`tags_of`),
// each once, as summarize does: "tag [syscall]: 8 passed, 0 failed, 0 skipped". Lets a lane show
// that the tests of one capability really ran rather than skipped.
std::vector<std::string> tag_count_lines(const RunOutcome& outcome,
                                         const std::map<std::string, std::set<std::string>>& tags_of,
                                         const std::vector<std::string>& tags);

// FAULTLINE_EXPECTED_SKIPS, else tests/expected-skips.txt under FAULTLINE_SOURCE_DIR or the
// source tree the binary was built from.
std::string expected_skips_path();

// The policy from CI, FAULTLINE_REQUIRE_ALL, FAULTLINE_TEST_ENVIRONMENT, the host's cgroup mode
// and the declared list (FAULTLINE_EXPECTED_SKIPS, else tests/expected-skips.txt in the sources).
SkipPolicy policy_from_environment();

// For test_main.cpp, the main of every test binary: what Catch2 reported of each test case, and
// the end of the run: prints the summary (with tag_count_lines for the comma-separated tags in
// FAULTLINE_COUNT_TAGS), returns the exit code (Catch2's, else 1 when an unexpected skip is not
// allowed).
void note_test_case_ended(const std::string& test, bool failed, const std::vector<std::string>& tags = {});
int finish_run(int catch_status, const std::string& reporter);

}  // namespace faultline::test
