// The freeze injector: the whole cgroup stops (a gap in a ticking process) until revert.
#include <sstream>

#include "injectors/freeze_injector.h"
#include "tests/integration/injector_test_support.h"

using namespace faultline;
using namespace faultline::test;
using injectors::FreezeInjector;
using injectors::Target;

namespace {
double largest_tick_gap_ms(const std::string& out) {
  std::istringstream in(out);
  std::string word;
  double previous = -1, gap = 0, value = 0;
  while (in >> word >> value) {
    if (word != "tick") continue;
    if (previous >= 0) gap = std::max(gap, value - previous);
    previous = value;
  }
  return gap;
}
}  // namespace

TEST_CASE("freeze: a frozen cgroup shows as a gap in a ticking process", "[injector]") {
  INJECTOR_TEST_PRECONDITIONS();
  TargetGroup t;
  if (auto why = t.group().unsupported(cgroup::Knob::freeze)) {
    FAULTLINE_SKIP(*why);
  }
  TargetProcess target(t.group(), payload({"tick", "20ms"}));
  REQUIRE(target.wait_for_output("tick"));
  std::this_thread::sleep_for(200ms);
  FreezeInjector freeze;
  const Target where{t.group(), target.pid()};
  // The payload's ticks and these are the same monotonic clock: the gap is bounded by what
  // this test saw, not by the sleep it asked for (which a loaded machine stretches).
  const auto ms = [](std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double, std::milli>(t.time_since_epoch()).count();
  };
  const double apply_requested = ms(std::chrono::steady_clock::now());
  CHECK(freeze.apply(where) == "running -> frozen");
  const double frozen_at = ms(std::chrono::steady_clock::now());
  std::this_thread::sleep_for(600ms);
  const double revert_requested = ms(std::chrono::steady_clock::now());
  CHECK(freeze.revert(where) == "frozen -> running");
  const double thawed_at = ms(std::chrono::steady_clock::now());
  CHECK(freeze.revert(where).empty());  // once only
  std::this_thread::sleep_for(200ms);
  const double gap = largest_tick_gap_ms(target.output());
  INFO(target.output());
  CHECK(revert_requested - frozen_at >= 600);
  CHECK(gap >= revert_requested - frozen_at - 1);        // frozen for certain in between
  CHECK(gap < thawed_at - apply_requested + 20 + 1000);  // at most that, a tick, and slack
}
