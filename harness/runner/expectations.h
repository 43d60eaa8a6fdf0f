// Checks one [expect] table against what happened to its process. Pure: no I/O, so every rule
// is unit-tested with hand-made results.
#pragma once

#include <vector>

#include "reports/model.h"
#include "scenario/model.h"

namespace faultline::runner {

std::vector<report::Failure> evaluate(const scenario::Expect& expect, const report::ProcessResult& result);

// The exit codes a stop phase may end with to count as graceful: expect.exit_codes or {0}.
std::vector<int> allowed_exit_codes(const scenario::Expect* expect);

}  // namespace faultline::runner
