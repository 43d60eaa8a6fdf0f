#include "scenario/diagnostics.h"

#include <cstdint>

namespace faultline::scenario {

namespace {

// The caret goes under column `column` (1-based, in characters); tabs before it are kept so the
// caret lines up however the terminal expands them.
std::string caret_padding(const std::string& line, std::uint32_t column) {
  std::string pad;
  std::uint32_t chars = 1;
  for (std::size_t i = 0; i < line.size() && chars < column; ++i) {
    const unsigned char c = static_cast<unsigned char>(line[i]);
    if ((c & 0xC0) == 0x80) continue;  // UTF-8 continuation byte
    pad += c == '\t' ? '\t' : ' ';
    ++chars;
  }
  while (chars++ < column) pad += ' ';
  return pad;
}

}  // namespace

std::string Diagnostic::render() const {
  std::string out = file.string();
  if (pos.line > 0) out += ":" + std::to_string(pos.line) + ":" + std::to_string(pos.column);
  out += ": " + message;
  if (!hint.empty()) out += "; " + hint;
  if (pos.line > 0 && !source_line.empty()) {
    const std::string number = std::to_string(pos.line);
    out += "\n   " + number + " | " + source_line;
    out += "\n   " + std::string(number.size(), ' ') + " | " + caret_padding(source_line, pos.column) + "^";
  }
  return out;
}

namespace {
std::string render_all(const std::vector<Diagnostic>& diagnostics) {
  std::string out;
  for (const auto& d : diagnostics) {
    if (!out.empty()) out += "\n";
    out += d.render();
  }
  return out;
}
}  // namespace

LoadError::LoadError(std::vector<Diagnostic> diagnostics)
    : Error(render_all(diagnostics)), diagnostics_(std::move(diagnostics)) {}

}  // namespace faultline::scenario
