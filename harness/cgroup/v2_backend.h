// Throwaway cgroups on a pure cgroup v2 host: one directory per cgroup, controllers delegated
// level by level through cgroup.subtree_control.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "cgroup/backend_base.h"
#include "cgroup/cgroup_tree.h"
#include "cgroup/mountinfo.h"

namespace faultline::cgroup {

// Controller -> why enabling it in a subtree_control failed.
using EnableErrors = std::map<std::string, std::string>;

class V2Cgroup final : public CgroupTree {
 public:
  V2Cgroup(std::filesystem::path dir, EnableErrors parent_errors);

  std::unique_ptr<Cgroup> create_child(const std::string& name) override;
  std::optional<std::string> unsupported(Knob knob) const override;

  void set_memory_max(std::uint64_t bytes) override;
  void set_memory_high(std::uint64_t bytes) override;
  void set_swap_max(std::uint64_t bytes) override;
  void set_cpu_max(const CpuMax& cpu) override;
  std::uint64_t memory_max() const override;
  std::uint64_t memory_high() const override;
  CpuMax cpu_max() const override;
  std::string cpuset() const override;

  Stats stats() const override;

 protected:
  // Every controller's files are in the one directory.
  std::filesystem::path controller_dir(const std::string&) const override { return dir_; }

 private:
  std::filesystem::path dir_;
  EnableErrors parent_errors_;  // why the parent could not hand us some controller
};

class V2Backend final : public BackendBase {
 public:
  // `parent`: the directory that holds the runs. `own_dir`: the harness's own cgroup, moved into
  // a leaf when the no-internal-processes rule requires it. `own_cgroups`: the text of
  // /proc/self/cgroup (BackendBase).
  V2Backend(CgroupMount mount, std::filesystem::path parent, std::optional<std::filesystem::path> own_dir,
            std::string own_cgroups);

  Mode mode() const override { return Mode::v2; }
  std::unique_ptr<Cgroup> create_run(const std::string& run_name) override;
  std::unique_ptr<Cgroup> create_leaf_run(const std::string& run_name,
                                          const std::vector<Knob>& knobs) override;
  void ensure_parent() override;
  std::string parent_description() const override { return parent_.string(); }
  std::string controller_location(const std::string& controller) const override;
  EnclosingLimits enclosing_limits() const override;

 protected:
  std::vector<std::filesystem::path> parent_dirs() const override { return {parent_}; }
  std::unique_ptr<Cgroup> open_run(const std::string& run_name) const override;

 private:
  CgroupMount mount_;
  std::filesystem::path parent_;
  std::optional<std::filesystem::path> own_dir_;
  EnableErrors parent_errors_;
};

// Enables memory, cpu, pids and cpuset (those offered in `dir`/cgroup.controllers) in
// `dir`/cgroup.subtree_control, each separately so one refusal does not block the others.
// When `dir` holds processes (EBUSY) and is `movable_own_dir`, moves those processes into
// `dir`/supervisor first. Returns the controllers that could not be enabled, with the reason.
EnableErrors enable_controllers(const std::filesystem::path& dir,
                                const std::optional<std::filesystem::path>& movable_own_dir);

}  // namespace faultline::cgroup
