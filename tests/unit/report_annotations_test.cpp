#include <catch2/catch.hpp>

#include "reports/annotations.h"
#include "tests/support/report_fixtures.h"

using namespace faultline::report;

namespace {

ScenarioResult scenario(const std::string& name, Verdict verdict) {
  return faultline::test::scenario_result(name, "scenarios/" + name + ".toml", verdict);
}

// The annotations of a run that holds `scenarios`.
std::string annotations_of(std::vector<ScenarioResult> scenarios) {
  RunReport r;
  r.scenarios = std::move(scenarios);
  return github_annotations(r);
}

}  // namespace

TEST_CASE("no annotations when nothing failed") {
  CHECK(annotations_of({scenario("ok", Verdict::pass), scenario("skipped", Verdict::skip)}).empty());
}

TEST_CASE("one annotation per failure, at the failing key's line") {
  auto s = scenario("drain", Verdict::fail);
  s.reason = "expect.graceful: killed after grace";
  s.reason_line = 14;
  s.failures.push_back(
      {"expect.graceful", "api", "true", "false", "killed after the 700ms grace period", 17, {}});
  s.failures.push_back({"expect.no_orphans", "api", "none", "1 (sleep)", "a child was left behind", 0, {}});
  CHECK(annotations_of({scenario("ok", Verdict::pass), s}) ==
        "::error file=scenarios/drain.toml,line=17,title=drain::expect.graceful [api]: killed after the "
        "700ms grace "
        "period%0Aexpected: true%0Aactual:   false\n"
        "::error file=scenarios/drain.toml,line=14,title=drain::expect.no_orphans [api]: a child was left "
        "behind%0Aexpected: none%0Aactual:   1 (sleep)\n");
}

TEST_CASE("an errored scenario without failures is annotated with its reason, line 1 when unknown") {
  auto s = scenario("missing", Verdict::error);
  s.reason = "target failed to start: execve: No such file or directory";
  CHECK(annotations_of({s}) ==
        "::error file=scenarios/missing.toml,line=1,title=missing::error: target failed to start: execve: No "
        "such "
        "file or directory\n");
}

TEST_CASE("annotation properties escape : and , and the message escapes % and newlines") {
  auto s = scenario("x", Verdict::fail);
  s.name = "50%: a, b";
  s.file = "dir,1/x:y.toml";
  s.reason = "line one\nline two 100%";
  CHECK(annotations_of({s}) ==
        "::error file=dir%2C1/x%3Ay.toml,line=1,title=50%25%3A a%2C b::line one%0Aline two 100%25\n");
}
