// JSON Schema (draft-07) of the scenario format, generated from the description in spec.h, for
// editors (taplo, Even Better TOML) and `faultline schema`.
#pragma once

#include <string>

namespace faultline::scenario {

std::string scenario_json_schema();

// The patterns the schema uses for string values, exposed so tests can check them.
extern const char* const kDurationPattern;
extern const char* const kSizePattern;
extern const char* const kHostPortPattern;
extern const char* const kIpPortPattern;
extern const char* const kHttpUrlPattern;

}  // namespace faultline::scenario
