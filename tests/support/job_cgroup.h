// A cgroup a test makes to play the CI job faultline is started in: one with a memory limit of
// its own, outside the faultline parent, so that the runs faultline makes are outside it too.
#pragma once

#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

namespace faultline::test {

struct MemoryHierarchy {
  std::filesystem::path root;  // /sys/fs/cgroup/memory (v1) or /sys/fs/cgroup (v2)
  bool v1 = false;
  std::string limit_file() const { return v1 ? "memory.limit_in_bytes" : "memory.max"; }
};

// The v1 memory hierarchy, or the v2 root with memory enabled below it; nullopt when neither.
inline std::optional<MemoryHierarchy> memory_hierarchy() {
  const std::filesystem::path v1 = "/sys/fs/cgroup/memory";
  if (std::filesystem::exists(v1 / "memory.limit_in_bytes")) return MemoryHierarchy{v1, true};
  std::string controllers;
  std::getline(std::ifstream("/sys/fs/cgroup/cgroup.subtree_control"), controllers);
  if ((" " + controllers + " ").find(" memory ") == std::string::npos) return std::nullopt;
  return MemoryHierarchy{"/sys/fs/cgroup", false};
}

inline constexpr const char* kNoMemoryHierarchy =
    "no memory controller: neither a v1 memory hierarchy nor memory enabled at the v2 root";

}  // namespace faultline::test
