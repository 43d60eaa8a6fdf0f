// Entries of a scenario's JSON report looked up by name, failing the test when there is none.
#pragma once

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

namespace faultline::test {

// The entry of `scenario[list]` (`processes`, `probes`) whose `name` is `name`.
inline const nlohmann::json& named_entry(const nlohmann::json& scenario, const std::string& list,
                                         const std::string& name) {
  for (const auto& entry : scenario.at(list))
    if (entry.at("name") == name) return entry;
  FAIL("no entry named " << name << " in " << list << ": " << scenario.at(list).dump());
  throw std::logic_error("FAIL did not end the test");  // FAIL throws: never reached
}

inline const nlohmann::json& process_named(const nlohmann::json& scenario, const std::string& name) {
  return named_entry(scenario, "processes", name);
}

inline const nlohmann::json& probe(const nlohmann::json& scenario, const std::string& name) {
  return named_entry(scenario, "probes", name);
}

}  // namespace faultline::test
