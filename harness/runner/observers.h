// The parts that act on a running scenario, built from its file: the fault timeline,
// resource sampling, probes, hang diagnosis.
#pragma once

#include <memory>
#include <vector>

#include "cgroup/backend.h"
#include "runner/run_context.h"
#include "runner/scenario_runner.h"

namespace faultline::runner {

// `backend`: the run's own, where exec probes get their cgroup (under its --cgroup-root).
std::vector<std::unique_ptr<RunObserver>> make_observers(const scenario::Scenario& scenario,
                                                         const RunnerOptions& options,
                                                         cgroup::Backend& backend);

}  // namespace faultline::runner
