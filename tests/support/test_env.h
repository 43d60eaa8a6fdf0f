// Where the test binaries find the programs they drive (set by ctest, and by the VM lane).
#pragma once

#include <cstdlib>
#include <string>

namespace faultline::test {

inline std::string env_or_empty(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}
inline std::string payload_path() { return env_or_empty("FAULTLINE_PAYLOAD"); }
inline std::string faultline_path() { return env_or_empty("FAULTLINE_BIN"); }
inline std::string source_dir() { return env_or_empty("FAULTLINE_SOURCE_DIR"); }

}  // namespace faultline::test
