#include "runner/hang_diagnosis.h"

#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <sstream>

#include "cgroup/cgroup.h"
#include "cgroup/mountinfo.h"
#include "common/error.h"
#include "common/units.h"

namespace faultline::runner {
namespace {

std::string read_small_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return {};
  std::ostringstream out;
  out << in.rdbuf();
  std::string text = out.str();
  while (!text.empty() && (text.back() == '\n' || text.back() == '\0')) text.pop_back();
  return text;
}

std::string percent(double ratio) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%.0f%%", ratio * 100);
  return buf;
}

std::string format_quota(double cpus) {
  if (std::isinf(cpus)) return "none";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g%%", std::round(cpus * 1000) / 10);
  return buf;
}

std::string mib(std::uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1fMiB", static_cast<double>(bytes) / (1024.0 * 1024.0));
  return buf;
}

// The cgroup2 mount (the whole tree on pure v2, beside the v1 hierarchies on hybrid hosts), read
// with the same parser the backends use: escaped mount points and sub-tree mounts included.
std::optional<cgroup::CgroupMount> cgroup2_mount() {
  for (auto& m : cgroup::parse_cgroup_mounts(read_small_file("/proc/self/mountinfo")))
    if (m.v2) return std::move(m);
  return std::nullopt;
}

// The pid's directory in the cgroup2 hierarchy, from its "0::/path" line.
std::string cgroup2_dir(pid_t pid, const std::optional<cgroup::CgroupMount>& mount) {
  if (!mount) return {};
  const auto paths = cgroup::parse_proc_cgroup(read_small_file("/proc/" + std::to_string(pid) + "/cgroup"));
  const auto it = paths.find("");
  if (it == paths.end()) return {};
  const auto dir = cgroup::cgroup_dir(*mount, it->second);
  return dir ? dir->string() : std::string();
}

struct PidSnapshot {
  pid_t pid = 0;
  std::string comm;
  char state = '?';
  std::string wchan;
  std::string stack;
  std::string threads;
};

PidSnapshot snapshot(pid_t pid) {
  PidSnapshot s;
  s.pid = pid;
  const std::string dir = "/proc/" + std::to_string(pid) + "/";
  // comm is in parentheses and may itself hold spaces and ')': the state follows the last ')'.
  const std::string stat = read_small_file(dir + "stat");
  const auto open = stat.find('('), close = stat.rfind(')');
  if (open != std::string::npos && close != std::string::npos && close + 2 < stat.size()) {
    s.comm = stat.substr(open + 1, close - open - 1);
    s.state = stat[close + 2];
  }
  s.wchan = read_small_file(dir + "wchan");
  if (s.wchan.empty() || s.wchan == "0") s.wchan = "-";
  s.stack = read_small_file(dir + "stack");
  std::istringstream status(read_small_file(dir + "status"));
  for (std::string line; std::getline(status, line);)
    if (line.rfind("Threads:", 0) == 0) s.threads = line.substr(line.find_first_not_of(" \t", 8));
  return s;
}

// "`api` " in a scenario; nothing for an unnamed process (`exec` runs a single command).
std::string subject(const HangFacts& f) {
  if (f.callers) return "the run's processes ";
  return f.process.empty() ? "" : "`" + f.process + "` ";
}

// The CPU quota and memory limit a cgroup holds. Each on its own: a cgroup made without the CPU
// controller (exec without --cpu) has no cpu.max, and its memory limit must not be lost with it
// (it read as "0.0MiB").
void read_limits(const cgroup::Cgroup& group, HangFacts& f) {
  try {
    f.quota_cpus = group.cpu_max().cpus;
  } catch (const Error&) {
    f.quota_cpus = std::numeric_limits<double>::infinity();
  }
  try {
    f.memory_max = group.memory_max();
  } catch (const Error&) {
    f.memory_max = kUnlimited;
  }
}

void read_counters(const cgroup::Stats& st, HangFacts& f) {
  f.cpu_periods = st.cpu_periods.value_or(0);
  f.throttled_periods = st.cpu_throttled_periods.value_or(0);
  f.memory_current = st.memory_current.value_or(0);
  f.oom_events = st.oom_events;
}

// "api: throttled in 38 of 40 CPU periods (95%), quota 20%"
std::string throttling_line(const std::string& name, const HangFacts& f) {
  return name + ": throttled in " + std::to_string(f.throttled_periods) + " of " +
         std::to_string(f.cpu_periods) + " CPU periods (" +
         percent(f.cpu_periods ? static_cast<double>(f.throttled_periods) / f.cpu_periods : 0) + "), quota " +
         format_quota(f.quota_cpus) + "\n";
}

// The CPU and memory counters of a cgroup that holds limits but no pids of its own: the run's,
// when it keeps the caller's. Nullopt when it holds neither a CPU quota nor a memory limit.
std::optional<HangFacts> caller_facts(const cgroup::Cgroup& run_group, HangSnapshot& snap) {
  HangFacts f;
  f.callers = true;
  read_limits(run_group, f);
  const bool quota = !std::isinf(f.quota_cpus), limit = f.memory_max != kUnlimited;
  if (!quota && !limit) return std::nullopt;
  const std::string name = "the run's cgroup (the caller's limits)";
  try {
    read_counters(run_group.stats(), f);
  } catch (const Error& e) {
    snap.memory += name + ": cannot read its cgroup: " + e.what() + "\n";
    return std::nullopt;
  }
  if (quota) snap.cpu += throttling_line(name, f);
  if (limit)
    snap.memory += name + ": " + mib(f.memory_current) + " in use, limit " + mib(f.memory_max) + ", " +
                   std::to_string(f.oom_events) + " OOM event(s)\n";
  return f;
}

class HangDiagnosis final : public RunObserver {
 public:
  void on_timeout(RunContext& ctx) override {
    std::vector<WatchedGroup> groups;
    for (const auto& spec : ctx.scenario().processes)
      if (cgroup::Cgroup* group = ctx.process_group(spec.name)) groups.push_back({spec.name, group});
    snapshot_hang(groups, ctx.run_group()).store_into(ctx.result().diagnostics);
  }
};

}  // namespace

HangSnapshot snapshot_hang(const std::vector<WatchedGroup>& groups, const cgroup::Cgroup* run_group) {
  HangSnapshot snap;
  const auto mount = cgroup2_mount();
  for (const auto& [name, group] : groups) {
    HangFacts f;
    f.process = name;
    std::vector<pid_t> pids;
    try {
      pids = group->pids();
      read_counters(group->stats(), f);
    } catch (const Error& e) {
      snap.memory += name + ": cannot read its cgroup: " + e.what() + "\n";
    }
    read_limits(*group, f);
    std::string pressure;
    for (pid_t pid : pids) {
      const auto s = snapshot(pid);
      if (s.comm.empty()) continue;  // exited since the listing
      f.states.push_back(s.state);
      f.wchans.push_back(s.wchan);
      snap.pids += name + " pid " + std::to_string(pid) + " (" + s.comm + "): state " + s.state + ", wchan " +
                   s.wchan + (s.threads.empty() ? "" : ", threads " + s.threads) + "\n";
      std::istringstream frames(s.stack);
      for (std::string frame; std::getline(frames, frame);) snap.pids += "    " + frame + "\n";
      if (pressure.empty()) {
        const std::string dir = cgroup2_dir(pid, mount);
        if (!dir.empty()) pressure = read_small_file(dir + "/memory.pressure");
      }
    }
    if (f.cpu_periods > 0 || !std::isinf(f.quota_cpus))
      snap.cpu += throttling_line(name, f);
    else
      snap.cpu += name + ": no CPU quota\n";
    snap.memory += name + ": " + mib(f.memory_current) + " in use, limit " +
                   (f.memory_max == kUnlimited ? std::string("none") : mib(f.memory_max)) + ", " +
                   std::to_string(f.oom_events) + " OOM event(s)";
    if (!pressure.empty()) {
      std::istringstream lines(pressure);
      for (std::string line; std::getline(lines, line);) snap.memory += "; pressure " + line;
    }
    snap.memory += "\n";
    snap.facts.push_back(std::move(f));
  }
  if (run_group)
    if (auto callers = caller_facts(*run_group, snap)) snap.facts.push_back(std::move(*callers));
  if (snap.pids.empty()) snap.pids = "no process was left in the cgroups\n";
  return snap;
}

void HangSnapshot::store_into(std::map<std::string, std::string>& diagnostics) const {
  diagnostics["pids"] = pids;
  diagnostics["cpu"] = cpu;
  diagnostics["memory"] = memory;
  diagnostics["finding"] = hang_finding(facts);
}

std::string hang_finding(const std::vector<HangFacts>& facts) {
  // CPU starvation first: a throttled process looks asleep too, so the states would mislead.
  const HangFacts* worst = nullptr;
  double worst_ratio = 0;
  for (const auto& f : facts) {
    if (f.cpu_periods == 0) continue;
    const double ratio = static_cast<double>(f.throttled_periods) / static_cast<double>(f.cpu_periods);
    if (ratio > worst_ratio) worst_ratio = ratio, worst = &f;
  }
  if (worst && worst_ratio >= 0.5)
    return subject(*worst) + "throttled in " + percent(worst_ratio) + " of CPU periods at " +
           (worst->callers
                ? "the caller's quota " + format_quota(worst->quota_cpus) + ", kept on the run's cgroup"
                : "quota " + format_quota(worst->quota_cpus)) +
           ": likely CPU starvation, not a deadlock";
  for (const auto& f : facts) {
    const bool near_limit = f.memory_max != kUnlimited && f.memory_max > 0 &&
                            static_cast<double>(f.memory_current) >= 0.9 * static_cast<double>(f.memory_max);
    // Near the limit only: an OOM kill earlier in the run (a child that allocated too much) says
    // nothing of a process that now sleeps or spins at a fraction of it.
    if (near_limit)
      return subject(f) + (f.callers ? "use " : "uses ") + mib(f.memory_current) +
             (f.callers ? " of the caller's " + mib(f.memory_max) + " limit, kept on the run's cgroup,"
                        : " of its " + mib(f.memory_max) + " limit") +
             " with " + std::to_string(f.oom_events) +
             " OOM event(s): likely stalled on memory reclaim, not a deadlock";
  }
  std::map<char, int> states;
  std::map<std::string, int> wchans;
  int total = 0;
  for (const auto& f : facts)
    for (std::size_t i = 0; i < f.states.size(); ++i) {
      ++states[f.states[i]];
      ++wchans[f.wchans[i]];
      ++total;
    }
  if (total == 0) return "no process was left running at the timeout";
  std::string common_wchan;
  int most = 0;
  for (const auto& [w, n] : wchans)
    if (n > most) most = n, common_wchan = w;
  const std::string where = common_wchan == "-" ? "" : " (mostly in " + common_wchan + ")";
  const std::string all =
      total == 1 ? "the only process is" : "all " + std::to_string(total) + " processes are";
  const std::string of_total = " of " + std::to_string(total) + " process(es)";
  if (states['D'] > 0)
    return std::to_string(states['D']) + of_total + " in uninterruptible sleep" + where +
           ": likely blocked on I/O or in the kernel";
  if (states['T'] + states['t'] == total) return all + " stopped: frozen or SIGSTOPped";
  if (states['R'] > 0)
    return std::to_string(states['R']) + of_total + " running without being throttled" + where +
           ": likely a busy loop or livelock, not a wait";
  if (common_wchan.find("freez") != std::string::npos ||
      common_wchan.find("refrigerator") != std::string::npos)
    return all + " frozen" + where + ": the cgroup was frozen, not a deadlock";
  return all + " asleep" + where +
         " and not throttled: likely a deadlock or a wait for something that never happens";
}

void add_captured_dump(report::ScenarioResult& result) {
  bool diagnosed = false;
  for (const auto& e : result.timeline)
    if (e.event == "timeout.diagnose") diagnosed = true;
  if (!diagnosed) return;
  std::string dump;
  for (const auto& p : result.processes) {
    if (p.outcome != "timed-out") continue;
    if (!p.stderr_tail.empty()) dump += "--- " + p.name + " stderr ---\n" + p.stderr_tail + "\n";
    if (!p.stdout_tail.empty()) dump += "--- " + p.name + " stdout ---\n" + p.stdout_tail + "\n";
  }
  if (!dump.empty()) result.diagnostics["dump"] = dump;
}

std::unique_ptr<RunObserver> make_hang_diagnosis(const scenario::Scenario&) {
  // Every timeout is diagnosed: `[on_timeout]` only adds the diagnose signal and its grace.
  return std::make_unique<HangDiagnosis>();
}

}  // namespace faultline::runner
