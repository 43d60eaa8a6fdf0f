#include "reports/latency_histogram.h"

#include <algorithm>

#include "reports/escape.h"
#include "reports/text_format.h"

namespace faultline::report {

namespace {

constexpr double kHistogramWidth = 760, kHistogramLeft = 8, kHistogramTop = 16, kPlotHeight = 90,
                 kLabelHeight = 18;

}  // namespace

std::string latency_histogram_svg(const std::vector<LatencyBucket>& buckets, const std::string& label,
                                  const std::string& what) {
  std::uint64_t most = 0;
  for (const auto& b : buckets) most = std::max(most, b.count);
  if (most == 0) return "";
  const double slot = (kHistogramWidth - 2 * kHistogramLeft) / static_cast<double>(buckets.size());
  const double bottom = kHistogramTop + kPlotHeight;
  std::string svg = "<svg class=\"histogram\" viewBox=\"0 0 " + svg_number(kHistogramWidth) + " " +
                    svg_number(bottom + kLabelHeight) + "\" role=\"img\" aria-label=\"" + html_escape(label) +
                    "\">";
  svg += "<line class=\"baseline\" x1=\"" + svg_number(kHistogramLeft) + "\" y1=\"" + svg_number(bottom) +
         "\" x2=\"" + svg_number(kHistogramWidth - kHistogramLeft) + "\" y2=\"" + svg_number(bottom) + "\"/>";
  for (std::size_t i = 0; i < buckets.size(); ++i) {
    const auto& b = buckets[i];
    const std::string name = bucket_label(b, i > 0 ? &buckets[i - 1] : nullptr);
    const double x = kHistogramLeft + slot * static_cast<double>(i);
    const double cx = x + slot / 2;
    if (b.count > 0) {
      // A bucket with anything in it stays visible next to one with thousands.
      const double h = std::max(2.0, kPlotHeight * static_cast<double>(b.count) / static_cast<double>(most));
      svg += "<rect class=\"bar\" data-bucket=\"" + html_escape(name) + "\" data-count=\"" +
             std::to_string(b.count) + "\" x=\"" + svg_number(x + 3) + "\" y=\"" + svg_number(bottom - h) +
             "\" width=\"" + svg_number(slot - 6) + "\" height=\"" + svg_number(h) + "\"><title>" +
             html_escape(name + ": " + std::to_string(b.count) + " " + what) + "</title></rect>";
      svg += "<text class=\"bar-count\" x=\"" + svg_number(cx) + "\" y=\"" + svg_number(bottom - h - 3) +
             "\" text-anchor=\"middle\">" + std::to_string(b.count) + "</text>";
    }
    svg += "<text class=\"bar-label\" x=\"" + svg_number(cx) + "\" y=\"" + svg_number(bottom + 13) +
           "\" text-anchor=\"middle\">" + html_escape(name) + "</text>";
  }
  return svg + "</svg>";
}

}  // namespace faultline::report
