// The report model: what happened in a run, as every writer (JSON, console, JUnit, HTML) sees
// it. Plain data; knows nothing of cgroups, processes or TOML.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace faultline::report {

enum class Verdict { pass, fail, error, skip };
const char* to_string(Verdict v);

struct Failure {
  std::string check;  // "expect.graceful", "expect.stdout.contains", "probe"
  std::string process;
  std::string expected;
  std::string actual;
  std::string message;
  std::uint32_t line = 0;  // line of the key in the scenario file (0: the scenario as a whole)
  // Checks that failed only because of this one (an OOM kill's exit code and missing output),
  // each "check: message"; they are not failures of their own.
  std::vector<std::string> consequences;
};

struct ProcessResult {
  std::string name;
  std::int64_t pid = 0;
  std::vector<std::string> command;
  std::string outcome;  // exited | signaled | oom-killed | timed-out | failed-to-start | killed-after-grace
  std::optional<int> exit_code;
  std::optional<int> signal;
  std::optional<bool> graceful;  // set when a stop phase ran
  std::string start_error;       // failed-to-start: errno text and what failed
  std::uint64_t oom_kills = 0;
  std::uint64_t peak_memory_bytes = 0;
  // False where the kernel keeps no peak (cgroup v2 before Linux 5.19, no memory controller):
  // peak_memory_bytes is then what was left at the end, and max_memory cannot be judged.
  bool peak_memory_known = true;
  // False where the kernel keeps no such counter for the process's cgroup (no memory or pids
  // controller there): the count reads 0, and oom_kills / pids_max_events cannot be judged.
  bool oom_kills_known = true;
  // When not known for another reason than a missing counter: why, for the failure's message (a
  // report keeps only the null).
  std::string oom_kills_unknown_why;
  bool pids_max_events_known = true;
  std::uint64_t cpu_usage_usec = 0;
  std::uint64_t throttled_usec = 0;
  std::uint64_t cpu_periods = 0;
  std::uint64_t throttled_periods = 0;
  std::uint64_t pids_max_events = 0;
  double runtime_ms = 0;
  std::vector<std::string> orphans;  // "pid (comm)" left after the main process exited
  std::string stdout_tail;
  std::string stderr_tail;
  std::uint64_t stdout_bytes = 0;
  std::uint64_t stderr_bytes = 0;
  // False where the process wrote straight to faultline's own stdout and stderr (`exec`): no
  // tail, and the byte counts are unknown (null in JSON), not 0.
  bool output_captured = true;
};

struct TimelineEvent {
  // A constructor rather than an aggregate: the optional times below stay out of every
  // brace-initialised event that has none.
  TimelineEvent() = default;
  TimelineEvent(double t, std::string name, std::string process_name = {}, std::string inject_name = {},
                std::string text = {})
      : t_ms(t),
        event(std::move(name)),
        process(std::move(process_name)),
        inject(std::move(inject_name)),
        detail(std::move(text)) {}

  double t_ms = 0;
  std::string
      event;  // process.start | process.ready | process.exit | stop.signal | stop.kill | timeout | ...
  std::string process;
  std::string inject;
  std::string detail;
  // Injection events (apply, step, revert): when the fault was due by the plan (absent when
  // nothing scheduled it, e.g. a revert because the target exited), when the harness began to
  // apply it, and when it was in force (the call returned; t_ms is taken just after). On v1 a
  // squeeze below the usage is in force only after the OOM kill it causes.
  std::optional<double> scheduled_ms, requested_ms, effective_ms;
};

// What a run's timeline says of one injection: how many times it was applied, the last reason it
// was skipped, and why it never held. Read alike by the console and the applied-check.
struct InjectionOutcome {
  std::size_t first_event = 0;  // index of its first event, for listing in timeline order
  std::string process;          // of its first event
  std::uint32_t applied = 0;
  std::optional<std::string> skipped;  // the last inject.skip detail
  std::optional<std::string> unheld;   // an inject.unheld detail
};
std::map<std::string, InjectionOutcome> injection_outcomes(const std::vector<TimelineEvent>& timeline);

struct Sample {
  double t_ms = 0;
  std::string process;
  std::uint64_t memory_bytes = 0;
  std::uint64_t cpu_usage_usec = 0;
  std::uint64_t throttled_usec = 0;
  std::uint64_t pids = 0;
};

struct ProbeAttempt {
  double t_ms = 0;
  bool ok = false;
  double latency_ms = 0;
  std::optional<int> status;
  std::optional<std::string> error;
};

struct ProbeResult {
  std::string name;
  bool passed = false;
  double pass_ratio = 0;
  std::vector<ProbeAttempt> attempts;
};

// What one syscall fault did over the run (its calls are `syscall.fail` timeline events).
struct SyscallFaultCount {
  std::string inject;
  std::string process;
  std::uint64_t matched = 0;  // trapped calls that passed its filters while it was active
  std::uint64_t hit = 0;      // of those, failed, given a result or delayed
  // Calls it hit after the stop phase began: the processes' shutdown, not counted in `hit`.
  std::uint64_t hit_while_stopping = 0;
};

// One bucket of a latency histogram: the values below `lt_ms` and not below the bucket before;
// the last bucket has no upper bound.
struct LatencyBucket {
  std::optional<double> lt_ms;
  std::uint64_t count = 0;
};

// A stretch of a proxy's life, for the timeline: connections and first bytes within it.
struct ProxySlot {
  double t_ms = 0;  // its start, from the scenario start; it lasts the proxy's series_slot_ms
  std::uint64_t accepted = 0;
  std::uint64_t closed = 0;
  std::uint64_t peak_open = 0;    // most connections open at once
  std::uint64_t first_bytes = 0;  // connections whose first byte reached the client in it
  double first_byte_max_ms = 0;   // the slowest of those
  double first_byte_mean_ms = 0;
};

// One [[proxy]] of the run: what passed through it and which network faults touched it.
struct ProxyResult {
  std::string name;
  std::string listen;
  std::string upstream;
  std::uint64_t accepted = 0;
  std::uint64_t closed = 0;  // includes the reset ones
  std::uint64_t reset = 0;
  std::uint64_t bytes_upstream = 0;    // written to the server
  std::uint64_t bytes_downstream = 0;  // written to clients
  // Time to first byte through the proxy (accept to the first byte written to the client).
  double first_byte_p50_ms = 0;
  double first_byte_p99_ms = 0;
  double first_byte_max_ms = 0;
  // Every connection's time to first byte in fixed log-scale buckets, ascending.
  std::vector<LatencyBucket> first_byte_histogram;
  std::map<std::string, std::uint64_t> toxics_touched;  // injection name -> connections affected
  // Connects refused during a partition (`down`), counted in its toxics_touched too (unset in a
  // report written before they were counted); when they could not be seen, why (then a
  // partition counts as tried if any connection was accepted).
  std::optional<std::uint64_t> refused;
  std::string refused_unseen;
  // Connections and refused connects of faultline's own probes and readiness checks, which no
  // other figure here counts (unset in a report written before they were told apart).
  std::optional<std::uint64_t> own_connections;
  // Over time: consecutive slots of series_slot_ms each, from the scenario start.
  double series_slot_ms = 0;
  std::vector<ProxySlot> series;
};

struct ScenarioResult {
  std::string name;
  // The name with its `auto-port` numbers left as written (`${port}`), when it holds one: such a
  // name differs on every run, so --repeat and --baseline pair runs of a scenario by this, and
  // JUnit and annotations name the scenario by it. Other ${...} are expanded.
  std::string name_as_written;
  std::string file;
  std::vector<std::string> tags;
  Verdict verdict = Verdict::error;
  double duration_ms = 0;
  std::string reason;  // one line for humans
  std::uint32_t reason_line = 0;
  std::vector<Failure> failures;
  std::vector<ProcessResult> processes;
  std::vector<TimelineEvent> timeline;
  std::vector<Sample> samples;
  std::vector<ProbeResult> probes;
  std::vector<SyscallFaultCount> syscall_faults;
  std::vector<ProxyResult> proxies;
  std::map<std::string, std::string> diagnostics;
  bool interrupted = false;
  int repeat = 0;  // which run of the scenario with --repeat (1-based); 0 without --repeat

  // What runs of one scenario have in common (--repeat, --baseline, CI test history).
  const std::string& key() const { return name_as_written.empty() ? name : name_as_written; }
};

struct Summary {
  int passed = 0, failed = 0, errors = 0, skipped = 0;
};

struct HostInfo {
  std::string cgroup;  // v2 | hybrid | v1
  std::string kernel;
  int cpus = 0;
};

struct BaselineChange {
  std::string kind;  // new-failure | fixed | regression | skipped (ran in the baseline, skipped now)
  std::string scenario;
  std::string process;  // regressions: the process or probe measured
  std::string metric;   // verdict | peak_memory_bytes | shutdown_ms | probe_latency_ms
  double before = 0;
  double after = 0;
  std::string message;
};

// A scenario of the baseline that the current run does not have (renamed, deleted, filtered
// out by --tag or --shard). Listed so that a failure cannot vanish unnoticed; it does not change
// the exit status, since a filtered run legitimately runs fewer scenarios.
struct BaselineGone {
  std::string scenario;
  Verdict verdict = Verdict::pass;  // in the baseline; the worst of its repeated runs
};

struct BaselineComparison {
  std::string file;  // the earlier report
  int new_failures = 0, fixed = 0, regressions = 0;
  std::vector<BaselineChange> changes;
  std::vector<BaselineGone> gone;  // by name
};

// Which slice of a sharded run (`run --shard I/N`) a report holds: merge checks that each of the
// N is there exactly once.
inline constexpr int kMaxShards = 1'000'000;

// What a sharded run was asked to run, part by part, so that a refused merge can say which part
// differs. Recorded as ShardInfo::selection, "files=<hash> filters=<hash> repeat=<n> seed=<n or ->".
struct ShardSelection {
  // A hash of the contents of every shard's scenario files (not their paths: checkouts differ
  // between machines), in the order the shards are dealt, line endings read as TOML reads them.
  std::string files;
  std::string filters;  // a hash of --tag and --exclude-tag
  int repeat = 1;
  std::optional<std::uint64_t> seed;  // a --seed given
  std::string text() const;
  // nullopt for another form (a report from before the parts were recorded: a single hash).
  static std::optional<ShardSelection> parse(const std::string& text);
};

struct ShardInfo {
  int index = 1;  // 1-based
  int count = 1;
  // What the run was asked to run, the same in each of its shards: ShardSelection::text(). Empty
  // in a report from before it was recorded.
  std::string selection;
  // The run's --run-id (a CI pipeline's id), the same in each shard; empty when not given. With
  // it, a shard left over from an earlier run of the same scenarios is refused too.
  std::string run_id;
};

struct RunReport {
  std::string tool_version;
  HostInfo host;
  std::optional<std::uint64_t> seed;
  std::optional<ShardInfo> shard;
  std::string started;  // ISO 8601 UTC
  double duration_ms = 0;
  bool interrupted = false;
  std::vector<ScenarioResult> scenarios;
  std::optional<BaselineComparison> baseline;

  Summary summary() const;
  // Scenarios (by file and name) that passed in some runs and failed or errored in others.
  std::vector<std::string> flaky() const;
};

}  // namespace faultline::report
