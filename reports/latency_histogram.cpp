#include "reports/latency_histogram.h"

#include <algorithm>

#include "reports/escape.h"
#include "reports/text_format.h"

namespace faultline::report {

namespace {

constexpr double kWidth = 760, kLeft = 8, kTop = 16, kPlotHeight = 90, kLabelHeight = 18;

std::string num(double v) { return format_fixed(v, 1); }

}  // namespace

std::string latency_histogram_svg(const std::vector<LatencyBucket>& buckets, const std::string& label,
                                  const std::string& what) {
  std::uint64_t most = 0;
  for (const auto& b : buckets) most = std::max(most, b.count);
  if (most == 0) return "";
  const double slot = (kWidth - 2 * kLeft) / static_cast<double>(buckets.size());
  const double bottom = kTop + kPlotHeight;
  std::string svg = "<svg class=\"histogram\" viewBox=\"0 0 " + num(kWidth) + " " +
                    num(bottom + kLabelHeight) + "\" role=\"img\" aria-label=\"" + html_escape(label) + "\">";
  svg += "<line class=\"baseline\" x1=\"" + num(kLeft) + "\" y1=\"" + num(bottom) + "\" x2=\"" +
         num(kWidth - kLeft) + "\" y2=\"" + num(bottom) + "\"/>";
  for (std::size_t i = 0; i < buckets.size(); ++i) {
    const auto& b = buckets[i];
    const std::string name = bucket_label(b, i > 0 ? &buckets[i - 1] : nullptr);
    const double x = kLeft + slot * static_cast<double>(i);
    const double cx = x + slot / 2;
    if (b.count > 0) {
      // A bucket with anything in it stays visible next to one with thousands.
      const double h = std::max(2.0, kPlotHeight * static_cast<double>(b.count) / static_cast<double>(most));
      svg += "<rect class=\"bar\" data-bucket=\"" + html_escape(name) + "\" data-count=\"" +
             std::to_string(b.count) + "\" x=\"" + num(x + 3) + "\" y=\"" + num(bottom - h) + "\" width=\"" +
             num(slot - 6) + "\" height=\"" + num(h) + "\"><title>" +
             html_escape(name + ": " + std::to_string(b.count) + " " + what) + "</title></rect>";
      svg += "<text class=\"bar-count\" x=\"" + num(cx) + "\" y=\"" + num(bottom - h - 3) +
             "\" text-anchor=\"middle\">" + std::to_string(b.count) + "</text>";
    }
    svg += "<text class=\"bar-label\" x=\"" + num(cx) + "\" y=\"" + num(bottom + 13) +
           "\" text-anchor=\"middle\">" + html_escape(name) + "</text>";
  }
  return svg + "</svg>";
}

}  // namespace faultline::report
