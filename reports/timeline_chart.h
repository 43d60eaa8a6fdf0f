// The timeline chart of one scenario as inline SVG: memory, CPU and throttling per process from
// the samples, fault windows (inject.apply .. inject.revert) as bands, process events as ticks
// probe attempts as marks (failed ones red), a lane per syscall fault with its failed calls and a
// lane per proxy with its figures.
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

// One lane per syscall fault: its counts, the failed calls listed on the timeline (in time
// order) and the notes for those left out between them.
struct SyscallLane {
  std::string inject;
  std::string process;
  std::uint64_t matched = 0;
  std::uint64_t hit = 0;
  std::uint64_t hit_while_stopping = 0;  // listed among `failures`, not counted in `hit`
  std::vector<const TimelineEvent*> failures;
  std::vector<const TimelineEvent*> elided;
};
std::vector<SyscallLane> syscall_lanes(const ScenarioResult& scenario);

// One lane per proxy: from its proxy.listen event (else 0) to its proxy.stop (else `t_end`).
struct ProxyLane {
  const ProxyResult* proxy = nullptr;
  double listen_ms = 0;
  double stop_ms = 0;
};
std::vector<ProxyLane> proxy_lanes(const ScenarioResult& scenario, double t_end);

// A <figure> with the inline <svg> chart and its legend; empty when there is nothing to draw
// (no samples, timeline events or probe attempts).
std::string timeline_chart_html(const ScenarioResult& scenario);

}  // namespace faultline::report
