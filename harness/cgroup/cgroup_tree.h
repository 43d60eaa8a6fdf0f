// What every throwaway cgroup does the same way whatever the cgroup version: membership, the
// `populated` event, freezing, killing and removal across all of its hierarchy directories, and
// the knobs whose files read the same in v1 and v2 (pids.max, cpuset.cpus). The v1 and v2
// backends derive from it and add the limits whose files differ, and statistics.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "cgroup/cgroup.h"

namespace faultline::cgroup {

struct TreeDirs {
  std::string description;                  // for messages (Cgroup::describe)
  std::vector<std::filesystem::path> dirs;  // the cgroup's directory in every hierarchy
  // A cgroup2 directory (pure v2, or the unified mount of a hybrid host) whose cgroup.events,
  // cgroup.freeze and cgroup.kill cover every process of this cgroup.
  std::optional<std::filesystem::path> unified;
  std::optional<std::filesystem::path> v1_freezer;  // freezer.state, when there is no cgroup.freeze
};

class CgroupTree : public Cgroup {
 public:
  explicit CgroupTree(TreeDirs dirs);
  ~CgroupTree() override;

  std::string describe() const override;
  std::vector<UniqueFd> open_attach_fds() const override;
  std::vector<pid_t> pids() const override;
  std::vector<pid_t> own_pids() const override;
  std::vector<PartlyLeft> partly_left() const override;
  bool populated() const override;
  bool wait_until_empty(Duration timeout) const override;
  void freeze() override;
  void thaw() override;
  void kill_all() override;
  void start_kill() override;
  bool empty() const override;
  std::optional<std::string> populated_events_file() const override;
  void destroy() override;

  void set_cpuset(const std::string& cpus) override;
  void set_pids_max(std::uint64_t max) override;
  std::uint64_t pids_max() const override;

  // How long kill_all waits for the subtree to empty before it gives up and throws.
  static constexpr Duration kKillTimeout = std::chrono::seconds(10);

 protected:
  const TreeDirs& tree() const { return dirs_; }
  // The directory holding `controller`'s files ("memory", "cpu", "cpuset", "pids"); throws Error
  // when it is not mounted here.
  virtual std::filesystem::path controller_dir(const std::string& controller) const = 0;
  // Throws Error naming the knob and why, unless unsupported(knob) is nullopt.
  void require(Knob knob) const;
  // nullopt when freeze()/thaw() work here, else why not.
  std::optional<std::string> freeze_unsupported() const;
  bool has_cgroup_kill() const;

 private:
  bool exists() const;
  // cgroup.freeze in the unified hierarchy: what freezes and thaws when it is there.
  bool has_unified_freeze() const;
  // Freezes within `timeout`; false if the kernel did not report the subtree frozen in time.
  bool try_freeze(Duration timeout);
  void kill_by_signals();
  // One round of kill_by_signals; `freeze_timeout` bounds how long it may block.
  void signal_round(Duration freeze_timeout);
  // Writes cgroup.kill and thaws a v1 freezer; false if the cgroup is gone.
  bool write_cgroup_kill();
  // wait_until_empty, then until no hierarchy lists a member.
  bool wait_until_no_members(Duration timeout) const;
  [[noreturn]] void throw_still_populated() const;

  TreeDirs dirs_;
};

}  // namespace faultline::cgroup
