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
  CHECK(freeze.apply(where) == "running -> frozen");
  std::this_thread::sleep_for(600ms);
  CHECK(freeze.revert(where) == "frozen -> running");
  CHECK(freeze.revert(where).empty());  // once only
  std::this_thread::sleep_for(200ms);
  const double gap = largest_tick_gap_ms(target.output());
  INFO(target.output());
  CHECK(gap >= 550);
  CHECK(gap < 1500);
}
