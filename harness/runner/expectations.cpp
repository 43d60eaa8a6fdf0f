#include "runner/expectations.h"

#include <algorithm>
#include <regex>

#include "common/units.h"

namespace faultline::runner {
namespace {

using report::Failure;
using report::ProcessResult;

std::string join_codes(const std::vector<int>& codes) {
  std::string s = "[";
  for (std::size_t i = 0; i < codes.size(); ++i) s += (i ? ", " : "") + std::to_string(codes[i]);
  return s + "]";
}

std::string describe_outcome(const ProcessResult& r) {
  std::string s = r.outcome;
  if (r.outcome == "exited" && r.exit_code) s += "(" + std::to_string(*r.exit_code) + ")";
  if ((r.outcome == "signaled" || r.outcome == "killed-after-grace") && r.signal)
    s += "(" + signal_name(*r.signal) + ")";
  if (r.outcome == "failed-to-start" && !r.start_error.empty()) s += ": " + r.start_error;
  return s;
}

// Last `n` characters, on one line, for "actual" fields.
std::string excerpt(const std::string& text) {
  constexpr std::size_t kMax = 200;
  std::string s = text.size() > kMax ? "…" + text.substr(text.size() - kMax) : text;
  std::replace(s.begin(), s.end(), '\n', ' ');
  return s;
}

class Checker {
 public:
  Checker(const scenario::Expect& e, const ProcessResult& r) : expect_(e), result_(r) {}

  void add(const std::string& key, std::string expected, std::string actual, std::string message) {
    std::uint32_t line = 0;
    if (auto it = expect_.key_pos.find(key); it != expect_.key_pos.end()) line = it->second.line;
    failures_.push_back(Failure{"expect." + key, result_.name, std::move(expected), std::move(actual),
                                std::move(message), line});
  }

  void output(const std::string& stream, const scenario::OutputExpect& o, const std::string& text) {
    for (const auto& needle : o.contains)
      if (text.find(needle) == std::string::npos)
        add(stream + ".contains", "output containing \"" + needle + "\"", excerpt(text),
            stream + " does not contain \"" + needle + "\"");
    for (const auto& needle : o.not_contains)
      if (text.find(needle) != std::string::npos)
        add(stream + ".not_contains", "no \"" + needle + "\"", excerpt(text),
            stream + " contains \"" + needle + "\"");
    if (o.matches && !std::regex_search(text, std::regex(*o.matches)))
      add(stream + ".matches", "a match for /" + *o.matches + "/", excerpt(text),
          stream + " has no match for /" + *o.matches + "/");
    if (o.not_matches) {
      std::smatch m;
      if (std::regex_search(text, m, std::regex(*o.not_matches)))
        add(stream + ".not_matches", "no match for /" + *o.not_matches + "/", "matched \"" + m.str() + "\"",
            stream + " matches /" + *o.not_matches + "/");
    }
  }

  std::vector<Failure> run() {
    const auto& e = expect_;
    const auto& r = result_;
    if (e.outcome && *e.outcome != scenario::ExpectedOutcome::any && to_string(*e.outcome) != r.outcome)
      add("outcome", to_string(*e.outcome), describe_outcome(r),
          "expected the process to end " + std::string(to_string(*e.outcome)) + ", it ended " +
              describe_outcome(r));
    if (e.exit_codes) {
      const bool ok =
          r.exit_code && r.outcome == "exited" &&
          std::find(e.exit_codes->begin(), e.exit_codes->end(), *r.exit_code) != e.exit_codes->end();
      if (!ok)
        add("exit_codes", "exit code in " + join_codes(*e.exit_codes), describe_outcome(r),
            "exit code not in " + join_codes(*e.exit_codes));
    }
    if (e.graceful) {
      if (!r.graceful) {
        if (*e.graceful)
          add("graceful", "stopped by itself within the grace period",
              "no stop phase ran (" + describe_outcome(r) + ")",
              "the process was never asked to stop (it ended before `duration` ran out, or no `duration` is "
              "set)");
      } else if (*r.graceful != *e.graceful) {
        add("graceful",
            *e.graceful ? "stopped by itself within the grace period" : "not stopping by itself in time",
            describe_outcome(r),
            *e.graceful ? "the process did not shut down gracefully" : "the process shut down gracefully");
      }
    }
    if (e.no_orphans && !r.orphans.empty()) {
      std::string list;
      for (const auto& o : r.orphans) list += (list.empty() ? "" : ", ") + o;
      add("no_orphans", "no process left after the main process exited", list,
          std::to_string(r.orphans.size()) + " process(es) left behind (killed by the harness)");
    }
    if (e.oom_kills && r.oom_kills != *e.oom_kills)
      add("oom_kills", std::to_string(*e.oom_kills), std::to_string(r.oom_kills),
          "OOM kills in the cgroup: " + std::to_string(r.oom_kills));
    if (e.max_memory && r.peak_memory_bytes > *e.max_memory)
      add("max_memory", "peak at most " + format_size(*e.max_memory), format_size(r.peak_memory_bytes),
          "peak memory above the limit");
    if (e.max_runtime) {
      const double limit_ms = std::chrono::duration<double, std::milli>(*e.max_runtime).count();
      if (r.runtime_ms > limit_ms)
        add("max_runtime", "at most " + format_duration(*e.max_runtime),
            format_duration(std::chrono::duration_cast<Duration>(
                std::chrono::duration<double, std::milli>(r.runtime_ms))),
            "ran longer than allowed");
    }
    output("stdout", e.stdout_expect, r.stdout_tail);
    output("stderr", e.stderr_expect, r.stderr_tail);
    return std::move(failures_);
  }

 private:
  const scenario::Expect& expect_;
  const ProcessResult& result_;
  std::vector<Failure> failures_;
};

}  // namespace

std::vector<report::Failure> evaluate(const scenario::Expect& expect, const report::ProcessResult& result) {
  return Checker(expect, result).run();
}

std::vector<int> allowed_exit_codes(const scenario::Expect* expect) {
  if (expect && expect->exit_codes) return *expect->exit_codes;
  return {0};
}

}  // namespace faultline::runner
