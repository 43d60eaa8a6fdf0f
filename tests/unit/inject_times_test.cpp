// The memory injection's `mode` key and the three times of injection events (scheduled,
// requested, in effect): loaded, written and read back.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "reports/json_reader.h"
#include "reports/json_writer.h"
#include "scenario/loader.h"

using namespace faultline;
namespace fs = std::filesystem;

namespace {

scenario::Scenario load_text(const std::string& toml) {
  const fs::path file =
      fs::temp_directory_path() / ("faultline-mode-" + std::to_string(::getpid()) + ".toml");
  std::ofstream(file) << toml;
  struct Remove {
    fs::path f;
    ~Remove() { fs::remove(f); }
  } remove{file};
  return scenario::load_scenario(file);
}

std::string squeeze_with(const std::string& mode_line) {
  return R"(
name = "squeeze"
[target]
command = ["/bin/true"]
[[inject]]
kind = "memory"
limit = "48MiB"
at = "1s"
)" + mode_line +
         "\n";
}

const scenario::MemoryFault& memory_fault(const scenario::Scenario& s) {
  REQUIRE(s.injections.size() == 1);
  return std::get<scenario::MemoryFault>(s.injections[0].params);
}

}  // namespace

TEST_CASE("memory mode: charge by default, limit-only when asked, anything else is a load error",
          "[loader]") {
  CHECK(memory_fault(load_text(squeeze_with(""))).mode == scenario::MemoryFault::Mode::charge);
  CHECK(memory_fault(load_text(squeeze_with("mode = \"charge\""))).mode ==
        scenario::MemoryFault::Mode::charge);
  CHECK(memory_fault(load_text(squeeze_with("mode = \"limit-only\""))).mode ==
        scenario::MemoryFault::Mode::limit_only);
  try {
    load_text(squeeze_with("mode = \"limit_only\""));
    FAIL("an unknown mode loaded");
  } catch (const scenario::LoadError& e) {
    REQUIRE(e.diagnostics().size() == 1);
    CHECK(e.diagnostics()[0].pos.line == 9);
    CHECK(e.diagnostics()[0].render().find("limit-only") != std::string::npos);
  }
}

TEST_CASE("inject times: scheduled, requested and in effect survive the JSON report", "[report]") {
  report::RunReport r;
  r.host = {"hybrid", "6.1.0", 2};
  report::ScenarioResult s;
  s.name = "squeeze";
  s.verdict = report::Verdict::pass;
  s.timeline.push_back({100, "process.ready", "target"});
  report::TimelineEvent apply{1380.5, "inject.apply", "target", "squeeze", "memory.max max -> 48MiB"};
  apply.scheduled_ms = 1100.25;
  apply.requested_ms = 1101.5;
  apply.effective_ms = 1380.0;
  s.timeline.push_back(apply);
  report::TimelineEvent revert{2000, "inject.revert", "target", "squeeze", "memory.max 48MiB -> max"};
  revert.requested_ms = 1999.5;  // a revert nothing scheduled (the target exited)
  revert.effective_ms = 1999.75;
  s.timeline.push_back(revert);
  r.scenarios.push_back(s);

  const std::string text = report::to_json(r);
  CHECK(text.find("\"scheduled_ms\"") != std::string::npos);
  const auto back = report::parse_json_report(text, "test");
  REQUIRE(back.scenarios.size() == 1);
  const auto& timeline = back.scenarios[0].timeline;
  REQUIRE(timeline.size() == 3);
  CHECK_FALSE(timeline[0].scheduled_ms);  // not an injection: none of the three
  CHECK_FALSE(timeline[0].requested_ms);
  CHECK_FALSE(timeline[0].effective_ms);
  CHECK(timeline[1].scheduled_ms == 1100.25);
  CHECK(timeline[1].requested_ms == 1101.5);
  CHECK(timeline[1].effective_ms == 1380.0);
  CHECK_FALSE(timeline[2].scheduled_ms);
  CHECK(timeline[2].requested_ms == 1999.5);
}
