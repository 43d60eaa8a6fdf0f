// The in-memory scenario: what the loader produces and the runner consumes.
// Knows nothing of TOML (the loader's business) nor of cgroups (the backends').
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/units.h"

namespace faultline::scenario {

// Where a value was written, so that later failures can point at the key (annotations).
struct SourcePos {
  std::uint32_t line = 0;
  std::uint32_t column = 0;
};

// A point on the scenario timeline: `anchor` + `offset`.
//   anchor ""              scenario start
//   anchor "ready"         every process is ready
//   anchor "<proc>.ready"  one process is ready
//   anchor "<proc>.exit"   one process exited (any exit: a code or a signal)
//   anchor "<inj>.start" / "<inj>.end"
struct TimePoint {
  std::string anchor;
  Duration offset{0};
  std::string text;  // as written, for messages and plans
};

struct Limits {
  std::optional<std::uint64_t> memory;       // bytes or kUnlimited
  std::optional<std::uint64_t> memory_high;  // cgroup v2 only
  std::optional<std::uint64_t> swap;
  std::optional<double> cpu;  // CPUs; +infinity = "max"
  std::optional<Duration> cpu_period;
  std::optional<std::string> cpuset;
  std::optional<std::uint64_t> pids;
  std::optional<std::uint64_t> nofile;
  bool empty() const {
    return !memory && !memory_high && !swap && !cpu && !cpu_period && !cpuset && !pids && !nofile;
  }
};

struct Readiness {
  enum class Kind { none, log, tcp, http, exec };
  Kind kind = Kind::none;
  std::string log_regex;          // Kind::log
  std::string address;            // Kind::tcp "host:port", Kind::http URL
  std::vector<std::string> exec;  // Kind::exec argv
  Duration timeout = std::chrono::seconds(10);
};

struct ProcessSpec {
  std::string name;
  std::vector<std::string> command;  // argv; empty when `shell` is used
  std::optional<std::string> shell;  // run through /bin/sh -c
  std::optional<std::filesystem::path> cwd;
  std::map<std::string, std::string> env;
  bool clear_env = false;
  std::optional<std::string> user;
  std::vector<std::string> after;
  int stop_signal = 15;
  Duration stop_grace = std::chrono::seconds(10);
  Readiness ready;
  Limits limits;
  SourcePos pos;
};

struct OutputExpect {
  std::vector<std::string> contains;
  std::vector<std::string> not_contains;
  std::vector<std::string> matches;      // regexes (RE2), each matched against every line
  std::vector<std::string> not_matches;  // regexes (RE2)
};

enum class Outcome { exited, signaled, oom_killed, timed_out, failed_to_start, killed_after_grace };
// A numeric expectation: `oom_kills = 2` (exactly 2) or `oom_kills = ">=1"`. Written as an integer
// or as one of "==N", ">=N", "<=N", ">N", "<N"; a count workers keep restarting cannot be exact.
struct Comparison {
  enum class Op { eq, ge, le, gt, lt };
  Op op = Op::eq;
  double value = 0;
  bool holds(double actual) const;
  // For the share `passed` of `attempts` (> 0). Exact, without a tolerance: the quotient and a
  // decimal bound are both rounded to the nearest double, so 7 of 10 is ">=0.7" and 0 of 8 is
  // not ">=0.0000000001".
  bool holds_for_share(std::uint64_t passed, std::uint64_t attempts) const;
  bool operator==(const Comparison&) const = default;
};

// The largest number a comparison may be written with (15 digits, exact as a double).
inline constexpr double kLargestComparisonValue = 999'999'999'999'999;

// ">=1" -> {ge, 1}. `integral`: the value must be a whole number (counts). nullopt and `why` set
// (what was wrong, for the loader's message) on anything else.
std::optional<Comparison> parse_comparison(std::string_view text, bool integral, std::string* why);

// ">=1", "2" (exactly): the form the loader accepts, for messages ("oom_kills 0, expected >=1").
std::string to_string(const Comparison& c);

enum class ExpectedOutcome { exited, signaled, oom_killed, timed_out, any };

struct Expect {
  std::string process;  // resolved by the loader (the only process when omitted)
  std::optional<ExpectedOutcome> outcome;
  std::optional<std::vector<int>> exit_codes;
  std::optional<bool> graceful;
  bool no_orphans = true;
  std::optional<Comparison> oom_kills;
  std::optional<Comparison> pids_max_events;  // forks refused by pids.max
  // Calls hit by each named syscall injection into this process (key_pos "syscall_failures.<name>").
  // Naming a fault here replaces the default "it must fire at least once" check.
  std::map<std::string, Comparison> syscall_failures;
  std::optional<std::uint64_t> max_memory;
  std::optional<Duration> max_runtime;
  OutputExpect stdout_expect;
  OutputExpect stderr_expect;
  // Position of each key as written ("outcome", "stdout.contains", ...), for failures.
  std::map<std::string, SourcePos> key_pos;
  SourcePos pos;
};

// --- Injections (executed by injectors/, see the injector issue) ---
struct MemoryFault {
  std::optional<std::uint64_t> limit;
  std::optional<std::uint64_t> high;
  std::optional<Duration> over;  // ramp from the current limit
  // How a hard limit below the usage is reached on cgroup v1, which refuses it (EBUSY):
  // `charge` makes the kernel OOM-kill as v2 would, `limit_only` takes the refusal as a fault
  // that never took effect.
  enum class Mode { charge, limit_only } mode = Mode::charge;
};
struct CpuFault {
  std::optional<double> quota;
  std::optional<Duration> period;
  std::optional<std::string> cpuset;
};
struct FdFault {
  std::uint64_t nofile = 0;
};
struct PidsFault {
  std::uint64_t limit = 0;
};
struct SignalFault {
  int signal = 15;
  enum class To { main, all } to = To::main;
  std::optional<Duration> repeat_every;
  std::uint32_t repeat_count = 1;
};
struct FreezeFault {};
struct HogFault {
  std::optional<std::uint64_t> memory;
  std::optional<double> cpu;
};
// Names only: the syscall module resolves them against the host (the loader checks them through
// LoadOptions::host_names, so a typo fails at load with its position).
struct SyscallFault {
  std::vector<std::string> syscalls;
  std::optional<std::string> error;  // errno name
  std::optional<std::int64_t> return_value;
  std::optional<std::string> path_glob;
  enum class Fds { any, sockets, files } fds = Fds::any;  // which open files fd-taking calls must be on
  enum class Select { every_call, every, nth, after, probability } select = Select::every_call;
  std::uint64_t n = 1;  // every / nth / after
  double probability = 1.0;
  Duration delay{0};
};
// A network fault ("toxic") put on the connections of one [[proxy]]; `Injection::proxy` names it
// and `Injection::into` stays empty. Fields a kind does not use stay at their zero value.
struct NetworkFault {
  enum class Direction { upstream, downstream, both } direction = Direction::downstream;
  double toxicity = 1.0;            // share of connections affected, drawn from the scenario seed
  Duration latency{0};              // latency
  Duration jitter{0};               // latency: +- uniform
  std::uint64_t rate = 0;           // bandwidth: bytes per second
  Duration after{0};                // timeout (0: hold forever), reset, slow_close
  std::uint64_t slice_average = 0;  // slicer: bytes per slice
  std::uint64_t slice_variation = 0;
  Duration slice_delay{0};
  std::uint64_t limit = 0;  // limit_data: bytes passed before the close
};
using FaultParams = std::variant<MemoryFault, CpuFault, FdFault, PidsFault, SignalFault, FreezeFault,
                                 HogFault, SyscallFault, NetworkFault>;

// The kinds [[inject]] accepts for a proxy rather than a process.
bool is_network_kind(std::string_view kind);
const char* to_string(NetworkFault::Direction d);
const char* to_string(Readiness::Kind kind);  // "log", "tcp", "http", "exec", "none"

struct Injection {
  std::string name;   // given or generated ("inject#2")
  std::string into;   // process name (empty for a network fault)
  std::string proxy;  // [[proxy]] name (network faults only)
  std::string kind;   // "memory", "cpu", ..., "latency", ...
  TimePoint at;
  std::optional<Duration> duration;
  FaultParams params;
  // A fault that never took effect (never applied; a syscall fault that hit no call; a network
  // fault that touched no connection) does not fail the scenario.
  bool optional = false;
  SourcePos pos;
};

// --- Fault proxies (harness/net) ---
// A TCP proxy the harness runs between a client and `upstream`; network faults act on it.
struct ProxySpec {
  std::string name;
  std::string listen;              // "ip:port" (after ${...} expansion, so auto-ports work)
  std::string upstream;            // "host:port"
  std::vector<std::string> after;  // processes that must be ready before it listens
  SourcePos pos;
};

// --- Probes (executed by the probe issue) ---
struct Window {
  std::optional<std::string> inject;  // an injection's active window, or
  TimePoint from;
  std::optional<TimePoint> to;  // unset: until the stop phase begins (or the run ends)
};
struct Probe {
  std::string name;
  enum class Kind { http, tcp, exec } kind = Kind::http;
  std::string target;             // URL or host:port
  std::vector<std::string> exec;  // Kind::exec
  Duration every = std::chrono::milliseconds(100);
  Duration timeout = std::chrono::seconds(2);
  Window during;
  std::optional<std::vector<int>> expect_status;
  std::optional<Duration> expect_latency_below;
  std::optional<bool> expect_success;
  std::optional<std::string> expect_body_contains;
  // Share of attempts that meet the expectation; `min_pass_ratio = R` loads as ">=R".
  Comparison pass_ratio{Comparison::Op::ge, 1.0};
  SourcePos pos;
};

// --- Chaos (seeded draws, see the suites issue) ---
struct ChaosRange {
  std::vector<std::string> values;  // two values = [low, high] range for numeric keys; else choices
};
struct Chaos {
  std::uint32_t faults = 1;
  Window window;
  std::vector<std::string> kinds;
  std::vector<std::string> into;                                    // processes the process kinds hit
  std::vector<std::string> proxies;                                 // [[proxy]] tables the network kinds hit
  std::map<std::string, std::map<std::string, ChaosRange>> ranges;  // kind -> key -> range
  SourcePos pos;
  std::vector<std::string> left_out;  // set by with_chaos: each drawn fault left out, and why
};

struct OnTimeout {
  std::optional<int> diagnose_signal;
  Duration grace = std::chrono::seconds(3);
};

struct Scenario {
  std::filesystem::path file;
  std::string name;
  // Before ${...} was expanded: what [chaos] draws from with the seed.
  std::string name_as_written;
  // Expanded but for the `auto-port` numbers (`${port}` stays): the same on every run, so reports
  // pair repeated runs and baselines by it and CI sees one test case, while two files sharing a
  // templated name with other [vars] stay two.
  std::string name_across_runs;
  std::string description;
  std::vector<std::string> tags;
  Duration timeout = std::chrono::minutes(5);
  std::optional<Duration> duration;
  // `stop = "<proc>.exit[+offset]"`: the stop phase begins when that process exits (plus the
  // offset). With `duration` too, whichever comes first begins it; `timeout` bounds both.
  std::optional<TimePoint> stop;
  std::vector<ProcessSpec> processes;
  std::vector<ProxySpec> proxies;
  std::vector<Injection> injections;
  std::vector<Expect> expects;
  std::vector<Probe> probes;
  std::optional<Chaos> chaos;
  OnTimeout on_timeout;
  SourcePos name_pos;

  const ProcessSpec* find_process(const std::string& process_name) const {
    for (const auto& p : processes)
      if (p.name == process_name) return &p;
    return nullptr;
  }
  const ProxySpec* find_proxy(const std::string& proxy_name) const {
    for (const auto& p : proxies)
      if (p.name == proxy_name) return &p;
    return nullptr;
  }
};

const char* to_string(Outcome o);
const char* to_string(ExpectedOutcome o);

}  // namespace faultline::scenario
