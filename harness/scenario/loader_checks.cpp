// Cross-reference checks: names that must exist and be unique, processes waiting for each other,
// and times that must resolve (through the shared resolver) to a point within reach.
#include <algorithm>
#include <functional>
#include <set>

#include "common/address.h"
#include "scenario/did_you_mean.h"
#include "scenario/loader_internal.h"
#include "scenario/time_point.h"

namespace faultline::scenario::detail {

std::vector<std::string> Loader::process_names(const Scenario& s) const {
  std::vector<std::string> names;
  for (const auto& p : s.processes)
    if (!p.name.empty() && std::find(names.begin(), names.end(), p.name) == names.end())
      names.push_back(p.name);
  return names;
}

std::vector<std::string> Loader::injection_names(const Scenario& s) const {
  std::vector<std::string> names;
  for (const auto& i : s.injections)
    if (std::find(names.begin(), names.end(), i.name) == names.end()) names.push_back(i.name);
  return names;
}

std::vector<std::string> Loader::proxy_names(const Scenario& s) const {
  std::vector<std::string> names;
  for (const auto& p : s.proxies)
    if (!p.name.empty() && std::find(names.begin(), names.end(), p.name) == names.end())
      names.push_back(p.name);
  return names;
}

bool Loader::check_process_ref(const Scenario& s, const std::string& name, SourcePos pos,
                               const std::string& label) {
  if (s.find_process(name)) return true;
  auto near = closest_match(name, process_names(s));
  error(pos, label + ": unknown process " + tick(name) + " (processes: " + join(process_names(s)) + ")",
        near ? "did you mean " + tick(*near) + "?" : "");
  return false;
}

void Loader::check_processes(const Scenario& s) {
  std::map<std::string, std::size_t> first;
  for (std::size_t i = 0; i < s.processes.size(); ++i) {
    const ProcessSpec& p = s.processes[i];
    const Table& t = *process_tables_[i];
    const Field* name_field = t.get("name");
    if (name_field && !valid_name(p.name)) {
      error(name_field->pos, "process.name: " + quote(p.name) + " is not a valid name",
            "use letters, digits, `_` and `-`");
    } else if (!p.name.empty() && first.contains(p.name)) {
      error(name_field ? name_field->pos : p.pos,
            "duplicate process name " + tick(p.name) + " (first defined on line " +
                std::to_string(s.processes[first[p.name]].pos.line) + ")");
    } else if (!p.name.empty()) {
      first[p.name] = i;
    }
    if (const Field* limits = t.get("limits"); limits && !limits->tables.empty() && p.limits.cpu)
      if (const Field* cpu = limits->tables[0].get("cpu"))
        check_cpu_quota(*p.limits.cpu, p.limits.cpu_period, cpu->pos, process_table_name_ + ".limits.cpu");
    if (const Field* after = t.get("after")) {
      for (std::size_t j = 0; j < p.after.size(); ++j) {
        if (p.after[j] == p.name)
          error(after->item_pos[j], "process.after: process " + tick(p.name) + " cannot wait for itself");
        else if (!s.find_proxy(p.after[j]))  // a process may wait for a proxy to listen
          check_process_ref(s, p.after[j], after->item_pos[j], "process.after");
      }
    }
  }
}

// A CPU quota the kernel would refuse is an error here, with its position, not a surprise at run
// time. Without a period of its own, the quota is over the kernel's default of 100ms.
void Loader::check_cpu_quota(double cpus, std::optional<Duration> period, SourcePos pos,
                             const std::string& label) {
  if (auto problem = cpu_quota_problem(cpus, period.value_or(kDefaultCpuPeriod)))
    error(pos, label + ": " + problem->what, problem->fix);
}

// Cycles in `after` among processes and proxies: depth-first search, reported once at the table
// where the loop closes.
void Loader::check_after_cycles(const Scenario& s) {
  struct Node {
    const std::string* name;
    const std::vector<std::string>* after;
    const Table* table;
    const char* label;
  };
  std::vector<Node> nodes;
  for (std::size_t i = 0; i < s.processes.size(); ++i)
    nodes.push_back({&s.processes[i].name, &s.processes[i].after, process_tables_[i], "process.after"});
  for (std::size_t i = 0; i < s.proxies.size(); ++i)
    nodes.push_back({&s.proxies[i].name, &s.proxies[i].after, proxy_tables_[i], "proxy.after"});
  enum class Mark { none, active, done };
  std::vector<Mark> marks(nodes.size(), Mark::none);
  std::vector<std::size_t> stack;
  const auto index_of = [&](const std::string& name) -> std::optional<std::size_t> {
    for (std::size_t i = 0; i < nodes.size(); ++i)
      if (*nodes[i].name == name) return i;
    return std::nullopt;
  };
  std::function<void(std::size_t)> visit = [&](std::size_t i) {
    marks[i] = Mark::active;
    stack.push_back(i);
    for (std::size_t j = 0; j < nodes[i].after->size(); ++j) {
      auto next = index_of((*nodes[i].after)[j]);
      if (!next || *next == i) continue;
      if (marks[*next] == Mark::active) {
        std::vector<std::string> cycle;
        bool with_proxy = false;
        auto from = std::find(stack.begin(), stack.end(), *next);
        for (auto it = from; it != stack.end(); ++it) {
          cycle.push_back(*nodes[*it].name);
          with_proxy = with_proxy || *it >= s.processes.size();
        }
        cycle.push_back(*nodes[*next].name);
        error(nodes[i].table->get("after")->item_pos[j],
              std::string(nodes[i].label) + ": " + (with_proxy ? "processes and proxies" : "processes") +
                  " wait for each other in a cycle: " + join(cycle, " -> "));
      } else if (marks[*next] == Mark::none) {
        visit(*next);
      }
    }
    stack.pop_back();
    marks[i] = Mark::done;
  };
  for (std::size_t i = 0; i < nodes.size(); ++i)
    if (marks[i] == Mark::none) visit(i);
}

void Loader::check_proxies(const Scenario& s) {
  std::map<std::string, std::size_t> first;
  for (std::size_t i = 0; i < s.proxies.size(); ++i) {
    const ProxySpec& p = s.proxies[i];
    const Table& t = *proxy_tables_[i];
    const Field* name_field = t.get("name");
    if (name_field && !valid_name(p.name)) {
      error(name_field->pos, "proxy.name: " + quote(p.name) + " is not a valid name",
            "use letters, digits, `_` and `-`");
    } else if (!p.name.empty() && first.contains(p.name)) {
      error(name_field->pos, "duplicate proxy name " + tick(p.name) + " (first defined on line " +
                                 std::to_string(s.proxies[first[p.name]].pos.line) + ")");
    } else if (!p.name.empty() && s.find_process(p.name)) {
      error(name_field->pos,
            "proxy.name: " + tick(p.name) + " is also a process name (line " +
                std::to_string(s.find_process(p.name)->pos.line) + ")",
            "`after` names both, so give the proxy a name of its own, e.g. " + tick(p.name + "-proxy"));
    } else if (!p.name.empty()) {
      first[p.name] = i;
    }
    // The same port on addresses that overlap (one a wildcard covering the other, or the same
    // address written two ways): the second bind would fail when the run starts.
    if (const Field* listen = t.get("listen")) {
      const auto here = parse_host_port(p.listen);
      for (std::size_t j = 0; j < i; ++j) {
        const auto there = parse_host_port(s.proxies[j].listen);
        const bool overlap =
            s.proxies[j].listen == p.listen || (here && there && listens_collide(*here, *there));
        if (overlap)
          error(listen->pos,
                "proxy.listen: " + quote(p.listen) +
                    (s.proxies[j].listen == p.listen
                         ? " is also where"
                         : " takes the port of " + quote(s.proxies[j].listen) + ", where") +
                    " proxy " + tick(s.proxies[j].name) + " listens (line " +
                    std::to_string(s.proxies[j].pos.line) + ")",
                "give each proxy its own port, e.g. an auto-port variable");
      }
    }
    // It would dial itself, accept that, dial again, ... until it runs out of fds, every round
    // counted as a client's connection.
    if (const Field* upstream = t.get("upstream")) {
      const auto dial = parse_host_port(p.upstream), listen = parse_host_port(p.listen);
      if (dial && listen && may_reach(*dial, *listen))
        error(upstream->pos,
              "proxy.upstream: " + quote(p.upstream) + " reaches the proxy's own `listen` (" +
                  quote(p.listen) + "): it would connect to itself",
              "the upstream is the server behind the proxy; the clients connect to `listen`");
    }
    if (const Field* after = t.get("after"))
      for (std::size_t j = 0; j < p.after.size(); ++j) {
        if (s.find_proxy(p.after[j]))
          error(after->item_pos[j],
                "proxy.after: " + tick(p.after[j]) + " is a proxy; a proxy waits for processes",
                "proxies listen independently of each other");
        else
          check_process_ref(s, p.after[j], after->item_pos[j], "proxy.after");
      }
  }
  check_after_cycles(s);
  // A readiness gate's connect would be accepted by the proxy at once, whatever runs behind it
  // (or nothing): the process would count as ready before it listens.
  for (std::size_t k = 0; k < s.processes.size() && k < process_tables_.size(); ++k) {
    const ProcessSpec& process = s.processes[k];
    if (process.ready.kind != Readiness::Kind::tcp) continue;
    const ProxySpec* proxy = proxy_reached_by(s, process.ready.address);
    const Field* ready = process_tables_[k]->get("ready");
    const Field* tcp = ready && !ready->tables.empty() ? ready->tables[0].get("tcp") : nullptr;
    if (proxy && tcp)
      error(tcp->pos,
            "ready.tcp: " + quote(process.ready.address) + " reaches proxy " + tick(proxy->name) +
                " (listening on " + quote(proxy->listen) +
                "): the proxy accepts every connect at once, so the process would be ready before it listens",
            "give the process's own address, or `ready.http` through the proxy, which needs an answer");
  }
}

const ProxySpec* Loader::proxy_reached_by(const Scenario& s, const std::string& address) const {
  const auto dial = parse_host_port(address);
  if (!dial) return nullptr;
  for (const auto& proxy : s.proxies)
    if (const auto listen = parse_host_port(proxy.listen); listen && may_reach(*dial, *listen)) return &proxy;
  return nullptr;
}

// A network fault hits a proxy, never a process's cgroup.
void Loader::check_network_injection(const Scenario& s, const Table& t, Injection& inj) {
  if (const Field* into = t.get("into")) {
    error(into->key_pos,
          "inject.into: a " + quote(inj.kind) + " fault hits the connections of a proxy, not a process",
          "remove `into`; `proxy` names the [[proxy]] it hits");
    inj.into.clear();
  }
  const Field* proxy = t.get("proxy");
  if (!proxy || s.find_proxy(inj.proxy)) return;
  if (s.proxies.empty()) {
    error(proxy->pos, "inject.proxy: unknown proxy " + tick(inj.proxy) + " (the scenario has no [[proxy]])",
          "add a [[proxy]] table named " + tick(inj.proxy) + " in front of the server to hurt");
  } else {
    auto near = closest_match(inj.proxy, proxy_names(s));
    error(proxy->pos,
          "inject.proxy: unknown proxy " + tick(inj.proxy) + " (proxies: " + join(proxy_names(s)) + ")",
          near ? "did you mean " + tick(*near) + "?" : "");
  }
  inj.proxy.clear();
}

void Loader::check_injections(Scenario& s) {
  std::map<std::string, std::size_t> first;
  for (std::size_t i = 0; i < s.injections.size(); ++i) {
    Injection& inj = s.injections[i];
    const Table& t = *injection_tables_[i];
    if (const Field* name = t.get("name")) {
      if (!valid_name(inj.name)) {
        error(name->pos, "inject.name: " + quote(inj.name) + " is not a valid name",
              "use letters, digits, `_` and `-`");
      } else if (first.contains(inj.name)) {
        error(name->pos, "duplicate injection name " + tick(inj.name) + " (first defined on line " +
                             std::to_string(s.injections[first[inj.name]].pos.line) + ")");
      } else {
        first[inj.name] = i;
      }
    }
    if (is_network_kind(inj.kind)) {
      check_network_injection(s, t, inj);
    } else if (const Field* into = t.get("into")) {
      if (!check_process_ref(s, inj.into, into->pos, "inject.into")) inj.into.clear();
    } else if (s.processes.size() == 1) {
      inj.into = s.processes[0].name;
    } else if (s.processes.size() > 1) {
      error(t.pos,
            "[[inject]] needs `into`: the scenario has several processes (" + join(process_names(s)) + ")");
    }
    if (const Field* at = t.get("at")) check_time_point(s, inj.at, at->pos, "inject.at");
    if (const auto* sc = std::get_if<SyscallFault>(&inj.params)) check_syscall_fault(*sc, t);
    if (const auto* hog = std::get_if<HogFault>(&inj.params)) check_hog_fault(*hog, t);
    // The quota the fault leaves in force: its own or the target's limit, over its own period or
    // the target's. (An earlier fault's change is seen when this one is applied.)
    if (const auto* cpu = std::get_if<CpuFault>(&inj.params); cpu && (cpu->quota || cpu->period)) {
      const ProcessSpec* target = s.find_process(inj.into);
      std::optional<double> quota = cpu->quota;
      std::optional<Duration> period = cpu->period;
      if (target && !quota) quota = target->limits.cpu;
      if (target && !period) period = target->limits.cpu_period;
      const Field* at = t.get(cpu->quota ? "quota" : "period");
      if (quota && at)
        check_cpu_quota(*quota, period, at->pos, cpu->quota ? "inject.quota" : "inject.period");
    }
  }
  check_time_cycles(s);
  check_time_range(s);
}

// Where the i-th value of a list was written, or the key where the list has no positions.
SourcePos position_of_item(const Field& f, std::size_t i) {
  return i < f.item_pos.size() ? f.item_pos[i] : f.pos;
}

// Names are checked against the host's tables when the caller has them (the syscall module owns
// them; this module cannot link it), so a typo fails here with its position, not at run time.
// `label` names the key ("inject.syscalls", "chaos.syscall.syscalls").
void Loader::check_syscall_names(const std::vector<std::string>& names, const Field& f,
                                 const std::string& label) {
  if (options_.syscall_names.empty()) return;
  if (names.empty())
    error(f.pos, label + ": no system calls listed", "e.g. syscalls = [\"write\", \"pwrite64\"]");
  const auto& known = options_.syscall_names;
  for (std::size_t j = 0; j < names.size(); ++j) {
    const std::string& name = names[j];
    if (std::find(known.begin(), known.end(), name) != known.end()) continue;
    auto near = closest_match(name, known);
    error(position_of_item(f, j), label + ": unknown system call " + tick(name) + " on this host",
          near ? "did you mean " + tick(*near) + "? (names as in syscalls(2))"
               : "names as in syscalls(2), e.g. openat, write, fsync");
  }
}

// One errno name (`inject.errno`) or a list of them to draw from (`chaos.syscall.errno`).
void Loader::check_errno_names(const std::vector<std::string>& names, const Field& f,
                               const std::string& label) {
  if (options_.errno_names.empty()) return;
  const auto& known = options_.errno_names;
  for (std::size_t j = 0; j < names.size(); ++j) {
    if (std::find(known.begin(), known.end(), names[j]) != known.end()) continue;
    auto near = closest_match(names[j], known);
    error(position_of_item(f, j), label + ": unknown errno " + tick(names[j]),
          near ? "did you mean " + tick(*near) + "? (names as in errno(3))"
               : "a name from errno(3) such as ENOSPC, EIO, EINTR");
  }
}

// A neighbour that holds nothing crowds nothing, and its fault would count as applied. The hog
// burns its share of every 10ms slice: under 1%, 100us of each, it is no neighbour at all.
constexpr double kMinHogCpu = 0.01;

void Loader::check_hog_memory(std::uint64_t bytes, SourcePos pos, const std::string& label) {
  if (bytes == 0)
    error(pos, label + ": a hog of 0B holds no memory, so it crowds nothing",
          "give a size such as 64MiB, or leave `memory` out for a CPU hog");
}

void Loader::check_hog_cpu(double cpus, SourcePos pos, const std::string& label) {
  if (cpus < kMinHogCpu)
    error(pos, label + ": a hog under " + format_cpu(kMinHogCpu) + " of a CPU burns next to nothing",
          "give at least \"" + format_cpu(kMinHogCpu) + "\", or leave `cpu` out for a memory hog");
}

void Loader::check_hog_fault(const HogFault& hog, const Table& t) {
  if (const Field* f = t.get("memory"); f && hog.memory)
    check_hog_memory(*hog.memory, f->pos, "inject.memory");
  if (const Field* f = t.get("cpu"); f && hog.cpu) check_hog_cpu(*hog.cpu, f->pos, "inject.cpu");
}

void Loader::check_syscall_fault(const SyscallFault& sc, const Table& t) {
  if (const Field* f = t.get("syscalls")) check_syscall_names(sc.syscalls, *f, "inject.syscalls");
  if (const Field* f = t.get("errno"); f && sc.error) check_errno_names({*sc.error}, *f, "inject.errno");
  // A selector that cannot apply to a listed call would make the run refuse the rule; said here,
  // at the call's name, so `validate` catches it.
  const Field* calls = t.get("syscalls");
  if (!calls) return;
  const auto check_selector = [&](const char* key, const std::vector<std::string>& able,
                                  const std::string& takes) {
    const Field* selector = t.get(key);
    if (!selector || able.empty()) return;
    for (std::size_t j = 0; j < sc.syscalls.size(); ++j) {
      const std::string& name = sc.syscalls[j];
      if (std::find(able.begin(), able.end(), name) != able.end()) continue;
      if (std::find(options_.syscall_names.begin(), options_.syscall_names.end(), name) ==
          options_.syscall_names.end())
        continue;  // unknown: already reported
      error(position_of_item(*calls, j),
            "inject.syscalls: " + tick(name) + " takes no " + takes + ", so `" + key +
                "` cannot select its calls",
            "list it in another [[inject]] without `" + std::string(key) + "`");
    }
  };
  if (sc.path_glob) check_selector("path", options_.syscalls_with_path_or_fd, "path or file descriptor");
  if (sc.fds != SyscallFault::Fds::any) check_selector("fds", options_.syscalls_with_fd, "file descriptor");
}

// The tables of ranges, one per kind. With `kinds` given (`drawn`), only those are drawn: ranges
// for another kind would be passed over. A [low, high] range whose high is below its low draws
// nothing sensible: said at the high end.
void Loader::check_chaos_ranges(const Table& t, const std::vector<std::string>* drawn) {
  const spec::KeySpec* chaos = spec::scenario_spec().find("chaos");
  for (const auto& [kind, f] : t.fields) {
    const spec::KeySpec* kind_key = chaos->table->find(kind);
    if (f.tables.empty() || kind == "window" || !kind_key || !kind_key->table) continue;
    if (drawn && std::find(drawn->begin(), drawn->end(), kind) == drawn->end())
      error(f.key_pos,
            "chaos." + kind + ": ranges for kind " + quote(kind) +
                ", which `kinds` leaves out, so they would never be drawn",
            "add " + quote(kind) + " to `kinds`, or remove chaos." + kind);
    for (const auto& [key, range] : f.tables[0].fields) {
      const spec::KeySpec* key_spec = kind_key->table->find(key);
      if (!key_spec || !spec::drawn_between(key_spec->element) || range.strings.size() != 2) continue;
      const std::string& low = range.strings[0];
      const std::string& high = range.strings[1];
      bool below = false;
      switch (key_spec->element) {
        case Kind::duration:
          below = *parse_duration(high) < *parse_duration(low);
          break;
        case Kind::size:
          below = *parse_size(high) < *parse_size(low);
          break;
        case Kind::cpu:
          below = *parse_cpu(high) < *parse_cpu(low);
          break;
        case Kind::integer:
          below = range.integers[1] < range.integers[0];
          break;
        default:  // ratio
          below = std::stod(high) < std::stod(low);
          break;
      }
      if (below)
        error(range.item_pos[1],
              "chaos." + kind + "." + key + ": the range ends (" + quote(high) + ") below where it starts (" +
                  quote(low) + ")",
              "write [low, high], e.g. [" + quote(high) + ", " + quote(low) + "]");
    }
    // The smallest quota drawn over the shortest period drawn must be one the kernel takes.
    const Field* quota = kind == "cpu" && !f.tables.empty() ? f.tables[0].get("quota") : nullptr;
    if (quota && quota->strings.size() == 2) {
      const Field* period = f.tables[0].get("period");
      const auto low_quota = parse_cpu(quota->strings[0]);
      const auto low_period = period && period->strings.size() == 2 ? parse_duration(period->strings[0])
                                                                    : std::optional<Duration>();
      if (low_quota) check_cpu_quota(*low_quota, low_period, quota->item_pos[0], "chaos.cpu.quota");
    }
  }
}

// [chaos]: its targets exist, a network kind has a [[proxy]] to hit, and the names it draws from
// pass the same checks as a hand-written injection's.
void Loader::check_chaos(const Scenario& s, const Table& t, Chaos& chaos) {
  if (const Field* into = t.get("into")) {
    for (std::size_t i = 0; i < chaos.into.size(); ++i)
      check_process_ref(s, chaos.into[i], into->item_pos[i], "chaos.into");
  } else {
    chaos.into = process_names(s);
  }
  if (const Field* proxies = t.get("proxies")) {
    for (std::size_t i = 0; i < chaos.proxies.size(); ++i) {
      if (s.find_proxy(chaos.proxies[i])) continue;
      auto near = closest_match(chaos.proxies[i], proxy_names(s));
      error(proxies->item_pos[i],
            "chaos.proxies: unknown proxy " + tick(chaos.proxies[i]) +
                (s.proxies.empty() ? " (the scenario has no [[proxy]])"
                                   : " (proxies: " + join(proxy_names(s)) + ")"),
            near ? "did you mean " + tick(*near) + "?" : "");
    }
  } else {
    chaos.proxies = proxy_names(s);
  }
  // A network kind, in `kinds` or as a table of ranges, needs a proxy whose connections it hits.
  if (s.proxies.empty()) {
    const auto no_proxy = [&](const std::string& kind, SourcePos pos, const std::string& label) {
      error(
          pos,
          label + ": " + quote(kind) + " is a network fault, and the scenario has no [[proxy]] for it to hit",
          "add a [[proxy]] in front of the server to hurt (clients connect to its `listen`), or draw "
          "process kinds only");
    };
    if (const Field* kinds = t.get("kinds"))
      for (std::size_t i = 0; i < chaos.kinds.size(); ++i)
        if (is_network_kind(chaos.kinds[i])) no_proxy(chaos.kinds[i], kinds->item_pos[i], "chaos.kinds");
    for (const auto& [key, f] : t.fields)
      if (is_network_kind(key)) no_proxy(key, f.key_pos, "chaos." + key);
  }
  check_chaos_ranges(t, t.get("kinds") ? &chaos.kinds : nullptr);
  if (const Field* ranges = t.get("syscall"); ranges && !ranges->tables.empty()) {
    const Table& r = ranges->tables[0];
    if (const Field* f = r.get("syscalls")) check_syscall_names(f->strings, *f, "chaos.syscall.syscalls");
    if (const Field* f = r.get("errno")) check_errno_names(f->strings, *f, "chaos.syscall.errno");
  }
  // A value the draw may pick, checked as in [[inject]]: the low end of a range too.
  if (const Field* ranges = t.get("hog"); ranges && !ranges->tables.empty()) {
    const Table& r = ranges->tables[0];
    if (const Field* f = r.get("memory"))
      for (std::size_t i = 0; i < f->strings.size(); ++i)
        if (const auto bytes = parse_size(f->strings[i]))
          check_hog_memory(*bytes, position_of_item(*f, i), "chaos.hog.memory");
    if (const Field* f = r.get("cpu"))
      for (std::size_t i = 0; i < f->strings.size(); ++i)
        if (const auto cpus = parse_cpu(f->strings[i]))
          check_hog_cpu(*cpus, position_of_item(*f, i), "chaos.hog.cpu");
  }
  if (const Field* window = t.get("window"); window && !window->tables.empty()) {
    const Table& w = window->tables[0];
    const Field* from = w.get("from");
    const Field* to = w.get("to");
    if (from) check_time_point(s, chaos.window.from, from->pos, "chaos.window.from");
    if (to) check_time_point(s, *chaos.window.to, to->pos, "chaos.window.to");
    if (from && to) check_window(s, chaos.window, from->pos, to->pos, "chaos.window");
  }
}

void Loader::check_time_point(const Scenario& s, const TimePoint& tp, SourcePos pos,
                              const std::string& label) {
  const auto ref = time_ref(tp);
  if (!ref || !(ref->names_process() || ref->names_injection())) return;
  const std::string& name = ref->name;
  const std::string event(ref->event());
  const auto injection = std::find_if(s.injections.begin(), s.injections.end(),
                                      [&](const Injection& i) { return i.name == name; });
  // A process's event names a process, an injection's an injection; a name of the other kind gets
  // the events it does have as the hint.
  using K = TimeRef::Kind;
  const bool wants_process = ref->names_process();
  const bool is_process = s.find_process(name) != nullptr;
  const bool is_injection = injection != s.injections.end();
  if (wants_process ? is_process : is_injection) {
    if (ref->kind == K::inject_end && !injection->duration)
      error(pos, label + ": injection " + tick(name) + " has no `duration`, so " + tick(name + ".end") +
                     " never comes");
    return;
  }
  if (wants_process ? is_injection : is_process) {
    const auto [first, second] = wants_process ? std::pair{K::inject_start, K::inject_end}
                                               : std::pair{K::process_ready, K::process_exit};
    error(pos,
          label + ": " + tick(name) + (wants_process ? " is an injection" : " is a process") +
              ", it has no `." + event + "`",
          "use " + tick(anchor_of(first, name)) + " or " + tick(anchor_of(second, name)));
    return;
  }
  auto near = closest_match(name, wants_process ? process_names(s) : injection_names(s));
  error(pos,
        label + ": unknown " + (wants_process ? "process " : "injection ") + tick(name) + " in " +
            quote(tp.text),
        near ? "did you mean " + tick(*near + "." + event) + "?" : "");
}

// `stop` names a process's exit: a fixed time is what `duration` is for, and a time relative to an
// injection would let the fault timeline decide when the scenario ends.
void Loader::check_stop(const Scenario& s, SourcePos pos) {
  const TimePoint& tp = *s.stop;
  if (const auto ref = time_ref(tp); !ref || ref->kind != TimeRef::Kind::process_exit) {
    const std::string hint = s.processes.empty() ? std::string("name a process's exit, such as \"load.exit\"")
                                                 : "such as " + quote(s.processes.back().name + ".exit") +
                                                       "; for a fixed time use `duration`";
    error(
        pos,
        "stop: expected a process's exit (\"<process>.exit\", optionally \"+offset\"), got " + quote(tp.text),
        hint);
    return;
  }
  check_time_point(s, tp, pos, "stop");
}

// Each injection refers to at most one other, so the resolver, starting from an injection, finds
// the cycle it lies on; the cycle is reported once, at the first of its injections in the file.
void Loader::check_time_cycles(const Scenario& s) {
  const auto index_of = [&](const std::string& name) {
    return std::find_if(s.injections.begin(), s.injections.end(),
                        [&](const Injection& inj) { return inj.name == name; }) -
           s.injections.begin();
  };
  std::set<std::string> reported;
  for (std::size_t start = 0; start < s.injections.size(); ++start) {
    const Injection& inj = s.injections[start];
    // A second injection of the same name is never reached by name (and is reported as a duplicate).
    if (static_cast<std::size_t>(index_of(inj.name)) != start) continue;
    const auto r = resolve_time(s, inj.at, {{inj.name}, false});
    if (!r.problem || r.problem->kind != TimeProblem::Kind::cycle) continue;
    const auto& loop = r.problem->chain;
    if (loop.back() != inj.name || reported.contains(inj.name)) continue;
    reported.insert(loop.begin(), loop.end());
    const Field* at = injection_tables_[start]->get("at");
    error(at ? at->pos : inj.pos,
          "inject.at: injections are timed relative to each other in a cycle: " + join(loop, " -> "));
  }
}

// nullopt for an unknown name or a cycle (reported elsewhere), for a time more than kMaxDuration
// after its base anchor (then `too_late` is set): sums are checked, never wrapped; and for
// `<inj>.end-D` with D longer than the injection (then `too_early` is set).
std::optional<ResolvedTime> Loader::resolve(const Scenario& s, const TimePoint& tp, bool* too_late,
                                            bool* too_early) {
  const auto r = resolve_time(s, tp, {{}, false});
  if (r.problem && r.problem->kind == TimeProblem::Kind::too_late) *too_late = true;
  if (r.problem && r.problem->kind == TimeProblem::Kind::too_early) *too_early = true;
  return r.time;
}

void Loader::report_too_early(SourcePos pos, const std::string& label, const TimePoint& tp) {
  const std::string inj = time_ref(tp) ? time_ref(tp)->name : std::string();
  error(pos,
        label + ": " + quote(tp.text) + " comes before " + tick(inj + ".start") + ": it counts back " +
            format_duration(-tp.offset) + " from the end of an injection that lasts less than that",
        "a `-` offset may count back at most the injection's `duration`");
}

void Loader::report_too_late(SourcePos pos, const std::string& label, const std::string& text) {
  error(pos,
        label + ": " + quote(text) + " comes more than " + format_duration(kMaxDuration) +
            " (365 days) after the start or readiness it counts from",
        "no scenario runs that long; times on the timeline go up to " + format_duration(kMaxDuration));
}

// Every injection's start and end lie within kMaxDuration of their base anchor, so the runner
// and `plan` never add their way past it.
void Loader::check_time_range(const Scenario& s) {
  for (std::size_t i = 0; i < s.injections.size(); ++i) {
    const Injection& inj = s.injections[i];
    const Field* at = injection_tables_[i]->get("at");
    if (!at) continue;
    bool too_late = false, too_early = false;
    auto start = resolve(s, inj.at, &too_late, &too_early);
    if (too_late) {
      report_too_late(at->pos, "inject.at", inj.at.text);
      continue;
    }
    if (too_early) {
      report_too_early(at->pos, "inject.at", inj.at);
      continue;
    }
    if (!start || !inj.duration || add_durations(start->offset, *inj.duration)) continue;
    const Field* duration = injection_tables_[i]->get("duration");
    error(duration ? duration->pos : at->pos,
          "inject.duration: injection " + tick(inj.name) + " would end more than " +
              format_duration(kMaxDuration) + " (365 days) after " +
              (start->anchor.empty() ? std::string("the scenario start") : tick(start->anchor)),
          "no scenario runs that long; times on the timeline go up to " + format_duration(kMaxDuration));
  }
}

void Loader::check_window(const Scenario& s, const Window& w, SourcePos from_pos, SourcePos to_pos,
                          const std::string& label) {
  bool from_too_late = false, to_too_late = false, from_too_early = false, to_too_early = false;
  auto from = resolve(s, w.from, &from_too_late, &from_too_early);
  if (from_too_late) report_too_late(from_pos, label + ".from", w.from.text);
  if (from_too_early) report_too_early(from_pos, label + ".from", w.from);
  if (!w.to) return;  // open: until the stop phase begins
  auto to = resolve(s, *w.to, &to_too_late, &to_too_early);
  if (to_too_late) report_too_late(to_pos, label + ".to", w.to->text);
  if (to_too_early) report_too_early(to_pos, label + ".to", *w.to);
  if (!from || !to || from->anchor != to->anchor) return;
  if (to->offset < from->offset)
    error(to_pos, label + ": the window ends (" + quote(w.to->text) + ") before it starts (" +
                      quote(w.from.text) + ")");
  else if (to->offset == from->offset)
    error(to_pos, label + ": the window is empty: " + quote(w.from.text) + " and " + quote(w.to->text) +
                      " are the same time");
}

}  // namespace faultline::scenario::detail
