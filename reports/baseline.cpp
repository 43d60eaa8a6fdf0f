#include "reports/baseline.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>

namespace faultline::report {
namespace {

// The figures compared, per scenario, taken from its worst run.
struct Figures {
  Verdict verdict = Verdict::pass;
  std::map<std::string, double> peak_memory;    // process -> bytes
  std::set<std::string> peak_memory_unknown;    // processes whose peak the kernel did not keep
  std::map<std::string, double> shutdown_ms;    // process -> stop.signal to process.exit
  std::map<std::string, double> probe_latency;  // probe -> mean attempt latency
};

int badness(Verdict v) {
  switch (v) {
    case Verdict::pass:
      return 0;
    case Verdict::skip:
      return 1;
    case Verdict::fail:
      return 2;
    case Verdict::error:
      return 3;
  }
  return 3;
}

void keep_max(std::map<std::string, double>& m, const std::string& key, double value) {
  auto [it, inserted] = m.emplace(key, value);
  if (!inserted && value > it->second) it->second = value;
}

std::map<std::string, Figures> figures_of(const RunReport& report) {
  std::map<std::string, Figures> all;
  for (const auto& s : report.scenarios) {
    if (s.interrupted) continue;
    Figures& f = all[s.key()];
    if (badness(s.verdict) > badness(f.verdict)) f.verdict = s.verdict;
    // A peak the kernel did not keep is no figure: the memory left at the end would pass for one.
    for (const auto& p : s.processes)
      if (p.peak_memory_known)
        keep_max(f.peak_memory, p.name, static_cast<double>(p.peak_memory_bytes));
      else
        f.peak_memory_unknown.insert(p.name);
    std::map<std::string, double> stop_sent;
    for (const auto& e : s.timeline) {
      if (e.event == "stop.signal") stop_sent[e.process] = e.t_ms;
      if (e.event == "process.exit" && stop_sent.count(e.process))
        keep_max(f.shutdown_ms, e.process, e.t_ms - stop_sent[e.process]);
    }
    for (const auto& probe : s.probes) {
      if (probe.attempts.empty()) continue;
      double sum = 0;
      for (const auto& a : probe.attempts) sum += a.latency_ms;
      keep_max(f.probe_latency, probe.name, sum / static_cast<double>(probe.attempts.size()));
    }
  }
  return all;
}

std::string number(double v, const char* unit) {
  char buf[64];
  if (std::string(unit) == "MiB")
    std::snprintf(buf, sizeof buf, "%.1f MiB", v / (1 << 20));
  else
    std::snprintf(buf, sizeof buf, "%.1f %s", v, unit);
  return buf;
}

}  // namespace

BaselineComparison compare_with_baseline(const RunReport& baseline, const RunReport& current,
                                         const BaselineOptions& options) {
  BaselineComparison out;
  const auto before = figures_of(baseline);
  const auto after = figures_of(current);
  for (const auto& [name, now] : after) {
    auto it = before.find(name);
    if (it == before.end()) continue;
    const Figures& then = it->second;
    const bool failing_now = now.verdict == Verdict::fail || now.verdict == Verdict::error;
    const bool failing_then = then.verdict == Verdict::fail || then.verdict == Verdict::error;
    if (failing_now && then.verdict == Verdict::pass) {
      ++out.new_failures;
      out.changes.push_back({"new-failure",
                             name,
                             {},
                             "verdict",
                             0,
                             0,
                             std::string("passed in the baseline, ") + to_string(now.verdict) + " now"});
    } else if (!failing_now && now.verdict == Verdict::pass && failing_then) {
      ++out.fixed;
      out.changes.push_back({"fixed",
                             name,
                             {},
                             "verdict",
                             0,
                             0,
                             std::string(to_string(then.verdict)) + " in the baseline, passes now"});
    } else if (now.verdict == Verdict::skip && then.verdict != Verdict::skip) {
      // Neither fixed nor failing, and not gone: a red scenario that this host now skips (a knob
      // it lacks, a tag) left the trend without a word.
      out.changes.push_back(
          {"skipped",
           name,
           {},
           "verdict",
           0,
           0,
           std::string(to_string(then.verdict)) + " in the baseline, skipped now: not tested in this run"});
    }
    auto compare = [&](const std::map<std::string, double>& was, const std::map<std::string, double>& is,
                       const char* metric, const char* unit, double margin) {
      for (const auto& [who, value] : is) {
        auto w = was.find(who);
        if (w == was.end()) continue;
        if (value > w->second * (1 + options.tolerance) && value - w->second > margin) {
          ++out.regressions;
          out.changes.push_back({"regression", name, who, metric, w->second, value,
                                 std::string(metric) + " of `" + who + "` grew from " +
                                     number(w->second, unit) + " to " + number(value, unit)});
        }
      }
    };
    compare(then.peak_memory, now.peak_memory, "peak_memory_bytes", "MiB", options.memory_margin_bytes);
    // A peak the baseline has and this run could not measure (a host whose kernel keeps none) is
    // said, not passed over: "no regression" there would be a comparison never made.
    for (const auto& [who, value] : then.peak_memory)
      if (now.peak_memory_unknown.count(who) && !now.peak_memory.count(who))
        out.changes.push_back({"unmeasured", name, who, "peak_memory_bytes", value, 0,
                               "peak_memory_bytes of `" + who + "` was " + number(value, "MiB") +
                                   " in the baseline and is unknown in this run (the kernel kept no peak "
                                   "for its cgroup): not compared"});
    compare(then.shutdown_ms, now.shutdown_ms, "shutdown_ms", "ms", options.shutdown_margin_ms);
    compare(then.probe_latency, now.probe_latency, "probe_latency_ms", "ms", options.latency_margin_ms);
  }
  // Scenarios of the baseline the current run does not have at all. A scenario the current run
  // has only as interrupted runs is not gone: it already counts as an error there. Gone
  // scenarios are listed and never fail the run (the caller's exit status counts only the
  // current scenarios): a run filtered by --tag or --shard legitimately runs fewer. A scenario
  // the baseline has only as interrupted runs has no result there and is not listed.
  std::set<std::string> current_names;
  for (const auto& s : current.scenarios) current_names.insert(s.key());
  for (const auto& [name, then] : before)
    if (!current_names.count(name)) out.gone.push_back({name, then.verdict});
  return out;
}

std::string gone_message(const BaselineGone& gone) {
  return std::string(to_string(gone.verdict)) + " in the baseline, not in this run";
}

std::string baseline_summary(const BaselineComparison& c) {
  auto count = [](int n, const char* one, const char* many) {
    return std::to_string(n) + " " + (n == 1 ? one : many);
  };
  std::string s = "baseline " + c.file + ": " + count(c.new_failures, "new failure", "new failures") + ", " +
                  count(c.fixed, "fixed", "fixed") + ", " + count(c.regressions, "regression", "regressions");
  // Only when there are some, so the headline of a run with the baseline's scenarios is unchanged.
  if (!c.gone.empty()) s += ", " + count(static_cast<int>(c.gone.size()), "gone", "gone");
  const auto skipped = std::count_if(c.changes.begin(), c.changes.end(),
                                     [](const BaselineChange& ch) { return ch.kind == "skipped"; });
  if (skipped > 0) s += ", " + count(static_cast<int>(skipped), "skipped now", "skipped now");
  s += "\n";
  for (const auto& ch : c.changes) s += "  " + ch.kind + ": " + ch.scenario + ": " + ch.message + "\n";
  for (const auto& g : c.gone) s += "  gone: " + g.scenario + ": " + gone_message(g) + "\n";
  return s;
}

}  // namespace faultline::report
