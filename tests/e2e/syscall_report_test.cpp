// A syscall fault that fires thousands of times, as the report shows it: exact counts, the first
// and last events one by one, and one note for the calls in between, where they happened.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "tests/support/command.h"
#include "tests/support/report_schema.h"
#include "tests/support/scratch_dir.h"
#include "tests/support/skips.h"
#include "tests/support/test_env.h"

using namespace faultline::test;
using nlohmann::json;

namespace {

constexpr int kCalls = 5000;  // after the first failed one

// The shell spins until its first read of the file fails (the rule is on), then reads it 5000
// more times: every open of the file while the rule is on fails, so the target's own count of
// failures is exact and the same every run.
std::string scenario_text(const std::string& dir) {
  return "name = \"a rule that fires thousands of times\"\ntimeout = \"2m\"\n"
         "[target]\nshell = \"\"\"\n"
         "f=" +
         dir +
         "/data\n"
         "until ! read -r x 2>/dev/null < \"$f\"; do :; done\n"
         "n=1\ni=0\n"
         "while [ $i -lt " +
         std::to_string(kCalls) +
         " ]; do\n"
         "  i=$((i+1))\n"
         "  read -r x 2>/dev/null < \"$f\" || n=$((n+1))\n"
         "done\n"
         "echo \"failed $n\"\n\"\"\"\n"
         "[[inject]]\nname = \"no-files\"\nkind = \"syscall\"\nsyscalls = [\"openat\"]\nerrno = \"EMFILE\"\n"
         "path = \"" +
         dir +
         "/data*\"\nat = \"0s\"\n"
         "[expect]\nstdout.contains = [\"failed " +
         std::to_string(kCalls + 1) + "\"]\n";
}

}  // namespace

TEST_CASE("syscall report: a rule firing thousands of times keeps exact counts and bounded events",
          "[e2e][syscall]") {
  if (::geteuid() != 0) FAULTLINE_SKIP("not root: scenarios need to create cgroups");
  if (faultline_path().empty() || source_dir().empty())
    FAULTLINE_SKIP("FAULTLINE_BIN / FAULTLINE_SOURCE_DIR not set");
  ScratchDir dir;
  dir.write("data", "line\n");
  const std::string file = dir.write("many.toml", scenario_text(dir.path().string()));
  const std::string report = (dir.path() / "r.json").string();
  const std::string html = (dir.path() / "r.html").string();
  const auto run = run_shell(quote(faultline_path()) + " run " + quote(file) + " --json " + quote(report) +
                             " --html " + quote(html));
  INFO("stdout: " << run.out << "\nstderr: " << run.err);
  CHECK(run.status == 0);
  const json doc = json::parse(read_file(report));
  if (report_schema_checkable()) CHECK(report_schema_errors(report).empty());
  const json& s = doc.at("scenarios").at(0);
  CHECK(s.at("result") == "pass");
  const std::uint64_t hit = kCalls + 1;

  REQUIRE(s.at("syscall_faults").size() == 1);
  const json& counts = s.at("syscall_faults")[0];
  CHECK(counts.at("inject") == "no-files");
  CHECK(counts.at("process") == "target");
  CHECK(counts.at("hit") == hit);
  CHECK(counts.at("matched") == hit);

  // Positions in the timeline of this rule's events.
  std::vector<std::size_t> failed;
  std::vector<std::size_t> elided, counted;
  const json& timeline = s.at("timeline");
  for (std::size_t i = 0; i < timeline.size(); ++i) {
    if (timeline[i].value("inject", "") != "no-files") continue;
    const std::string event = timeline[i].at("event");
    if (event == "syscall.fail") failed.push_back(i);
    if (event == "syscall.elided") elided.push_back(i);
    if (event == "syscall.count") counted.push_back(i);
  }
  // The first 100 and the last 100 calls one by one, the 4801 between them as one note.
  REQUIRE(failed.size() == 200);
  REQUIRE(elided.size() == 1);
  CHECK(timeline[elided[0]].at("detail") ==
        std::to_string(hit - 200) + " more calls hit, not listed one by one");
  CHECK(elided[0] > failed[99]);
  CHECK(elided[0] < failed[100]);
  const double note_ms = timeline[elided[0]].at("t_ms");
  CHECK(note_ms >= timeline[failed[99]].at("t_ms").get<double>());
  CHECK(note_ms <= timeline[failed[100]].at("t_ms").get<double>());
  for (std::size_t k = 1; k < failed.size(); ++k)
    CHECK(timeline[failed[k - 1]].at("t_ms").get<double>() <= timeline[failed[k]].at("t_ms").get<double>());
  for (const auto i : failed) {
    const std::string detail = timeline[i].at("detail");
    CHECK(detail.find(" openat " + dir.path().string() + "/data -> EMFILE") != std::string::npos);
  }
  // The console and the HTML say the same.
  CHECK(run.out.find("\n       syscall no-files [target]: hit 5001 of 5001 matching calls\n") !=
        std::string::npos);
  const std::string page = read_file(html);
  CHECK(page.find("<td class=\"num\">5001</td><td class=\"num\">5001</td><td>200 calls listed, 4801 between "
                  "them left out</td>") != std::string::npos);
  REQUIRE(counted.size() == 1);
  CHECK(timeline[counted[0]].at("detail") ==
        std::to_string(hit) + " of " + std::to_string(hit) + " matching calls hit while active");
}

// The proxy's first-byte histogram from a real run: a probe through the proxy, with 300 ms of
// latency for a second. Each probe attempt is one connection through the proxy.
TEST_CASE("proxy report: the first-byte histogram counts each connection once, the slow ones slow",
          "[e2e][proxy]") {
  if (::geteuid() != 0) FAULTLINE_SKIP("not root: scenarios need to create cgroups");
  if (faultline_path().empty() || source_dir().empty())
    FAULTLINE_SKIP("FAULTLINE_BIN / FAULTLINE_SOURCE_DIR not set");
  ScratchDir dir;
  const std::string file =
      dir.write("proxy.toml", R"(name = "a client through a proxy that is slow for a second"
timeout = "30s"
stop = "client.exit"
[vars]
backend_port = "auto-port"
proxy_port = "auto-port"
[[process]]
name = "backend"
command = ["${faultline_dir}/faultline-demo-backend", "--port", "${backend_port}"]
ready = { http = "http://127.0.0.1:${backend_port}/healthz" }
[[proxy]]
name = "db"
listen = "127.0.0.1:${proxy_port}"
upstream = "127.0.0.1:${backend_port}"
after = ["backend"]
[[inject]]
name = "slow"
kind = "latency"
proxy = "db"
direction = "downstream"
latency = "300ms"
at = "ready+500ms"
duration = "1s"
# faultline's own probes are no client: the figures below are the client's connections.
[[process]]
name = "client"
after = ["db"]
command = ["${faultline_dir}/faultline-demo-client", "--url", "http://127.0.0.1:${proxy_port}/healthz",
           "--count", "25", "--interval", "100ms", "--timeout", "2s"]
[[expect]]
process = "client"
exit_codes = [0]
stdout.contains = "25/25 ok"
)");
  const std::string report = (dir.path() / "r.json").string();
  const std::string html = (dir.path() / "r.html").string();
  const auto run = run_shell(quote(faultline_path()) + " run " + quote(file) + " --json " + quote(report) +
                             " --html " + quote(html));
  INFO("stdout: " << run.out << "\nstderr: " << run.err);
  CHECK(run.status == 0);
  const json doc = json::parse(read_file(report));
  if (report_schema_checkable()) CHECK(report_schema_errors(report).empty());
  const json& s = doc.at("scenarios").at(0);
  CHECK(s.at("result") == "pass");
  REQUIRE(s.at("proxies").size() == 1);
  const json& px = s.at("proxies")[0];
  const json& buckets = px.at("first_byte_histogram");
  REQUIRE(buckets.size() == 14);
  CHECK(buckets[0].at("lt_ms") == 1);
  CHECK(buckets[13].at("lt_ms").is_null());
  std::uint64_t total = 0, slow = 0;
  for (const auto& b : buckets) {
    total += b.at("count").get<std::uint64_t>();
    // Buckets whose values are all 200 ms or more: the one before them ends at 200 ms.
    if (b.at("lt_ms").is_null() || b.at("lt_ms").get<double>() > 200)
      slow += b.at("count").get<std::uint64_t>();
  }
  // Every request of the client got its answer, each on a connection of its own: one first byte
  // each, and some of them delayed by the 300 ms latency.
  const std::size_t accepted = px.at("accepted").get<std::size_t>();
  CHECK(accepted == 25);
  CHECK(total == accepted);
  CHECK(slow >= 1);
  CHECK(slow < accepted);  // the latency lasted a second of the client's two and more
  CHECK(px.value("own_connections", 0) == 0);
  CHECK(run.out.find("\n       proxy db: " + std::to_string(accepted) + " connections, 0 reset, ") !=
        std::string::npos);
  CHECK(read_file(html).find("<svg class=\"histogram\"") != std::string::npos);

  // Over time: every connection in the series, and slow first bytes inside the fault's window (a
  // first byte delayed by 300 ms lands up to 300 ms after the revert). Only "some": on a loaded or
  // emulated machine an answer can take 200 ms without any fault.
  double applied = -1, reverted = -1;
  for (const auto& e : s.at("timeline")) {
    if (e.at("event") == "inject.apply" && e.at("inject") == "slow") applied = e.at("t_ms");
    if (e.at("event") == "inject.revert" && e.at("inject") == "slow") reverted = e.at("t_ms");
  }
  REQUIRE(applied >= 0);
  REQUIRE(reverted > applied);
  const double slot_ms = px.at("series_slot_ms");
  CHECK(slot_ms == 100);
  std::uint64_t series_accepted = 0, slow_in_window = 0;
  for (const auto& slot : px.at("series")) {
    series_accepted += slot.at("accepted").get<std::uint64_t>();
    const double t = slot.at("t_ms");
    if (slot.at("first_byte_max_ms").get<double>() >= 200 && t + slot_ms > applied && t <= reverted + 300)
      ++slow_in_window;
  }
  INFO("fault from " << applied << " to " << reverted << " ms; series " << px.at("series").dump());
  CHECK(series_accepted == accepted);
  CHECK(slow_in_window >= 1);
  CHECK(read_file(html).find("<g class=\"proxy-series\" data-proxy=\"db\">") != std::string::npos);
}
