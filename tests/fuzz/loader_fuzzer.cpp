// libFuzzer target for the scenario loader: the input is the content of a scenario file.
// Whatever the bytes, the loader must return diagnostics (or none) without crashing, throwing,
// hanging or tripping ASan/UBSan; every diagnostic must render.
#include <cstddef>
#include <cstdint>
#include <string>

#include "scenario/loader.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace faultline::scenario;
  LoadOptions options;
  options.builtin_vars["faultline_dir"] = "/usr/libexec/faultline";
  // `auto-port` variables would bind sockets: a fixed port keeps the target pure and fast.
  options.allocate_port = [] { return std::uint16_t{40000}; };
  const std::string content(reinterpret_cast<const char*>(data), size);
  for (const Diagnostic& d : validate_scenario_text(content, "/fuzz/scenario.toml", options)) {
    if (d.render().empty()) __builtin_trap();
  }
  return 0;
}
