#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "reports/json_reader.h"
#include "reports/json_writer.h"
#include "tests/support/report_fixtures.h"

using namespace faultline::report;
using faultline::test::run_report;
using faultline::test::scenario_result;
namespace fs = std::filesystem;

namespace {

RunReport full_report() {
  RunReport r = run_report({"hybrid", "6.1.0", 2}, 7, "2026-11-23T10:00:00Z", 1234.5);
  ScenarioResult s = scenario_result("drain", "scenarios/drain.toml", Verdict::fail);
  s.name_as_written = "${what}";
  s.tags = {"gate", "shutdown"};
  s.duration_ms = 1000.25;
  s.reason = "expect.graceful: killed";
  s.reason_line = 9;
  s.failures.push_back({"expect.graceful", "api", "true", "false", "killed after grace", 12, {}});
  ProcessResult p;
  p.name = "api";
  p.pid = 4242;
  p.command = {"./server", "--port", "8080"};
  p.outcome = "killed-after-grace";
  p.signal = 9;
  p.graceful = false;
  p.oom_kills = 1;
  p.peak_memory_bytes = 64 << 20;
  p.cpu_usage_usec = 1500;
  p.throttled_usec = 300;
  p.cpu_periods = 10;
  p.throttled_periods = 2;
  p.pids_max_events = 3;
  p.runtime_ms = 998.5;
  p.orphans = {"77 (sleep)"};
  p.stdout_tail = "ready\n";
  p.stderr_tail = "bye\n";
  p.stdout_bytes = 6;
  p.stderr_bytes = 4;
  s.processes.push_back(p);
  ProcessResult q;
  q.name = "db";
  q.outcome = "failed-to-start";
  q.start_error = "execve ./db: No such file or directory";
  q.output_captured = false;
  s.processes.push_back(q);
  s.timeline = {{0, "process.start", "api", "", ""},
                {100, "inject.apply", "api", "squeeze", "memory.max=64MiB"}};
  s.samples = {{10, "api", 1000, 20, 3, 1}};
  s.syscall_faults = {{"disk-full", "api", 17, 5}};
  ProbeResult probe;
  probe.name = "health";
  probe.passed = false;
  probe.pass_ratio = 0.5;
  probe.attempts = {{1, true, 0.8, 200, std::nullopt}, {2, false, 2000, std::nullopt, "timed out"}};
  s.probes.push_back(probe);
  ProxyResult proxy;
  proxy.name = "db";
  proxy.listen = "127.0.0.1:7000";
  proxy.upstream = "127.0.0.1:5432";
  proxy.accepted = 5;
  proxy.closed = 4;
  proxy.reset = 1;
  proxy.bytes_upstream = 100;
  proxy.bytes_downstream = 2000;
  proxy.first_byte_p50_ms = 0.5;
  proxy.first_byte_p99_ms = 300.25;
  proxy.first_byte_max_ms = 301;
  proxy.first_byte_histogram = {{1.0, 3}, {2.0, 0}, {500.0, 1}, {std::nullopt, 1}};
  proxy.toxics_touched = {{"slow", 3}};
  proxy.refused = 8;
  proxy.refused_unseen = "socket(SOCK_RAW): Operation not permitted";
  proxy.series_slot_ms = 200;
  proxy.series = {{0, 2, 0, 2, 2, 1.5, 1.25}, {200, 3, 4, 5, 1, 301, 301}};
  s.proxies.push_back(proxy);
  s.diagnostics["pid 4242"] = "state: D";
  s.interrupted = true;
  r.scenarios.push_back(s);
  r.interrupted = true;
  return r;
}

struct TempFile {
  inline static int made = 0;  // several at once have a path each
  fs::path path = fs::temp_directory_path() / ("faultline-report-test-" + std::to_string(::getpid()) + "-" +
                                               std::to_string(made++) + ".json");
  explicit TempFile(const std::string& content) { std::ofstream(path) << content; }
  ~TempFile() { fs::remove(path); }
};

std::string read_error(const std::string& json) {
  try {
    parse_json_report(json, "shard.json");
  } catch (const faultline::Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("a report read back writes the same JSON") {
  const RunReport original = full_report();
  const std::string json = to_json(original);
  const RunReport read = parse_json_report(json, "x.json");
  CHECK(to_json(read) == json);
  CHECK(read.scenarios.at(0).reason_line == 9);
  CHECK(read.scenarios.at(0).name_as_written == "${what}");
  CHECK(json.find("\"name_as_written\"") != std::string::npos);
  CHECK(read.scenarios.at(0).failures.at(0).line == 12);
  CHECK(read.scenarios.at(0).processes.at(1).start_error == "execve ./db: No such file or directory");
  // Output never captured is unknown, not 0 bytes: null, and read back as such.
  CHECK(read.scenarios.at(0).processes.at(0).output_captured);
  CHECK_FALSE(read.scenarios.at(0).processes.at(1).output_captured);
  CHECK(nlohmann::json::parse(json)["scenarios"][0]["processes"][1]["stdout_bytes"].is_null());
  REQUIRE(read.scenarios.at(0).syscall_faults.size() == 1);
  CHECK(read.scenarios.at(0).syscall_faults[0].hit == 5);
  CHECK(read.scenarios.at(0).syscall_faults[0].matched == 17);
  REQUIRE(read.scenarios.at(0).proxies.size() == 1);
  CHECK(read.scenarios.at(0).proxies.at(0).toxics_touched.at("slow") == 3);
  CHECK(read.scenarios.at(0).proxies.at(0).refused == 8);
  CHECK(read.scenarios.at(0).proxies.at(0).refused_unseen == "socket(SOCK_RAW): Operation not permitted");
  const auto& histogram = read.scenarios.at(0).proxies.at(0).first_byte_histogram;
  REQUIRE(histogram.size() == 4);
  CHECK(histogram[0].lt_ms == 1.0);
  CHECK(histogram[0].count == 3);
  CHECK(histogram[2].lt_ms == 500.0);
  CHECK(histogram[2].count == 1);
  CHECK_FALSE(histogram[3].lt_ms.has_value());  // the open-ended bucket, >= 10 s
  CHECK(histogram[3].count == 1);
  const auto& proxy = read.scenarios.at(0).proxies.at(0);
  CHECK(proxy.series_slot_ms == 200);
  REQUIRE(proxy.series.size() == 2);
  CHECK(proxy.series[1].t_ms == 200);
  CHECK(proxy.series[1].closed == 4);
  CHECK(proxy.series[1].peak_open == 5);
  CHECK(proxy.series[1].first_byte_max_ms == 301);
  CHECK(proxy.series[0].first_byte_mean_ms == 1.25);
}

TEST_CASE("a proxy's first-byte histogram is written as buckets with their upper bounds") {
  const auto doc = nlohmann::json::parse(to_json(full_report()));
  const auto& buckets = doc.at("scenarios")[0].at("proxies")[0].at("first_byte_histogram");
  REQUIRE(buckets.size() == 4);
  CHECK(buckets[0] == nlohmann::json({{"lt_ms", 1.0}, {"count", 3}}));
  CHECK(buckets[3] == nlohmann::json({{"lt_ms", nullptr}, {"count", 1}}));
}

TEST_CASE("read_report_file reads a file") {
  TempFile file(to_json(full_report()));
  CHECK(read_report_file(file.path).report.scenarios.at(0).name == "drain");
}

TEST_CASE("read_report_file reads the summary the file states, and names a file it cannot open") {
  const RunReport r = full_report();
  TempFile with(to_json(r));
  const ReportFile read = read_report_file(with.path);
  REQUIRE(read.stated_summary);
  CHECK(read.stated_summary->passed == r.summary().passed);
  CHECK(read.stated_summary->failed == r.summary().failed);
  CHECK(read.report.scenarios.size() == r.scenarios.size());

  auto doc = nlohmann::json::parse(to_json(r));
  doc["summary"] = nullptr;  // as absent: a report from before the summary was written
  TempFile without(doc.dump());
  CHECK_FALSE(read_report_file(without.path).stated_summary);
  doc["summary"] = "2 passed";
  TempFile text(doc.dump());
  CHECK_THROWS_WITH(read_report_file(text.path), text.path.string() + ": summary: expected an object");
  CHECK_THROWS_WITH(read_report_file("/nonexistent/r.json"),
                    "open /nonexistent/r.json: No such file or directory");
}

TEST_CASE("reading a bad report says which file and which value") {
  CHECK(read_error("{\"format\": ") ==
        "shard.json: not valid JSON: parse error at line 1, column 12: syntax error while parsing value - "
        "unexpected end of input; expected '[', '{', "
        "or a literal");
  CHECK(read_error("[]") == "shard.json: expected a JSON object at the top level");
  CHECK(read_error("{}") == "shard.json: not a faultline report: no \"format\" key");
  CHECK(read_error(R"({"format": "faultline-report/2", "scenarios": []})") ==
        "shard.json: unsupported report format \"faultline-report/2\" (this faultline reads "
        "\"faultline-report/1\")");
  CHECK(read_error(R"({"format": "faultline-report/1"})") == "shard.json: missing key \"scenarios\"");
  CHECK(read_error(
            R"({"format": "faultline-report/1",
              "scenarios": [{"name": "a", "file": "a.toml", "result": "maybe"}]})") ==
        "shard.json: scenarios[0].result: expected one of pass, fail, error, skip, got \"maybe\"");
  CHECK(
      read_error(
          R"({"format": "faultline-report/1", "scenarios": [{"name": "a", "file": "a.toml", "result": "pass",
        "processes": [{"name": "p", "peak_memory_bytes": -1}]}]})") ==
      "shard.json: scenarios[0].processes[0].peak_memory_bytes: expected a non-negative integer, got -1");
  CHECK(
      read_error(
          R"({"format": "faultline-report/1", "scenarios": [{"name": "a", "file": "a.toml", "result": "pass",
        "proxies": [{"name": "db", "first_byte_histogram": [{"lt_ms": "1ms", "count": 2}]}]}]})") ==
      "shard.json: scenarios[0].proxies[0].first_byte_histogram[0].lt_ms: expected a number, got \"1ms\"");
}

TEST_CASE("keys a newer writer adds are ignored") {
  const auto r = parse_json_report(
      R"({"format": "faultline-report/1", "future": {"x": 1},
          "scenarios": [{"name": "a", "file": "a.toml", "result": "skip", "future_key": [1, 2]}]})",
      "new.json");
  REQUIRE(r.scenarios.size() == 1);
  CHECK(r.scenarios[0].verdict == Verdict::skip);
}

TEST_CASE("the baseline comparison lists gone scenarios with their result in the baseline") {
  RunReport r = run_report({"v2", "6.1", 4}, 1, "2026-11-23T10:00:00Z", 10);
  r.scenarios = {scenario_result("kept", "kept.toml", Verdict::pass)};
  BaselineComparison b;
  b.file = "old.json";
  b.gone.push_back({"renamed", Verdict::fail});
  r.baseline = b;
  const auto doc = nlohmann::json::parse(to_json(r));
  CHECK(doc.at("baseline").at("gone") ==
        nlohmann::json::parse(R"([{"scenario": "renamed", "result": "fail"}])"));
  b.gone.clear();
  r.baseline = b;
  CHECK(nlohmann::json::parse(to_json(r)).at("baseline").at("gone") == nlohmann::json::array());
}

TEST_CASE("a report with a baseline section, with or without gone scenarios, reads") {
  RunReport r = run_report({"v2", "6.1", 4}, 1, "2026-11-23T10:00:00Z", 10);
  r.scenarios = {scenario_result("kept", "kept.toml", Verdict::pass)};
  BaselineComparison b;
  b.file = "old.json";
  b.gone.push_back({"renamed", Verdict::fail});
  r.baseline = b;
  auto doc = nlohmann::json::parse(to_json(r));
  CHECK(parse_json_report(doc.dump(), "new.json").scenarios.at(0).name == "kept");
  doc["baseline"].erase("gone");  // as written before gone scenarios were listed
  CHECK(parse_json_report(doc.dump(), "old.json").scenarios.at(0).name == "kept");
}

TEST_CASE("a shard's report says which slice it is, read back as written; a slice that is none is an error") {
  RunReport sliced = full_report();
  sliced.shard = ShardInfo{2, 3, "0123456789abcdef", "pipeline-7"};
  const std::string json = to_json(sliced);
  CHECK(nlohmann::json::parse(json)["shard"] ==
        nlohmann::json(
            {{"index", 2}, {"count", 3}, {"selection", "0123456789abcdef"}, {"run_id", "pipeline-7"}}));
  const RunReport read = parse_json_report(json, "x.json");
  REQUIRE(read.shard);
  CHECK(read.shard->index == 2);
  CHECK(read.shard->count == 3);
  CHECK(read.shard->selection == "0123456789abcdef");
  CHECK(read.shard->run_id == "pipeline-7");
  CHECK(to_json(read) == json);
  CHECK_FALSE(parse_json_report(to_json(full_report()), "x.json").shard);

  auto doc = nlohmann::json::parse(json);
  doc["shard"]["index"] = 4;
  CHECK(read_error(doc.dump()) ==
        "shard.json: shard: 4/3 is not a slice of a sharded run (I/N with 1 <= I <= N <= 1000000)");
}

TEST_CASE("counters the kernel did not keep are null in the report, and read back as unknown") {
  RunReport report = full_report();
  ProcessResult& unmeasured = report.scenarios.at(0).processes.at(0);
  unmeasured.oom_kills = 0;
  unmeasured.oom_kills_known = false;
  unmeasured.peak_memory_bytes = 12 << 20;  // what was left at the end, not a peak
  unmeasured.peak_memory_known = false;
  unmeasured.pids_max_events = 0;
  unmeasured.pids_max_events_known = false;
  const std::string json = to_json(report);
  const auto written = nlohmann::json::parse(json)["scenarios"][0]["processes"];
  CHECK(written[0]["oom_kills"].is_null());
  CHECK(written[0]["peak_memory_bytes"].is_null());
  CHECK(written[0]["pids_max_events"].is_null());
  // A process whose counters were kept writes them, zeros included.
  CHECK(written[1]["oom_kills"] == 0);
  CHECK(written[1]["pids_max_events"] == 0);

  const RunReport read = parse_json_report(json, "x.json");
  const auto& back = read.scenarios.at(0).processes;
  CHECK_FALSE(back.at(0).oom_kills_known);
  CHECK_FALSE(back.at(0).peak_memory_known);
  CHECK_FALSE(back.at(0).pids_max_events_known);
  CHECK(back.at(1).oom_kills_known);
  CHECK(back.at(1).peak_memory_known);
  CHECK(back.at(1).pids_max_events_known);
  CHECK(to_json(read) == json);
}

TEST_CASE("numbers the model keeps narrower than JSON are refused out of range, never cut to fit") {
  using nlohmann::json;
  const json whole = json::parse(to_json(full_report()));
  const auto error_with = [&](const std::function<void(json&)>& edit) {
    json doc = whole;
    edit(doc);
    return read_error(doc.dump());
  };
  // 2^32 + 1 cut to 32 bits is 1: a repeat that would pair with another run's first.
  CHECK(
      error_with([](json& d) { d["scenarios"][0]["repeat"] = 4294967297ULL; }) ==
      "shard.json: scenarios[0].repeat: expected an integer from -2147483648 to 2147483647, got 4294967297");
  CHECK(error_with([](json& d) { d["scenarios"][0]["repeat"] = -1; }) ==
        "shard.json: scenarios[0].repeat: expected a non-negative integer, got -1");
  CHECK(error_with([](json& d) {
          d["scenarios"][0]["processes"][0]["exit_code"] = 4294967296LL;
        }).starts_with("shard.json: scenarios[0].processes[0].exit_code: expected an integer from"));
  CHECK(
      error_with([](json& d) {
        d["scenarios"][0]["failures"][0]["line"] = 4294967296LL;
      }).starts_with("shard.json: scenarios[0].failures[0].line: expected an integer from 0 to 4294967295"));
  CHECK(error_with([](json& d) {
          d["scenarios"][0]["reason_line"] = -3;
        }).starts_with("shard.json: scenarios[0].reason_line: expected an integer from 0"));
  CHECK(error_with([](json& d) { d["host"]["cpus"] = 1e3; }) ==
        "shard.json: host.cpus: expected an integer, got 1000.0");
  CHECK(error_with([](json& d) { d["scenarios"][0]["repeat"] = 2; }) == "(no error)");
}
