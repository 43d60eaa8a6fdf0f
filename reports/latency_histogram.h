// A latency histogram (fixed log-scale buckets) as a small inline SVG bar chart, one bar per
// bucket, so the shape of a proxy's time to first byte shows at a glance.
#pragma once

#include <string>
#include <vector>

#include "reports/model.h"

namespace faultline::report {

// An <svg class="histogram"> with one bar per bucket (its count above it, its bound below), or
// an empty string when no bucket counts anything. `what` names the counted things in tooltips.
std::string latency_histogram_svg(const std::vector<LatencyBucket>& buckets, const std::string& label,
                                  const std::string& what);

}  // namespace faultline::report
