// `faultline plan FILE [--seed N]`: the scenario as the runner would carry it out (start order,
// readiness gates, injections on the timeline, probe windows, stop phase), printed without
// starting a process or creating a cgroup.
#include <algorithm>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "cli/commands.h"
#include "scenario/chaos.h"
#include "scenario/loader.h"
#include "timeline/schedule.h"

namespace faultline::cli {
namespace {

using scenario::Injection;
using scenario::ProcessSpec;
using scenario::Readiness;
using scenario::Scenario;
using timeline::Resolved;

struct PlanArgs {
  std::string file;
  std::optional<std::uint64_t> seed;
};

std::string join(const std::vector<std::string>& items, const std::string& sep) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : sep) + item;
  return out;
}

std::string command_text(const ProcessSpec& p) {
  if (!p.shell) return join(p.command, " ");
  // A multi-line shell script reads as one line in a plan.
  std::string flat;
  for (char c : *p.shell) {
    const bool space = c == ' ' || c == '\n' || c == '\t' || c == '\r';
    if (space && (flat.empty() || flat.back() == ' ')) continue;
    flat += space ? ' ' : c;
  }
  while (!flat.empty() && flat.back() == ' ') flat.pop_back();
  return "sh -c '" + flat + "'";
}

std::string readiness_text(const Readiness& r) {
  const std::string timeout = " (timeout " + format_duration(r.timeout) + ")";
  switch (r.kind) {
    case Readiness::Kind::none:
      return "ready: when started";
    case Readiness::Kind::log:
      return "ready: log /" + r.log_regex + "/" + timeout;
    case Readiness::Kind::tcp:
      return "ready: tcp " + r.address + timeout;
    case Readiness::Kind::http:
      return "ready: http " + r.address + " (2xx)" + timeout;
    case Readiness::Kind::exec:
      return "ready: exec " + join(r.exec, " ") + " (exit 0)" + timeout;
  }
  return {};
}

std::string limits_text(const scenario::Limits& l) {
  std::vector<std::string> parts;
  if (l.memory) parts.push_back("memory " + format_size(*l.memory));
  if (l.memory_high) parts.push_back("memory_high " + format_size(*l.memory_high));
  if (l.swap) parts.push_back("swap " + format_size(*l.swap));
  if (l.cpu) parts.push_back("cpu " + format_cpu(*l.cpu));
  if (l.cpu_period) parts.push_back("cpu_period " + format_duration(*l.cpu_period));
  if (l.cpuset) parts.push_back("cpuset " + *l.cpuset);
  if (l.pids) parts.push_back("pids " + std::to_string(*l.pids));
  if (l.nofile) parts.push_back("nofile " + std::to_string(*l.nofile));
  return join(parts, ", ");
}

// Dependencies first; among processes that could start together, the file's order (as the
// runner starts them).
std::vector<const ProcessSpec*> start_order(const Scenario& s) {
  std::vector<const ProcessSpec*> order;
  auto process_placed = [&](const std::string& name) {
    return std::any_of(order.begin(), order.end(), [&](const ProcessSpec* p) { return p->name == name; });
  };
  // A proxy listens as soon as the processes it comes after are ready.
  auto placed = [&](const std::string& name) {
    if (const auto* proxy = s.find_proxy(name))
      return std::all_of(proxy->after.begin(), proxy->after.end(), process_placed);
    return process_placed(name);
  };
  while (order.size() < s.processes.size()) {
    bool progress = false;
    for (const auto& p : s.processes) {
      if (placed(p.name)) continue;
      if (std::all_of(p.after.begin(), p.after.end(), placed)) {
        order.push_back(&p);
        progress = true;
      }
    }
    if (!progress) break;  // the loader rejects cycles; never loop forever regardless
  }
  return order;
}

// "write,pwrite64 -> ENOSPC every 3rd on /var/lib/*": the rule as the notifier will apply it.
std::string syscall_rule_text(const scenario::SyscallFault& f) {
  std::ostringstream out;
  for (std::size_t i = 0; i < f.syscalls.size(); ++i) out << (i ? "," : "") << f.syscalls[i];
  if (f.delay.count() > 0) out << " delayed " << format_duration(f.delay);
  if (f.error) out << " -> " << *f.error;
  if (f.return_value) out << " -> return " << *f.return_value;
  using Select = scenario::SyscallFault::Select;
  switch (f.select) {
    case Select::every_call:
      out << ", every call";
      break;
    case Select::every:
      out << ", one call in " << f.n;
      break;
    case Select::nth:
      out << ", only call #" << f.n;
      break;
    case Select::after:
      out << ", every call after the first " << f.n;
      break;
    case Select::probability:
      out << ", each call with probability " << f.probability << " (seeded)";
      break;
  }
  if (f.path_glob) out << ", on paths matching " << *f.path_glob;
  if (f.fds == scenario::SyscallFault::Fds::sockets) out << ", on sockets only";
  if (f.fds == scenario::SyscallFault::Fds::files) out << ", on files only";
  return out.str();
}

std::string fault_text(const Injection& inj) {
  std::ostringstream out;
  out << inj.kind;
  std::visit(
      [&](const auto& f) {
        using F = std::decay_t<decltype(f)>;
        if constexpr (std::is_same_v<F, scenario::MemoryFault>) {
          if (f.limit) out << " limit " << format_size(*f.limit);
          if (f.high) out << " high " << format_size(*f.high);
          if (f.over) out << " over " << format_duration(*f.over);
          if (f.mode == scenario::MemoryFault::Mode::limit_only) out << " (limit-only)";
        } else if constexpr (std::is_same_v<F, scenario::CpuFault>) {
          if (f.quota) out << " quota " << format_cpu(*f.quota);
          if (f.period) out << " period " << format_duration(*f.period);
          if (f.cpuset) out << " cpuset " << *f.cpuset;
        } else if constexpr (std::is_same_v<F, scenario::FdFault>) {
          out << " nofile " << f.nofile;
        } else if constexpr (std::is_same_v<F, scenario::PidsFault>) {
          out << " limit " << f.limit;
        } else if constexpr (std::is_same_v<F, scenario::SignalFault>) {
          out << " " << signal_name(f.signal) << " to "
              << (f.to == scenario::SignalFault::To::all ? "all" : "main");
          if (f.repeat_every) out << ", every " << format_duration(*f.repeat_every) << " x" << f.repeat_count;
        } else if constexpr (std::is_same_v<F, scenario::HogFault>) {
          if (f.memory) out << " memory " << format_size(*f.memory);
          if (f.cpu) out << " cpu " << format_cpu(*f.cpu);
        } else if constexpr (std::is_same_v<F, scenario::SyscallFault>) {
          out << " " << syscall_rule_text(f);
        } else if constexpr (std::is_same_v<F, scenario::NetworkFault>) {
          if (inj.kind == "latency") {
            out << " " << format_duration(f.latency);
            if (f.jitter.count() > 0) out << " +- " << format_duration(f.jitter);
          } else if (inj.kind == "bandwidth") {
            out << " " << format_size(f.rate) << "/s";
          } else if (inj.kind == "timeout") {
            out << (f.after.count() == 0 ? std::string(" hold forever")
                                         : " close after " + format_duration(f.after));
          } else if (inj.kind == "reset") {
            out << " after " << format_duration(f.after);
          } else if (inj.kind == "slow_close") {
            out << " FIN " << format_duration(f.after) << " late";
          } else if (inj.kind == "slicer") {
            out << " " << f.slice_average << " +- " << f.slice_variation << " bytes, "
                << format_duration(f.slice_delay) << " apart";
          } else if (inj.kind == "limit_data") {
            out << " " << format_size(f.limit);
          }
          if (inj.kind != "down") {
            out << ", " << scenario::to_string(f.direction);
            if (f.toxicity < 1.0) out << ", toxicity " << f.toxicity;
          }
        }
      },
      inj.params);
  if (!inj.proxy.empty()) {
    out << " on proxy " << inj.proxy;
    return out.str();
  }
  out << " into " << inj.into;
  return out.str();
}

// One line of the timeline. Times on different anchors cannot be compared before a run, so
// lines are ordered by anchor (start, each process's readiness in start order, all ready, each
// process's exit in start order) and by offset within one anchor.
struct Entry {
  int anchor_rank = 0;
  Duration offset{0};
  std::size_t seq = 0;
  std::string when;
  std::string what;
};

class Planner {
 public:
  explicit Planner(const Scenario& s) : s_(s), order_(start_order(s)) {}

  void print(std::ostream& out, const std::optional<std::uint64_t>& seed) {
    out << "scenario: " << s_.name << "  (" << s_.file.string() << ")   timeout "
        << format_duration(s_.timeout) << ", duration "
        << (s_.duration ? format_duration(*s_.duration)
            : s_.stop   ? "none"
                        : "until the processes exit");
    if (s_.stop) out << ", stop " << s_.stop->text;
    out << "\n";
    if (seed) out << "seed: " << *seed << "\n";
    print_processes(out);
    print_proxies(out);
    print_timeline(out);
    print_probes(out);
    print_expectations(out);
  }

 private:
  int rank_of(const std::string& anchor) const {
    return static_cast<int>(timeline::anchor_rank(order_, anchor));
  }

  void add(const Resolved& at, std::string what) {
    entries_.push_back({rank_of(at.anchor), at.offset, entries_.size(), time_text(at), std::move(what)});
  }

  static std::string time_text(const Resolved& r) {
    if (r.anchor.empty())
      return "t=" + (r.offset.count() == 0 ? std::string("0") : format_duration(r.offset));
    return timeline::to_string(r);
  }

  void print_processes(std::ostream& out) const {
    out << "processes (start order):\n";
    // Long commands would push the readiness column off the screen: they get it on a line
    // of their own, under that column.
    constexpr std::size_t kWidestCommandColumn = 48;
    std::size_t name_w = 4, cmd_w = 8;
    std::vector<std::string> commands;
    for (const auto* p : order_) {
      std::string c = p->after.empty() ? "" : "after " + join(p->after, ", ") + "  ";
      c += command_text(*p);
      name_w = std::max(name_w, p->name.size());
      if (c.size() <= kWidestCommandColumn) cmd_w = std::max(cmd_w, c.size());
      commands.push_back(c);
    }
    const std::string indent(2 + name_w + 2, ' ');
    for (std::size_t i = 0; i < order_.size(); ++i) {
      const auto* p = order_[i];
      out << "  " << std::left << std::setw(static_cast<int>(name_w)) << p->name << "  ";
      if (commands[i].size() > cmd_w)
        out << commands[i] << "\n" << indent << std::string(cmd_w, ' ');
      else
        out << std::setw(static_cast<int>(cmd_w)) << commands[i];
      out << "  " << readiness_text(p->ready) << "\n";
      const std::string limits = limits_text(p->limits);
      if (!limits.empty()) out << indent << "limits: " << limits << "\n";
    }
  }

  void print_proxies(std::ostream& out) const {
    if (s_.proxies.empty()) return;
    out << "proxies:\n";
    for (const auto& p : s_.proxies) {
      out << "  " << p.name << "  " << p.listen << " -> " << p.upstream;
      if (!p.after.empty()) out << "  after " << join(p.after, ", ");
      out << "\n";
      for (const auto& inj : s_.injections)
        if (inj.proxy == p.name)
          out << "    " << inj.name << ": " << fault_text(inj) << " at " << inj.at.text
              << (inj.duration ? " for " + format_duration(*inj.duration) : std::string()) << "\n";
    }
  }

  void print_timeline(std::ostream& out) {
    // A proxy listens once the processes it comes after are ready; a process after a proxy
    // starts then.
    const auto ready_of = [&](const std::vector<std::string>& after) {
      std::vector<std::string> deps;
      for (const auto& d : after) {
        const auto* proxy = s_.find_proxy(d);
        for (const auto& name : proxy ? proxy->after : std::vector<std::string>{d})
          if (std::find(deps.begin(), deps.end(), name + ".ready") == deps.end())
            deps.push_back(name + ".ready");
      }
      return deps;
    };
    const auto add_after = [&](const std::vector<std::string>& deps, const std::string& what) {
      if (deps.empty())
        add({}, what);
      else if (deps.size() == 1)
        add({deps[0], Duration{0}}, what);
      else
        entries_.push_back({rank_of(deps.back()), Duration{0}, entries_.size(), join(deps, " & "), what});
    };
    for (const auto& proxy : s_.proxies)
      add_after(ready_of(proxy.after), "proxy " + proxy.name + " listens on " + proxy.listen);
    for (const auto* p : order_) add_after(ready_of(p->after), "start " + p->name);
    add({"ready", Duration{0}}, "all processes ready");
    for (const auto& planned : timeline::plan_injections(s_)) {
      std::string what = "inject " + planned.injection->name + " (" + fault_text(*planned.injection) + ")";
      if (planned.end)
        what +=
            " for " + format_duration(*planned.injection->duration) + ", until " + time_text(*planned.end);
      if (planned.injection->optional) what += " (optional)";
      add(planned.start, what);
    }
    append_drawn_injections();
    // The processes the stop phase signals, in order; `gone` has exited already.
    const auto stop_list = [&](const std::string& gone) {
      std::string list;
      for (auto it = order_.rbegin(); it != order_.rend(); ++it) {
        const auto* p = *it;
        if (p->name == gone) continue;
        list += (list.empty() ? "" : ", then ") + signal_name(p->stop_signal) + " " + p->name + " (grace " +
                format_duration(p->stop_grace) + ")";
      }
      return list;
    };
    const std::string stop = stop_list({});
    if (s_.duration) add({"ready", *s_.duration}, "stop phase: " + stop);
    if (s_.stop) {
      const auto driver = timeline::exiting_process(s_.stop->anchor).value_or(s_.stop->anchor);
      add({s_.stop->anchor, s_.stop->offset},
          "stop phase " +
              (s_.stop->offset == Duration{0} ? std::string("when ")
                                              : format_duration(s_.stop->offset) + " after ") +
              driver + " exits" +
              (s_.duration ? " or at ready+" + format_duration(*s_.duration) + ", whichever comes first"
                           : "") +
              ": " + stop_list(driver));
    }
    std::stable_sort(entries_.begin(), entries_.end(), [](const Entry& a, const Entry& b) {
      if (a.anchor_rank != b.anchor_rank) return a.anchor_rank < b.anchor_rank;
      if (a.offset != b.offset) return a.offset < b.offset;
      return a.seq < b.seq;
    });
    out << "timeline:\n";
    for (const auto& e : entries_)
      out << "  " << std::left << std::setw(18) << e.when << "  " << e.what << "\n";
    if (!s_.duration && !s_.stop)
      out << "  (no duration: the stop phase begins only if the timeout hits; " << stop << ")\n";
    out << "  t=" << format_duration(s_.timeout) << std::string(e_pad(format_duration(s_.timeout)), ' ')
        << "  timeout: everything still running is killed\n";
  }

  static std::size_t e_pad(const std::string& duration) {
    const std::size_t used = 2 + duration.size();
    return used < 18 ? 18 - used : 0;
  }

  // Drawn chaos injections are already in the scenario (named chaos#N) when a seed was given;
  // without one, say how to see them.
  void append_drawn_injections() {
    if (!s_.chaos) return;
    bool drawn = false;
    for (const auto& inj : s_.injections) drawn = drawn || inj.name.rfind("chaos#", 0) == 0;
    for (const auto& note : s_.chaos->left_out) add({}, "chaos: " + note);
    if (!drawn && s_.chaos->left_out.empty())
      add({}, "chaos: " + std::to_string(s_.chaos->faults) +
                  " fault(s) drawn from the run's seed; pass --seed N to see what `run --seed N` applies");
  }

  std::string window_text(const scenario::Window& w) const {
    if (w.inject) {
      for (const auto& planned : timeline::plan_injections(s_))
        if (planned.injection->name == *w.inject)
          return "during " + *w.inject + " (" + time_text(planned.start) + " .. " +
                 (planned.end ? time_text(*planned.end) : std::string("end of run")) + ")";
      return "during " + *w.inject;
    }
    const std::string from = w.from.text.empty() ? "start" : time_text(timeline::resolve(s_, w.from));
    const std::string to = w.to ? time_text(timeline::resolve(s_, *w.to)) : "end of run";
    return "from " + from + " to " + to;
  }

  void print_probes(std::ostream& out) const {
    if (s_.probes.empty()) return;
    out << "probes:\n";
    for (const auto& p : s_.probes) {
      const std::string target = p.kind == scenario::Probe::Kind::exec ? join(p.exec, " ") : p.target;
      const char* kind = p.kind == scenario::Probe::Kind::http  ? "http"
                         : p.kind == scenario::Probe::Kind::tcp ? "tcp"
                                                                : "exec";
      out << "  " << p.name << ": " << kind << " " << target << " every " << format_duration(p.every)
          << " (timeout " << format_duration(p.timeout) << "), " << window_text(p.during) << "\n";
      std::vector<std::string> expects;
      if (p.expect_status) {
        std::vector<std::string> codes;
        for (int c : *p.expect_status) codes.push_back(std::to_string(c));
        expects.push_back("status in [" + join(codes, ", ") + "]");
      }
      if (p.expect_latency_below)
        expects.push_back("latency below " + format_duration(*p.expect_latency_below));
      if (p.expect_success) expects.push_back(*p.expect_success ? "succeeds" : "fails");
      if (p.expect_body_contains) expects.push_back("body contains \"" + *p.expect_body_contains + "\"");
      out << "    expect: " << (expects.empty() ? std::string("success") : join(expects, ", "))
          << "; pass_ratio " << scenario::to_string(p.pass_ratio) << "\n";
    }
  }

  void print_expectations(std::ostream& out) const {
    if (s_.expects.empty()) return;
    out << "expectations:\n";
    for (const auto& e : s_.expects) {
      std::vector<std::string> parts;
      if (e.outcome) parts.push_back(std::string("outcome ") + scenario::to_string(*e.outcome));
      if (e.exit_codes) {
        std::vector<std::string> codes;
        for (int c : *e.exit_codes) codes.push_back(std::to_string(c));
        parts.push_back("exit_codes [" + join(codes, ", ") + "]");
      } else if (!e.outcome || *e.outcome == scenario::ExpectedOutcome::exited) {
        parts.push_back("exit code 0, or a death by faultline's signal N or 128+N after it (default)");
      }
      if (e.graceful) parts.push_back(*e.graceful ? "graceful" : "not graceful");
      if (e.oom_kills) parts.push_back("oom_kills " + scenario::to_string(*e.oom_kills));
      if (e.pids_max_events) parts.push_back("pids_max_events " + scenario::to_string(*e.pids_max_events));
      if (e.max_memory) parts.push_back("max_memory " + format_size(*e.max_memory));
      if (e.max_runtime) parts.push_back("max_runtime " + format_duration(*e.max_runtime));
      parts.push_back(e.no_orphans ? "no orphans" : "orphans allowed");
      const std::size_t output_checks =
          e.stdout_expect.contains.size() + e.stdout_expect.not_contains.size() +
          e.stderr_expect.contains.size() + e.stderr_expect.not_contains.size() +
          e.stdout_expect.matches.size() + e.stdout_expect.not_matches.size() +
          e.stderr_expect.matches.size() + e.stderr_expect.not_matches.size();
      if (output_checks) parts.push_back(std::to_string(output_checks) + " output check(s)");
      out << "  " << e.process << ": " << join(parts, ", ") << "\n";
    }
  }

  const Scenario& s_;
  std::vector<const ProcessSpec*> order_;
  std::vector<Entry> entries_;
};

int plan(const PlanArgs& args) {
  const auto files = expand_scenario_paths({args.file});
  if (files.size() != 1)
    throw UsageError("plan takes one scenario file; `" + args.file + "` names " +
                     std::to_string(files.size()));
  scenario::LoadOptions options = scenario_load_options();
  Scenario s;
  try {
    s = scenario::load_scenario(files.front(), options);
  } catch (const scenario::LoadError& e) {
    for (const auto& d : e.diagnostics()) std::cerr << d.render() << "\n";
    return kExitUsage;
  }
  std::ostringstream out;
  try {
    // The same draw `faultline run --seed N` makes, so the plan lists exactly what it applies.
    if (s.chaos && args.seed) s = scenario::with_chaos(s, *args.seed);
    Planner(s).print(out, args.seed);
  } catch (const Error& e) {
    std::cerr << files.front() << ": " << e.what() << "\n";
    return kExitUsage;
  }
  std::cout << out.str() << "nothing was started (auto-port numbers are drawn again by `faultline run`)\n";
  return kExitOk;
}

}  // namespace

void add_plan_command(CLI::App& app, Invocation* invocation) {
  auto args = std::make_shared<PlanArgs>();
  auto* cmd =
      app.add_subcommand("plan", "Print the resolved timeline of a scenario without running anything");
  cmd->add_option("file", args->file, "Scenario file")->required();
  cmd->add_option("--seed", args->seed, "Seed for chaos draws (printed; the same seed draws the same faults)")
      ->check(seed_validator());
  cmd->callback([args, invocation] { invocation->run = [args] { return plan(*args); }; });
}

}  // namespace faultline::cli
