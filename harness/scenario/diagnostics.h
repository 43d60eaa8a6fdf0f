// What the loader reports: one problem at a position in a scenario file, rendered with the
// line it concerns and a caret under the column; LoadError carries all of a file's problems.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "common/error.h"
#include "scenario/model.h"

namespace faultline::scenario {

struct Diagnostic {
  std::filesystem::path file;
  SourcePos pos;            // line/column 1-based; 0 when the whole file is concerned
  std::string message;      // "unknown key `graceful_` in [expect]"
  std::string hint;         // "did you mean `graceful`?" (may be empty)
  std::string source_line;  // the offending line as written (may be empty)

  // "path:line:col: message; hint\n  12 | text\n     |   ^"
  std::string render() const;
};

class LoadError : public Error {
 public:
  explicit LoadError(std::vector<Diagnostic> diagnostics);
  const std::vector<Diagnostic>& diagnostics() const { return diagnostics_; }

 private:
  std::vector<Diagnostic> diagnostics_;
};

}  // namespace faultline::scenario
