#include "reports/json_writer.h"

#include <nlohmann/json.hpp>

#include "reports/atomic_file.h"

namespace faultline::report {
namespace {

using nlohmann::json;

template <typename T>
json optional_value(const std::optional<T>& v) {
  return v ? json(*v) : json(nullptr);
}

// A counter the kernel did not keep for the process's cgroup is null, never a 0 that a trend
// report or another tool would read as "no OOM kill".
json counter(std::uint64_t value, bool known) { return known ? json(value) : json(nullptr); }

json process_json(const ProcessResult& p) {
  json j = {{"name", p.name},
            {"pid", p.pid},
            {"command", p.command},
            {"outcome", p.outcome},
            {"exit_code", optional_value(p.exit_code)},
            {"signal", optional_value(p.signal)},
            {"graceful", optional_value(p.graceful)},
            {"oom_kills", counter(p.oom_kills, p.oom_kills_known)},
            {"peak_memory_bytes", counter(p.peak_memory_bytes, p.peak_memory_known)},
            {"cpu_usage_usec", p.cpu_usage_usec},
            {"throttled_usec", p.throttled_usec},
            {"cpu_periods", p.cpu_periods},
            {"throttled_periods", p.throttled_periods},
            {"pids_max_events", counter(p.pids_max_events, p.pids_max_events_known)},
            {"runtime_ms", p.runtime_ms},
            {"orphans", p.orphans},
            {"stdout_tail", p.stdout_tail},
            {"stderr_tail", p.stderr_tail},
            {"stdout_bytes", p.output_captured ? json(p.stdout_bytes) : json(nullptr)},
            {"stderr_bytes", p.output_captured ? json(p.stderr_bytes) : json(nullptr)}};
  if (!p.start_error.empty()) j["start_error"] = p.start_error;
  return j;
}

json scenario_json(const ScenarioResult& s) {
  json failures = json::array();
  for (const auto& f : s.failures) {
    json fj = {{"check", f.check},
               {"process", f.process},
               {"expected", f.expected},
               {"actual", f.actual},
               {"message", f.message}};
    if (f.line) fj["line"] = f.line;
    if (!f.consequences.empty()) fj["consequences"] = f.consequences;
    failures.push_back(std::move(fj));
  }
  json processes = json::array();
  for (const auto& p : s.processes) processes.push_back(process_json(p));
  json timeline = json::array();
  for (const auto& e : s.timeline) {
    json ej = {{"t_ms", e.t_ms}, {"event", e.event}};
    if (!e.process.empty()) ej["process"] = e.process;
    if (!e.inject.empty()) ej["inject"] = e.inject;
    if (!e.detail.empty()) ej["detail"] = e.detail;
    if (e.scheduled_ms) ej["scheduled_ms"] = *e.scheduled_ms;
    if (e.requested_ms) ej["requested_ms"] = *e.requested_ms;
    if (e.effective_ms) ej["effective_ms"] = *e.effective_ms;
    timeline.push_back(std::move(ej));
  }
  json samples = json::array();
  for (const auto& x : s.samples)
    samples.push_back({{"t_ms", x.t_ms},
                       {"process", x.process},
                       {"memory_bytes", x.memory_bytes},
                       {"cpu_usage_usec", x.cpu_usage_usec},
                       {"throttled_usec", x.throttled_usec},
                       {"pids", x.pids}});
  json probes = json::array();
  for (const auto& p : s.probes) {
    json attempts = json::array();
    for (const auto& a : p.attempts)
      attempts.push_back({{"t_ms", a.t_ms},
                          {"ok", a.ok},
                          {"latency_ms", a.latency_ms},
                          {"status", optional_value(a.status)},
                          {"error", optional_value(a.error)}});
    probes.push_back(
        {{"name", p.name}, {"passed", p.passed}, {"pass_ratio", p.pass_ratio}, {"attempts", attempts}});
  }
  json j = {{"name", s.name},
            {"file", s.file},
            {"tags", s.tags},
            {"result", to_string(s.verdict)},
            {"duration_ms", s.duration_ms},
            {"reason", s.reason},
            {"failures", failures},
            {"processes", processes},
            {"timeline", timeline},
            {"samples", samples},
            {"probes", probes},
            {"diagnostics", s.diagnostics}};
  if (!s.name_as_written.empty()) j["name_as_written"] = s.name_as_written;
  if (!s.syscall_faults.empty()) {
    json counts = json::array();
    for (const auto& c : s.syscall_faults) {
      json count = {{"inject", c.inject}, {"process", c.process}, {"matched", c.matched}, {"hit", c.hit}};
      if (c.hit_while_stopping > 0) count["hit_while_stopping"] = c.hit_while_stopping;
      counts.push_back(std::move(count));
    }
    j["syscall_faults"] = std::move(counts);
  }
  if (!s.proxies.empty()) {
    json proxies = json::array();
    for (const auto& p : s.proxies) {
      json histogram = json::array();
      for (const auto& b : p.first_byte_histogram)
        histogram.push_back({{"lt_ms", optional_value(b.lt_ms)}, {"count", b.count}});
      json series = json::array();
      for (const auto& slot : p.series)
        series.push_back({{"t_ms", slot.t_ms},
                          {"accepted", slot.accepted},
                          {"closed", slot.closed},
                          {"peak_open", slot.peak_open},
                          {"first_bytes", slot.first_bytes},
                          {"first_byte_max_ms", slot.first_byte_max_ms},
                          {"first_byte_mean_ms", slot.first_byte_mean_ms}});
      proxies.push_back({{"name", p.name},
                         {"listen", p.listen},
                         {"upstream", p.upstream},
                         {"accepted", p.accepted},
                         {"closed", p.closed},
                         {"reset", p.reset},
                         {"bytes_upstream", p.bytes_upstream},
                         {"bytes_downstream", p.bytes_downstream},
                         {"first_byte_p50_ms", p.first_byte_p50_ms},
                         {"first_byte_p99_ms", p.first_byte_p99_ms},
                         {"first_byte_max_ms", p.first_byte_max_ms},
                         {"first_byte_histogram", histogram},
                         {"toxics_touched", p.toxics_touched},
                         {"series_slot_ms", p.series_slot_ms},
                         {"series", series}});
      if (p.refused) proxies.back()["refused"] = *p.refused;
      if (!p.refused_unseen.empty()) proxies.back()["refused_unseen"] = p.refused_unseen;
      if (p.own_connections) proxies.back()["own_connections"] = *p.own_connections;
    }
    j["proxies"] = std::move(proxies);
  }
  if (s.reason_line) j["reason_line"] = s.reason_line;
  if (s.interrupted) j["interrupted"] = true;
  if (s.repeat) j["repeat"] = s.repeat;
  return j;
}

}  // namespace

std::string to_json(const RunReport& report) {
  const Summary sum = report.summary();
  json scenarios = json::array();
  for (const auto& s : report.scenarios) scenarios.push_back(scenario_json(s));
  json j = {
      {"format", "faultline-report/1"},
      {"tool", {{"version", report.tool_version}}},
      {"host", {{"cgroup", report.host.cgroup}, {"kernel", report.host.kernel}, {"cpus", report.host.cpus}}},
      {"seed", optional_value(report.seed)},
      {"started", report.started},
      {"duration_ms", report.duration_ms},
      {"interrupted", report.interrupted},
      {"summary",
       {{"passed", sum.passed}, {"failed", sum.failed}, {"errors", sum.errors}, {"skipped", sum.skipped}}},
      {"scenarios", scenarios}};
  if (report.shard) {
    j["shard"] = {{"index", report.shard->index}, {"count", report.shard->count}};
    if (!report.shard->selection.empty()) j["shard"]["selection"] = report.shard->selection;
    if (!report.shard->run_id.empty()) j["shard"]["run_id"] = report.shard->run_id;
  }
  if (const auto flaky = report.flaky(); !flaky.empty()) j["flaky"] = flaky;
  if (report.baseline) {
    json changes = json::array();
    for (const auto& c : report.baseline->changes)
      changes.push_back({{"kind", c.kind},
                         {"scenario", c.scenario},
                         {"process", c.process},
                         {"metric", c.metric},
                         {"before", c.before},
                         {"after", c.after},
                         {"message", c.message}});
    // Scenarios of the baseline missing from this run: listed, never counted as failures.
    json gone = json::array();
    for (const auto& g : report.baseline->gone)
      gone.push_back({{"scenario", g.scenario}, {"result", to_string(g.verdict)}});
    j["baseline"] = {{"file", report.baseline->file},
                     {"new_failures", report.baseline->new_failures},
                     {"fixed", report.baseline->fixed},
                     {"regressions", report.baseline->regressions},
                     {"changes", changes},
                     {"gone", gone}};
  }
  // Target output is arbitrary bytes: replace invalid UTF-8 rather than failing the report.
  return j.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

void write_json(const RunReport& report, const std::filesystem::path& path) {
  write_file_atomically(path, to_json(report));
}

}  // namespace faultline::report
