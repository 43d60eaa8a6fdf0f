#include "runner/membership_watch.h"

#include <algorithm>
#include <boost/asio/steady_timer.hpp>
#include <map>
#include <optional>
#include <string>

#include "cgroup/proc_stat.h"
#include "runner/process_text.h"

namespace faultline::runner {
namespace {

class MembershipWatch final : public RunObserver {
 public:
  explicit MembershipWatch(std::chrono::milliseconds interval) : interval_(interval) {}

  void on_run_start(RunContext& ctx) override {
    timer_ = std::make_unique<boost::asio::steady_timer>(ctx.io());
    arm(ctx);
  }
  // The run's own cgroup first: a process that moves itself up there, one hierarchy at a time,
  // is partly out of its process's cgroups while it does, and is named for where it is going.
  void on_process_exit(RunContext& ctx, const std::string& process) override {
    if (check_run(ctx) && check(ctx, process)) check_across(ctx);
  }
  void on_run_end(RunContext&) override {
    ended_ = true;  // a look already due runs despite the cancel: it must not arm the timer again
    if (timer_) timer_->cancel();
  }

 private:
  void arm(RunContext& ctx) {
    timer_->expires_after(interval_);
    timer_->async_wait([this, &ctx](boost::system::error_code ec) {
      if (ec || ended_) return;
      if (!check_run(ctx)) return;
      for (const auto& p : ctx.scenario().processes)
        if (!check(ctx, p.name)) return;
      if (!check_across(ctx)) return;
      arm(ctx);
    });
  }

  // False once the scenario was ended as an error.
  bool check(RunContext& ctx, const std::string& process) {
    const cgroup::Cgroup* group = ctx.process_group(process);
    if (!group) return true;
    std::string found;
    try {
      for (const auto& member : group->partly_left())
        found = "pid " + std::to_string(member.pid) + " (" + comm_of(member.pid) + ") moved itself out of " +
                member.left.string() + " but not out of the process's other cgroups";
      if (const auto main = ctx.main_pid(process); found.empty() && main) {
        const auto members = group->pids();
        if (std::find(members.begin(), members.end(), *main) == members.end() && !cgroup::exiting(*main))
          found = "its main process, pid " + std::to_string(*main) + " (" + comm_of(*main) +
                  "), moved itself out of its cgroup";
      }
    } catch (const Error&) {
      return true;  // the cgroup is going away under us: the run is ending
    }
    if (found.empty()) return true;
    ctx.fail_scenario(
        "process `" + process + "`: " + found +
        ", so its limits, faults and counters there no longer cover it and the run says nothing "
        "about it under them");
    return false;
  }

  // The run's own cgroup holds only its processes' cgroups: a process in it moved itself up out
  // of its own, where its limits, faults and counters were, and where `no_orphans` looks.
  bool check_run(RunContext& ctx) {
    const cgroup::Cgroup* run = ctx.run_group();
    if (!run) return true;
    std::vector<pid_t> moved_up;
    try {
      moved_up = run->own_pids();
    } catch (const Error&) {
      return true;  // the cgroup is going away under us: the run is ending
    }
    for (const pid_t pid : moved_up) {
      if (cgroup::exiting(pid)) continue;
      ctx.fail_scenario("pid " + std::to_string(pid) + " (" + comm_of(pid) +
                        ") moved itself out of its process's cgroup into the run's own, so its process's "
                        "limits, faults and counters no longer cover it and the run says nothing about it "
                        "under them");
      return false;
    }
    return true;
  }

  // A process that moved itself wholly into another process's cgroups (every hierarchy at once,
  // as `echo $$ > .../b/cgroup.procs` does on v2) is in no cgroup it left part of, so the checks
  // above miss it; yet it sits under the other's limits and counts there. Two traces show it:
  // - a child starts in its parent's cgroup, so one whose parent is in another process's cgroup
  //   moved (or its parent did). The harness's own children (main processes, helpers) and the
  //   orphans it adopted have it for a parent, which is in no process's cgroup;
  // - an orphan has no such parent: it is seen in one process's cgroups at one look and in
  //   another's at a later one, the same process (pid and start time) in both.
  bool check_across(RunContext& ctx) {
    std::map<pid_t, std::string> process_of;
    try {
      for (const auto& p : ctx.scenario().processes)
        if (const cgroup::Cgroup* group = ctx.process_group(p.name))
          for (const pid_t pid : group->pids()) process_of.emplace(pid, p.name);
    } catch (const Error&) {
      return true;  // a cgroup is going away under us: the run is ending
    }
    std::map<pid_t, Seen> seen_now;
    for (const auto& [pid, process] : process_of) {
      const auto stat = cgroup::read_stat_line(pid);
      if (!stat) continue;  // gone
      const auto parent = cgroup::parse_stat_parent(*stat);
      const auto started = cgroup::parse_stat_start_ticks(*stat);
      if (started) seen_now.emplace(pid, Seen{process, *started});
      if (const auto before = seen_.find(pid); before != seen_.end() && started &&
                                               before->second.started == *started &&
                                               before->second.process != process && !cgroup::exiting(pid)) {
        ctx.fail_scenario("pid " + std::to_string(pid) + " (" + comm_of(pid) + ") was in process `" +
                          before->second.process + "`'s cgroups and is now in `" + process +
                          "`'s: it moved itself across, so `" + process +
                          "`'s limits, faults and counters cover a process of `" + before->second.process +
                          "`'s and the run says nothing about it under its own");
        return false;
      }
      if (!parent) continue;
      const auto parents = process_of.find(static_cast<pid_t>(*parent));
      if (parents == process_of.end() || parents->second == process || cgroup::exiting(pid)) continue;
      ctx.fail_scenario("pid " + std::to_string(pid) + " (" + comm_of(pid) + ") is in process `" + process +
                        "`'s cgroups while its parent, pid " + std::to_string(*parent) + " (" +
                        comm_of(static_cast<pid_t>(*parent)) + "), is in `" + parents->second +
                        "`'s: one of them moved itself across, so one process's limits, faults and "
                        "counters cover a process of the other's and the run says nothing about it "
                        "under its own");
      return false;
    }
    // Kept across looks: one that was out of every cgroup of the run at this look (on its way
    // from one process's cgroups to another's, one hierarchy at a time) is still known at the
    // next. Its start time tells a reused pid from the same process.
    for (auto& [pid, seen] : seen_now) seen_[pid] = std::move(seen);
    std::erase_if(seen_, [&](const auto& entry) {
      return !seen_now.count(entry.first) && !cgroup::read_stat_line(entry.first);
    });
    return true;
  }

  // Where a process was seen at an earlier look, and its start time (clock ticks after boot).
  struct Seen {
    std::string process;
    std::uint64_t started = 0;
  };
  std::map<pid_t, Seen> seen_;

  std::chrono::milliseconds interval_;
  std::unique_ptr<boost::asio::steady_timer> timer_;
  bool ended_ = false;
};

}  // namespace

std::unique_ptr<RunObserver> make_membership_watch(std::chrono::milliseconds interval) {
  return std::make_unique<MembershipWatch>(interval);
}

}  // namespace faultline::runner
