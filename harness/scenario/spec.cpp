#include "scenario/spec.h"

#include <algorithm>
#include <iterator>
#include <memory>
#include <string>

// g++ 12 warns about members left out of designated initializers even though they have default
// member initializers; leaving them out is the point of this table.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace faultline::scenario::spec {

const KeySpec* TableSpec::find(std::string_view key, const Variant* variant) const {
  for (const auto& k : keys)
    if (k.name == key) return &k;
  if (variant)
    for (const auto& k : variant->keys)
      if (k.name == key) return &k;
  return nullptr;
}

const Variant* TableSpec::find_variant(std::string_view value) const {
  for (const auto& v : variants)
    if (v.value == value) return &v;
  return nullptr;
}

namespace {

using Rule = KeyGroup::Rule;

// What the kernel accepts, so that a value it would refuse at run time fails when the file loads.
// CFS bandwidth periods (cpu.max, cpu.cfs_period_us) go from 1ms to 1s.
constexpr std::int64_t kMinCpuPeriodNs = 1'000'000;
constexpr std::int64_t kMaxCpuPeriodNs = 1'000'000'000;
constexpr std::string_view kCpuPeriodReason = "the kernel takes CPU periods from 1ms to 1s";
// pids.max is refused from PID_MAX_LIMIT + 1 on (4194304 tasks on 64-bit kernels).
constexpr std::int64_t kMaxPids = 4'194'304;
constexpr std::string_view kPidsReason = "the kernel refuses a pids.max above 4194304 (PID_MAX_LIMIT)";
// A probe attempt with no time at all cannot even connect, and a delay of nothing holds no call:
// both would only fail at run time.
constexpr std::int64_t kMinAttemptNs = 1'000'000;
constexpr std::string_view kAttemptReason = "an attempt needs at least 1ms to connect and get an answer";
constexpr std::string_view kDelayReason = "a delay under 1ms holds no call; leave `delay` out instead";
// RLIMIT_NOFILE cannot pass fs.nr_open, which itself cannot pass this on 64-bit kernels.
constexpr std::int64_t kMaxNofile = 2'147'483'584;
constexpr std::string_view kNofileReason =
    "the kernel refuses an RLIMIT_NOFILE above fs.nr_open (/proc/sys/fs/nr_open, at most 2147483584)";

const TableSpec& limits_table() {
  static const TableSpec spec{
      .description = "Resource limits of the process's cgroup, applied from the first instruction on.",
      .keys = {
          {.name = "memory",
           .kind = Kind::size,
           .description = "Hard memory limit (v2 memory.max, v1 memory.limit_in_bytes)."},
          {.name = "memory_high",
           .kind = Kind::size,
           .description = "Throttling threshold (v2 memory.high; skipped on v1)."},
          {.name = "swap", .kind = Kind::size, .description = "Swap limit (v2 memory.swap.max, v1 memsw)."},
          {.name = "cpu",
           .kind = Kind::cpu,
           .description = "CPU quota: \"50%\" of one CPU, \"1.5\" CPUs or \"max\"."},
          {.name = "cpu_period",
           .kind = Kind::duration,
           .description = "CPU accounting period of the quota, from 1ms to 1s.",
           .min = kMinCpuPeriodNs,
           .max = kMaxCpuPeriodNs,
           .bound_reason = kCpuPeriodReason},
          {.name = "cpuset",
           .kind = Kind::cpu_list,
           .description = "CPUs the process may run on, e.g. \"0\" or \"0-1\"."},
          {.name = "pids",
           .kind = Kind::integer,
           .description = "Maximum number of tasks (pids.max).",
           .min = 1,
           .max = kMaxPids,
           .bound_reason = kPidsReason},
          {.name = "nofile",
           .kind = Kind::integer,
           .description = "RLIMIT_NOFILE, soft and hard.",
           .min = 1,
           .max = kMaxNofile,
           .bound_reason = kNofileReason},
      }};
  return spec;
}

const TableSpec& ready_spec() {
  static const TableSpec spec{
      .description = "Readiness gate: the process counts as ready once this check succeeds.",
      .keys =
          {
              {.name = "log",
               .kind = Kind::regex,
               .description = "Regex matched against each line of stdout and stderr."},
              {.name = "tcp",
               .kind = Kind::ip_port,
               .description = "\"ip:port\" that accepts a TCP connection (an IP address, not a host name).",
               .bound_reason = "the gate does not resolve names; ready.http and probes do"},
              {.name = "http",
               .kind = Kind::http_url,
               .description = "http:// URL that answers with a 2xx status."},
              {.name = "exec", .kind = Kind::command, .description = "Command (argv) that exits with 0."},
              {.name = "timeout",
               .kind = Kind::duration,
               .description = "Not ready by then: the scenario errors.",
               .default_value = "\"10s\""},
          },
      .groups = {{Rule::exactly_one, {"log", "tcp", "http", "exec"}}}};
  return spec;
}

std::vector<KeySpec> process_keys(bool with_name) {
  std::vector<KeySpec> keys;
  if (with_name)
    keys.push_back({.name = "name",
                    .kind = Kind::string,
                    .description = "Name other tables refer to.",
                    .required = true});
  std::vector<KeySpec> rest = {
      {.name = "command", .kind = Kind::command, .description = "argv of the process, run without a shell."},
      {.name = "shell", .kind = Kind::string, .description = "Command line run through /bin/sh -c."},
      {.name = "cwd",
       .kind = Kind::string,
       .description = "Working directory; relative to the scenario's folder."},
      {.name = "env", .kind = Kind::string_map, .description = "Environment variables to set."},
      {.name = "clear_env",
       .kind = Kind::boolean,
       .description = "Start from an empty environment.",
       .default_value = "false"},
      {.name = "user", .kind = Kind::string, .description = "User to switch to before exec."},
      {.name = "after",
       .kind = Kind::string_list,
       .description = "Processes that must be ready before this one starts."},
      {.name = "stop_signal",
       .kind = Kind::signal,
       .description = "Signal sent when the stop phase begins.",
       .default_value = "\"SIGTERM\""},
      {.name = "stop_grace",
       .kind = Kind::duration,
       .description = "How long to wait after stop_signal before SIGKILLing the cgroup.",
       .default_value = "\"10s\""},
      {.name = "ready", .kind = Kind::table, .description = "Readiness gate.", .table = &ready_spec()},
      {.name = "limits",
       .kind = Kind::table,
       .description = "cgroup and rlimit limits.",
       .table = &limits_table()},
  };
  keys.insert(keys.end(), rest.begin(), rest.end());
  return keys;
}

const TableSpec& process_spec() {
  static const TableSpec spec{.description = "A process to run in its own throwaway cgroup.",
                              .keys = process_keys(true),
                              .groups = {{Rule::exactly_one, {"command", "shell"}}}};
  return spec;
}

const TableSpec& target_spec() {
  static const TableSpec spec{.description = "Shorthand for a single process named `target`.",
                              .keys = process_keys(false),
                              .groups = {{Rule::exactly_one, {"command", "shell"}}}};
  return spec;
}

const TableSpec& probe_window_spec() {
  static const TableSpec spec{
      .description = "A window on the scenario timeline.",
      .keys = {
          {.name = "from", .kind = Kind::time_point, .description = "Start of the window.", .required = true},
          {.name = "to",
           .kind = Kind::time_point,
           .description = "End of the window; unset: until the stop phase begins (or the run ends)."},
      }};
  return spec;
}

// Chaos draws start times between `from` and `to`, so both bounds are needed.
const TableSpec& chaos_window_spec() {
  static const TableSpec spec{
      .description = "A window on the scenario timeline.",
      .keys = {
          {.name = "from", .kind = Kind::time_point, .description = "Start of the window.", .required = true},
          {.name = "to", .kind = Kind::time_point, .description = "End of the window.", .required = true},
      }};
  return spec;
}

const TableSpec& repeat_spec() {
  static const TableSpec spec{.description = "Send the signal several times.",
                              .keys = {
                                  {.name = "every",
                                   .kind = Kind::duration,
                                   .description = "Interval between two signals.",
                                   .required = true,
                                   .min = 1'000'000,
                                   .bound_reason = "signals sent closer together reach the target as one: "
                                                   "a signal already pending is not queued again"},
                                  {.name = "count",
                                   .kind = Kind::integer,
                                   .description = "How many signals in all.",
                                   .required = true,
                                   .min = 1,
                                   .max = 1'000'000},
                              }};
  return spec;
}

constexpr std::string_view kInjectKinds[] = {"memory", "cpu",    "fd",  "pids",
                                             "signal", "freeze", "hog", "syscall"};
// Faults put on a [[proxy]]'s connections rather than on a process's cgroup.
constexpr std::string_view kNetworkKinds[] = {"latency",    "bandwidth", "timeout",    "reset",
                                              "slow_close", "slicer",    "limit_data", "down"};
// What [chaos] can draw: every kind of [[inject]].
constexpr std::string_view kChaosKinds[] = {
    "memory",  "cpu",       "fd",      "pids",  "signal",     "freeze", "hog",        "syscall",
    "latency", "bandwidth", "timeout", "reset", "slow_close", "slicer", "limit_data", "down"};

// `proxy`, and for a fault on the flow `direction` and `toxicity`, followed by the kind's own keys.
std::vector<KeySpec> network_keys(bool per_flow, std::vector<KeySpec> own) {
  std::vector<KeySpec> keys = {{.name = "proxy",
                                .kind = Kind::string,
                                .description = "The [[proxy]] whose connections are hit.",
                                .required = true}};
  if (per_flow) {
    keys.push_back({.name = "direction",
                    .kind = Kind::choice,
                    .description = "Which flow is hit: `upstream` (client to server), `downstream` (server "
                                   "to client) or `both`.",
                    .default_value = "\"downstream\"",
                    .choices = {"upstream", "downstream", "both"}});
    keys.push_back({.name = "toxicity",
                    .kind = Kind::ratio,
                    .description = "Share of connections affected, chosen from the scenario seed.",
                    .default_value = "1.0"});
  }
  keys.insert(keys.end(), own.begin(), own.end());
  return keys;
}

std::vector<Variant> network_variants() {
  return {
      {.value = "latency",
       .description = "Hold every chunk of data before forwarding it.",
       .keys = network_keys(true, {{.name = "latency",
                                    .kind = Kind::duration,
                                    .description = "Delay added to every chunk.",
                                    .required = true,
                                    .min = 1'000,
                                    .bound_reason = "the proxy holds data in whole microseconds: a shorter "
                                                    "delay would hold none"},
                                   {.name = "jitter",
                                    .kind = Kind::duration,
                                    .description = "+- uniform variation of the delay, drawn from the seed.",
                                    .default_value = "\"0s\""}})},
      {.value = "bandwidth",
       .description = "Pace the flow at a rate.",
       .keys = network_keys(true, {{.name = "rate",
                                    .kind = Kind::size,
                                    .description = "Bytes per second, e.g. \"64KiB\".",
                                    .required = true}})},
      {.value = "timeout",
       .description = "Drop the data and close the connection after a while (a black hole with 0).",
       .keys = network_keys(true, {{.name = "after",
                                    .kind = Kind::duration,
                                    .description = "Close after this long; \"0s\": hold forever.",
                                    .default_value = "\"0s\""}})},
      {.value = "reset",
       .description = "Close connections with a TCP RST.",
       .keys = network_keys(true, {{.name = "after",
                                    .kind = Kind::duration,
                                    .description = "Reset this long after the connection is affected.",
                                    .default_value = "\"0s\""}})},
      {.value = "slow_close",
       .description = "Pass a FIN on late.",
       .keys = network_keys(true, {{.name = "after",
                                    .kind = Kind::duration,
                                    .description = "Delay of the FIN.",
                                    .required = true}})},
      {.value = "slicer",
       .description = "Split data into small slices sent apart.",
       .keys = network_keys(true, {{.name = "slice_average",
                                    .kind = Kind::integer,
                                    .description = "Bytes per slice.",
                                    .required = true,
                                    .min = 1,
                                    .max = 1 << 30},
                                   {.name = "slice_variation",
                                    .kind = Kind::integer,
                                    .description = "+- bytes per slice, drawn from the seed.",
                                    .default_value = "0",
                                    .min = 0,
                                    .max = 1 << 30},
                                   {.name = "slice_delay",
                                    .kind = Kind::duration,
                                    .description = "Pause between two slices.",
                                    .default_value = "\"0s\""}})},
      {.value = "limit_data",
       .description = "Pass a number of bytes, then close the connection.",
       .keys = network_keys(true, {{.name = "limit",
                                    .kind = Kind::size,
                                    .description = "Bytes passed in the direction before the close.",
                                    .required = true}})},
      {.value = "down",
       .description = "A partition: the proxy's listener and every connection are closed.",
       .keys = network_keys(false, {})},
  };
}

std::vector<Variant> inject_variants() {
  return {
      {.value = "memory",
       .description = "Lower the memory limit.",
       .keys =
           {{.name = "limit", .kind = Kind::size, .description = "New hard limit (memory.max)."},
            {.name = "high", .kind = Kind::size, .description = "New throttling threshold (memory.high)."},
            {.name = "over",
             .kind = Kind::duration,
             .description = "Ramp from the current limit down to `limit`."},
            {.name = "mode",
             .kind = Kind::choice,
             .description = "A `limit` below the usage on cgroup v1, which refuses it: `charge` fills the "
                            "gap from a helper so the kernel OOM-kills (as on v2), `limit-only` takes "
                            "the refusal as a fault that never took effect (skipped, with the refusal as "
                            "its reason).",
             .default_value = "\"charge\"",
             .choices = {"charge", "limit-only"}}},
       .groups = {{Rule::at_least_one, {"limit", "high"}}}},
      {.value = "cpu",
       .description = "Change the CPU quota or CPU set.",
       .keys = {{.name = "quota", .kind = Kind::cpu, .description = "New CPU quota."},
                {.name = "period",
                 .kind = Kind::duration,
                 .description = "New CPU period, from 1ms to 1s.",
                 .min = kMinCpuPeriodNs,
                 .max = kMaxCpuPeriodNs,
                 .bound_reason = kCpuPeriodReason},
                {.name = "cpuset",
                 .kind = Kind::cpu_list,
                 .description = "New set of CPUs, e.g. \"0\" or \"0-1\"."}},
       .groups = {{Rule::at_least_one, {"quota", "period", "cpuset"}}}},
      {.value = "fd",
       .description = "Lower RLIMIT_NOFILE of every process in the cgroup.",
       .keys = {{.name = "nofile",
                 .kind = Kind::integer,
                 .description = "New RLIMIT_NOFILE.",
                 .required = true,
                 .min = 0,
                 .max = kMaxNofile,
                 .bound_reason = kNofileReason}}},
      {.value = "pids",
       .description = "Lower pids.max.",
       .keys = {{.name = "limit",
                 .kind = Kind::integer,
                 .description = "New pids.max.",
                 .required = true,
                 .min = 1,
                 .max = kMaxPids,
                 .bound_reason = kPidsReason}}},
      {.value = "signal",
       .description = "Send a signal.",
       .keys = {{.name = "signal",
                 .kind = Kind::signal,
                 .description = "Signal to send.",
                 .default_value = "\"SIGTERM\""},
                {.name = "to",
                 .kind = Kind::choice,
                 .description = "The main process or every pid in the cgroup.",
                 .default_value = "\"main\"",
                 .choices = {"main", "all"}},
                {.name = "repeat",
                 .kind = Kind::table,
                 .description = "Send it several times.",
                 .table = &repeat_spec()}}},
      {.value = "freeze", .description = "Freeze the whole cgroup (a hung process)."},
      {.value = "hog",
       .description = "A noisy neighbour inside the same cgroup.",
       .keys = {{.name = "memory",
                 .kind = Kind::size,
                 .description = "Memory the hog allocates and touches."},
                {.name = "cpu", .kind = Kind::cpu, .description = "CPU the hog burns."}},
       .groups = {{Rule::at_least_one, {"memory", "cpu"}}}},
      {.value = "syscall",
       .description = "Fail, shorten or delay chosen system calls (seccomp user notification), from the "
                      "target's first instruction on, in the target and everything it starts.",
       .keys = {{.name = "syscalls",
                 .kind = Kind::string_list,
                 .description = "System call names as in syscalls(2), checked against the host's table.",
                 .required = true},
                {.name = "errno",
                 .kind = Kind::string,
                 .description = "The error the selected calls return, by name: \"ENOSPC\", \"EIO\", ..."},
                {.name = "return",
                 .kind = Kind::integer,
                 .description = "A plain result instead of an error, e.g. 0 for a zero-length write.",
                 .min = 0,
                 .bound_reason = "a negative result is an error: name it with `errno`"},
                {.name = "path",
                 .kind = Kind::string,
                 .description = "Only calls on a path or fd matching this glob (`*` spans `/`); read when "
                                "the call is trapped, so a racing thread can change it (a fault, not a "
                                "guard)."},
                {.name = "fds",
                 .kind = Kind::choice,
                 .description = "Only calls on this kind of open file, for syscalls that take an fd "
                                "(write, fsync, connect, ...): \"sockets\", or \"files\" (a path in the "
                                "filesystem: not a socket, pipe or eventfd); read from /proc/PID/fd when the "
                                "call is trapped.",
                 .default_value = "\"any\"",
                 .choices = {"any", "sockets", "files"}},
                {.name = "every",
                 .kind = Kind::integer,
                 .description = "Fail every N-th matching call (N, 2N, ...).",
                 .min = 1},
                {.name = "nth",
                 .kind = Kind::integer,
                 .description = "Fail only the N-th matching call.",
                 .min = 1},
                {.name = "after",
                 .kind = Kind::integer,
                 .description = "Fail every matching call after the first N.",
                 .min = 0},
                {.name = "probability",
                 .kind = Kind::ratio,
                 .description =
                     "Fail each matching call with this chance, drawn from the run's seed (the same "
                     "calls on every run with the same seed)."},
                {.name = "delay",
                 .kind = Kind::duration,
                 .description = "Hold each selected call this long before answering it (alone: then let it "
                                "run).",
                 .min = kMinAttemptNs,
                 .bound_reason = kDelayReason}},
       .groups = {{Rule::at_least_one, {"errno", "return", "delay"}},
                  {Rule::at_most_one, {"errno", "return"}},
                  {Rule::at_most_one, {"every", "nth", "after", "probability"}}}},
  };
}

std::vector<Variant> all_inject_variants() {
  std::vector<Variant> all = inject_variants();
  for (auto& v : network_variants()) all.push_back(std::move(v));
  return all;
}

std::vector<std::string_view> all_inject_kinds() {
  std::vector<std::string_view> kinds(std::begin(kInjectKinds), std::end(kInjectKinds));
  kinds.insert(kinds.end(), std::begin(kNetworkKinds), std::end(kNetworkKinds));
  return kinds;
}

const TableSpec& inject_spec() {
  static const TableSpec spec{
      .description = "A fault applied to one process's cgroup at a point of the timeline.",
      .keys =
          {
              {.name = "name",
               .kind = Kind::string,
               .description = "Name for probes and time references (default: kind#index)."},
              {.name = "into",
               .kind = Kind::string,
               .description = "Process whose cgroup is hit (default: the only process); not for the "
                              "network kinds, which name a `proxy`."},
              {.name = "at",
               .kind = Kind::time_point,
               .description = "When the fault is applied.",
               .required = true},
              {.name = "kind",
               .kind = Kind::choice,
               .description = "What kind of fault.",
               .required = true,
               .choices = all_inject_kinds()},
              {.name = "duration",
               .kind = Kind::duration,
               .description = "Revert the fault after this long.",
               .min = 1'000'000,
               .bound_reason = "a fault reverted as it is applied never holds; leave `duration` out to "
                               "hold it to the end"},
              {.name = "optional",
               .kind = Kind::boolean,
               .description = "The scenario does not fail when the fault never took effect: never applied "
                              "(its time came after the run ended, or its process had exited), a syscall "
                              "fault that hit no call, a network fault that touched no connection.",
               .default_value = "false"},
          },
      .discriminator = "kind",
      .variants = all_inject_variants()};
  return spec;
}

const TableSpec& output_spec() {
  static const TableSpec spec{
      .description = "Checks on the captured output of the process.",
      .keys = {
          {.name = "contains", .kind = Kind::text_or_list, .description = "Substrings that must appear."},
          {.name = "not_contains",
           .kind = Kind::text_or_list,
           .description = "Substrings that must not appear."},
          {.name = "matches",
           .kind = Kind::regex_or_list,
           .description = "Regexes (RE2) that must each match some line."},
          {.name = "not_matches",
           .kind = Kind::regex_or_list,
           .description = "Regexes (RE2) that must not match any line."},
      }};
  return spec;
}

const TableSpec& expect_spec() {
  static const TableSpec spec{
      .description = "What must hold about one process for the scenario to pass.",
      .keys = {
          {.name = "process",
           .kind = Kind::string,
           .description = "Process checked (default: the only process)."},
          {.name = "outcome",
           .kind = Kind::choice,
           .description = "How the process must end.",
           .choices = {std::begin(kOutcomeChoices), std::end(kOutcomeChoices)}},
          {.name = "exit_codes",
           .kind = Kind::integer_list,
           .description =
               "Allowed exit codes (outcome \"exited\"); without it, 0, or a death by signal N from "
               "faultline or 128+N after it.",
           .min = 0,
           .max = 255},
          {.name = "graceful",
           .kind = Kind::boolean,
           .description = "The stop phase ended with the process exiting by itself within stop_grace."},
          {.name = "no_orphans",
           .kind = Kind::boolean,
           .description = "No process left in the cgroup after the main one exited.",
           .default_value = "true"},
          {.name = "oom_kills",
           .kind = Kind::count_check,
           .description = "Number of OOM kills seen in the cgroup: exactly N, or \">=N\", \"<=N\", \">N\", "
                          "\"<N\", \"==N\".",
           .min = 0},
          {.name = "pids_max_events",
           .kind = Kind::count_check,
           .description = "Number of forks the pids limit refused (pids.events max): exactly N, or \">=N\", "
                          "\"<=N\", \">N\", \"<N\", \"==N\".",
           .min = 0},
          {.name = "syscall_failures",
           .kind = Kind::count_map,
           .description = "Calls hit by each syscall injection into this process, by injection name: "
                          "{ \"disk-full\" = \">=1\" }, each exactly N or \">=N\", \"<=N\", \">N\", \"<N\", "
                          "\"==N\". Stating a count replaces the default check that the fault fired.",
           .min = 0},
          {.name = "max_memory",
           .kind = Kind::size,
           .description = "Peak memory usage must stay at or below this."},
          {.name = "max_runtime", .kind = Kind::duration, .description = "The process must end within this."},
          {.name = "stdout",
           .kind = Kind::table,
           .description = "Checks on stdout.",
           .table = &output_spec()},
          {.name = "stderr",
           .kind = Kind::table,
           .description = "Checks on stderr.",
           .table = &output_spec()},
      }};
  return spec;
}

const TableSpec& probe_expect_spec() {
  static const TableSpec spec{
      .description = "What each probe attempt must show.",
      .keys = {
          {.name = "status",
           .kind = Kind::integer_list,
           .description = "Allowed HTTP statuses (http only).",
           .min = 100,
           .max = 599},
          {.name = "latency_below",
           .kind = Kind::duration,
           .description = "Each attempt must answer faster than this."},
          {.name = "success",
           .kind = Kind::boolean,
           .description = "tcp/exec: connect or exit 0 expected (false: expected to fail)."},
          {.name = "body_contains",
           .kind = Kind::string,
           .description = "Substring of the response body (http only)."},
      }};
  return spec;
}

const TableSpec& probe_spec() {
  static const TableSpec spec{
      .description = "A check repeated while faults are active.",
      .keys =
          {
              {.name = "name",
               .kind = Kind::string,
               .description = "Name in reports (default: probe#index)."},
              {.name = "http", .kind = Kind::http_url, .description = "http:// URL to GET."},
              {.name = "tcp", .kind = Kind::host_port, .description = "\"host:port\" to connect to."},
              {.name = "exec", .kind = Kind::command, .description = "Command (argv) to run."},
              {.name = "every",
               .kind = Kind::duration,
               .description = "Interval between attempts.",
               .default_value = "\"100ms\""},
              {.name = "timeout",
               .kind = Kind::duration,
               .description = "One attempt's own limit.",
               .default_value = "\"2s\"",
               .min = kMinAttemptNs,
               .bound_reason = kAttemptReason},
              {.name = "during",
               .kind = Kind::name_or_table,
               .description = "An inject's name (its active window) or { from = ..., to = ... }.",
               .required = true,
               .table = &probe_window_spec()},
              {.name = "expect",
               .kind = Kind::table,
               .description = "What each attempt must show.",
               .table = &probe_expect_spec()},
              {.name = "pass_ratio",
               .kind = Kind::ratio_check,
               .description = "Share of attempts that meet expect, as a comparison: \">=0.7\" (at least "
                              "70%), \"<=0.1\"; a plain number means exactly that share.",
               .default_value = "\"==1\""},
              {.name = "min_pass_ratio",
               .kind = Kind::ratio,
               .description = "Older spelling of pass_ratio = \">=R\".",
               .default_value = "1.0"},
          },
      .groups = {{Rule::exactly_one, {"http", "tcp", "exec"}},
                 {Rule::at_most_one, {"pass_ratio", "min_pass_ratio"}}}};
  return spec;
}

// Chaos ranges: one sub-table per inject kind, whose keys are that kind's own keys plus
// `duration`, each a list of values. Generated from the inject description. Left out: sub-tables
// (signal `repeat`), a network fault's `proxy` (chaos.proxies picks it) and `optional` (a drawn
// syscall or network fault is always optional).
const TableSpec& chaos_ranges_spec(const Variant& variant) {
  static std::vector<std::unique_ptr<TableSpec>> made;
  auto spec = std::make_unique<TableSpec>();
  spec->description = variant.description;
  std::vector<KeySpec> sources = variant.keys;
  sources.push_back(*inject_spec().find("duration"));
  for (const auto& key : sources) {
    if (key.kind == Kind::table || key.name == "proxy" || key.name == "optional") continue;
    // A list key (syscall `syscalls`) is drawn like a string: one of the listed values per fault.
    const Kind element = key.kind == Kind::string_list ? Kind::string : key.kind;
    const bool numeric = drawn_between(element);
    spec->keys.push_back(
        {.name = key.name,
         .kind = Kind::range,
         .description = numeric ? "[low, high]: a value drawn between the two; other lengths: a list of "
                                  "choices, one drawn per fault."
                                : "Choices, one drawn per fault.",
         .choices = key.choices,
         .min = key.min,
         .max = key.max,
         .bound_reason = key.bound_reason,
         .element = element});
  }
  // Keys that exclude each other in [[inject]] (syscall `errno` and `return`, the selections)
  // exclude each other here too; "at least one" is met by the draw's defaults.
  for (const auto& group : variant.groups)
    if (group.rule == Rule::at_most_one) spec->groups.push_back(group);
  made.push_back(std::move(spec));
  return *made.back();
}

const TableSpec& chaos_spec() {
  static const TableSpec spec = [] {
    TableSpec s{
        .description = "Seeded random faults: the draw depends only on --seed and the file.",
        .keys = {
            {.name = "faults",
             .kind = Kind::integer,
             .description = "How many injections to draw.",
             .default_value = "1",
             .min = 1,
             .max = 10'000},
            {.name = "window",
             .kind = Kind::table,
             .description = "Where on the timeline faults may start.",
             .required = true,
             .table = &chaos_window_spec()},
            {.name = "kinds",
             .kind = Kind::choice_list,
             .description =
                 "Kinds to draw from (default: the kinds given ranges here, else cpu, freeze and memory).",
             .choices = {std::begin(kChaosKinds), std::end(kChaosKinds)}},
            {.name = "into",
             .kind = Kind::string_list,
             .description = "Processes to hit (default: every process)."},
            {.name = "proxies",
             .kind = Kind::string_list,
             .description = "[[proxy]] tables the network kinds hit (default: every proxy)."},
        }};
    for (const auto& variant : inject_spec().variants)
      if (std::find(std::begin(kChaosKinds), std::end(kChaosKinds), variant.value) != std::end(kChaosKinds))
        s.keys.push_back({.name = variant.value,
                          .kind = Kind::table,
                          .description = "Value ranges for this kind's keys.",
                          .table = &chaos_ranges_spec(variant)});
    return s;
  }();
  return spec;
}

const TableSpec& proxy_spec() {
  static const TableSpec spec{
      .description = "A TCP proxy the harness runs in front of a server, for the network faults.",
      .keys = {
          {.name = "name",
           .kind = Kind::string,
           .description = "Name network faults and `after` refer to.",
           .required = true},
          {.name = "listen",
           .kind = Kind::ip_port,
           .description = "\"ip:port\" clients connect to, e.g. \"127.0.0.1:${db_proxy_port}\" with an "
                          "auto-port variable.",
           .required = true,
           .bound_reason = "the proxy listens on an address of this machine"},
          {.name = "upstream",
           .kind = Kind::host_port,
           .description = "\"host:port\" of the server every connection is forwarded to.",
           .required = true},
          {.name = "after",
           .kind = Kind::string_list,
           .description = "Processes that must be ready before the proxy listens."},
      }};
  return spec;
}

const TableSpec& on_timeout_spec() {
  static const TableSpec spec{
      .description = "What the harness does when the scenario's timeout is hit.",
      .keys = {
          {.name = "diagnose",
           .kind = Kind::signal,
           .description = "Signal sent first to every process (e.g. SIGQUIT for stack dumps)."},
          {.name = "grace",
           .kind = Kind::duration,
           .description = "How long to capture output before SIGKILL.",
           .default_value = "\"3s\""},
      }};
  return spec;
}

}  // namespace

const TableSpec& limits_spec() { return limits_table(); }

const TableSpec& scenario_spec() {
  static const TableSpec spec{
      .description = "A faultline scenario (format version 1).",
      .keys = {
          {.name = "name",
           .kind = Kind::string,
           .description = "What the scenario shows, on one line (no control characters).",
           .required = true},
          {.name = "description", .kind = Kind::string, .description = "Why the scenario exists."},
          {.name = "tags", .kind = Kind::string_list, .description = "Labels for --tag filters."},
          {.name = "timeout",
           .kind = Kind::duration,
           .description = "Hard deadline for the whole scenario.",
           .default_value = "\"5m\""},
          {.name = "duration",
           .kind = Kind::duration,
           .description =
               "How long to run after every process is ready; unset: wait for the processes to exit."},
          {.name = "stop",
           .kind = Kind::time_point,
           .description =
               "Begin the stop phase when a process exits, e.g. \"load.exit\" or \"load.exit+500ms\"; "
               "with `duration` too, whichever comes first."},
          {.name = "vars",
           .kind = Kind::string_map,
           .description = "Variables for ${name}; \"auto-port\" allocates a free loopback TCP port."},
          {.name = "target",
           .kind = Kind::table,
           .description = "Shorthand for one process named `target`.",
           .table = &target_spec()},
          {.name = "process",
           .kind = Kind::table_array,
           .description = "Processes to run.",
           .table = &process_spec()},
          {.name = "proxy",
           .kind = Kind::table_array,
           .description = "TCP fault proxies, for the network kinds of [[inject]].",
           .table = &proxy_spec()},
          {.name = "inject",
           .kind = Kind::table_array,
           .description = "The fault timeline.",
           .table = &inject_spec()},
          {.name = "expect",
           .kind = Kind::table_or_array,
           .description = "What must hold for a pass.",
           .table = &expect_spec()},
          {.name = "probe",
           .kind = Kind::table_array,
           .description = "Checks repeated while faults are active.",
           .table = &probe_spec()},
          {.name = "chaos",
           .kind = Kind::table,
           .description = "Seeded random faults.",
           .table = &chaos_spec()},
          {.name = "on_timeout",
           .kind = Kind::table,
           .description = "What to do when `timeout` is hit.",
           .table = &on_timeout_spec()},
      }};
  return spec;
}

}  // namespace faultline::scenario::spec
