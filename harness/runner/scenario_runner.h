// Runs one scenario: its throwaway cgroups, its processes in dependency order, readiness,
// the stop phase, the deadline, and the verdict against its expectations.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include "cgroup/backend.h"
#include "reports/model.h"
#include "scenario/model.h"

namespace faultline::runner {

struct RunnerOptions {
  bool strict = false;  // a skipped scenario is an error
  std::size_t output_tail_bytes = 64 * 1024;
  std::chrono::milliseconds sample_interval{50};  // resource samples per process cgroup
  std::uint64_t seed = 0;                         // for chaos draws and jitter
  std::string faultline_dir = ".";                // where the faultline executable lives
};

// The report's `name_as_written`: the name with its `auto-port` numbers left as written, when it
// holds one, else empty (the report then pairs runs by the name itself).
std::string report_name_as_written(const scenario::Scenario& scenario);

// Never throws for problems of the scenario or its targets: they become the result's verdict.
report::ScenarioResult run_scenario(const scenario::Scenario& scenario, cgroup::Backend& backend,
                                    const RunnerOptions& options = {});

}  // namespace faultline::runner
