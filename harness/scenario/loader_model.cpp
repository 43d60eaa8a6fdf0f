// The model built from checked fields: processes, expectations, injections, probes, chaos.
// Values are already valid here; what remains are checks that need more than one key.
#include <algorithm>

#include "common/units.h"
#include "scenario/did_you_mean.h"
#include "scenario/loader_internal.h"

namespace faultline::scenario::detail {

void Loader::build_process(const Table& t, ProcessSpec& p) {
  p.pos = t.pos;
  if (auto f = t.get("name")) p.name = f->text;
  if (auto f = t.get("command")) p.command = f->strings;
  if (auto f = t.get("shell")) p.shell = f->text;
  if (auto f = t.get("cwd")) {
    std::filesystem::path cwd(f->text);
    p.cwd = (cwd.is_relative() ? scenario_dir_ / cwd : cwd).lexically_normal();
  }
  if (auto f = t.get("env")) p.env = f->map;
  if (auto f = t.get("clear_env")) p.clear_env = f->boolean;
  if (auto f = t.get("user")) p.user = f->text;
  if (auto f = t.get("after")) p.after = f->strings;
  if (auto f = t.get("stop_signal")) p.stop_signal = f->signal;
  if (auto f = t.get("stop_grace")) p.stop_grace = f->duration;
  if (auto f = t.get("ready"); f && !f->tables.empty()) {
    const Table& r = f->tables[0];
    if (auto g = r.get("log")) p.ready.kind = Readiness::Kind::log, p.ready.log_regex = g->text;
    if (auto g = r.get("tcp")) p.ready.kind = Readiness::Kind::tcp, p.ready.address = g->text;
    if (auto g = r.get("http")) p.ready.kind = Readiness::Kind::http, p.ready.address = g->text;
    if (auto g = r.get("exec")) p.ready.kind = Readiness::Kind::exec, p.ready.exec = g->strings;
    if (auto g = r.get("timeout")) p.ready.timeout = g->duration;
  }
  if (auto f = t.get("limits"); f && !f->tables.empty()) {
    const Table& l = f->tables[0];
    if (auto g = l.get("memory")) p.limits.memory = g->size;
    if (auto g = l.get("memory_high")) p.limits.memory_high = g->size;
    if (auto g = l.get("swap")) p.limits.swap = g->size;
    if (auto g = l.get("cpu")) p.limits.cpu = g->number;
    if (auto g = l.get("cpu_period")) p.limits.cpu_period = g->duration;
    if (auto g = l.get("cpuset")) p.limits.cpuset = g->text;
    if (auto g = l.get("pids")) p.limits.pids = static_cast<std::uint64_t>(g->integer);
    if (auto g = l.get("nofile")) p.limits.nofile = static_cast<std::uint64_t>(g->integer);
  }
}

void Loader::build_expects(const Field& field, Scenario& s) {
  const std::string where = field.tables.size() == 1 && !field.tables.empty() ? "[expect]" : "[[expect]]";
  std::map<std::string, SourcePos> seen;
  for (const Table& t : field.tables) {
    Expect e;
    e.pos = t.pos;
    for (const auto& [key, f] : t.fields) {
      if (key == "stdout" || key == "stderr") {
        if (!f.tables.empty())
          for (const auto& [sub, g] : f.tables[0].fields) e.key_pos[key + "." + sub] = g.key_pos;
      } else {
        e.key_pos[key] = f.key_pos;
      }
    }
    if (auto f = t.get("outcome")) {
      const std::string& o = f->text;
      e.outcome = o == "exited"       ? ExpectedOutcome::exited
                  : o == "signaled"   ? ExpectedOutcome::signaled
                  : o == "oom-killed" ? ExpectedOutcome::oom_killed
                  : o == "timed-out"  ? ExpectedOutcome::timed_out
                                      : ExpectedOutcome::any;
    }
    if (auto f = t.get("exit_codes")) {
      e.exit_codes.emplace();
      for (auto code : f->integers) e.exit_codes->push_back(static_cast<int>(code));
      if (e.outcome && *e.outcome != ExpectedOutcome::exited && *e.outcome != ExpectedOutcome::any)
        error(f->key_pos,
              "expect.exit_codes: only applies to outcome \"exited\", not " + quote(to_string(*e.outcome)));
    }
    if (auto f = t.get("graceful")) e.graceful = f->boolean;
    if (auto f = t.get("no_orphans")) e.no_orphans = f->boolean;
    if (auto f = t.get("oom_kills")) e.oom_kills = f->comparison;
    if (auto f = t.get("pids_max_events")) e.pids_max_events = f->comparison;
    if (auto f = t.get("max_memory")) {
      e.max_memory = f->size;
      if (f->size == kUnlimited)
        error(f->pos, "expect.max_memory: \"max\" holds for every peak, so it checks nothing",
              "give the most memory the process may use, e.g. max_memory = \"256MiB\", or leave the key out");
    }
    if (auto f = t.get("max_runtime")) e.max_runtime = f->duration;
    for (auto [name, out] : {std::pair{"stdout", &e.stdout_expect}, std::pair{"stderr", &e.stderr_expect}}) {
      const Field* f = t.get(name);
      if (!f || f->tables.empty()) continue;
      const Table& o = f->tables[0];
      if (auto g = o.get("contains")) out->contains = g->strings;
      if (auto g = o.get("not_contains")) out->not_contains = g->strings;
      if (auto g = o.get("matches")) out->matches = g->strings;
      if (auto g = o.get("not_matches")) out->not_matches = g->strings;
    }
    if (auto f = t.get("process")) {
      if (check_process_ref(s, f->text, f->pos, "expect.process")) e.process = f->text;
    } else if (s.processes.size() == 1) {
      e.process = s.processes[0].name;
    } else if (s.processes.size() > 1) {
      error(t.pos,
            where + " needs `process`: the scenario has several processes (" + join(process_names(s)) + ")");
    }
    if (auto f = t.get("syscall_failures")) build_syscall_failures(*f, s, e);
    // The peak is the cgroup's, and a hog lives in the cgroup of the process it crowds: the
    // check would judge the hog's memory with the process's.
    if (const Field* f = t.get("max_memory"); f && !e.process.empty())
      for (const auto& inj : s.injections)
        if (const auto* hog = std::get_if<HogFault>(&inj.params); hog && hog->memory && inj.into == e.process)
          error(f->key_pos,
                "expect.max_memory: the peak of " + tick(e.process) + "'s cgroup would include the " +
                    format_size(*hog->memory) + " of hog " + tick(inj.name) + " (line " +
                    std::to_string(inj.pos.line) + "), which runs in that cgroup",
                "judge the process's memory in a scenario without the memory hog, or drop `max_memory`");
    if (!e.process.empty()) {
      if (seen.contains(e.process)) {
        error(t.pos,
              "a second " + where + " for process " + tick(e.process) + " (the first is on line " +
                  std::to_string(seen[e.process].line) + ")",
              "merge the two into one table");
      } else {
        seen[e.process] = t.pos;
      }
    }
    s.expects.push_back(std::move(e));
  }
}

// Each name must be a syscall injection into the table's process: its count is judged with the
// process's other checks, and a fault of another process belongs in that process's table.
void Loader::build_syscall_failures(const Field& field, const Scenario& s, Expect& e) {
  std::vector<std::string> syscall_injections;
  for (const auto& inj : s.injections)
    if (std::holds_alternative<SyscallFault>(inj.params)) syscall_injections.push_back(inj.name);
  for (const auto& entry : field.counts) {
    const std::string label = "expect.syscall_failures." + entry.name;
    const auto inj = std::find_if(s.injections.begin(), s.injections.end(),
                                  [&](const Injection& i) { return i.name == entry.name; });
    if (inj == s.injections.end()) {
      auto near = closest_match(entry.name, syscall_injections);
      error(entry.key_pos,
            label + ": unknown injection " + tick(entry.name) +
                (syscall_injections.empty() ? " (the scenario has no syscall injection)"
                                            : " (syscall injections: " + join(syscall_injections) + ")"),
            near ? "did you mean " + tick(*near) + "?" : "name a [[inject]] of kind \"syscall\"");
      continue;
    }
    if (!std::holds_alternative<SyscallFault>(inj->params)) {
      error(entry.key_pos,
            label + ": injection " + tick(entry.name) + " is of kind " + quote(inj->kind) +
                ", not a syscall injection",
            "syscall_failures counts the calls a kind = \"syscall\" injection hit");
      continue;
    }
    if (!e.process.empty() && !inj->into.empty() && inj->into != e.process) {
      error(entry.key_pos,
            label + ": injection " + tick(entry.name) + " goes into process " + tick(inj->into) + ", not " +
                tick(e.process),
            "state its count in the [[expect]] table of process " + tick(inj->into));
      continue;
    }
    e.syscall_failures[entry.name] = entry.comparison;
    e.key_pos["syscall_failures." + entry.name] = entry.key_pos;
  }
}

void Loader::build_proxy(const Table& t, ProxySpec& proxy) {
  proxy.pos = t.pos;
  if (auto f = t.get("name")) proxy.name = f->text;
  if (auto f = t.get("listen")) proxy.listen = f->text;
  if (auto f = t.get("upstream")) proxy.upstream = f->text;
  if (auto f = t.get("after")) proxy.after = f->strings;
}

void Loader::build_injection(const Table& t, std::size_t index, Injection& inj) {
  inj.pos = t.pos;
  if (auto f = t.get("kind")) inj.kind = f->text;
  inj.name = inj.kind + "#" + std::to_string(index + 1);
  if (auto f = t.get("name")) inj.name = f->text;
  if (auto f = t.get("into")) inj.into = f->text;
  if (auto f = t.get("at")) inj.at = f->time;
  if (auto f = t.get("duration")) inj.duration = f->duration;
  if (auto f = t.get("optional")) inj.optional = f->boolean;
  if (inj.kind == "memory") {
    MemoryFault m;
    if (auto f = t.get("limit")) m.limit = f->size;
    if (auto f = t.get("high")) m.high = f->size;
    if (auto f = t.get("over")) {
      m.over = f->duration;
      // Reverted before its last step, the ramp never reaches its limit, and a ramp that never
      // reached it (nor OOM-killed on the way) fails as one that never held: a run spent on
      // nothing. Equal is fine: the steps due by the end are taken before the revert.
      if (inj.duration && *m.over > *inj.duration)
        error(f->pos,
              "inject.over: the ramp takes " + format_duration(*m.over) +
                  ", longer than the fault's duration " + format_duration(*inj.duration) +
                  ", so it would be reverted before it reaches its limit",
              "make `over` at most the duration, or the duration at least " + format_duration(*m.over));
    }
    if (auto f = t.get("mode"); f && f->text == "limit-only") m.mode = MemoryFault::Mode::limit_only;
    inj.params = m;
  } else if (inj.kind == "cpu") {
    CpuFault c;
    if (auto f = t.get("quota")) c.quota = f->number;
    if (auto f = t.get("period")) c.period = f->duration;
    if (auto f = t.get("cpuset")) c.cpuset = f->text;
    inj.params = c;
  } else if (inj.kind == "fd") {
    FdFault fd;
    if (auto f = t.get("nofile")) fd.nofile = static_cast<std::uint64_t>(f->integer);
    inj.params = fd;
  } else if (inj.kind == "pids") {
    PidsFault p;
    if (auto f = t.get("limit")) p.limit = static_cast<std::uint64_t>(f->integer);
    inj.params = p;
  } else if (inj.kind == "signal") {
    SignalFault sig;
    if (auto f = t.get("signal")) sig.signal = f->signal;
    if (auto f = t.get("to")) sig.to = f->text == "all" ? SignalFault::To::all : SignalFault::To::main;
    if (auto f = t.get("repeat"); f && !f->tables.empty()) {
      if (auto g = f->tables[0].get("every")) sig.repeat_every = g->duration;
      if (auto g = f->tables[0].get("count")) sig.repeat_count = static_cast<std::uint32_t>(g->integer);
    }
    inj.params = sig;
  } else if (inj.kind == "freeze") {
    inj.params = FreezeFault{};
  } else if (inj.kind == "hog") {
    HogFault h;
    if (auto f = t.get("memory")) h.memory = f->size;
    if (auto f = t.get("cpu")) h.cpu = f->number;
    inj.params = h;
  } else if (inj.kind == "syscall") {
    SyscallFault sc;
    if (auto f = t.get("syscalls")) sc.syscalls = f->strings;
    if (auto f = t.get("errno")) sc.error = f->text;
    if (auto f = t.get("return")) sc.return_value = f->integer;
    if (auto f = t.get("path")) sc.path_glob = f->text;
    if (auto f = t.get("fds"))
      sc.fds = f->text == "sockets" ? SyscallFault::Fds::sockets
               : f->text == "files" ? SyscallFault::Fds::files
                                    : SyscallFault::Fds::any;
    using Select = SyscallFault::Select;
    if (auto f = t.get("every")) sc.select = Select::every, sc.n = static_cast<std::uint64_t>(f->integer);
    if (auto f = t.get("nth")) sc.select = Select::nth, sc.n = static_cast<std::uint64_t>(f->integer);
    if (auto f = t.get("after")) sc.select = Select::after, sc.n = static_cast<std::uint64_t>(f->integer);
    if (auto f = t.get("probability")) sc.select = Select::probability, sc.probability = f->number;
    if (auto f = t.get("delay")) sc.delay = f->duration;
    inj.params = sc;
  } else if (is_network_kind(inj.kind)) {
    NetworkFault n;
    if (auto f = t.get("proxy")) inj.proxy = f->text;
    if (auto f = t.get("direction"))
      n.direction = f->text == "upstream" ? NetworkFault::Direction::upstream
                    : f->text == "both"   ? NetworkFault::Direction::both
                                          : NetworkFault::Direction::downstream;
    if (auto f = t.get("toxicity")) n.toxicity = f->number;
    if (auto f = t.get("latency")) n.latency = f->duration;
    if (auto f = t.get("jitter")) n.jitter = f->duration;
    if (auto f = t.get("rate")) n.rate = f->size;
    if (auto f = t.get("after")) n.after = f->duration;
    if (auto f = t.get("slice_average")) n.slice_average = static_cast<std::uint64_t>(f->integer);
    if (auto f = t.get("slice_variation")) n.slice_variation = static_cast<std::uint64_t>(f->integer);
    if (auto f = t.get("slice_delay")) n.slice_delay = f->duration;
    if (auto f = t.get("limit")) n.limit = f->size;
    inj.params = n;
  }
}

Window Loader::build_window(const Table& t) {
  Window w;
  if (auto f = t.get("from")) w.from = f->time;
  if (auto f = t.get("to")) w.to = f->time;
  return w;
}

void Loader::build_probe(const Table& t, std::size_t index, Probe& probe) {
  probe.pos = t.pos;
  probe.name = "probe#" + std::to_string(index + 1);
  if (auto f = t.get("name")) probe.name = f->text;
  if (auto f = t.get("http")) probe.kind = Probe::Kind::http, probe.target = f->text;
  if (auto f = t.get("tcp")) probe.kind = Probe::Kind::tcp, probe.target = f->text;
  if (auto f = t.get("exec")) probe.kind = Probe::Kind::exec, probe.exec = f->strings;
  if (auto f = t.get("every")) probe.every = f->duration;
  if (auto f = t.get("timeout")) probe.timeout = f->duration;
  if (auto f = t.get("pass_ratio")) probe.pass_ratio = f->comparison;
  if (auto f = t.get("min_pass_ratio")) {
    probe.pass_ratio = {Comparison::Op::ge, f->number};
    if (f->number <= 0)  // ">=0", as pass_ratio refuses it
      error(f->pos, "probe.min_pass_ratio: 0 holds for every ratio, so it checks nothing",
            R"(give the share of attempts that must pass, such as pass_ratio = ">=0.7")");
  }
  if (auto f = t.get("during")) {
    if (f->is_table)
      probe.during = build_window(f->tables[0]);
    else
      probe.during.inject = f->text;
  }
  if (auto f = t.get("expect"); f && !f->tables.empty()) {
    const Table& e = f->tables[0];
    const bool http = t.get("http") != nullptr;
    const bool kind_known = t.get("http") || t.get("tcp") || t.get("exec");
    if (auto g = e.get("status")) {
      probe.expect_status.emplace(g->integers.begin(), g->integers.end());
      if (kind_known && !http) error(g->key_pos, "probe.expect.status: only applies to http probes");
    }
    if (auto g = e.get("body_contains")) {
      probe.expect_body_contains = g->text;
      if (kind_known && !http) error(g->key_pos, "probe.expect.body_contains: only applies to http probes");
    }
    if (auto g = e.get("latency_below")) probe.expect_latency_below = g->duration;
    if (auto g = e.get("success")) {
      probe.expect_success = g->boolean;
      // An http probe judges the status and body; "success = false" would be silently ignored.
      if (kind_known && http)
        error(g->key_pos, "probe.expect.success: only applies to tcp and exec probes",
              "for an http probe, say which answers count: expect.status = [503]");
    }
  }
}

void Loader::build_chaos(const Table& t, Chaos& chaos) {
  chaos.pos = t.pos;
  if (auto f = t.get("faults")) chaos.faults = static_cast<std::uint32_t>(f->integer);
  if (auto f = t.get("window"); f && !f->tables.empty()) chaos.window = build_window(f->tables[0]);
  if (auto f = t.get("kinds")) chaos.kinds = f->strings;
  if (auto f = t.get("into")) chaos.into = f->strings;
  if (auto f = t.get("proxies")) chaos.proxies = f->strings;
  for (const auto& [key, f] : t.fields) {
    if (f.tables.empty() || key == "window") continue;
    for (const auto& [range_key, g] : f.tables[0].fields) chaos.ranges[key][range_key].values = g.strings;
  }
}

}  // namespace faultline::scenario::detail
