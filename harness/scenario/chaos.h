// [chaos]: injections drawn from kinds and ranges by a seeded generator. The draw depends only
// on the seed and the scenario (its name and [chaos] table), so `faultline plan --seed N` shows
// exactly what `faultline run --seed N` applies.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "scenario/model.h"

namespace faultline::scenario {

// A hash of a name that is the same on every host and standard library, to mix names into seeds.
std::uint64_t name_hash(std::string_view text);

// The drawn injections, named "chaos#1", "chaos#2", ... Empty when the scenario has no [chaos].
// Throws Error when a range cannot be drawn from (e.g. a window whose ends use different anchors).
// A drawn fault the run would refuse is left out of the result, its number unused, and described
// in `left_out` when given.
std::vector<Injection> draw_chaos(const Scenario& scenario, std::uint64_t seed,
                                  std::vector<std::string>* left_out = nullptr);

// A copy of the scenario with the drawn injections appended (and chaos->left_out set).
Scenario with_chaos(const Scenario& scenario, std::uint64_t seed);

}  // namespace faultline::scenario
