// The main of every test binary: Catch2's session, then the skip summary: skips are counted,
// listed, and fail the run where the environment promises every capability (skips.h).
// Catch2's implementation is compiled here, once for all test binaries.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include "tests/support/skips.h"

namespace faultline::test {

// Catch2 v2 counts a test case that returned early as passed; this listener keeps what really
// happened, test case by test case, for the summary.
struct SkipListener : Catch::TestEventListenerBase {
  using TestEventListenerBase::TestEventListenerBase;
  void testCaseEnded(Catch::TestCaseStats const& stats) override {
    note_test_case_ended(stats.testInfo.name, stats.totals.assertions.failed > 0, stats.testInfo.tags);
    TestEventListenerBase::testCaseEnded(stats);
  }
};
CATCH_REGISTER_LISTENER(SkipListener)

}  // namespace faultline::test

int main(int argc, char** argv) {
  Catch::Session session;
  if (const int status = session.applyCommandLine(argc, argv); status != 0) return status;
  const int status = session.run();
  return faultline::test::finish_run(status, session.configData().reporterName);
}
