// Checks one [expect] table against what happened to its process. Pure: no I/O, so every rule
// is unit-tested with hand-made results.
#pragma once

#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "reports/model.h"
#include "scenario/model.h"
#include "supervisor/output_matcher.h"

namespace faultline::runner {

// What the output matchers saw on each stream of the process, fed while it ran. A null matcher
// means nothing was read (the process never started).
struct OutputSeen {
  const supervisor::OutputMatcher* stdout_matcher = nullptr;
  const supervisor::OutputMatcher* stderr_matcher = nullptr;
};

// The patterns one stream is watched for: contains then not_contains as literals, matches then
// not_matches as regexes, in that order (evaluate reads the matcher's results in it).
supervisor::OutputPatterns output_patterns(const scenario::OutputExpect& expect);

// `syscall_counts`: what each syscall fault of the run did (ScenarioResult::syscall_faults), for
// `syscall_failures`; a fault missing from it hit nothing (its process never ran under the filter).
// `signals_sent`: the signals faultline sent this process (see SignalsSent); without
// `exit_codes`, a death by signal N or an exit by 128+N after it is no failure.
std::vector<report::Failure> evaluate(const scenario::Expect& expect, const report::ProcessResult& result,
                                      const OutputSeen& seen = {},
                                      const std::vector<report::SyscallFaultCount>& syscall_counts = {},
                                      const std::set<int>& signals_sent = {});

// Signals faultline itself sent each process in this run, by the timeline (its stop signal, the
// signal faults applied to it, the timeout's diagnose signal): a death by one of them is no crash
// of its own. A signal the scenario names but never sent (a skipped fault, a stop phase that
// never came) excuses nothing.
using SignalsSent = std::map<std::string, std::set<int>>;
SignalsSent signals_sent(const scenario::Scenario& scenario,
                         const std::vector<report::TimelineEvent>& timeline);

// One cause, one failure: for each process that was OOM-killed, crashed (a core-dumping signal
// such as SIGSEGV, not sent by faultline), timed out or failed to start (and was not expected to),
// its failures become one, led by the cause (the `timeout` or outcome failure, or one made for it),
// with the other checks it broke listed as consequences. Causes move first. An exit code of 137 and
// missing output are what an OOM kill looks like, not three faults. An OOM kill or a crash of a
// process with an [[expect]] table fails it even when none of its keys broke: a table without
// `outcome` does not allow them.
void fold_consequences(std::vector<report::Failure>& failures,
                       const std::vector<report::ProcessResult>& processes,
                       const std::vector<scenario::Expect>& expects, const SignalsSent& sent = {});

// What the output matchers of a process saw; an empty OutputSeen for one that never started.
using OutputLookup = std::function<OutputSeen(const std::string& process)>;

// The verdict of a run that ended without a harness error, from its process results: a timeout
// failure for each process that hit the deadline without being expected to, every [expect]
// table, a failure for each syscall fault that hit no call (unless `optional` or its count is
// stated in `syscall_failures`), one failure per cause (see fold_consequences; a `stop = "<proc>.exit"`
// driver that never exited leads the other processes' timeouts), then pass or fail with the one-line reason.
void judge(const scenario::Scenario& scenario, report::ScenarioResult& result, const OutputLookup& seen);

// The exit codes a stop phase may end with to count as graceful: expect.exit_codes or {0}.
std::vector<int> allowed_exit_codes(const scenario::Expect* expect);

}  // namespace faultline::runner
