#include "cgroup/mountinfo.h"

#include <algorithm>

#include "cgroup/cgroup_files.h"

namespace faultline::cgroup {

namespace {

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescape_octal(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 3 < text.size()) {
      auto digits = text.substr(i + 1, 3);
      if (std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '7'; })) {
        out += static_cast<char>((digits[0] - '0') * 64 + (digits[1] - '0') * 8 + (digits[2] - '0'));
        i += 3;
        continue;
      }
    }
    out += text[i];
  }
  return out;
}

std::vector<std::string> split(std::string_view text, char sep) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (;;) {
    auto end = text.find(sep, start);
    parts.emplace_back(
        text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    if (end == std::string_view::npos) return parts;
    start = end + 1;
  }
}

bool is_under(const std::filesystem::path& path, const std::filesystem::path& dir) {
  auto rel = path.lexically_normal().lexically_relative(dir.lexically_normal());
  return !rel.empty() && *rel.begin() != "..";
}

// Prefer a mount under mount_root (the usual place), then the first one listed.
const CgroupMount* pick(const std::vector<const CgroupMount*>& candidates,
                        const std::filesystem::path& mount_root) {
  for (const auto* mount : candidates) {
    if (is_under(mount->mount_point, mount_root)) return mount;
  }
  return candidates.empty() ? nullptr : candidates.front();
}

}  // namespace

std::vector<CgroupMount> parse_cgroup_mounts(std::string_view mountinfo) {
  std::vector<CgroupMount> mounts;
  std::size_t pos = 0;
  while (pos < mountinfo.size()) {
    auto end = mountinfo.find('\n', pos);
    if (end == std::string_view::npos) end = mountinfo.size();
    auto words = split_words(mountinfo.substr(pos, end - pos));
    pos = end + 1;
    // id parent major:minor root mount_point options [optional fields...] - fstype source super_options
    auto dash = std::find(words.begin(), words.end(), "-");
    if (words.size() < 6 || dash == words.end() || words.end() - dash < 4) continue;
    const std::string& fstype = *(dash + 1);
    if (fstype != "cgroup" && fstype != "cgroup2") continue;
    CgroupMount mount;
    mount.root = unescape_octal(words[3]);
    mount.mount_point = unescape_octal(words[4]);
    mount.v2 = fstype == "cgroup2";
    if (!mount.v2) {
      for (const auto& option : split(*(dash + 3), ',')) {
        // Super options mix controllers with flags (rw, noprefix, clone_children, xattr,
        // name=systemd, release_agent=...): keep only the names of controllers.
        static const std::vector<std::string> known = {
            "cpu",   "cpuacct",    "cpuset",   "memory",  "devices", "freezer", "net_cls",
            "blkio", "perf_event", "net_prio", "hugetlb", "pids",    "rdma",    "misc"};
        if (std::find(known.begin(), known.end(), option) != known.end()) mount.controllers.push_back(option);
      }
    }
    mounts.push_back(std::move(mount));
  }
  return mounts;
}

std::optional<HostCgroups> classify_host(const std::vector<CgroupMount>& mounts,
                                         const std::filesystem::path& mount_root, bool mount_root_is_cgroup2,
                                         std::string* why) {
  std::vector<const CgroupMount*> v2_mounts;
  for (const auto& mount : mounts) {
    if (mount.v2) v2_mounts.push_back(&mount);
  }
  HostCgroups host;
  if (mount_root_is_cgroup2) {
    host.mode = Mode::v2;
    auto at_root = std::find_if(v2_mounts.begin(), v2_mounts.end(), [&](const CgroupMount* m) {
      return m->mount_point.lexically_normal() == mount_root.lexically_normal();
    });
    host.unified = at_root != v2_mounts.end() ? **at_root : CgroupMount{mount_root, "/", true, {}};
    return host;
  }
  for (const auto& controller : kV1Controllers) {
    std::vector<const CgroupMount*> candidates;
    for (const auto& mount : mounts) {
      if (!mount.v2 && std::find(mount.controllers.begin(), mount.controllers.end(), controller) !=
                           mount.controllers.end()) {
        candidates.push_back(&mount);
      }
    }
    if (const auto* mount = pick(candidates, mount_root)) host.v1[controller] = *mount;
  }
  const CgroupMount* unified = pick(v2_mounts, mount_root);
  if (host.v1.empty()) {
    if (!unified) {
      if (why) {
        *why =
            "no cgroup filesystem is mounted (neither cgroup2 nor a cgroup v1 hierarchy with memory, cpu, "
            "cpuacct, cpuset, pids or freezer appears in /proc/self/mountinfo)";
      }
      return std::nullopt;
    }
    // cgroup2 mounted somewhere other than mount_root and no v1 controllers: a v2 host.
    host.mode = Mode::v2;
    host.unified = *unified;
    return host;
  }
  host.mode = unified ? Mode::hybrid : Mode::v1;
  if (unified) host.unified = *unified;
  return host;
}

std::map<std::string, std::string> parse_proc_cgroup(std::string_view text) {
  std::map<std::string, std::string> paths;
  for (const auto& line : split(text, '\n')) {
    // hierarchy-id:controller-list:path; the path itself may contain ':'.
    auto first = line.find(':');
    if (first == std::string::npos) continue;
    auto second = line.find(':', first + 1);
    if (second == std::string::npos) continue;
    paths[line.substr(first + 1, second - first - 1)] = line.substr(second + 1);
  }
  return paths;
}

std::optional<std::filesystem::path> cgroup_dir(const CgroupMount& mount, const std::string& cgroup_path) {
  std::filesystem::path path = std::filesystem::path(cgroup_path).lexically_normal();
  std::filesystem::path root = std::filesystem::path(mount.root).lexically_normal();
  if (path == root) return mount.mount_point;
  if (root == "/") return mount.mount_point / path.relative_path();
  if (!is_under(path, root)) return std::nullopt;
  return mount.mount_point / path.lexically_relative(root);
}

}  // namespace faultline::cgroup
