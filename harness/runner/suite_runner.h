// Many scenario runs at once (-j N): each on its own worker thread with its own event loop and
// its own cgroup subtree. Results come back in the order the runs were given.
#pragma once

#include <functional>
#include <vector>

#include "cgroup/backend.h"
#include "reports/model.h"
#include "runner/scenario_runner.h"
#include "scenario/model.h"

namespace faultline::runner {

struct SuiteRun {
  const scenario::Scenario* scenario = nullptr;
  int repeat = 0;  // 1-based with --repeat, else 0
};

struct SuiteOptions {
  int jobs = 1;
  RunnerOptions runner;
  // Called under a lock as each run starts / ends (for console output).
  std::function<void(const SuiteRun&)> on_started;
  std::function<void(const report::ScenarioResult&)> on_finished;
};

// Runs every entry unless the harness is interrupted, after which no new run starts and the
// running ones are torn down (they come back marked interrupted). Every entry has a result:
// one that never started comes back as an interrupted error ("not run: interrupted by SIGTERM
// before it started"), so the reports count it. on_started / on_finished are not called for it.
std::vector<report::ScenarioResult> run_suite(const std::vector<SuiteRun>& runs, cgroup::Backend& backend,
                                              const SuiteOptions& options);

}  // namespace faultline::runner
