#include "reports/json_reader.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>
#include <utility>

#include "common/error.h"

namespace faultline::report {
namespace {

using nlohmann::json;

constexpr std::string_view kFormat = "faultline-report/1";

// A JSON value with the path that leads to it, so every error says where the bad value is.
class Node {
 public:
  Node(const json& value, std::string path) : value_(value), path_(std::move(path)) {}

  const json& value() const { return value_; }
  const std::string& path() const { return path_; }

  [[noreturn]] void fail(const std::string& what) const {
    throw Error(path_.empty() ? what : path_ + ": " + what);
  }

  bool has(const char* key) const { return value_.contains(key) && !value_.at(key).is_null(); }
  Node at(const char* key) const {
    if (!value_.contains(key)) fail("missing key \"" + std::string(key) + "\"");
    return Node(value_.at(key), child_path(key));
  }
  std::vector<Node> items() const {
    if (!value_.is_array()) fail("expected an array, got " + type());
    std::vector<Node> out;
    for (std::size_t i = 0; i < value_.size(); ++i)
      out.emplace_back(value_.at(i), path_ + "[" + std::to_string(i) + "]");
    return out;
  }

  std::string str() const {
    if (!value_.is_string()) fail("expected a string, got " + type());
    return value_.get<std::string>();
  }
  double number() const {
    if (!value_.is_number()) fail("expected a number, got " + type());
    return value_.get<double>();
  }
  std::int64_t integer() const {
    if (!value_.is_number_integer()) fail("expected an integer, got " + type());
    return value_.get<std::int64_t>();
  }
  std::uint64_t count() const {
    if (!value_.is_number_unsigned() && !(value_.is_number_integer() && value_.get<std::int64_t>() >= 0))
      fail("expected a non-negative integer, got " + type());
    return value_.get<std::uint64_t>();
  }
  // An integer the model keeps in a narrower type: refused out of its range, never cut to fit
  // (`"repeat": 4294967297` would read as repeat 1 and pair with another run).
  template <typename T>
  T integer_as() const {
    return integer_from<T>(std::numeric_limits<T>::min());
  }
  // The same from 0: a count.
  template <typename T>
  T count_as() const {
    return integer_from<T>(0);
  }
  bool boolean() const {
    if (!value_.is_boolean()) fail("expected true or false, got " + type());
    return value_.get<bool>();
  }

  // Optional members: absent or null gives the default.
  std::string str_or(const char* key, std::string fallback = "") const {
    return has(key) ? at(key).str() : fallback;
  }
  double number_or(const char* key, double fallback = 0) const {
    return has(key) ? at(key).number() : fallback;
  }
  std::uint64_t count_or(const char* key, std::uint64_t fallback = 0) const {
    return has(key) ? at(key).count() : fallback;
  }
  bool boolean_or(const char* key, bool fallback = false) const {
    return has(key) ? at(key).boolean() : fallback;
  }
  std::optional<int> optional_int(const char* key) const {
    if (!has(key)) return std::nullopt;
    return at(key).integer_as<int>();
  }

 private:
  template <typename T>
  T integer_from(T low) const {
    if (!value_.is_number_integer()) fail("expected an integer, got " + type());
    const bool fits = value_.is_number_unsigned() ? std::in_range<T>(value_.get<std::uint64_t>())
                                                  : std::in_range<T>(value_.get<std::int64_t>());
    if (!fits || static_cast<T>(value_.get<std::int64_t>()) < low)
      fail("expected an integer from " + std::to_string(low) + " to " +
           std::to_string(std::numeric_limits<T>::max()) + ", got " + type());
    return static_cast<T>(value_.get<std::int64_t>());
  }
  std::string child_path(const char* key) const { return path_.empty() ? key : path_ + "." + key; }
  std::string type() const {
    if (value_.is_string()) return "\"" + value_.get<std::string>() + "\"";
    return value_.dump();
  }

  const json& value_;
  std::string path_;
};

Verdict verdict_from(const Node& n) {
  const std::string s = n.str();
  if (s == "pass") return Verdict::pass;
  if (s == "fail") return Verdict::fail;
  if (s == "error") return Verdict::error;
  if (s == "skip") return Verdict::skip;
  n.fail("expected one of pass, fail, error, skip, got \"" + s + "\"");
}

std::vector<std::string> strings(const Node& n) {
  std::vector<std::string> out;
  for (const auto& item : n.items()) out.push_back(item.str());
  return out;
}

ProcessResult process_from(const Node& n) {
  ProcessResult p;
  p.name = n.at("name").str();
  p.pid = n.has("pid") ? n.at("pid").integer() : 0;
  if (n.has("command")) p.command = strings(n.at("command"));
  p.outcome = n.str_or("outcome");
  p.exit_code = n.optional_int("exit_code");
  p.signal = n.optional_int("signal");
  if (n.has("graceful")) p.graceful = n.at("graceful").boolean();
  p.start_error = n.str_or("start_error");
  // null (or absent): the kernel kept no such counter for the process's cgroup (json_writer.cpp),
  // so nothing may be judged or compared on it.
  p.oom_kills = n.count_or("oom_kills");
  p.oom_kills_known = n.has("oom_kills");
  p.peak_memory_bytes = n.count_or("peak_memory_bytes");
  p.peak_memory_known = n.has("peak_memory_bytes");
  p.cpu_usage_usec = n.count_or("cpu_usage_usec");
  p.throttled_usec = n.count_or("throttled_usec");
  p.cpu_periods = n.count_or("cpu_periods");
  p.throttled_periods = n.count_or("throttled_periods");
  p.pids_max_events = n.count_or("pids_max_events");
  p.pids_max_events_known = n.has("pids_max_events");
  p.runtime_ms = n.number_or("runtime_ms");
  if (n.has("orphans")) p.orphans = strings(n.at("orphans"));
  p.stdout_tail = n.str_or("stdout_tail");
  p.stderr_tail = n.str_or("stderr_tail");
  p.stdout_bytes = n.count_or("stdout_bytes");
  p.stderr_bytes = n.count_or("stderr_bytes");
  p.output_captured = n.has("stdout_bytes");
  return p;
}

ScenarioResult scenario_from(const Node& n) {
  ScenarioResult s;
  s.name = n.at("name").str();
  s.name_as_written = n.str_or("name_as_written");
  s.file = n.at("file").str();
  if (n.has("tags")) s.tags = strings(n.at("tags"));
  s.verdict = verdict_from(n.at("result"));
  s.duration_ms = n.number_or("duration_ms");
  s.reason = n.str_or("reason");
  s.reason_line = n.has("reason_line") ? n.at("reason_line").integer_as<std::uint32_t>() : 0;
  s.interrupted = n.boolean_or("interrupted");
  s.repeat = n.has("repeat") ? n.at("repeat").integer_as<int>() : 0;
  if (s.repeat < 0) n.at("repeat").fail("expected a non-negative integer, got " + std::to_string(s.repeat));
  if (n.has("failures"))
    for (const auto& f : n.at("failures").items()) {
      s.failures.push_back({f.str_or("check"),
                            f.str_or("process"),
                            f.str_or("expected"),
                            f.str_or("actual"),
                            f.str_or("message"),
                            f.has("line") ? f.at("line").integer_as<std::uint32_t>() : 0,
                            {}});
      if (f.has("consequences"))
        for (const auto& c : f.at("consequences").items()) s.failures.back().consequences.push_back(c.str());
    }
  if (n.has("processes"))
    for (const auto& p : n.at("processes").items()) s.processes.push_back(process_from(p));
  if (n.has("timeline"))
    for (const auto& e : n.at("timeline").items()) {
      s.timeline.push_back({e.at("t_ms").number(), e.at("event").str(), e.str_or("process"),
                            e.str_or("inject"), e.str_or("detail")});
      auto& event = s.timeline.back();
      if (e.has("scheduled_ms")) event.scheduled_ms = e.at("scheduled_ms").number();
      if (e.has("requested_ms")) event.requested_ms = e.at("requested_ms").number();
      if (e.has("effective_ms")) event.effective_ms = e.at("effective_ms").number();
    }
  if (n.has("samples"))
    for (const auto& x : n.at("samples").items())
      s.samples.push_back({x.at("t_ms").number(), x.str_or("process"), x.count_or("memory_bytes"),
                           x.count_or("cpu_usage_usec"), x.count_or("throttled_usec"), x.count_or("pids")});
  if (n.has("probes"))
    for (const auto& p : n.at("probes").items()) {
      ProbeResult probe;
      probe.name = p.at("name").str();
      probe.passed = p.boolean_or("passed");
      probe.pass_ratio = p.number_or("pass_ratio");
      if (p.has("attempts"))
        for (const auto& a : p.at("attempts").items()) {
          ProbeAttempt attempt;
          attempt.t_ms = a.at("t_ms").number();
          attempt.ok = a.at("ok").boolean();
          attempt.latency_ms = a.number_or("latency_ms");
          attempt.status = a.optional_int("status");
          if (a.has("error")) attempt.error = a.at("error").str();
          probe.attempts.push_back(std::move(attempt));
        }
      s.probes.push_back(std::move(probe));
    }
  if (n.has("syscall_faults"))
    for (const auto& c : n.at("syscall_faults").items())
      s.syscall_faults.push_back({c.at("inject").str(), c.str_or("process"), c.count_or("matched"),
                                  c.count_or("hit"), c.count_or("hit_while_stopping")});
  if (n.has("proxies"))
    for (const auto& x : n.at("proxies").items()) {
      ProxyResult proxy;
      proxy.name = x.at("name").str();
      proxy.listen = x.str_or("listen");
      proxy.upstream = x.str_or("upstream");
      proxy.accepted = x.count_or("accepted");
      proxy.closed = x.count_or("closed");
      proxy.reset = x.count_or("reset");
      proxy.bytes_upstream = x.count_or("bytes_upstream");
      proxy.bytes_downstream = x.count_or("bytes_downstream");
      proxy.first_byte_p50_ms = x.number_or("first_byte_p50_ms");
      proxy.first_byte_p99_ms = x.number_or("first_byte_p99_ms");
      proxy.first_byte_max_ms = x.number_or("first_byte_max_ms");
      if (x.has("first_byte_histogram"))
        for (const auto& b : x.at("first_byte_histogram").items()) {
          LatencyBucket bucket;
          if (b.has("lt_ms")) bucket.lt_ms = b.at("lt_ms").number();
          bucket.count = b.count_or("count");
          proxy.first_byte_histogram.push_back(bucket);
        }
      if (x.has("toxics_touched")) {
        const Node t = x.at("toxics_touched");
        if (!t.value().is_object()) t.fail("expected an object");
        for (const auto& [key, value] : t.value().items())
          proxy.toxics_touched[key] = t.at(key.c_str()).count();
      }
      if (x.has("refused")) proxy.refused = x.at("refused").count();
      proxy.refused_unseen = x.str_or("refused_unseen");
      if (x.has("own_connections")) proxy.own_connections = x.at("own_connections").count();
      proxy.series_slot_ms = x.number_or("series_slot_ms");
      if (x.has("series"))
        for (const auto& slot : x.at("series").items())
          proxy.series.push_back({.t_ms = slot.number_or("t_ms"),
                                  .accepted = slot.count_or("accepted"),
                                  .closed = slot.count_or("closed"),
                                  .peak_open = slot.count_or("peak_open"),
                                  .first_bytes = slot.count_or("first_bytes"),
                                  .first_byte_max_ms = slot.number_or("first_byte_max_ms"),
                                  .first_byte_mean_ms = slot.number_or("first_byte_mean_ms")});
      s.proxies.push_back(std::move(proxy));
    }
  if (n.has("diagnostics")) {
    const Node d = n.at("diagnostics");
    if (!d.value().is_object()) d.fail("expected an object");
    // Values are text; a structured value from a newer writer is kept as its JSON text.
    for (const auto& [key, value] : d.value().items())
      s.diagnostics[key] = value.is_string() ? value.get<std::string>() : value.dump(2);
  }
  return s;
}

std::optional<Summary> stated_summary_from(const json& doc) {
  const Node root(doc, "");
  if (!root.has("summary")) return std::nullopt;
  const Node summary = root.at("summary");
  if (!summary.value().is_object()) summary.fail("expected an object");
  return Summary{summary.at("passed").count_as<int>(), summary.at("failed").count_as<int>(),
                 summary.at("errors").count_as<int>(), summary.at("skipped").count_as<int>()};
}

json parse_document(std::string_view text, const std::string& origin) {
  try {
    return json::parse(text);
  } catch (const json::parse_error& e) {
    // nlohmann's message starts with "[json.exception.parse_error.101] "; keep only the part for humans.
    std::string what = e.what();
    if (const auto close = what.find("] "); close != std::string::npos) what.erase(0, close + 2);
    throw Error(origin + ": not valid JSON: " + what);
  }
}

std::string read_report_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw SystemError("open", path.string(), errno);
  std::stringstream text;
  text << in.rdbuf();
  if (in.bad()) throw SystemError("read", path.string(), errno);
  return text.str();
}

RunReport report_from(const json& doc) {
  const Node root(doc, "");
  if (!doc.is_object()) throw Error("expected a JSON object at the top level");
  if (!root.has("format")) throw Error("not a faultline report: no \"format\" key");
  const std::string format = root.at("format").str();
  if (format != kFormat)
    throw Error("unsupported report format \"" + format + "\" (this faultline reads \"" +
                std::string(kFormat) + "\")");
  RunReport r;
  if (root.has("tool")) r.tool_version = root.at("tool").str_or("version");
  if (root.has("host")) {
    const Node host = root.at("host");
    r.host.cgroup = host.str_or("cgroup");
    r.host.kernel = host.str_or("kernel");
    r.host.cpus = host.has("cpus") ? host.at("cpus").integer_as<int>() : 0;
  }
  if (root.has("seed")) r.seed = root.at("seed").count();
  if (root.has("shard")) {
    const Node shard = root.at("shard");
    const std::uint64_t index = shard.at("index").count(), count = shard.at("count").count();
    // As `run --shard` takes them; also keeps the cast to int exact.
    if (count < 1 || count > kMaxShards || index < 1 || index > count)
      throw Error("shard: " + std::to_string(index) + "/" + std::to_string(count) +
                  " is not a slice of a sharded run (I/N with 1 <= I <= N <= " + std::to_string(kMaxShards) +
                  ")");
    r.shard = ShardInfo{static_cast<int>(index), static_cast<int>(count), shard.str_or("selection"),
                        shard.str_or("run_id")};
  }
  r.started = root.str_or("started");
  r.duration_ms = root.number_or("duration_ms");
  r.interrupted = root.boolean_or("interrupted");
  for (const auto& s : root.at("scenarios").items()) r.scenarios.push_back(scenario_from(s));
  return r;
}

}  // namespace

RunReport parse_json_report(std::string_view text, const std::string& origin) {
  const json doc = parse_document(text, origin);
  try {
    return report_from(doc);
  } catch (const Error& e) {
    throw e.with_context(origin);
  }
}

ReportFile read_report_file(const std::filesystem::path& path) {
  const json doc = parse_document(read_report_text(path), path.string());
  try {
    return ReportFile{report_from(doc), stated_summary_from(doc)};
  } catch (const Error& e) {
    throw e.with_context(path.string());
  }
}

}  // namespace faultline::report
