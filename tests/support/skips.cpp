#include "tests/support/skips.h"

#include <sys/statfs.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>

#include "cgroup/cgroup_files.h"
#include "cgroup/mountinfo.h"

#ifndef FAULTLINE_TEST_SOURCE_DIR
#define FAULTLINE_TEST_SOURCE_DIR ""
#endif

namespace faultline::test {

namespace {

RunOutcome& outcome() {
  static RunOutcome o;
  return o;
}

std::map<std::string, std::set<std::string>>& tags_of_tests() {
  static std::map<std::string, std::set<std::string>> tags;
  return tags;
}

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string trimmed(std::string_view s) {
  const auto first = s.find_first_not_of(" \t\r");
  if (first == std::string_view::npos) return "";
  const auto last = s.find_last_not_of(" \t\r");
  return std::string(s.substr(first, last - first + 1));
}

// The cgroup mode as the harness would detect it; "none" when no cgroup fs is mounted.
std::string host_cgroup_mode() {
  const char* mount_root = "/sys/fs/cgroup";
  struct statfs info {};
  const bool is_cgroup2 =
      ::statfs(mount_root, &info) == 0 && info.f_type == 0x63677270;  // CGROUP2_SUPER_MAGIC
  try {
    auto host = cgroup::classify_host(cgroup::parse_cgroup_mounts(cgroup::read_file("/proc/self/mountinfo")),
                                      mount_root, is_cgroup2, nullptr);
    return host ? cgroup::to_string(host->mode) : "none";
  } catch (const std::exception&) {
    return "none";
  }
}

}  // namespace

void note_test_case_ended(const std::string& test, bool failed, const std::vector<std::string>& tags) {
  outcome().ran.push_back(test);
  if (failed) outcome().failed.insert(test);
  tags_of_tests()[test].insert(tags.begin(), tags.end());
}

std::string expected_skips_path() {
  if (auto p = env("FAULTLINE_EXPECTED_SKIPS"); !p.empty()) return p;
  auto source = env("FAULTLINE_SOURCE_DIR");
  if (source.empty()) source = FAULTLINE_TEST_SOURCE_DIR;
  return source.empty() ? "" : source + "/tests/expected-skips.txt";
}

void record_skip(const std::string& reason) {
  const std::string test = Catch::getResultCapture().getCurrentTestName();
  // A test run once per GENERATE value may skip for the same reason each time: list it once.
  for (const auto& r : outcome().skips)
    if (r.test == test && r.reason == reason) return;
  outcome().skips.push_back({test, reason});
  std::cout << "SKIPPED: " << test << ": " << reason << std::endl;
}

std::vector<ExpectedSkip> parse_expected_skips(std::string_view text) {
  std::vector<ExpectedSkip> list;
  std::istringstream in{std::string(text)};
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    const std::string content = trimmed(line);
    if (content.empty() || content[0] == '#') continue;
    const auto bar1 = content.find('|');
    const auto bar2 = bar1 == std::string::npos ? bar1 : content.find('|', bar1 + 1);
    ExpectedSkip e;
    if (bar2 != std::string::npos) {
      e.environment = trimmed(std::string_view(content).substr(0, bar1));
      e.test = trimmed(std::string_view(content).substr(bar1 + 1, bar2 - bar1 - 1));
      e.reason = trimmed(std::string_view(content).substr(bar2 + 1));
    }
    if (e.environment.empty() || e.test.empty() || e.reason.empty()) {
      throw std::runtime_error("line " + std::to_string(number) +
                               ": expected `environment | test case name | reason`, got `" + content + "`");
    }
    list.push_back(std::move(e));
  }
  return list;
}

std::optional<ExpectedSkip> declared_skip(const SkipPolicy& policy, const std::string& test) {
  for (const auto& e : policy.expected)
    if (e.test == test && policy.environments.count(e.environment)) return e;
  return std::nullopt;
}

SkipSummary summarize(const RunOutcome& outcome, const SkipPolicy& policy) {
  SkipSummary s;
  std::map<std::string, std::vector<std::string>> reasons;  // test -> its skip reasons
  for (const auto& r : outcome.skips) reasons[r.test].push_back(r.reason);

  std::string environments;
  for (const auto& e : policy.environments) environments += (environments.empty() ? "" : ", ") + e;
  std::vector<std::string> listed;
  std::size_t expected = 0, unexpected = 0, stale = 0;
  std::set<std::string> seen;
  for (const auto& test : outcome.ran) {
    if (!seen.insert(test).second) continue;
    const bool failed = outcome.failed.count(test) > 0;
    const auto declared = declared_skip(policy, test);
    auto it = reasons.find(test);
    if (it == reasons.end()) {
      ++(failed ? s.failed : s.passed);
      if (declared && !failed) {
        ++stale;
        listed.push_back("  DECLARED SKIP DID NOT HAPPEN (" + declared->environment + "): " + test +
                         " -- the test ran in full; remove its line from the expected-skips list");
      }
      continue;
    }
    ++(failed ? s.failed : s.skipped);
    for (const auto& reason : it->second) {
      if (declared) {
        ++expected;
        listed.push_back("  SKIPPED (expected on " + declared->environment + "): " + test + " -- " + reason);
      } else {
        ++unexpected;
        listed.push_back("  SKIPPED (unexpected): " + test + " -- " + reason);
      }
    }
  }
  // Skips outside a test case that ended (cannot happen through FAULTLINE_SKIP, but never hide one).
  for (const auto& r : outcome.skips) {
    if (seen.count(r.test)) continue;
    ++unexpected;
    listed.push_back("  SKIPPED (unexpected): " + r.test + " -- " + r.reason);
  }

  // Test cases first (the figure of the closing line), then each skip with its verdict.
  s.lines.push_back("skipped: " + std::to_string(s.skipped) +
                    " test case(s); skips: " + std::to_string(expected) + " expected, " +
                    std::to_string(unexpected) + " unexpected (environment: " + environments + ")");
  s.lines.insert(s.lines.end(), listed.begin(), listed.end());
  // Without the list every skip is unexpected: say why once there is one.
  if (!policy.list_error.empty() && unexpected > 0)
    s.lines.push_back("expected-skips list: " + policy.list_error);
  if (!policy.strict_because.empty()) {
    if (unexpected > 0 || stale > 0) {
      s.fails_run = true;
      s.lines.push_back("FAILED: skips are not allowed here (" + policy.strict_because +
                        "): " + std::to_string(unexpected) + " unexpected skip(s), " + std::to_string(stale) +
                        " declared skip(s) that did not happen; declare mode-specific skips in "
                        "tests/expected-skips.txt");
    }
  } else if (unexpected > 0) {
    s.lines.push_back("(skips are allowed in this run; CI=true or FAULTLINE_REQUIRE_ALL=1 makes them fail)");
  }
  // Each failed test case by name, just above the closing line: a log cut to its tail (a CI page,
  // the VM lane's summary) still says which test failed.
  std::set<std::string> named;
  for (const auto& test : outcome.ran)
    if (outcome.failed.count(test) && named.insert(test).second)
      s.lines.push_back("  FAILED TEST CASE: " + test);
  // The closing line, alone: test cases, never counting a skipped one as passed.
  s.lines.push_back(std::to_string(s.passed) + " passed, " + std::to_string(s.failed) + " failed, " +
                    std::to_string(s.skipped) + " skipped");
  return s;
}

std::vector<std::string> tag_count_lines(const RunOutcome& outcome,
                                         const std::map<std::string, std::set<std::string>>& tags_of,
                                         const std::vector<std::string>& tags) {
  std::set<std::string> skipped;
  for (const auto& r : outcome.skips) skipped.insert(r.test);
  std::vector<std::string> lines;
  for (const auto& tag : tags) {
    std::size_t passed = 0, failed = 0, skips = 0;
    std::set<std::string> seen;
    for (const auto& test : outcome.ran) {
      const auto it = tags_of.find(test);
      if (it == tags_of.end() || !it->second.count(tag) || !seen.insert(test).second) continue;
      // As in summarize: a failure wins over a skip, a skip is never a pass.
      if (outcome.failed.count(test))
        ++failed;
      else if (skipped.count(test))
        ++skips;
      else
        ++passed;
    }
    lines.push_back("tag [" + tag + "]: " + std::to_string(passed) + " passed, " + std::to_string(failed) +
                    " failed, " + std::to_string(skips) + " skipped");
  }
  return lines;
}

SkipPolicy policy_from_environment() {
  SkipPolicy p;
  if (lower(env("CI")) == "true") p.strict_because = "CI=true";
  if (env("FAULTLINE_REQUIRE_ALL") == "1")
    p.strict_because += std::string(p.strict_because.empty() ? "" : ", ") + "FAULTLINE_REQUIRE_ALL=1";
  p.environments.insert(host_cgroup_mode());
  if (auto e = env("FAULTLINE_TEST_ENVIRONMENT"); !e.empty()) p.environments.insert(e);
  const std::string path = expected_skips_path();
  if (path.empty()) {
    p.list_error = "not found (set FAULTLINE_SOURCE_DIR or FAULTLINE_EXPECTED_SKIPS)";
    return p;
  }
  std::ifstream in(path);
  if (!in) {
    p.list_error = path + ": cannot be read";
    return p;
  }
  std::stringstream text;
  text << in.rdbuf();
  try {
    p.expected = parse_expected_skips(text.str());
  } catch (const std::exception& e) {
    p.list_error = path + ": " + e.what();
  }
  return p;
}

int finish_run(int catch_status, const std::string& reporter) {
  const auto& o = outcome();
  if (o.ran.empty() && o.skips.empty()) return catch_status;  // --list-tests, --help, nothing matched
  const auto summary = summarize(o, policy_from_environment());
  // After Catch2's own totals, on the stream a console reader sees; machine reporters keep
  // their stdout clean.
  std::ostream& out =
      reporter.empty() || reporter == "console" || reporter == "compact" ? std::cout : std::cerr;
  std::vector<std::string> counted;
  std::istringstream wanted(env("FAULTLINE_COUNT_TAGS"));
  for (std::string tag; std::getline(wanted, tag, ',');)
    if (!trimmed(tag).empty()) counted.push_back(trimmed(tag));
  for (const auto& line : tag_count_lines(o, tags_of_tests(), counted)) out << line << "\n";
  for (const auto& line : summary.lines) out << line << "\n";
  out.flush();
  if (catch_status != 0) return catch_status;
  return summary.fails_run ? 1 : 0;
}

}  // namespace faultline::test
