// The timeline chart of one scenario as inline SVG: memory, CPU and throttling per process from
// the samples, fault windows (inject.apply .. inject.revert) as bands, process events as ticks
// and probe attempts as marks (failed ones red).
#pragma once

#include <string>
#include <vector>

#include "reports/model.h"

namespace faultline::report {

// A fault window: from an inject.apply to the revert of the same inject. `open` when the run
// ended before a revert; an apply followed by another apply of the same name before any revert
// (a repeated signal) is instantaneous: end == start.
struct FaultWindow {
  std::string inject;
  std::string detail;
  double start_ms = 0;
  double end_ms = 0;
  bool open = false;
};
std::vector<FaultWindow> fault_windows(const ScenarioResult& scenario);

// Per-interval rates from cumulative counters: CPU use and throttled time as % of one CPU.
struct RatePoint {
  double t_ms = 0;
  double cpu_percent = 0;
  double throttled_percent = 0;
};
std::vector<RatePoint> rates(const std::vector<Sample>& samples_of_one_process);

// Processes in the order they get colours: the scenario's processes, then any other name the
// samples mention.
std::vector<std::string> charted_processes(const ScenarioResult& scenario);

// A <figure> with the inline <svg> chart and its legend; empty when there is nothing to draw
// (no samples, timeline events or probe attempts).
std::string timeline_chart_html(const ScenarioResult& scenario);

}  // namespace faultline::report
