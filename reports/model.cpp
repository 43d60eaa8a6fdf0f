#include "reports/model.h"

namespace faultline::report {

const char* to_string(Verdict v) {
  switch (v) {
    case Verdict::pass: return "pass";
    case Verdict::fail: return "fail";
    case Verdict::error: return "error";
    case Verdict::skip: return "skip";
  }
  return "error";
}

Summary RunReport::summary() const {
  Summary s;
  for (const auto& scenario : scenarios) {
    switch (scenario.verdict) {
      case Verdict::pass: ++s.passed; break;
      case Verdict::fail: ++s.failed; break;
      case Verdict::error: ++s.errors; break;
      case Verdict::skip: ++s.skipped; break;
    }
  }
  return s;
}

}  // namespace faultline::report
