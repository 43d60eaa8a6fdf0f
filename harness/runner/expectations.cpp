#include "runner/expectations.h"

#include <signal.h>

#include <algorithm>
#include <map>
#include <set>
#include <string_view>
#include <utility>
#include <variant>

#include "common/units.h"
#include "timeline/schedule.h"

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

// A stop phase that ran but was not graceful has one of three causes; the author needs to know
// which, as each has its own fix (a longer grace, a signal handler, the exit code).
std::string why_not_graceful(const scenario::Expect& e, const report::ProcessResult& r) {
  if (r.outcome == "killed-after-grace") return "still running when the grace period ended, so it was killed";
  if (r.outcome == "exited" && r.exit_code) {
    const auto allowed = allowed_exit_codes(&e);
    return "it exited with code " + std::to_string(*r.exit_code) + ", not in " + join_codes(allowed) +
           (e.exit_codes ? " (exit_codes)" : " (the default without exit_codes)");
  }
  return "it ended " + describe_outcome(r) + " instead of exiting by itself";
}

// Last `n` characters, on one line, for "actual" fields; an empty stream reads "(empty)", not a blank.
std::string excerpt(const std::string& text) {
  if (text.empty()) return "(empty)";
  constexpr std::size_t kMax = 200;
  std::string s = text.size() > kMax ? "…" + text.substr(text.size() - kMax) : text;
  std::replace(s.begin(), s.end(), '\n', ' ');
  return s;
}

class Checker {
 public:
  Checker(const scenario::Expect& e, const ProcessResult& r, const OutputSeen& seen,
          const std::vector<report::SyscallFaultCount>& syscall_counts, const std::set<int>& signals_sent)
      : expect_(e), result_(r), seen_(seen), syscall_counts_(syscall_counts), signals_sent_(signals_sent) {}

  void add(const std::string& key, std::string expected, std::string actual, std::string message) {
    std::uint32_t line = 0;
    if (auto it = expect_.key_pos.find(key); it != expect_.key_pos.end()) line = it->second.line;
    failures_.push_back(Failure{
        "expect." + key, result_.name, std::move(expected), std::move(actual), std::move(message), line, {}});
  }

  // Every count reads the same: "oom_kills 0, expected >=1". `unknown_because`: the kernel keeps
  // no such counter here, so the count was never read and cannot pass.
  void count(const std::string& key, const std::optional<scenario::Comparison>& expected,
             std::uint64_t actual, const char* unknown_because = nullptr) {
    if (expected && unknown_because && result_.outcome != "failed-to-start")
      return add(key, scenario::to_string(*expected), "unknown",
                 key + " cannot be checked: " + unknown_because);
    if (!expected || expected->holds(static_cast<double>(actual))) return;
    add(key, scenario::to_string(*expected), std::to_string(actual),
        key + " " + std::to_string(actual) + ", expected " + scenario::to_string(*expected));
  }

  // The calls a syscall fault hit, judged like every other count; the message names the fault.
  void syscall_failures() {
    for (const auto& [inject, expected] : expect_.syscall_failures) {
      const auto counted =
          std::find_if(syscall_counts_.begin(), syscall_counts_.end(),
                       [&](const report::SyscallFaultCount& c) { return c.inject == inject; });
      const std::uint64_t hit = counted != syscall_counts_.end() ? counted->hit : 0;
      if (expected.holds(static_cast<double>(hit))) continue;
      std::string seen = counted != syscall_counts_.end()
                             ? " (of " + std::to_string(counted->matched) + " matching while it was active"
                             : " (its process never ran under the syscall filter)";
      if (counted != syscall_counts_.end())
        seen += counted->hit_while_stopping ? "; " + std::to_string(counted->hit_while_stopping) +
                                                  " more after the stop phase began, not counted)"
                                            : ")";
      add("syscall_failures." + inject, scenario::to_string(expected), std::to_string(hit),
          "syscall fault `" + inject + "` hit " + std::to_string(hit) + " call(s)" + seen + ", expected " +
              scenario::to_string(expected));
    }
  }

  // Every check reads what the matcher saw over the whole stream; the tail only decorates a
  // "never seen" message with how the output ended.
  void output(const std::string& stream, const scenario::OutputExpect& o, const supervisor::OutputMatcher* m,
              const std::string& tail) {
    const std::uint64_t lines = m ? m->lines() : 0, bytes = m ? m->bytes() : 0;
    // An empty stream says so in words: "in 0 line(s), 0 bytes" followed by nothing reads like
    // a lost excerpt.
    const bool empty = bytes == 0;
    const std::string seen = "in " + std::to_string(lines) + " line(s), " + std::to_string(bytes) + " bytes";
    const std::string ending = tail.empty() ? "" : "; output ends with: " + excerpt(tail);
    const auto unseen = [&](const char* what) { return empty ? "(empty)" : what + seen + ending; };
    const std::string because = empty ? ": " + stream + " (empty)" : " (" + seen + ")";
    const auto where = [](const supervisor::OutputMatch& at) {
      return "line " + std::to_string(at.line) + " (byte " + std::to_string(at.offset) + "): " + at.excerpt;
    };
    const auto literal = [&](std::size_t i) { return m ? m->literal_match(i) : std::nullopt; };
    const auto regex = [&](std::size_t i) { return m ? m->regex_match(i) : std::nullopt; };
    std::size_t li = 0, ri = 0;
    for (const auto& needle : o.contains)
      if (!literal(li++))
        add(stream + ".contains", "output containing \"" + needle + "\"", unseen("never seen "),
            stream + " never contained \"" + needle + "\"" + because);
    for (const auto& needle : o.not_contains)
      if (const auto at = literal(li++))
        add(stream + ".not_contains", "no \"" + needle + "\"", where(*at),
            stream + " contains \"" + needle + "\" at line " + std::to_string(at->line) + ": " + at->excerpt);
    for (const auto& re : o.matches)
      if (!regex(ri++))
        add(stream + ".matches", "a line matching /" + re + "/", unseen("no line matched "),
            stream + " has no line matching /" + re + "/" + because);
    for (const auto& re : o.not_matches)
      if (const auto at = regex(ri++))
        add(stream + ".not_matches", "no line matching /" + re + "/", where(*at),
            stream + " line " + std::to_string(at->line) + " matches /" + re + "/: " + at->excerpt);
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
            r.exit_code && r.outcome == "exited"
                ? "exit code " + std::to_string(*r.exit_code) + " not in " + join_codes(*e.exit_codes)
                : "no exit code (" + describe_outcome(r) + "), expected one in " + join_codes(*e.exit_codes));
    } else if (const auto why = end_not_allowed_by_default()) {
      add("exit_codes", "exit code 0 (the default without exit_codes)", describe_outcome(r), *why);
      failures_.back().line = e.pos.line;
    }
    if (e.graceful) {
      // Never asked to stop, the process showed neither: `graceful = false` is as untested as `true`.
      if (!r.graceful) {
        add("graceful",
            *e.graceful ? "stopped by itself within the grace period" : "not stopping by itself in time",
            "no stop phase ran (" + describe_outcome(r) + ")",
            "the process was never asked to stop (it ended before `duration` ran out, or no `duration` is "
            "set)");
      } else if (*r.graceful != *e.graceful) {
        add("graceful",
            *e.graceful ? "stopped by itself within the grace period" : "not stopping by itself in time",
            describe_outcome(r),
            *e.graceful ? "the process did not shut down gracefully: " + why_not_graceful(e, r)
                        : "the process shut down gracefully");
      }
    }
    if (e.no_orphans && !r.orphans.empty()) {
      std::string list;
      for (const auto& o : r.orphans) list += (list.empty() ? "" : ", ") + o;
      add("no_orphans", "no process left after the main process exited", list,
          std::to_string(r.orphans.size()) + " process(es) left behind (killed by the harness)");
    }
    count("oom_kills", e.oom_kills, r.oom_kills,
          r.oom_kills_known ? nullptr
          : !r.oom_kills_unknown_why.empty()
              ? r.oom_kills_unknown_why.c_str()
              : "the process's cgroup has no OOM kill counter on this host (no "
                "memory controller there, or a kernel before 4.13)");
    count("pids_max_events", e.pids_max_events, r.pids_max_events,
          r.pids_max_events_known
              ? nullptr
              : "the process's cgroup has no pids.events on this host (no pids controller there)");
    syscall_failures();
    if (e.max_memory && !r.peak_memory_known && r.outcome != "failed-to-start")
      add("max_memory", "peak at most " + format_size(*e.max_memory), "unknown",
          "the peak memory is unknown on this host (cgroup v2 keeps memory.peak from Linux 5.19; without "
          "the memory controller there is none), so max_memory cannot be checked");
    else if (e.max_memory && r.peak_memory_bytes > *e.max_memory)
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
    output("stdout", e.stdout_expect, seen_.stdout_matcher, r.stdout_tail);
    output("stderr", e.stderr_expect, seen_.stderr_matcher, r.stderr_tail);
    return std::move(failures_);
  }

 private:
  // Without `exit_codes`, a process must exit 0: a table that checks only its output would
  // otherwise pass a test run that failed (exit 1), a shell whose child crashed (139), a service
  // that exits 1 when asked to stop, a program killed by a signal nobody sent it from here (its
  // own SIGKILL, a SIGPIPE, its alarm() watchdog) or one that had to be SIGKILLed after its stop
  // grace. After a signal N that faultline sent it (its stop signal, a signal fault, the diagnose
  // signal), a death by N or an exit by 128+N is the conventional answer and allowed too. A stop
  // phase that `graceful` judges is left to it (with the same default), an `outcome` the author
  // named is checked by that key, and `outcome = "any"` asks for no check at all. Returns why the
  // end is not allowed.
  std::optional<std::string> end_not_allowed_by_default() const {
    const auto& e = expect_;
    const auto& r = result_;
    if (r.graceful && e.graceful) return std::nullopt;
    if (e.outcome && *e.outcome != scenario::ExpectedOutcome::exited) return std::nullopt;
    const std::string allowed =
        "a table without `exit_codes` allows only exit 0 (or, after faultline sent signal N, a death by N or "
        "exit 128+N)";
    if (r.outcome == "exited" && r.exit_code && *r.exit_code != 0) {
      if (*r.exit_code > 128 && signals_sent_.contains(*r.exit_code - 128)) return std::nullopt;
      return "exit code " + std::to_string(*r.exit_code) + ", expected 0: " + allowed +
             " (write `exit_codes = [0, " + std::to_string(*r.exit_code) +
             "]` or `outcome = \"any\"` if that code is fine)";
    }
    // A named outcome other than "exited" returned above; "exited" itself fails on its own key.
    if (e.outcome) return std::nullopt;
    if (r.outcome == "signaled" && r.signal && !signals_sent_.contains(*r.signal))
      return "killed by " + signal_name(*r.signal) + ", which faultline did not send: " + allowed +
             " (write `outcome = \"signaled\"` or `outcome = \"any\"` if that end is fine)";
    if (r.outcome == "killed-after-grace")
      return "SIGKILLed after its stop grace: it did not stop when asked, and " + allowed +
             " (write `graceful = false` or `outcome = \"any\"` if that end is fine)";
    return std::nullopt;
  }

  const scenario::Expect& expect_;
  const ProcessResult& result_;
  const OutputSeen& seen_;
  const std::vector<report::SyscallFaultCount>& syscall_counts_;
  const std::set<int>& signals_sent_;
  std::vector<Failure> failures_;
};

}  // namespace

supervisor::OutputPatterns output_patterns(const scenario::OutputExpect& expect) {
  supervisor::OutputPatterns p;
  p.literals = expect.contains;
  p.literals.insert(p.literals.end(), expect.not_contains.begin(), expect.not_contains.end());
  p.regexes = expect.matches;
  p.regexes.insert(p.regexes.end(), expect.not_matches.begin(), expect.not_matches.end());
  return p;
}

std::vector<report::Failure> evaluate(const scenario::Expect& expect, const report::ProcessResult& result,
                                      const OutputSeen& seen,
                                      const std::vector<report::SyscallFaultCount>& syscall_counts,
                                      const std::set<int>& signals_sent) {
  return Checker(expect, result, seen, syscall_counts, signals_sent).run();
}

SignalsSent signals_sent(const scenario::Scenario& scenario,
                         const std::vector<report::TimelineEvent>& timeline) {
  SignalsSent sent;
  for (const auto& e : timeline) {
    if (e.event == "stop.signal") {
      if (const auto* p = scenario.find_process(e.process)) sent[p->name].insert(p->stop_signal);
    } else if (e.event == "inject.apply") {
      for (const auto& inj : scenario.injections)
        if (const auto* signal = std::get_if<scenario::SignalFault>(&inj.params);
            signal && inj.name == e.inject)
          sent[inj.into].insert(signal->signal);
    } else if (e.event == "timeout.diagnose" && scenario.on_timeout.diagnose_signal) {
      for (const auto& p : scenario.processes) sent[p.name].insert(*scenario.on_timeout.diagnose_signal);
    }
  }
  return sent;
}

namespace {

// The signals whose default action dumps core: a program error or a resource limit (SIGQUIT
// is left out: it is how a user, or `[on_timeout]`, asks for a dump).
bool crash_signal(int signal) {
  switch (signal) {
    case SIGSEGV:
    case SIGBUS:
    case SIGILL:
    case SIGFPE:
    case SIGABRT:
    case SIGSYS:
    case SIGTRAP:
    case SIGXCPU:
    case SIGXFSZ:
      return true;
    default:
      return false;
  }
}

bool crashed(const ProcessResult& r, const SignalsSent& sent) {
  if (r.outcome != "signaled" || !r.signal || !crash_signal(*r.signal)) return false;
  const auto by_us = sent.find(r.name);
  return by_us == sent.end() || !by_us->second.contains(*r.signal);
}

}  // namespace

void fold_consequences(std::vector<report::Failure>& failures,
                       const std::vector<report::ProcessResult>& processes,
                       const std::vector<scenario::Expect>& expects, const SignalsSent& sent) {
  std::size_t causes = 0;  // the causes found so far lead the list, in process order
  for (const auto& r : processes) {
    const bool crash = crashed(r, sent);
    if (r.outcome != "oom-killed" && r.outcome != "timed-out" && r.outcome != "failed-to-start" && !crash)
      continue;
    // An outcome the author asked for is no cause: the other checks stand on their own. An
    // `oom_kills` count that 0 does not meet (">=1") asks for an OOM kill too.
    const bool expected = std::any_of(expects.begin(), expects.end(), [&](const scenario::Expect& e) {
      if (e.process != r.name) return false;
      if (!e.outcome) return r.outcome == "oom-killed" && e.oom_kills && !e.oom_kills->holds(0);
      return *e.outcome == scenario::ExpectedOutcome::any || to_string(*e.outcome) == r.outcome;
    });
    if (expected) continue;
    const bool has_table = std::any_of(expects.begin(), expects.end(),
                                       [&](const scenario::Expect& e) { return e.process == r.name; });
    std::vector<Failure> rest, mine;
    for (auto& f : failures) (f.process == r.name ? mine : rest).push_back(std::move(f));
    // A process that never started broke no check of its own, yet none was tested: its output
    // checks, counts and limits all hold on nothing, so its not starting is the failure. An OOM
    // kill or a crash fails a table that did not ask for it, whatever else held ("no orphans"
    // after a SIGSEGV is no pass). A process without a table is judged by the others' claims.
    const bool a_failure_of_its_own =
        r.outcome == "failed-to-start" || (has_table && r.outcome != "timed-out");
    if (mine.empty() && !a_failure_of_its_own) {
      failures = std::move(rest);
      continue;
    }
    // The cause: the timeout or the outcome check when one failed, else the outcome itself.
    auto cause = std::find_if(mine.begin(), mine.end(), [](const Failure& f) {
      return f.check == "timeout" || f.check == "expect.outcome";
    });
    Failure head =
        cause != mine.end()
            ? std::move(*cause)
            : Failure{"outcome",
                      r.name,
                      r.outcome == "failed-to-start"
                          ? "a started process (only `outcome = \"any\"` allows none)"
                      : crash ? "no crash (no `outcome` key allows a death by " + signal_name(*r.signal) + ")"
                              : "not " + r.outcome + " (no `outcome` key allows it)",
                      describe_outcome(r),
                      r.outcome == "failed-to-start"
                          ? "the process " + (r.start_error.empty() ? "did not start" : r.start_error)
                          : "the process ended " + describe_outcome(r),
                      0,
                      {}};
    // A made-up cause points at the first key it broke (else at the process's [[expect]]), for
    // the report's file:line.
    if (head.line == 0)
      for (const auto& f : mine)
        if (f.line) {
          head.line = f.line;
          break;
        }
    if (head.line == 0)
      for (const auto& e : expects)
        if (e.process == r.name) {
          head.line = e.pos.line;
          break;
        }
    for (auto it = mine.begin(); it != mine.end(); ++it)
      if (it != cause) {
        const std::string key = it->check.starts_with("expect.") ? it->check.substr(7) : it->check;
        head.consequences.push_back(key + ": " + it->message);
      }
    // Causes first: the scenario's reason names the first failure. Earlier causes are still at
    // the front of `rest`.
    rest.insert(rest.begin() + static_cast<std::ptrdiff_t>(causes++), std::move(head));
    failures = std::move(rest);
  }
}

namespace {

// `stop = "<proc>.exit"` whose process never exited: the stop phase never began, so every other
// process ran into the timeout too. One cause: the driver's timeout leads, the others' timeouts
// (and what they broke) are its consequences.
void fold_under_stop_driver(const scenario::Scenario& scenario, std::vector<report::Failure>& failures) {
  if (!scenario.stop) return;
  const auto driver = timeline::exiting_process(scenario.stop->anchor);
  const auto is_timeout = [](const report::Failure& f, const std::string& process) {
    return f.check == "timeout" && f.process == process;
  };
  auto head = std::find_if(failures.begin(), failures.end(),
                           [&](const report::Failure& f) { return driver && is_timeout(f, *driver); });
  if (head == failures.end()) return;
  report::Failure cause = std::move(*head);
  failures.erase(head);
  cause.message +=
      "; it never exited, so `stop = \"" + scenario.stop->text + "\"` never began the stop phase";
  std::vector<report::Failure> rest;
  for (auto& f : failures) {
    if (f.check != "timeout") {
      rest.push_back(std::move(f));
      continue;
    }
    cause.consequences.push_back("timeout [" + f.process + "]: " + f.message);
    for (auto& c : f.consequences) cause.consequences.push_back("[" + f.process + "] " + c);
  }
  failures.clear();
  failures.push_back(std::move(cause));
  for (auto& f : rest) failures.push_back(std::move(f));
}

const scenario::Expect* expect_for(const scenario::Scenario& scenario, const std::string& process) {
  for (const auto& e : scenario.expects)
    if (e.process == process) return &e;
  return nullptr;
}

// Whether a fault that was switched on did anything: a syscall rule hit a call; a network fault
// touched a connection (for a partition, `down`, a connect refused while it lasted counts).
// Where refused connects could not be seen, a partition counts when the client used its proxy
// at all in the run. Any other kind acts by being applied.
bool fired(const scenario::Injection& inj, const report::ScenarioResult& result) {
  if (std::holds_alternative<scenario::SyscallFault>(inj.params))
    return std::any_of(result.syscall_faults.begin(), result.syscall_faults.end(),
                       [&](const report::SyscallFaultCount& c) { return c.inject == inj.name && c.hit > 0; });
  if (!std::holds_alternative<scenario::NetworkFault>(inj.params)) return true;
  return std::any_of(result.proxies.begin(), result.proxies.end(), [&](const report::ProxyResult& p) {
    const auto touched = p.toxics_touched.find(inj.name);
    return (touched != p.toxics_touched.end() && touched->second > 0) ||
           (inj.kind == "down" && p.name == inj.proxy && !p.refused_unseen.empty() && p.accepted > 0);
  });
}

// A rule that matched no call and lists a name programs rarely call as itself: libc makes the
// function of that name the newer call (open() an openat since glibc 2.26, stat() and lstat() a
// newfstatat since 2.33). Empty when there is nothing to add.
std::string unmatched_call_hint(const scenario::SyscallFault& fault) {
  static constexpr std::pair<std::string_view, std::string_view> kMadeAs[] = {
      {"open", "openat"}, {"stat", "newfstatat"}, {"lstat", "newfstatat"}};
  const auto listed = [&](std::string_view name) {
    return std::find(fault.syscalls.begin(), fault.syscalls.end(), name) != fault.syscalls.end();
  };
  for (const auto& [function, call] : kMadeAs)
    if (listed(function) && !listed(call))
      return "; libc calls `" + std::string(call) + "` for " + std::string(function) + "(): list `" +
             std::string(call) + "` too";
  return "";
}

// A syscall fault switched on that hit no call proves nothing about the target: a failure, unless
// the fault is `optional` or an [expect] states its count (which then decides, `= 0` included).
// One never switched on failed check_faults_applied already.
void check_syscall_faults_fired(const scenario::Scenario& scenario, const report::ScenarioResult& result,
                                const std::set<std::string>& never_applied,
                                std::vector<report::Failure>& failures) {
  for (const auto& c : result.syscall_faults) {
    if (never_applied.contains(c.inject)) continue;
    const auto inj = std::find_if(scenario.injections.begin(), scenario.injections.end(),
                                  [&](const scenario::Injection& i) { return i.name == c.inject; });
    if (inj == scenario.injections.end()) continue;
    if (!std::holds_alternative<scenario::SyscallFault>(inj->params) || inj->optional || fired(*inj, result))
      continue;
    const scenario::Expect* expect = expect_for(scenario, c.process);
    if (expect && expect->syscall_failures.contains(c.inject)) continue;
    report::Failure failure;
    failure.check = "inject.syscall";
    failure.process = c.process;
    failure.expected = ">=1 call hit";
    failure.actual = std::to_string(c.matched) + " matching calls, none hit" +
                     (c.hit_while_stopping ? " (" + std::to_string(c.hit_while_stopping) +
                                                 " hit after the stop phase began, not counted)"
                                           : "");
    failure.message =
        "syscall fault `" + c.inject + "` never fired: " + failure.actual +
        " while it was active (set `optional = true` on the injection, or state its count in "
        "[expect] syscall_failures, if that is fine)" +
        (c.matched == 0 ? unmatched_call_hint(std::get<scenario::SyscallFault>(inj->params)) : "");
    failure.line = inj->pos.line;
    failures.push_back(std::move(failure));
  }
}

// A network fault that touched no connection proves nothing about the client: a failure, unless
// the fault is `optional`.
void check_network_faults_fired(const scenario::Scenario& scenario, const report::ScenarioResult& result,
                                const std::set<std::string>& never_applied,
                                std::vector<report::Failure>& failures) {
  for (const auto& proxy : result.proxies)
    for (const auto& [name, touched] : proxy.toxics_touched) {
      const auto inj = std::find_if(scenario.injections.begin(), scenario.injections.end(),
                                    [&](const scenario::Injection& i) { return i.name == name; });
      if (inj == scenario.injections.end()) continue;
      if (!std::holds_alternative<scenario::NetworkFault>(inj->params) || inj->optional ||
          never_applied.contains(name) || fired(*inj, result))
        continue;
      const bool down = inj->kind == "down";
      const bool down_unseen = down && !proxy.refused_unseen.empty();
      const std::string own = proxy.own_connections.value_or(0)
                                  ? ", besides " + std::to_string(*proxy.own_connections) +
                                        " of faultline's own probes and checks"
                                  : "";
      report::Failure failure;
      failure.check = "inject.network";
      if (down_unseen) {
        failure.expected = ">=1 connection through the proxy in the run";
        failure.actual = "proxy `" + proxy.name + "` accepted no connection in the whole run";
      } else if (down) {
        failure.expected = ">=1 connection closed or connect refused";
        failure.actual = "no connection open and no connect refused while it lasted (" +
                         std::to_string(proxy.accepted) + " accepted by proxy `" + proxy.name +
                         "` in the whole run" + own + ")";
      } else {
        failure.expected = ">=1 connection touched";
        failure.actual = "no connection touched (" + std::to_string(proxy.accepted) + " accepted by proxy `" +
                         proxy.name + "` in the whole run" + own + ")";
      }
      failure.message =
          "network fault `" + name + "` (" + inj->kind + ") never fired: " + failure.actual +
          (down ? "; does the client connect through the proxy (its `listen`), not to the server "
                  "directly, while the partition lasts? (set `optional = true` on the injection if that is "
                  "fine)"
                : "; does the client connect through the proxy and send data through it while "
                  "the fault is active? (set `optional = true` on the injection if that is fine)");
      failure.line = inj->pos.line;
      failures.push_back(std::move(failure));
    }
}

// A fault that was never applied (its time came after the run ended, its process had exited)
// proves nothing about the target: a failure, unless the fault is `optional`. Returns the names of
// the faults never applied, optional ones included, so the syscall and network checks do not
// report them a second time. Chaos draws are optional one by one, but a run where none of them
// was applied tested nothing.
std::set<std::string> check_faults_applied(const scenario::Scenario& scenario,
                                           const report::ScenarioResult& result,
                                           std::vector<report::Failure>& failures) {
  const auto outcomes = report::injection_outcomes(result.timeline);
  std::set<std::string> never_applied;
  std::size_t drawn = 0, drawn_took_effect = 0;
  const scenario::Injection* first_drawn = nullptr;
  for (const auto& inj : scenario.injections) {
    const auto found = outcomes.find(inj.name);
    const report::InjectionOutcome outcome =
        found != outcomes.end() ? found->second : report::InjectionOutcome{};
    // Applied, but never did what was asked: not applied.
    const bool was_applied = outcome.applied > 0 && !outcome.unheld;
    if (inj.name.starts_with("chaos#")) {
      ++drawn;
      drawn_took_effect += was_applied && fired(inj, result);
      if (!first_drawn) first_drawn = &inj;
    }
    const auto not_applied = [&](std::string expected, std::string actual, std::string message) {
      failures.push_back(report::Failure{"inject.applied",
                                         inj.into,
                                         std::move(expected),
                                         std::move(actual),
                                         std::move(message),
                                         inj.pos.line,
                                         {}});
    };
    // A repeated signal that stopped short (its process exited or the run ended first) was not
    // the fault written: "survives three reloads" passed on one reload.
    const auto* signal = std::get_if<scenario::SignalFault>(&inj.params);
    if (was_applied && signal && signal->repeat_every && !inj.optional &&
        outcome.applied < signal->repeat_count) {
      const std::string delivered =
          std::to_string(outcome.applied) + " of " + std::to_string(signal->repeat_count);
      not_applied(
          std::to_string(signal->repeat_count) + " deliveries from " + inj.at.text,
          delivered + " delivered" + (outcome.skipped ? ": " + *outcome.skipped : ""),
          "signal fault `" + inj.name + "` was delivered " + delivered + " times" +
              (outcome.skipped ? " (" + *outcome.skipped + ")" : "") +
              ", so the run says nothing about the later ones (set `optional = true` on the injection "
              "if the process may stop before the last repeat, as under a SIGTERM repeated until it "
              "exits)");
      continue;
    }
    // A syscall fault never switched on is judged here like every other kind, whatever count its
    // [expect] states: "no write failed while the disk was full" says nothing when the disk never
    // was. One switched on is judged by the calls it hit (check_syscall_faults_fired).
    if (was_applied) continue;
    never_applied.insert(inj.name);
    if (inj.optional) continue;
    const std::string actual = outcome.unheld    ? "never held: " + *outcome.unheld
                               : outcome.skipped ? "skipped: " + *outcome.skipped
                                                 : "never applied";
    not_applied("applied at " + inj.at.text, actual,
                inj.kind + " fault `" + inj.name + "` never took effect (" + actual +
                    "), so the run says nothing about the target under it (set `optional = true` on the "
                    "injection if that is fine)");
  }
  // A [chaos] run that tested nothing: no drawn fault took effect, or every draw was left out
  // (each would have made the run refuse itself).
  const auto chaos_tested_nothing = [&](std::string actual, const std::string& why, const std::string& hint,
                                        std::uint32_t line) {
    failures.push_back(report::Failure{"chaos",
                                       "",
                                       "at least one drawn fault took effect",
                                       std::move(actual),
                                       why + ": the run tested nothing; " + hint,
                                       line,
                                       {}});
  };
  if (drawn > 0 && drawn_took_effect == 0)
    chaos_tested_nothing(
        "none of " + std::to_string(drawn) + " took effect",
        "none of the " + std::to_string(drawn) +
            " drawn fault(s) took effect (skipped: see their inject.skip events; or a syscall "
            "fault that hit no call, a network fault that touched no connection)",
        "does the chaos window lie within the run, and does the target make the calls and "
        "connections drawn?",
        first_drawn->pos.line);
  if (scenario.chaos && scenario.chaos->faults > 0 && drawn == 0)
    chaos_tested_nothing("all " + std::to_string(scenario.chaos->faults) + " drawn fault(s) left out",
                         "every one of the " + std::to_string(scenario.chaos->faults) +
                             " drawn fault(s) was left out (see the chaos.left-out events)",
                         "do [chaos] kinds and `into` leave anything the scenario allows?",
                         scenario.chaos->pos.line);
  return never_applied;
}

// The tables the run is judged by. A scenario without any `[expect]` states nothing, and would pass
// a test command that exited 1 or crashed: each process is then judged by an empty table (exit 0,
// or the signal faultline sent it; no crash, no OOM kill, no orphans), placed on its own lines.
std::vector<scenario::Expect> tables_to_judge(const scenario::Scenario& scenario) {
  if (!scenario.expects.empty()) return scenario.expects;
  std::vector<scenario::Expect> defaults;
  for (const auto& p : scenario.processes) {
    scenario::Expect e;
    e.process = p.name;
    e.pos = p.pos;
    defaults.push_back(std::move(e));
  }
  return defaults;
}

}  // namespace

void judge(const scenario::Scenario& scenario, report::ScenarioResult& result, const OutputLookup& seen) {
  // Hitting the deadline fails the scenario unless the process was expected to time out.
  for (const auto& pr : result.processes) {
    if (pr.outcome != "timed-out") continue;
    const scenario::Expect* expect = expect_for(scenario, pr.name);
    const bool expected = expect && expect->outcome &&
                          (*expect->outcome == scenario::ExpectedOutcome::timed_out ||
                           *expect->outcome == scenario::ExpectedOutcome::any);
    if (!expected)
      result.failures.push_back({"timeout",
                                 pr.name,
                                 "finished within " + format_duration(scenario.timeout),
                                 "still running at the deadline, killed",
                                 "timed out after " + format_duration(scenario.timeout),
                                 0,
                                 {}});
  }
  // The deadline came after every process had ended: something the run still held kept it going
  // (a process that moved itself out of its process's cgroup, output held open), and a run that
  // did not end in time passes no more than a process that did not.
  const bool deadline_hit = std::any_of(result.timeline.begin(), result.timeline.end(),
                                        [](const report::TimelineEvent& e) { return e.event == "timeout"; });
  const bool a_process_timed_out =
      std::any_of(result.processes.begin(), result.processes.end(),
                  [](const report::ProcessResult& p) { return p.outcome == "timed-out"; });
  if (deadline_hit && !a_process_timed_out) {
    // A process still waiting on a dependency's gate at the deadline never started: the run was
    // waiting to start it, not held by something outside.
    std::string never_started;
    for (const auto& p : result.processes)
      if (p.outcome == "failed-to-start" && p.pid == 0 && p.start_error.starts_with("never started"))
        never_started += (never_started.empty() ? "`" : ", `") + p.name + "`";
    const std::string timeout = format_duration(scenario.timeout);
    const bool waiting = !never_started.empty();
    result.failures.push_back(
        {"timeout",
         "",
         "the run ends within " + timeout,
         waiting ? never_started + " never started, every other process had ended"
                 : "every process had ended, the run had not",
         "the run was still going at its timeout " + timeout +
             (waiting
                  ? " with " + never_started +
                        " never started (a dependency was not ready); every process that started had ended"
                  : " after every process had ended (a process outside their cgroups, or their output "
                    "held open)"),
         0,
         {}});
  }
  const SignalsSent sent = signals_sent(scenario, result.timeline);
  const std::set<int> none;
  const std::vector<scenario::Expect> tables = tables_to_judge(scenario);
  for (const auto& e : tables)
    for (const auto& pr : result.processes)
      if (pr.name == e.process) {
        const auto to_it = sent.find(pr.name);
        for (auto& f : evaluate(e, pr, seen(e.process), result.syscall_faults,
                                to_it != sent.end() ? to_it->second : none))
          result.failures.push_back(std::move(f));
      }
  const auto never_applied = check_faults_applied(scenario, result, result.failures);
  check_syscall_faults_fired(scenario, result, never_applied, result.failures);
  check_network_faults_fired(scenario, result, never_applied, result.failures);
  fold_consequences(result.failures, result.processes, tables, sent);
  fold_under_stop_driver(scenario, result.failures);
  if (result.failures.empty()) {
    result.verdict = report::Verdict::pass;
    return;
  }
  result.verdict = report::Verdict::fail;
  const report::Failure& first = result.failures.front();
  result.reason = first.check + ": " + first.message;
  // The one-line reason names what the cause broke too: "...; therefore exit_codes, stdout.contains".
  for (std::size_t i = 0; i < first.consequences.size(); ++i)
    result.reason +=
        (i ? ", " : "; therefore ") + first.consequences[i].substr(0, first.consequences[i].find(':'));
  result.reason_line = first.line;
  if (result.failures.size() > 1)
    result.reason += " (and " + std::to_string(result.failures.size() - 1) + " more)";
}

std::vector<int> allowed_exit_codes(const scenario::Expect* expect) {
  if (expect && expect->exit_codes) return *expect->exit_codes;
  return {0};
}

}  // namespace faultline::runner
