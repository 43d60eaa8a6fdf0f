// Running one of the scenarios shipped in scenarios/ with the faultline under test, as the e2e
// tests that check a bundled scenario's verdict do.
#pragma once

#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/command.h"
#include "tests/support/report_schema.h"
#include "tests/support/test_env.h"

namespace faultline::test {

// Why a bundled scenario cannot be run here, or nullopt.
inline std::optional<std::string> bundled_scenario_skip_reason() {
  if (::geteuid() != 0) return "not root: scenarios need to create cgroups";
  if (faultline_path().empty() || source_dir().empty()) return "FAULTLINE_BIN / FAULTLINE_SOURCE_DIR not set";
  return std::nullopt;
}

struct BundledRunOptions {
  std::string extra_args;            // e.g. "--seed 7", after the scenario's path
  bool check_report_schema = false;  // the report against docs/report.schema.json, where checkable
};

// `faultline run scenarios/<rel> --json ...`; returns the report's one scenario. `cmd` gets the
// command's status and output.
inline nlohmann::json run_bundled_scenario(const std::string& rel, CommandOutput& cmd,
                                           const BundledRunOptions& options = {}) {
  namespace fs = std::filesystem;
  const std::string json_path =
      fs::temp_directory_path() / ("faultline-bundled-" + std::to_string(::getpid()) + ".json");
  cmd =
      run_shell(quote(faultline_path()) + " run " + quote(source_dir() + "/scenarios/" + rel) +
                (options.extra_args.empty() ? "" : " " + options.extra_args) + " --json " + quote(json_path));
  INFO("stdout: " << cmd.out << "\nstderr: " << cmd.err);
  REQUIRE(fs::exists(json_path));
  const nlohmann::json report = nlohmann::json::parse(read_file(json_path));
  if (options.check_report_schema && report_schema_checkable())
    CHECK(report_schema_errors(json_path).empty());
  fs::remove(json_path);
  REQUIRE(report.at("scenarios").size() == 1);
  return report.at("scenarios")[0];
}

inline nlohmann::json run_bundled_scenario(const std::string& rel) {
  CommandOutput cmd;
  return run_bundled_scenario(rel, cmd);
}

// A bundled scenario that must fail: `run` exits 1 and its result is "fail". Returns its report.
inline nlohmann::json run_must_fail(const std::string& rel, CommandOutput& cmd) {
  nlohmann::json scenario = run_bundled_scenario(rel, cmd);
  INFO(scenario.dump(2));
  CHECK(cmd.status == 1);
  CHECK(scenario.at("result") == "fail");
  return scenario;
}

// The `check` of each failure of a report's scenario, in the report's order.
inline std::vector<std::string> failed_checks(const nlohmann::json& scenario) {
  std::vector<std::string> checks;
  for (const auto& f : scenario.at("failures")) checks.push_back(f.at("check").get<std::string>());
  return checks;
}

// The failure of a scenario that must fail exactly once, on `check`.
inline const nlohmann::json& only_failure(const nlohmann::json& scenario, const std::string& check) {
  REQUIRE(failed_checks(scenario) == std::vector<std::string>{check});
  return scenario.at("failures")[0];
}

// The timeline events named `event` (of the injection `inject`, when given), in order.
inline std::vector<nlohmann::json> timeline_events(const nlohmann::json& scenario, const std::string& event,
                                                   const std::string& inject = {}) {
  std::vector<nlohmann::json> found;
  for (const auto& e : scenario.at("timeline"))
    if (e.at("event") == event && (inject.empty() || e.value("inject", "") == inject)) found.push_back(e);
  return found;
}

}  // namespace faultline::test
