// `--baseline OLD.json`: what changed since an earlier run. Scenarios are matched by name
// (paths differ between machines); with --repeat the worst run of each counts.
#pragma once

#include <string>
#include <vector>

#include "reports/model.h"

namespace faultline::report {

struct BaselineOptions {
  double tolerance = 0.2;  // a metric regresses when it grows by more than this fraction ...
  // ... and by more than these absolute margins (noise on a busy machine).
  double memory_margin_bytes = 1 << 20;
  double shutdown_margin_ms = 50;
  double latency_margin_ms = 1;
};

BaselineComparison compare_with_baseline(const RunReport& baseline, const RunReport& current,
                                         const BaselineOptions& options = {});

// Console lines: "baseline: 1 new failure, 2 fixed, 1 regression" (", 1 gone" when scenarios of
// the baseline are missing from this run, ", 1 skipped now" when some that ran then are skipped
// now), one line per change, then one per gone scenario ("  gone: NAME: fail in the baseline,
// not in this run").
std::string baseline_summary(const BaselineComparison& comparison);

// "fail in the baseline, not in this run": what the console and HTML say of a gone scenario.
std::string gone_message(const BaselineGone& gone);

}  // namespace faultline::report
