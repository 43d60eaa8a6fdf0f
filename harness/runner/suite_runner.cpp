#include "runner/suite_runner.h"

#include <atomic>
#include <exception>
#include <mutex>
#include <optional>
#include <thread>

#include "common/interrupt.h"
#include "common/units.h"

namespace faultline::runner {

std::vector<report::ScenarioResult> run_suite(const std::vector<SuiteRun>& runs, cgroup::Backend& backend,
                                              const SuiteOptions& options) {
  std::vector<std::optional<report::ScenarioResult>> results(runs.size());
  std::atomic<std::size_t> next{0};
  std::mutex report_lock;

  // Each worker forks its targets from its own single-threaded event loop, as Boost.Process
  // and asio's fork notification require.
  auto worker = [&] {
    for (;;) {
      if (interrupt::requested()) return;
      const std::size_t i = next.fetch_add(1);
      if (i >= runs.size()) return;
      if (options.on_started) {
        std::lock_guard lock(report_lock);
        options.on_started(runs[i]);
      }
      report::ScenarioResult result;
      try {
        result = run_scenario(*runs[i].scenario, backend, options.runner);
      } catch (const std::exception& e) {
        // An exception leaving a worker thread would end the harness in std::terminate, with no
        // teardown of the other workers' runs: it becomes this scenario's error instead (its own
        // cgroups went with the unwinding).
        result.name = runs[i].scenario->name;
        result.name_as_written = report_name_as_written(*runs[i].scenario);
        result.file = runs[i].scenario->file.string();
        result.verdict = report::Verdict::error;
        result.reason = std::string("faultline internal error: ") + e.what();
      }
      result.repeat = runs[i].repeat;
      std::lock_guard lock(report_lock);
      if (options.on_finished) options.on_finished(result);
      results[i] = std::move(result);
    }
  };
  const int jobs = std::max(1, std::min<int>(options.jobs, static_cast<int>(runs.size())));
  if (jobs == 1) {
    worker();
  } else {
    std::vector<std::thread> threads;
    for (int j = 0; j < jobs; ++j) threads.emplace_back(worker);
    for (auto& t : threads) t.join();
  }
  // A run that never started is still in the results, as an interrupted error: leaving it out
  // would let the reports count only what finished and read as green while the harness exits 130.
  std::vector<report::ScenarioResult> done;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    if (results[i]) {
      done.push_back(std::move(*results[i]));
      continue;
    }
    report::ScenarioResult unstarted;
    unstarted.name = runs[i].scenario->name;
    unstarted.name_as_written = report_name_as_written(*runs[i].scenario);
    unstarted.file = runs[i].scenario->file.string();
    unstarted.tags = runs[i].scenario->tags;
    unstarted.verdict = report::Verdict::error;
    unstarted.reason =
        "not run: interrupted by " + signal_name(interrupt::signal_number()) + " before it started";
    unstarted.interrupted = true;
    unstarted.repeat = runs[i].repeat;
    done.push_back(std::move(unstarted));
  }
  return done;
}

}  // namespace faultline::runner
