#include "reports/timeline_chart.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>

#include "reports/escape.h"
#include "reports/text_format.h"

namespace faultline::report {
namespace {

constexpr const char* kPalette[] = {"#2563eb", "#d97706", "#059669", "#7c3aed",
                                    "#db2777", "#0891b2", "#65a30d"};
constexpr double kWidth = 960, kLeft = 104, kRight = 16, kTop = 22;
constexpr double kPlotWidth = kWidth - kLeft - kRight;
constexpr double kPanelGap = 10, kLaneHeight = 22, kAxisHeight = 26;

const char* color_for(std::size_t index) { return kPalette[index % std::size(kPalette)]; }

// The smallest of 1, 2, 2.5, 5 x 10^k not below v.
double nice_ceiling(double v) {
  if (v <= 0) return 1;
  const double magnitude = std::pow(10.0, std::floor(std::log10(v)));
  for (const double step : {1.0, 2.0, 2.5, 5.0, 10.0})
    if (step * magnitude >= v * (1 - 1e-9)) return step * magnitude;
  return 10 * magnitude;
}

// Byte axes end on a round number of KiB / MiB / GiB.
double nice_bytes_ceiling(double v) {
  double unit = 1;
  while (v / unit >= 1024 && unit < 1024.0 * 1024 * 1024 * 1024) unit *= 1024;
  return nice_ceiling(v / unit) * unit;
}

std::string time_label(double ms, double step_ms) {
  if (step_ms < 100) return format_fixed(ms, 0) + "ms";
  if (step_ms >= 1000 && std::fmod(ms, 1000) == 0) return format_fixed(ms / 1000, 0) + "s";
  return format_fixed(ms / 1000, 1) + "s";
}

std::string text(double x, double y, const std::string& content, const std::string& attrs = "") {
  return "<text x=\"" + svg_number(x) + "\" y=\"" + svg_number(y) + "\"" +
         (attrs.empty() ? "" : " " + attrs) + ">" + html_escape(content) + "</text>";
}

std::string title(const std::string& content) { return "<title>" + html_escape(content) + "</title>"; }

std::string ellipsize(const std::string& s, std::size_t max_chars) {
  if (s.size() <= max_chars) return s;
  std::size_t cut = max_chars - 1;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80)
    --cut;  // not inside a UTF-8 sequence
  return s.substr(0, cut) + "\u2026";
}

struct Series {
  std::size_t color = 0;
  std::string process;
  std::vector<std::pair<double, double>> points;  // (t_ms, value)
};

struct Panel {
  std::string name;
  double height = 0;
  std::function<std::string(double)> format_value;
  double max_value = 0;
  std::vector<Series> series;
};

class Chart {
 public:
  explicit Chart(double t_max) : t_max_(t_max > 0 ? t_max : 1) {}
  double x(double t_ms) const { return kLeft + std::clamp(t_ms / t_max_, 0.0, 1.0) * kPlotWidth; }
  double t_max() const { return t_max_; }

 private:
  double t_max_;
};

std::string draw_panel(const Chart& chart, const Panel& panel, double top) {
  const double bottom = top + panel.height;
  std::string svg = "<g class=\"panel\" data-panel=\"" + html_escape(panel.name) + "\">";
  svg += "<rect class=\"plot\" x=\"" + svg_number(kLeft) + "\" y=\"" + svg_number(top) + "\" width=\"" +
         svg_number(kPlotWidth) + "\" height=\"" + svg_number(panel.height) + "\"/>";
  const double mid = top + panel.height / 2;
  // The name sits at mid height, the scale at the top and bottom edges: they never collide.
  svg += text(8, mid + 4, panel.name, "class=\"panel-title\"");
  svg += "<line class=\"grid\" x1=\"" + svg_number(kLeft) + "\" y1=\"" + svg_number(mid) + "\" x2=\"" +
         svg_number(kLeft + kPlotWidth) + "\" y2=\"" + svg_number(mid) + "\"/>";
  svg += text(kLeft - 6, top + 10, panel.format_value(panel.max_value), "class=\"tick\" text-anchor=\"end\"");
  svg += text(kLeft - 6, bottom, panel.format_value(0), "class=\"tick\" text-anchor=\"end\"");
  for (const auto& s : panel.series) {
    if (s.points.empty()) continue;
    std::string points;
    for (const auto& [t, v] : s.points) {
      const double y = bottom - std::clamp(v / panel.max_value, 0.0, 1.0) * (panel.height - 4);
      points += svg_number(chart.x(t)) + "," + svg_number(y) + " ";
    }
    svg += "<polyline class=\"series\" data-process=\"" + html_escape(s.process) + "\" stroke=\"" +
           color_for(s.color) + "\" points=\"" + points + "\">" + title(s.process + " " + panel.name) +
           "</polyline>";
    if (s.points.size() == 1) {  // a lone sample draws no line
      const auto& [t, v] = s.points.front();
      const double y = bottom - std::clamp(v / panel.max_value, 0.0, 1.0) * (panel.height - 4);
      svg += "<circle cx=\"" + svg_number(chart.x(t)) + "\" cy=\"" + svg_number(y) + "\" r=\"2.5\" fill=\"" +
             color_for(s.color) + "\"/>";
    }
  }
  return svg + "</g>";
}

std::string short_event_label(const TimelineEvent& e) {
  if (e.event == "process.start") return "start";
  if (e.event == "process.ready") return "ready";
  if (e.event == "process.exit") return "exit";
  if (e.event == "stop.signal") return "stop";
  if (e.event == "stop.kill") return "kill";
  if (e.event == "timeout") return "timeout";
  return "";
}

bool is_alarming(const TimelineEvent& e) { return e.event == "timeout" || e.event == "stop.kill"; }

std::string event_tooltip(const TimelineEvent& e) {
  std::string t = e.event + " at " + format_seconds(e.t_ms);
  if (!e.process.empty()) t += " [" + e.process + "]";
  if (!e.detail.empty()) t += ": " + e.detail;
  return t;
}

// A proxy's figures in one line, for its lane's tooltip and label.
std::string proxy_figures(const ProxyResult& p) {
  return std::to_string(p.accepted) + " connections (" + std::to_string(p.closed) + " closed, " +
         std::to_string(p.reset) + " reset), " + format_bytes(p.bytes_upstream) + " up, " +
         format_bytes(p.bytes_downstream) + " down, first byte p50 " + format_latency(p.first_byte_p50_ms) +
         " p99 " + format_latency(p.first_byte_p99_ms) + " max " + format_latency(p.first_byte_max_ms);
}

// Two lanes under a proxy's lane (named by it), one bar per slot of its series: the most connections open at
// once (linear, up to the run's peak), and the slowest first byte (log scale, 0.1 ms up to the
// run's slowest), so a latency fault shows as a step where it began and ended.
std::string proxy_series_lanes(const Chart& chart, const ProxyResult& p, double top) {
  constexpr double kBarSpace = kLaneHeight - 6;
  std::uint64_t peak = 0;
  double slowest = 0;
  for (const auto& slot : p.series) {
    peak = std::max(peak, slot.peak_open);
    slowest = std::max(slowest, slot.first_byte_max_ms);
  }
  const auto log_height = [&](double ms) {
    constexpr double kFloorMs = 0.1;
    if (ms <= kFloorMs || slowest <= kFloorMs) return 1.0;
    return std::max(1.0, kBarSpace * std::log10(ms / kFloorMs) / std::log10(slowest / kFloorMs));
  };
  const auto span = [&](const ProxySlot& slot) {
    return p.name + " " + format_seconds(slot.t_ms) + " \u2013 " +
           format_seconds(slot.t_ms + p.series_slot_ms) + ": ";
  };
  std::string svg;
  const double open_bottom = top + kLaneHeight - 3, latency_bottom = top + 2 * kLaneHeight - 3;
  svg += "<g class=\"proxy-series\" data-proxy=\"" + html_escape(p.name) + "\">";
  svg += text(16, top + kLaneHeight / 2 + 4, "connections", "class=\"probe-name\"");
  svg += text(16, top + 1.5 * kLaneHeight + 4, "first byte", "class=\"probe-name\"");
  for (const auto& slot : p.series) {
    const double x = chart.x(slot.t_ms);
    const double width = std::max(1.0, chart.x(slot.t_ms + p.series_slot_ms) - x - 0.5);
    if (slot.peak_open > 0 || slot.accepted > 0) {
      const double h =
          std::max(1.0, kBarSpace * static_cast<double>(slot.peak_open) / static_cast<double>(peak));
      svg += "<rect class=\"proxy-open\" data-t=\"" + svg_number(slot.t_ms) + "\" data-open=\"" +
             std::to_string(slot.peak_open) + "\" x=\"" + svg_number(x) + "\" y=\"" +
             svg_number(open_bottom - h) + "\" width=\"" + svg_number(width) + "\" height=\"" +
             svg_number(h) + "\">" +
             title(span(slot) + std::to_string(slot.peak_open) + " open at most, " +
                   std::to_string(slot.accepted) + " accepted, " + std::to_string(slot.closed) + " closed") +
             "</rect>";
    }
    if (slot.first_bytes > 0) {
      const double h = log_height(slot.first_byte_max_ms);
      svg += "<rect class=\"proxy-first-byte\" data-t=\"" + svg_number(slot.t_ms) + "\" data-max-ms=\"" +
             svg_number(slot.first_byte_max_ms) + "\" x=\"" + svg_number(x) + "\" y=\"" +
             svg_number(latency_bottom - h) + "\" width=\"" + svg_number(width) + "\" height=\"" +
             svg_number(h) + "\">" +
             title(span(slot) + std::to_string(slot.first_bytes) + " first bytes, slowest " +
                   format_latency(slot.first_byte_max_ms) + ", mean " +
                   format_latency(slot.first_byte_mean_ms)) +
             "</rect>";
    }
  }
  svg += text(kLeft + kPlotWidth - 4, top + 9, "peak " + std::to_string(peak) + " open",
              "class=\"lane-note\" text-anchor=\"end\"");
  svg +=
      text(kLeft + kPlotWidth - 4, top + kLaneHeight + 9,
           "slowest " + format_latency(slowest) + " (log scale)", "class=\"lane-note\" text-anchor=\"end\"");
  return svg + "</g>";
}

}  // namespace

std::vector<SyscallLane> syscall_lanes(const ScenarioResult& scenario) {
  std::vector<SyscallLane> lanes;
  const auto lane_of = [&](const std::string& inject, const std::string& process) -> SyscallLane& {
    for (auto& l : lanes)
      if (l.inject == inject && l.process == process) return l;
    lanes.push_back({inject, process, 0, 0, 0, {}, {}});
    return lanes.back();
  };
  for (const auto& c : scenario.syscall_faults) {
    auto& lane = lane_of(c.inject, c.process);
    lane.matched = c.matched;
    lane.hit = c.hit;
    lane.hit_while_stopping = c.hit_while_stopping;
  }
  for (const auto& e : scenario.timeline) {
    if (e.event == "syscall.fail") lane_of(e.inject, e.process).failures.push_back(&e);
    if (e.event == "syscall.elided") lane_of(e.inject, e.process).elided.push_back(&e);
  }
  return lanes;
}

std::vector<ProxyLane> proxy_lanes(const ScenarioResult& scenario, double t_end) {
  std::vector<ProxyLane> lanes;
  for (const auto& p : scenario.proxies) {
    ProxyLane lane{&p, 0, t_end};
    // proxy.listen reads "db 127.0.0.1:7000 -> 127.0.0.1:5432", proxy.stop "db".
    for (const auto& e : scenario.timeline) {
      if (e.event == "proxy.listen" && e.detail.rfind(p.name + " ", 0) == 0) lane.listen_ms = e.t_ms;
      if (e.event == "proxy.stop" && e.detail == p.name) lane.stop_ms = e.t_ms;
    }
    lanes.push_back(lane);
  }
  return lanes;
}

std::vector<FaultWindow> fault_windows(const ScenarioResult& scenario) {
  std::vector<FaultWindow> windows;
  std::map<std::string, std::size_t> pending;  // inject name -> index of its unreverted window
  for (const auto& e : scenario.timeline) {
    if (e.event == "inject.apply") {
      if (auto it = pending.find(e.inject); it != pending.end()) {
        auto& previous = windows[it->second];
        previous.end_ms = previous.start_ms;  // applied again before any revert: it was instantaneous
        previous.open = false;
      }
      pending[e.inject] = windows.size();
      windows.push_back({e.inject, e.detail, e.t_ms, e.t_ms, true});
    } else if (e.event == "inject.revert") {
      if (auto it = pending.find(e.inject); it != pending.end()) {
        windows[it->second].end_ms = e.t_ms;
        windows[it->second].open = false;
        pending.erase(it);
      }
    }
  }
  return windows;
}

std::vector<RatePoint> rates(const std::vector<Sample>& samples) {
  std::vector<RatePoint> out;
  for (std::size_t i = 1; i < samples.size(); ++i) {
    const auto& a = samples[i - 1];
    const auto& b = samples[i];
    const double dt_ms = b.t_ms - a.t_ms;
    if (dt_ms <= 0) continue;
    // Counters only grow; a smaller value means a new cgroup (a restart): no rate for that interval.
    const auto delta = [](std::uint64_t from, std::uint64_t to) {
      return to >= from ? double(to - from) : 0.0;
    };
    out.push_back({b.t_ms, delta(a.cpu_usage_usec, b.cpu_usage_usec) / (dt_ms * 10.0),
                   delta(a.throttled_usec, b.throttled_usec) / (dt_ms * 10.0)});
  }
  return out;
}

std::vector<std::string> charted_processes(const ScenarioResult& scenario) {
  std::vector<std::string> names;
  for (const auto& p : scenario.processes) names.push_back(p.name);
  for (const auto& s : scenario.samples)
    if (std::find(names.begin(), names.end(), s.process) == names.end()) names.push_back(s.process);
  return names;
}

std::string timeline_chart_html(const ScenarioResult& scenario) {
  bool has_attempts = false;
  for (const auto& p : scenario.probes) has_attempts = has_attempts || !p.attempts.empty();
  if (scenario.samples.empty() && scenario.timeline.empty() && !has_attempts && scenario.proxies.empty() &&
      scenario.syscall_faults.empty())
    return "";

  double t_max = scenario.duration_ms;
  for (const auto& s : scenario.samples) t_max = std::max(t_max, s.t_ms);
  for (const auto& e : scenario.timeline) t_max = std::max(t_max, e.t_ms);
  for (const auto& p : scenario.probes)
    for (const auto& a : p.attempts) t_max = std::max(t_max, a.t_ms);
  const Chart chart(t_max);

  const auto processes = charted_processes(scenario);
  const auto color_index = [&](const std::string& process) -> std::size_t {
    const auto it = std::find(processes.begin(), processes.end(), process);
    return static_cast<std::size_t>(it - processes.begin());
  };

  std::vector<Panel> panels;
  if (!scenario.samples.empty()) {
    Panel memory{"Memory", 110, [](double v) { return format_bytes(static_cast<std::uint64_t>(v)); }, 0, {}};
    Panel cpu{"CPU", 80, [](double v) { return format_fixed(v, 0) + "%"; }, 0, {}};
    Panel throttled{"Throttled", 80, [](double v) { return format_fixed(v, v < 10 ? 1 : 0) + "%"; }, 0, {}};
    for (const auto& process : processes) {
      std::vector<Sample> own;
      for (const auto& s : scenario.samples)
        if (s.process == process) own.push_back(s);
      if (own.empty()) continue;
      std::stable_sort(own.begin(), own.end(),
                       [](const Sample& a, const Sample& b) { return a.t_ms < b.t_ms; });
      Series mem{color_index(process), process, {}}, c{mem.color, process, {}}, th{mem.color, process, {}};
      for (const auto& s : own) {
        mem.points.emplace_back(s.t_ms, double(s.memory_bytes));
        memory.max_value = std::max(memory.max_value, double(s.memory_bytes));
      }
      for (const auto& r : rates(own)) {
        c.points.emplace_back(r.t_ms, r.cpu_percent);
        th.points.emplace_back(r.t_ms, r.throttled_percent);
        cpu.max_value = std::max(cpu.max_value, r.cpu_percent);
        throttled.max_value = std::max(throttled.max_value, r.throttled_percent);
      }
      memory.series.push_back(std::move(mem));
      cpu.series.push_back(std::move(c));
      throttled.series.push_back(std::move(th));
    }
    memory.max_value = nice_bytes_ceiling(std::max(memory.max_value, 1024.0 * 1024));
    cpu.max_value = nice_ceiling(std::max(cpu.max_value, 100.0));  // one full CPU at least
    throttled.max_value = nice_ceiling(std::max(throttled.max_value, 10.0));
    panels = {std::move(memory), std::move(cpu), std::move(throttled)};
  }

  std::vector<const TimelineEvent*> events;
  for (const auto& e : scenario.timeline)
    if (!short_event_label(e).empty()) events.push_back(&e);

  // Vertical layout: panels, the events lane, one lane per probe, the time axis.
  double y = kTop;
  std::vector<double> panel_tops;
  for (const auto& p : panels) {
    panel_tops.push_back(y);
    y += p.height + kPanelGap;
  }
  const double events_top = y;
  if (!events.empty()) y += kLaneHeight + 8;
  const auto syscalls = syscall_lanes(scenario);
  const double syscalls_top = y;
  y += kLaneHeight * static_cast<double>(syscalls.size());
  const auto proxies = proxy_lanes(scenario, t_max);
  const double proxies_top = y;
  for (const auto& l : proxies) y += kLaneHeight * (l.proxy->series.empty() ? 1 : 3);
  const double probes_top = y;
  for (const auto& p : scenario.probes)
    if (!p.attempts.empty()) y += kLaneHeight;
  const double content_bottom = y;
  const double height = content_bottom + kAxisHeight;

  std::string svg = "<svg class=\"timeline\" viewBox=\"0 0 " + svg_number(kWidth) + " " + svg_number(height) +
                    "\" role=\"img\" aria-label=\"timeline of " + html_escape(scenario.name) + "\">";

  // Fault windows behind everything else.
  for (const auto& w : fault_windows(scenario)) {
    const double end = w.open ? chart.t_max() : w.end_ms;
    const std::string tip =
        w.inject + ": " + format_seconds(w.start_ms) +
        (w.end_ms > w.start_ms || w.open ? " \u2013 " + (w.open ? "end" : format_seconds(end)) : "") +
        (w.detail.empty() ? "" : " (" + w.detail + ")");
    if (end > w.start_ms) {
      svg += "<rect class=\"fault-window\" data-inject=\"" + html_escape(w.inject) + "\" x=\"" +
             svg_number(chart.x(w.start_ms)) + "\" y=\"" + svg_number(kTop - 4) + "\" width=\"" +
             svg_number(std::max(1.0, chart.x(end) - chart.x(w.start_ms))) + "\" height=\"" +
             svg_number(content_bottom - kTop + 4) + "\">" + title(tip) + "</rect>";
    } else {
      svg += "<line class=\"fault-instant\" data-inject=\"" + html_escape(w.inject) + "\" x1=\"" +
             svg_number(chart.x(w.start_ms)) + "\" y1=\"" + svg_number(kTop - 4) + "\" x2=\"" +
             svg_number(chart.x(w.start_ms)) + "\" y2=\"" + svg_number(content_bottom) + "\">" + title(tip) +
             "</line>";
    }
    svg += text(chart.x(w.start_ms) + 3, kTop - 8, ellipsize(w.inject.empty() ? "inject" : w.inject, 24),
                "class=\"fault-label\"");
  }

  for (std::size_t i = 0; i < panels.size(); ++i) svg += draw_panel(chart, panels[i], panel_tops[i]);

  if (!events.empty()) {
    svg += "<g class=\"events\">" + text(8, events_top + 15, "Events", "class=\"panel-title\"");
    svg += "<line class=\"lane\" x1=\"" + svg_number(kLeft) + "\" y1=\"" +
           svg_number(events_top + kLaneHeight) + "\" x2=\"" + svg_number(kLeft + kPlotWidth) + "\" y2=\"" +
           svg_number(events_top + kLaneHeight) + "\"/>";
    double label_free_from = 0;
    for (const auto* e : events) {
      const double ex = chart.x(e->t_ms);
      const std::string stroke =
          is_alarming(*e) ? "#dc2626" : (e->process.empty() ? "#6b7280" : color_for(color_index(e->process)));
      if (is_alarming(*e))  // a timeout or a forced kill is worth a line through every panel
        svg += "<line class=\"alarm\" x1=\"" + svg_number(ex) + "\" y1=\"" + svg_number(kTop) + "\" x2=\"" +
               svg_number(ex) + "\" y2=\"" + svg_number(events_top + kLaneHeight) + "\"/>";
      svg += "<line class=\"event\" data-event=\"" + html_escape(e->event) + "\" stroke=\"" + stroke +
             "\" x1=\"" + svg_number(ex) + "\" y1=\"" + svg_number(events_top + kLaneHeight - 9) +
             "\" x2=\"" + svg_number(ex) + "\" y2=\"" + svg_number(events_top + kLaneHeight) + "\">" +
             title(event_tooltip(*e)) + "</line>";
      const std::string label = short_event_label(*e);
      if (ex >= label_free_from) {
        svg += text(ex + 2, events_top + kLaneHeight - 11, label,
                    "class=\"event-label\" fill=\"" + stroke + "\"");
        label_free_from = ex + 6.5 * static_cast<double>(label.size()) + 6;
      }
    }
    svg += "</g>";
  }

  // One lane per syscall fault: a mark per failed call listed, a band where calls were left out.
  double lane = syscalls_top;
  for (const auto& l : syscalls) {
    const double cy = lane + kLaneHeight / 2;
    const std::string counts = "hit " + std::to_string(l.hit) + " of " + std::to_string(l.matched);
    svg += "<g class=\"syscall-lane\" data-inject=\"" + html_escape(l.inject) + "\">";
    svg += text(8, cy + 4, ellipsize(l.inject, 16), "class=\"probe-name\"");
    svg += "<line class=\"lane\" x1=\"" + svg_number(kLeft) + "\" y1=\"" + svg_number(cy) + "\" x2=\"" +
           svg_number(kLeft + kPlotWidth) + "\" y2=\"" + svg_number(cy) + "\"/>";
    for (const auto* note : l.elided) {
      // From the last call listed before the note on the timeline to the note, which stands at
      // the first call listed after the gap (pointers into one timeline compare in its order).
      double from = note->t_ms;
      for (const auto* f : l.failures)
        if (f < note) from = f->t_ms;
      svg += "<rect class=\"syscall-elided\" x=\"" + svg_number(chart.x(from)) + "\" y=\"" +
             svg_number(cy - 5) + "\" width=\"" +
             svg_number(std::max(2.0, chart.x(note->t_ms) - chart.x(from))) + "\" height=\"10\">" +
             title(l.inject + ": " + note->detail) + "</rect>";
    }
    for (const auto* f : l.failures)
      svg += "<line class=\"syscall-fail\" x1=\"" + svg_number(chart.x(f->t_ms)) + "\" y1=\"" +
             svg_number(cy - 6) + "\" x2=\"" + svg_number(chart.x(f->t_ms)) + "\" y2=\"" +
             svg_number(cy + 6) + "\">" + title(event_tooltip(*f)) + "</line>";
    svg += text(kLeft + kPlotWidth - 4, cy - 3, counts, "class=\"lane-note\" text-anchor=\"end\"");
    svg += "</g>";
    lane += kLaneHeight;
  }

  // One lane per proxy: listening from proxy.listen to proxy.stop, its figures on the bar.
  lane = proxies_top;
  for (const auto& l : proxies) {
    const double cy = lane + kLaneHeight / 2;
    const std::string figures = proxy_figures(*l.proxy);
    svg += "<g class=\"proxy-lane\" data-proxy=\"" + html_escape(l.proxy->name) + "\">";
    svg += text(8, cy + 4, ellipsize("proxy " + l.proxy->name, 16), "class=\"probe-name\"");
    svg += "<rect class=\"proxy-up\" x=\"" + svg_number(chart.x(l.listen_ms)) + "\" y=\"" +
           svg_number(cy - 5) + "\" width=\"" +
           svg_number(std::max(2.0, chart.x(l.stop_ms) - chart.x(l.listen_ms))) + "\" height=\"10\">" +
           title(l.proxy->name + ": " + figures) + "</rect>";
    svg += text(chart.x(l.listen_ms) + 4, cy - 7,
                std::to_string(l.proxy->accepted) + " conn, " + std::to_string(l.proxy->reset) +
                    " reset, first byte p50 " + format_latency(l.proxy->first_byte_p50_ms) + " p99 " +
                    format_latency(l.proxy->first_byte_p99_ms),
                "class=\"lane-note\"");
    svg += "</g>";
    lane += kLaneHeight;
    if (!l.proxy->series.empty()) {
      svg += proxy_series_lanes(chart, *l.proxy, lane);
      lane += 2 * kLaneHeight;
    }
  }

  lane = probes_top;
  for (const auto& p : scenario.probes) {
    if (p.attempts.empty()) continue;
    const double cy = lane + kLaneHeight / 2;
    svg += "<g class=\"probe\" data-probe=\"" + html_escape(p.name) + "\">";
    svg += text(8, cy + 4, ellipsize(p.name, 16), "class=\"probe-name\"");
    svg += "<line class=\"lane\" x1=\"" + svg_number(kLeft) + "\" y1=\"" + svg_number(cy) + "\" x2=\"" +
           svg_number(kLeft + kPlotWidth) + "\" y2=\"" + svg_number(cy) + "\"/>";
    for (const auto& a : p.attempts) {
      std::string tip = p.name + " at " + format_seconds(a.t_ms) + ": " + (a.ok ? "ok" : "FAILED");
      if (a.status) tip += ", status " + std::to_string(*a.status);
      tip += ", " + format_fixed(a.latency_ms, 1) + " ms";
      if (a.error) tip += ", " + *a.error;
      svg += "<circle class=\"" + std::string(a.ok ? "attempt-ok" : "attempt-failed") + "\" cx=\"" +
             svg_number(chart.x(a.t_ms)) + "\" cy=\"" + svg_number(cy) + "\" r=\"4\">" + title(tip) +
             "</circle>";
    }
    svg += "</g>";
    lane += kLaneHeight;
  }

  // Time axis.
  double step = 1;
  for (const double candidate :
       {1.0,    2.0,     5.0,     10.0,    20.0,    50.0,     100.0,    200.0,    500.0,     1000.0,   2000.0,
        5000.0, 10000.0, 15000.0, 30000.0, 60000.0, 120000.0, 300000.0, 600000.0, 1800000.0, 3600000.0}) {
    step = candidate;
    if (chart.t_max() / candidate <= 10) break;
  }
  svg += "<g class=\"axis\"><line x1=\"" + svg_number(kLeft) + "\" y1=\"" + svg_number(content_bottom) +
         "\" x2=\"" + svg_number(kLeft + kPlotWidth) + "\" y2=\"" + svg_number(content_bottom) + "\"/>";
  for (double t = 0; t <= chart.t_max() + 1e-6; t += step) {
    svg += "<line x1=\"" + svg_number(chart.x(t)) + "\" y1=\"" + svg_number(content_bottom) + "\" x2=\"" +
           svg_number(chart.x(t)) + "\" y2=\"" + svg_number(content_bottom + 4) + "\"/>";
    svg +=
        text(chart.x(t), content_bottom + 16, time_label(t, step), "class=\"tick\" text-anchor=\"middle\"");
  }
  svg += "</g></svg>";

  // The legend is HTML so it wraps with the page.
  std::string legend = "<div class=\"legend\">";
  for (std::size_t i = 0; i < processes.size(); ++i)
    legend += "<span><i class=\"swatch\" style=\"background:" + std::string(color_for(i)) + "\"></i>" +
              html_escape(processes[i]) + "</span>";
  if (!fault_windows(scenario).empty()) legend += "<span><i class=\"swatch fault\"></i>fault window</span>";
  if (!syscalls.empty())
    legend +=
        "<span><i class=\"swatch syscall\"></i>failed call</span>"
        "<span><i class=\"swatch elided\"></i>calls hit, not listed</span>";
  if (!proxies.empty()) legend += "<span><i class=\"swatch proxy\"></i>proxy listening</span>";
  if (std::any_of(proxies.begin(), proxies.end(),
                  [](const ProxyLane& l) { return !l.proxy->series.empty(); }))
    legend +=
        "<span><i class=\"swatch proxy-open\"></i>connections open</span>"
        "<span><i class=\"swatch proxy-first-byte\"></i>slowest first byte</span>";
  if (has_attempts)
    legend +=
        "<span><i class=\"dot ok\"></i>probe ok</span><span><i class=\"dot failed\"></i>probe failed</span>";
  if (!scenario.samples.empty())
    legend += "<span class=\"note\">CPU and throttled time in % of one CPU, per sampling interval</span>";
  legend += "</div>";
  return "<figure class=\"chart\">" + svg + legend + "</figure>";
}

}  // namespace faultline::report
