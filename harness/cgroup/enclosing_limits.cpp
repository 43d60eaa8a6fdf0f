#include "cgroup/enclosing_limits.h"

#include <charconv>
#include <filesystem>
#include <functional>
#include <sstream>

#include "cgroup/cgroup_files.h"

namespace faultline::cgroup {
namespace fs = std::filesystem;

namespace {

// Whether hierarchy path `path` is `ancestor` or below it ("/" holds every path).
bool is_within(const std::string& path, const std::string& ancestor) {
  if (ancestor == "/" || path == ancestor) return true;
  return path.starts_with(ancestor) && path[ancestor.size()] == '/';
}

std::string parent_of(const std::string& path) {
  const auto slash = path.rfind('/');
  return slash == 0 || slash == std::string::npos ? "/" : path.substr(0, slash);
}

// A whole number from a limit file; nullopt for "max", a negative quota (-1) or anything else.
std::optional<std::uint64_t> number_in(const std::string& text) {
  std::uint64_t value = 0;
  const auto begin = text.data();
  const auto end = text.data() + text.size();
  const auto [stop, ec] = std::from_chars(begin, end, value);
  if (ec != std::errc() || stop == begin) return std::nullopt;
  return value;
}

std::optional<std::string> first_line(const fs::path& file) {
  auto text = read_file_if_exists(file);
  if (!text) return std::nullopt;
  return text->substr(0, text->find('\n'));
}

// cgroup v1 reports "no memory limit" as the page counter's maximum, rounded to pages.
constexpr std::uint64_t kV1NoMemoryLimit = 1ULL << 62;

std::optional<std::uint64_t> memory_limit(const fs::path& dir, bool v2) {
  const auto line = first_line(dir / (v2 ? "memory.max" : "memory.limit_in_bytes"));
  if (!line) return std::nullopt;
  const auto bytes = number_in(*line);
  if (!bytes || (!v2 && *bytes >= kV1NoMemoryLimit)) return std::nullopt;
  return bytes;
}

// v2: the swap a cgroup may use, memory.swap.max. v1: memory and swap together, memsw.
std::optional<std::uint64_t> swap_limit(const fs::path& dir, bool v2) {
  const auto line = first_line(dir / (v2 ? "memory.swap.max" : "memory.memsw.limit_in_bytes"));
  const auto bytes = line ? number_in(*line) : std::nullopt;
  if (!bytes || (!v2 && *bytes >= kV1NoMemoryLimit)) return std::nullopt;
  return bytes;
}

std::optional<std::uint64_t> pids_limit(const fs::path& dir) {
  const auto line = first_line(dir / "pids.max");
  return line ? number_in(*line) : std::nullopt;
}

// CPUs: quota / period (v2 cpu.max "50000 100000"; v1 cpu.cfs_quota_us, -1 without a quota).
std::optional<double> cpu_limit(const fs::path& dir, bool v2) {
  std::optional<std::uint64_t> quota, period;
  if (v2) {
    const auto line = first_line(dir / "cpu.max");
    if (!line) return std::nullopt;
    const auto space = line->find(' ');
    if (space == std::string::npos) return std::nullopt;
    quota = number_in(line->substr(0, space));
    period = number_in(line->substr(space + 1));
  } else {
    const auto quota_line = first_line(dir / "cpu.cfs_quota_us");
    const auto period_line = first_line(dir / "cpu.cfs_period_us");
    if (!quota_line || !period_line || quota_line->starts_with("-")) return std::nullopt;
    quota = number_in(*quota_line);
    period = number_in(*period_line);
  }
  if (!quota || !period || *period == 0) return std::nullopt;
  return static_cast<double>(*quota) / static_cast<double>(*period);
}

template <typename T>
void keep_tighter(std::optional<EnclosingLimit<T>>& kept, std::optional<T> value, const std::string& cgroup) {
  if (value && (!kept || *value < kept->value)) kept = EnclosingLimit<T>{*value, cgroup};
}

}  // namespace

EnclosingLimits enclosing_limits(const HostCgroups& host, std::string_view proc_cgroup,
                                 const fs::path& parent) {
  const auto paths = parse_proc_cgroup(proc_cgroup);
  EnclosingLimits out;
  // Walks from the process's cgroup in `controller`'s hierarchy towards the root, stopping at
  // the first cgroup the parent lies inside: its limits, and those above, hold for runs too.
  const auto walk = [&](const std::string& controller,
                        const std::function<void(const fs::path&, const std::string&, bool v2)>& read) {
    const CgroupMount* mount = nullptr;
    std::optional<std::string> own;
    if (auto v1 = host.v1.find(controller); host.mode != Mode::v2 && v1 != host.v1.end()) {
      mount = &v1->second;
      for (const auto& [key, path] : paths) {
        std::istringstream names(key);
        for (std::string name; std::getline(names, name, ',');)
          if (name == controller) own = path;
      }
    } else if (host.mode == Mode::v2 && host.unified) {
      mount = &*host.unified;
      if (auto it = paths.find(""); it != paths.end()) own = it->second;
    }
    if (!mount || !own) return;
    // The parent as a path in this hierarchy: below what is mounted at the mount point.
    const std::string below = parent.relative_path().lexically_normal().string();
    const std::string parent_path = (mount->root == "/" ? "" : mount->root) + "/" + below;
    for (std::string path = *own; !is_within(parent_path, path); path = parent_of(path))
      if (auto dir = cgroup_dir(*mount, path)) read(*dir, path, mount->v2);
  };
  std::optional<EnclosingLimit<std::uint64_t>> memsw;  // v1: memory and swap together
  walk("memory", [&](const fs::path& dir, const std::string& path, bool v2) {
    keep_tighter(out.memory, memory_limit(dir, v2), path);
    keep_tighter(v2 ? out.swap : memsw, swap_limit(dir, v2), path);
  });
  // v1 bounds swap only through memory + swap: what the tightest sum leaves beside the tightest
  // memory limit, wherever each is set. A sum without any memory limit cannot be kept that way.
  if (memsw && out.memory && memsw->value >= out.memory->value)
    out.swap = EnclosingLimit<std::uint64_t>{memsw->value - out.memory->value, memsw->cgroup};
  walk("pids", [&](const fs::path& dir, const std::string& path, bool) {
    keep_tighter(out.pids, pids_limit(dir), path);
  });
  walk("cpu", [&](const fs::path& dir, const std::string& path, bool v2) {
    keep_tighter(out.cpus, cpu_limit(dir, v2), path);
  });
  return out;
}

}  // namespace faultline::cgroup
