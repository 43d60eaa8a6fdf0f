// The hog injector: `faultline hog` started inside the cgroup holds memory until revert.
#include "injectors/hog_injector.h"
#include "tests/integration/injector_test_support.h"

using namespace faultline;
using namespace faultline::test;
using injectors::HogInjector;
using injectors::Target;

TEST_CASE("hog: a 120MiB noisy neighbour shows in the cgroup and is killed by revert", "[injector]") {
  INJECTOR_TEST_PRECONDITIONS();
  if (faultline_path().empty()) FAULTLINE_SKIP("FAULTLINE_BIN is not set (run through ctest)");
  constexpr std::uint64_t MiB = 1024 * 1024;
  TargetGroup t;
  TargetProcess target(t.group(), payload({"sleep", "30s"}));
  std::unique_ptr<TargetProcess> helper;
  HogInjector hog(scenario::HogFault{120 * MiB, 0.5}, faultline_path(),
                  [&](const std::vector<std::string>& argv) {
                    helper = std::make_unique<TargetProcess>(t.group(), argv);
                    return helper->pid();
                  });
  CHECK(hog.describe() == "hog memory 120MiB cpu 50%");
  CHECK(hog.helper_argv() ==
        std::vector<std::string>{faultline_path(), "hog", "--memory", "125829120B", "--cpu", "0.5"});
  const Target where{t.group(), target.pid()};
  const std::string detail = hog.apply(where);
  CHECK(detail == "hog pid " + std::to_string(helper->pid()) + " started (hog memory 120MiB cpu 50%)");
  REQUIRE(helper->wait_for_output("hog: holding 120MiB, burning 50%"));
  CHECK(t.group().stats().memory_current.value_or(0) >= 120 * MiB);
  CHECK(hog.revert(where) == "hog pid " + std::to_string(helper->pid()) + " killed");
  REQUIRE(helper->ended_within(2000ms));
  CHECK(t.group().stats().memory_peak.value_or(0) >= 120 * MiB);
  CHECK(hog.revert(where).empty());
}
