// A cgroup a test makes to play the CI job faultline is started in: one with a limit of its own,
// outside the faultline parent, so that the runs faultline makes are outside it too.
#pragma once

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

namespace faultline::test {

struct MemoryHierarchy {
  std::filesystem::path root;  // /sys/fs/cgroup/memory (v1) or /sys/fs/cgroup (v2)
  bool v1 = false;
  std::string limit_file() const { return v1 ? "memory.limit_in_bytes" : "memory.max"; }
};

// Whether the v2 root hands `controller` down to the cgroups below it.
inline bool enabled_at_v2_root(const std::string& controller) {
  std::string controllers;
  std::getline(std::ifstream("/sys/fs/cgroup/cgroup.subtree_control"), controllers);
  return (" " + controllers + " ").find(" " + controller + " ") != std::string::npos;
}

// The v1 memory hierarchy, or the v2 root with memory enabled below it; nullopt when neither.
inline std::optional<MemoryHierarchy> memory_hierarchy() {
  const std::filesystem::path v1 = "/sys/fs/cgroup/memory";
  if (std::filesystem::exists(v1 / "memory.limit_in_bytes")) return MemoryHierarchy{v1, true};
  if (!enabled_at_v2_root("memory")) return std::nullopt;
  return MemoryHierarchy{"/sys/fs/cgroup", false};
}

inline constexpr const char* kNoMemoryHierarchy =
    "no memory controller: neither a v1 memory hierarchy nor memory enabled at the v2 root";

// The v1 pids hierarchy, or the v2 root with pids enabled below it; nullopt when neither.
inline std::optional<std::filesystem::path> pids_hierarchy() {
  const std::filesystem::path v1 = "/sys/fs/cgroup/pids";
  if (std::filesystem::exists(v1 / "cgroup.procs")) return v1;
  if (!enabled_at_v2_root("pids")) return std::nullopt;
  return std::filesystem::path("/sys/fs/cgroup");
}

inline constexpr const char* kNoPidsHierarchy =
    "no pids controller: neither a v1 pids hierarchy nor pids enabled at the v2 root";

struct CpuHierarchy {
  std::filesystem::path root;  // /sys/fs/cgroup/cpu (v1) or /sys/fs/cgroup (v2)
  bool v1 = false;
  // The file and value that set a quota of `percent` of one CPU, with a 100ms period.
  std::pair<std::string, std::string> quota(int percent) const {
    const std::string usec = std::to_string(percent * 1000);
    return v1 ? std::pair<std::string, std::string>{"cpu.cfs_quota_us", usec}
              : std::pair<std::string, std::string>{"cpu.max", usec + " 100000"};
  }
};

// The v1 cpu hierarchy, or the v2 root with cpu enabled below it; nullopt when neither.
inline std::optional<CpuHierarchy> cpu_hierarchy() {
  const std::filesystem::path v1 = "/sys/fs/cgroup/cpu";
  if (std::filesystem::exists(v1 / "cpu.cfs_quota_us")) return CpuHierarchy{v1, true};
  if (!enabled_at_v2_root("cpu")) return std::nullopt;
  return CpuHierarchy{"/sys/fs/cgroup", false};
}

inline constexpr const char* kNoCpuHierarchy =
    "no cpu controller: neither a v1 cpu hierarchy nor cpu enabled at the v2 root";

// The job's cgroup: `<root>/fl-e2e-<what>-<test pid>`, made with the given files written (a
// limit), removed when it goes out of scope, once the shell that entered it has exited.
class JobCgroup {
 public:
  JobCgroup(const std::filesystem::path& root, const std::string& what,
            const std::vector<std::pair<std::string, std::string>>& files)
      : name_("fl-e2e-" + what + "-" + std::to_string(::getpid())), path_(root / name_) {
    std::filesystem::create_directory(path_);
    for (const auto& [file, value] : files) std::ofstream(path_ / file) << value;
  }
  ~JobCgroup() {
    // A shell that ran in it may still be exiting: the cgroup is busy until it has.
    for (int attempt = 0; attempt < 20; ++attempt) {
      std::error_code ec;
      std::filesystem::remove(path_, ec);
      if (!ec) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  JobCgroup(const JobCgroup&) = delete;
  JobCgroup& operator=(const JobCgroup&) = delete;

  const std::string& name() const { return name_; }
  const std::filesystem::path& path() const { return path_; }
  // `sh -c` words that move the shell into the job before it execs what follows.
  std::string enter() const { return "echo $$ > " + (path_ / "cgroup.procs").string() + "; "; }

 private:
  std::string name_;
  std::filesystem::path path_;
};

}  // namespace faultline::test
