// Building blocks for the report model in tests: a run's header and a scenario's identity, so a
// test spells out only the fields it asserts on.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "reports/model.h"

namespace faultline::test {

// A run as the harness stamps it: version 0.1.0 on `host`, started at `started`.
inline report::RunReport run_report(report::HostInfo host, std::optional<std::uint64_t> seed,
                                    const std::string& started, double duration_ms) {
  report::RunReport r;
  r.tool_version = "0.1.0";
  r.host = std::move(host);
  r.seed = seed;
  r.started = started;
  r.duration_ms = duration_ms;
  return r;
}

inline report::ScenarioResult scenario_result(const std::string& name, const std::string& file,
                                              report::Verdict verdict) {
  report::ScenarioResult s;
  s.name = name;
  s.file = file;
  s.verdict = verdict;
  return s;
}

}  // namespace faultline::test
