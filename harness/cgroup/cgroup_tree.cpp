#include "cgroup/cgroup_tree.h"

#include <fcntl.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <thread>

#include "cgroup/cgroup_files.h"
#include "cgroup/proc_stat.h"
#include "cgroup/signal_members.h"
#include "common/error.h"

namespace faultline::cgroup {

namespace {

using Clock = std::chrono::steady_clock;
constexpr Duration kFreezeTimeout = std::chrono::seconds(10);

std::string join_pids(const std::vector<pid_t>& pids) {
  std::string text;
  for (std::size_t i = 0; i < pids.size() && i < 20; ++i) text += (i ? ", " : "") + std::to_string(pids[i]);
  if (pids.size() > 20) text += ", ... (" + std::to_string(pids.size()) + " in all)";
  return text;
}

// Before a kill: tasks frozen by a v1 freezer ignore SIGKILL until thawed, and a cgroup below
// `dir` that froze itself (a target that froze part of itself) stays frozen when `dir` thaws, so
// each one is thawed. Left frozen, its tasks outlived the kill in state D, the run's cgroups could
// not be removed, and every later start failed on them as stale.
void thaw_v1_tree(const fs::path& dir, const std::string& description) {
  const auto state = dir / "freezer.state";
  if (const int err = try_write_file(state, "THAWED"); err != 0 && err != ENOENT)
    throw SystemError("write", "\"THAWED\" to " + state.string(), err)
        .with_context("thawing " + description + " to kill it (frozen tasks ignore SIGKILL)");
  for (const auto& child : subdirectories(dir)) thaw_v1_tree(child, description);
}

}  // namespace

CgroupTree::CgroupTree(TreeDirs dirs) : dirs_(std::move(dirs)) {}

CgroupTree::~CgroupTree() {
  try {
    destroy();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "faultline: warning: could not remove cgroup %s: %s\n", dirs_.description.c_str(),
                 e.what());
  }
}

std::string CgroupTree::describe() const { return dirs_.description; }

std::vector<UniqueFd> CgroupTree::open_attach_fds() const {
  std::vector<UniqueFd> fds;
  for (const auto& dir : dirs_.dirs) {
    auto procs = dir / "cgroup.procs";
    UniqueFd fd(::open(procs.c_str(), O_WRONLY | O_CLOEXEC));
    if (!fd) throw_errno("open", procs.string());
    fds.push_back(std::move(fd));
  }
  return fds;
}

std::vector<pid_t> CgroupTree::own_pids() const {
  std::vector<pid_t> all;
  for (const auto& dir : dirs_.dirs)
    if (auto procs = read_file_if_exists(dir / "cgroup.procs")) {
      auto pids = parse_pid_list(*procs);
      all.insert(all.end(), pids.begin(), pids.end());
    }
  std::sort(all.begin(), all.end());
  all.erase(std::unique(all.begin(), all.end()), all.end());
  return all;
}

std::vector<pid_t> CgroupTree::pids() const {
  std::vector<pid_t> all;
  for (const auto& dir : dirs_.dirs) {
    auto pids = subtree_pids(dir);
    all.insert(all.end(), pids.begin(), pids.end());
  }
  std::sort(all.begin(), all.end());
  all.erase(std::unique(all.begin(), all.end()), all.end());
  return all;
}

std::vector<Cgroup::PartlyLeft> CgroupTree::partly_left() const {
  if (dirs_.dirs.size() < 2) return {};
  std::vector<std::vector<pid_t>> listed;
  std::vector<pid_t> all;
  for (const auto& dir : dirs_.dirs) {
    auto pids = subtree_pids(dir);
    std::sort(pids.begin(), pids.end());
    all.insert(all.end(), pids.begin(), pids.end());
    listed.push_back(std::move(pids));
  }
  std::sort(all.begin(), all.end());
  all.erase(std::unique(all.begin(), all.end()), all.end());
  std::vector<PartlyLeft> found;
  for (pid_t pid : all)
    for (std::size_t i = 0; i < listed.size(); ++i) {
      if (std::binary_search(listed[i].begin(), listed[i].end(), pid)) continue;
      // A fork or an exit between two listings looks the same for a moment: read that listing
      // again, and leave out a process on its way out.
      const auto again = subtree_pids(dirs_.dirs[i]);
      if (std::find(again.begin(), again.end(), pid) == again.end() && !exiting(pid))
        found.push_back({pid, dirs_.dirs[i]});
      break;
    }
  return found;
}

bool CgroupTree::populated() const {
  if (dirs_.unified) {
    auto events = read_file_if_exists(*dirs_.unified / "cgroup.events");
    if (!events) return false;
    return keyed_value(*events, "populated").value_or(0) != 0;
  }
  return !pids().empty();
}

bool CgroupTree::wait_until_empty(Duration timeout) const {
  if (dirs_.unified) {
    return wait_for_event_value(*dirs_.unified / "cgroup.events", "populated", 0, timeout) !=
           WaitResult::timed_out;
  }
  // Legacy v1 has no per-cgroup "empty" notification (only the host-wide release_agent, which
  // runs a usermode helper), so poll the members with a short backoff.
  auto deadline = Clock::now() + timeout;
  auto backoff = std::chrono::milliseconds(1);
  for (;;) {
    if (pids().empty()) return true;
    auto now = Clock::now();
    if (now >= deadline) return false;
    std::this_thread::sleep_for(std::min<Duration>(backoff, deadline - now));
    backoff = std::min(backoff * 2, std::chrono::milliseconds(20));
  }
}

std::optional<std::string> CgroupTree::freeze_unsupported() const {
  if (has_unified_freeze()) return std::nullopt;
  if (dirs_.v1_freezer && fs::exists(*dirs_.v1_freezer / "freezer.state")) return std::nullopt;
  return "freezing needs cgroup.freeze (cgroup v2, Linux 5.2) or the cgroup v1 freezer controller; this host "
         "offers neither for " +
         dirs_.description;
}

bool CgroupTree::has_unified_freeze() const {
  return dirs_.unified && fs::exists(*dirs_.unified / "cgroup.freeze");
}

bool CgroupTree::has_cgroup_kill() const {
  return dirs_.unified && fs::exists(*dirs_.unified / "cgroup.kill");
}

bool CgroupTree::exists() const {
  return std::any_of(dirs_.dirs.begin(), dirs_.dirs.end(),
                     [](const fs::path& dir) { return fs::exists(dir); });
}

bool CgroupTree::try_freeze(Duration timeout) {
  if (has_unified_freeze()) {
    write_file(*dirs_.unified / "cgroup.freeze", "1");
    return wait_for_event_value(*dirs_.unified / "cgroup.events", "frozen", 1, timeout) !=
           WaitResult::timed_out;
  }
  if (!dirs_.v1_freezer) throw Error(*freeze_unsupported());
  // v1: the state stays FREEZING while some task cannot be frozen yet (e.g. in an uninterruptible
  // sleep); writing FROZEN again retries those tasks. There is no change notification.
  auto state_file = *dirs_.v1_freezer / "freezer.state";
  auto deadline = Clock::now() + timeout;
  auto backoff = std::chrono::milliseconds(1);
  for (;;) {
    write_file(state_file, "FROZEN");
    if (trim(read_file(state_file)) == "FROZEN") return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(backoff);
    backoff = std::min(backoff * 2, std::chrono::milliseconds(20));
  }
}

void CgroupTree::freeze() {
  if (!try_freeze(kFreezeTimeout)) {
    throw Error("cgroup " + dirs_.description + " did not freeze within 10s (pids " + join_pids(pids()) +
                ")");
  }
}

void CgroupTree::thaw() {
  if (has_unified_freeze()) {
    write_file(*dirs_.unified / "cgroup.freeze", "0");
    if (wait_for_event_value(*dirs_.unified / "cgroup.events", "frozen", 0, kFreezeTimeout) ==
        WaitResult::timed_out) {
      throw Error("cgroup " + dirs_.description + " did not thaw within 10s");
    }
    return;
  }
  if (!dirs_.v1_freezer) throw Error(*freeze_unsupported());
  write_file(*dirs_.v1_freezer / "freezer.state", "THAWED");
}

bool CgroupTree::wait_until_no_members(Duration timeout) const {
  auto deadline = Clock::now() + timeout;
  if (!wait_until_empty(timeout)) return false;
  // On a hybrid host the v1 directories can hold a process the unified one does not: one that
  // was still writing itself into the hierarchies. Those lag only briefly; poll them.
  auto backoff = std::chrono::milliseconds(1);
  while (!pids().empty()) {
    auto now = Clock::now();
    if (now >= deadline) return false;
    std::this_thread::sleep_for(std::min<Duration>(backoff, deadline - now));
    backoff = std::min(backoff * 2, std::chrono::milliseconds(20));
  }
  return true;
}

void CgroupTree::signal_round(Duration freeze_timeout) {
  // Without cgroup.kill: freeze so that nobody forks between listing and killing, SIGKILL every
  // member, then thaw, because tasks frozen by the v1 freezer do not die until thawed.
  const bool can_freeze = !freeze_unsupported();
  if (can_freeze) try_freeze(freeze_timeout);  // best effort: kill anyway
  signal_members(*this, SIGKILL);
  // The whole v1 tree, with any cgroup below that froze itself; when the v1 freezer is what froze
  // the members, that is all thaw() would do.
  if (dirs_.v1_freezer) thaw_v1_tree(*dirs_.v1_freezer, dirs_.description);
  if (can_freeze && has_unified_freeze()) thaw();
}

void CgroupTree::kill_by_signals() {
  // Repeat until empty: a fork that was in flight may still add a member.
  auto deadline = Clock::now() + kKillTimeout;
  for (;;) {
    signal_round(std::chrono::milliseconds(200));
    auto remaining = std::max<Duration>(deadline - Clock::now(), Duration::zero());
    if (wait_until_no_members(std::min<Duration>(remaining, std::chrono::milliseconds(100)))) return;
    if (Clock::now() >= deadline) return;
  }
}

bool CgroupTree::write_cgroup_kill() {
  // Kills the whole subtree, including forks racing the kill; asynchronous, hence the waits.
  int err = try_write_file(*dirs_.unified / "cgroup.kill", "1");
  if (err == ENOENT) return false;
  if (err != 0) throw SystemError("write", "\"1\" to " + (*dirs_.unified / "cgroup.kill").string(), err);
  if (dirs_.v1_freezer) thaw_v1_tree(*dirs_.v1_freezer, dirs_.description);
  return true;
}

void CgroupTree::kill_all() {
  if (!exists()) return;
  // Nobody inside means nobody can fork into it: skip the kill and its wait (the common case
  // when a command exited and left nothing behind).
  if (!populated() && pids().empty()) return;
  if (has_cgroup_kill()) {
    if (!write_cgroup_kill()) return;
    // Unified empty but a v1 directory still lists a member: a process that was still writing
    // itself into the hierarchies when the kill came. Signals finish it.
    if (wait_until_empty(kKillTimeout) && pids().empty()) return;
    if (populated()) throw_still_populated();
  }
  kill_by_signals();
  if (pids().empty() && !populated()) return;
  throw_still_populated();
}

void CgroupTree::start_kill() {
  if (!exists()) return;
  if (has_cgroup_kill()) {
    if (!write_cgroup_kill()) return;
    // A process still writing itself into the v1 hierarchies escapes cgroup.kill.
    if (!populated()) signal_members(*this, SIGKILL);
    return;
  }
  signal_round(std::chrono::milliseconds(20));
}

bool CgroupTree::empty() const { return !exists() || (!populated() && pids().empty()); }

std::optional<std::string> CgroupTree::populated_events_file() const {
  if (!dirs_.unified) return std::nullopt;
  return (*dirs_.unified / "cgroup.events").string();
}

void CgroupTree::throw_still_populated() const {
  throw Error("cgroup " + dirs_.description + " still has processes 10s after SIGKILL: pids " +
              join_pids(pids()));
}

void CgroupTree::destroy() {
  if (!exists()) return;
  kill_all();
  // In reverse order of creation: the first directory (the unified one on a hybrid host) goes
  // last, so a harness that dies half-way leaves it behind for the next start's one-readdir scan.
  for (auto dir = dirs_.dirs.rbegin(); dir != dirs_.dirs.rend(); ++dir) remove_cgroup_tree(*dir);
}

void CgroupTree::require(Knob knob) const {
  if (auto why = unsupported(knob)) throw Error(std::string("cannot set ") + to_string(knob) + ": " + *why);
}

void CgroupTree::set_cpuset(const std::string& cpus) {
  require(Knob::cpuset);
  write_file(controller_dir("cpuset") / "cpuset.cpus", cpus);
}

void CgroupTree::set_pids_max(std::uint64_t max) {
  require(Knob::pids_max);
  write_file(controller_dir("pids") / "pids.max", limit_text(max));
}

std::uint64_t CgroupTree::pids_max() const { return read_limit(controller_dir("pids") / "pids.max"); }

}  // namespace faultline::cgroup
