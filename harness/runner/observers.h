// The parts that act on a running scenario, built from its file: the fault timeline,
// resource sampling, probes, hang diagnosis.
#pragma once

#include <memory>
#include <vector>

#include "runner/run_context.h"
#include "runner/scenario_runner.h"

namespace faultline::runner {

std::vector<std::unique_ptr<RunObserver>> make_observers(const scenario::Scenario& scenario,
                                                         const RunnerOptions& options);

}  // namespace faultline::runner
