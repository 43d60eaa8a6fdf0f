#include "reports/model.h"

#include <map>

namespace faultline::report {

const char* to_string(Verdict v) {
  switch (v) {
    case Verdict::pass:
      return "pass";
    case Verdict::fail:
      return "fail";
    case Verdict::error:
      return "error";
    case Verdict::skip:
      return "skip";
  }
  return "error";
}

Summary RunReport::summary() const {
  Summary s;
  for (const auto& scenario : scenarios) {
    switch (scenario.verdict) {
      case Verdict::pass:
        ++s.passed;
        break;
      case Verdict::fail:
        ++s.failed;
        break;
      case Verdict::error:
        ++s.errors;
        break;
      case Verdict::skip:
        ++s.skipped;
        break;
    }
  }
  return s;
}

std::vector<std::string> RunReport::flaky() const {
  std::map<std::pair<std::string, std::string>, std::pair<int, int>> runs;  // (file, name) -> (passed, total)
  std::vector<std::pair<std::string, std::string>> order;
  for (const auto& s : scenarios) {
    if (s.verdict == Verdict::skip || s.interrupted) continue;
    auto key = std::make_pair(s.file, s.key());
    if (!runs.count(key)) order.push_back(key);
    auto& [passed, total] = runs[key];
    passed += s.verdict == Verdict::pass;
    ++total;
  }
  std::vector<std::string> names;
  for (const auto& key : order) {
    const auto [passed, total] = runs[key];
    if (passed > 0 && passed < total)
      names.push_back(key.second + " (" + std::to_string(passed) + "/" + std::to_string(total) + " passed)");
  }
  return names;
}

}  // namespace faultline::report
