// cgroup v1 bounds swap only as memory.memsw = memory + swap: which swap limits hold nothing there.
#include <catch2/catch.hpp>

#include "runner/limits.h"

using faultline::kUnlimited;
using faultline::cgroup::Mode;
using faultline::runner::swap_limit_holds_nothing;

TEST_CASE("a swap limit holds nothing on cgroup v1 without a memory limit", "[limits]") {
  faultline::scenario::Limits limits;
  limits.swap = 0;
  CHECK(swap_limit_holds_nothing(Mode::v1, limits));
  CHECK(swap_limit_holds_nothing(Mode::hybrid, limits));
  CHECK_FALSE(swap_limit_holds_nothing(Mode::v2, limits));  // memory.swap.max holds by itself
  limits.memory = kUnlimited;
  CHECK(swap_limit_holds_nothing(Mode::hybrid, limits));
  limits.memory = 64 << 20;
  CHECK_FALSE(swap_limit_holds_nothing(Mode::hybrid, limits));
  // "max" limits nothing anywhere: there is nothing for it to fail to hold.
  limits.memory.reset();
  limits.swap = kUnlimited;
  CHECK_FALSE(swap_limit_holds_nothing(Mode::hybrid, limits));
  limits.swap.reset();
  CHECK_FALSE(swap_limit_holds_nothing(Mode::hybrid, limits));
}
