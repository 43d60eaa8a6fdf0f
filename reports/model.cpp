#include "reports/model.h"

#include <cctype>
#include <map>
#include <sstream>

namespace faultline::report {

std::map<std::string, InjectionOutcome> injection_outcomes(const std::vector<TimelineEvent>& timeline) {
  std::map<std::string, InjectionOutcome> out;
  for (std::size_t i = 0; i < timeline.size(); ++i) {
    const auto& e = timeline[i];
    const bool apply = e.event == "inject.apply", skip = e.event == "inject.skip",
               unheld = e.event == "inject.unheld";
    if (!apply && !skip && !unheld) continue;
    const auto [at, added] = out.try_emplace(e.inject);
    InjectionOutcome& o = at->second;
    if (added) {
      o.first_event = i;
      o.process = e.process;
    }
    if (apply) ++o.applied;
    if (skip) o.skipped = e.detail;
    if (unheld) o.unheld = e.detail;
  }
  return out;
}

std::string ShardSelection::text() const {
  return "files=" + files + " filters=" + filters + " repeat=" + std::to_string(repeat) +
         " seed=" + (seed ? std::to_string(*seed) : "-");
}

std::optional<ShardSelection> ShardSelection::parse(const std::string& text) {
  std::istringstream words(text);
  std::string files, filters, repeat, seed, rest;
  if (!(words >> files >> filters >> repeat >> seed) || (words >> rest)) return std::nullopt;
  const auto value = [](const std::string& word, const std::string& key) -> std::optional<std::string> {
    if (word.rfind(key + "=", 0) != 0) return std::nullopt;
    return word.substr(key.size() + 1);
  };
  const auto f = value(files, "files"), t = value(filters, "filters"), r = value(repeat, "repeat"),
             s = value(seed, "seed");
  if (!f || !t || !r || !s) return std::nullopt;
  ShardSelection out;
  out.files = *f;
  out.filters = *t;
  try {
    std::size_t used = 0;
    out.repeat = std::stoi(*r, &used);
    if (used != r->size()) return std::nullopt;
    if (*s != "-") {
      if (s->empty() || !std::isdigit(static_cast<unsigned char>(s->front()))) return std::nullopt;
      out.seed = std::stoull(*s, &used);
      if (used != s->size()) return std::nullopt;
    }
  } catch (const std::exception&) {
    return std::nullopt;
  }
  return out;
}

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
