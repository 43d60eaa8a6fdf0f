// Throwaway cgroups on cgroup v1 hosts: one directory per controller hierarchy, plus, on hybrid
// hosts, one in the unified cgroup2 mount whose cgroup.kill, cgroup.freeze and cgroup.events
// make killing and waiting for "empty" exact.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cgroup/backend_base.h"
#include "cgroup/cgroup_tree.h"
#include "cgroup/mountinfo.h"

namespace faultline::cgroup {

struct V1Layout {
  std::map<std::string, std::filesystem::path> controller_mounts;  // "memory" -> /sys/fs/cgroup/memory
  std::vector<std::filesystem::path> hierarchy_mounts;             // each v1 hierarchy once
  std::optional<std::filesystem::path> unified_mount;              // hybrid only

  static V1Layout from(const HostCgroups& host);
  // The directories of the cgroup at `relative` (e.g. "faultline/run-1-2-0/api") in every
  // hierarchy, unified first.
  std::vector<std::filesystem::path> dirs(const std::filesystem::path& relative) const;
  std::optional<std::filesystem::path> dir(const std::string& controller,
                                           const std::filesystem::path& relative) const;
  // "/sys/fs/cgroup/{memory,cpu,...,unified}/faultline/run-1-2-0" for messages.
  std::string describe(const std::filesystem::path& relative) const;
  // Only the hierarchies that hold one of `controllers` (with every controller co-mounted there,
  // e.g. cpuacct beside cpu), and the unified mount.
  V1Layout only(const std::vector<std::string>& controllers) const;
};

class V1Cgroup final : public CgroupTree {
 public:
  V1Cgroup(std::shared_ptr<const V1Layout> layout, std::filesystem::path relative);

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

 private:
  std::filesystem::path controller_dir(const std::string& controller) const override;
  void write_memory_limits(std::uint64_t limit, std::uint64_t memsw);

  std::shared_ptr<const V1Layout> layout_;
  std::filesystem::path relative_;
  // v1 limits memory+swap together (memsw); the swap part is remembered so that a later
  // memory limit keeps it.
  std::uint64_t swap_max_ = kUnlimited;
};

class V1Backend final : public BackendBase {
 public:
  // `parent`: relative path of the faultline parent in every hierarchy ("faultline").
  // A HostCgroups without `unified` gives legacy v1 behaviour even on a hybrid host.
  // `own_cgroups`: the text of /proc/self/cgroup (BackendBase).
  V1Backend(const HostCgroups& host, std::filesystem::path parent, std::string own_cgroups);

  Mode mode() const override { return layout_->unified_mount ? Mode::hybrid : Mode::v1; }
  std::unique_ptr<Cgroup> create_run(const std::string& run_name) override;
  std::unique_ptr<Cgroup> create_leaf_run(const std::string& run_name,
                                          const std::vector<Knob>& knobs) override;
  void ensure_parent() override;
  std::string parent_description() const override { return layout_->describe(parent_); }
  std::string controller_location(const std::string& controller) const override;
  EnclosingLimits enclosing_limits() const override;

 protected:
  std::vector<std::filesystem::path> parent_dirs() const override { return layout_->dirs(parent_); }
  // Every run, leaf or not, has its unified directory first (V1Layout::dirs) and loses it last
  // (CgroupTree::destroy); legacy v1 has no such hierarchy.
  std::vector<std::filesystem::path> anchor_parent_dirs() const override {
    if (layout_->unified_mount) return {*layout_->unified_mount / parent_};
    return parent_dirs();
  }
  std::unique_ptr<Cgroup> open_run(const std::string& run_name) const override;

 private:
  HostCgroups host_;
  std::shared_ptr<const V1Layout> layout_;
  std::filesystem::path parent_;
};

// mkdir `relative` in every hierarchy; a new cpuset cgroup gets cpuset.cpus and cpuset.mems
// from its parent (no process can join while they are empty). Rolls back on failure.
// `existing_ok` tolerates directories that already exist (the parent levels).
void make_v1_dirs(const V1Layout& layout, const std::filesystem::path& relative, bool existing_ok);

}  // namespace faultline::cgroup
