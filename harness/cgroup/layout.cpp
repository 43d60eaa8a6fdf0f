#include "cgroup/layout.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <climits>
#include <filesystem>
#include <string_view>

#include "cgroup/cgroup_files.h"
#include "cgroup/mountinfo.h"
#include "cgroup/proc_stat.h"
#include "common/error.h"
#include "common/proc_status.h"

namespace faultline::cgroup {

namespace {

// Reads field 22 of /proc/<pid>/stat; nullopt when the process does not exist (or is gone).
std::optional<std::uint64_t> read_start_ticks(pid_t pid) {
  int unreadable = 0;
  const auto stat = read_stat_line(pid, &unreadable);
  // Unreadable is not gone: a live owner's runs must not be taken for stale.
  if (unreadable) throw SystemError("read", "/proc/" + std::to_string(pid) + "/stat", unreadable);
  if (!stat) return std::nullopt;
  auto ticks = parse_stat_start_ticks(*stat);
  if (!ticks) throw Error("/proc/" + std::to_string(pid) + "/stat: cannot parse the start time field");
  return ticks;
}

// Strict decimal: digits only, no leading zeros (so that names round-trip exactly).
std::optional<std::uint64_t> parse_canonical_u64(std::string_view text) {
  if (text.empty() || (text.size() > 1 && text[0] == '0')) return std::nullopt;
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// Whether any process visible here runs in the pid namespace `ns`.
bool pid_namespace_in_use(std::uint64_t ns) {
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator("/proc", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    if (pid_namespace_of(it->path().string()) == ns) return true;
  }
  return false;
}

}  // namespace

RunOwner current_owner() {
  pid_t self = ::getpid();
  auto ticks = read_start_ticks(self);
  if (!ticks) throw Error("/proc/" + std::to_string(self) + "/stat is missing: is /proc mounted?");
  return RunOwner{self, *ticks, pid_namespace_of("/proc/self")};
}

std::string format_run_name(const RunName& name) {
  return "run-" + std::to_string(name.owner.pid) + "-" + std::to_string(name.owner.start_ticks) + "-" +
         std::to_string(name.sequence) +
         (name.owner.pid_namespace ? "-" + std::to_string(*name.owner.pid_namespace) : "");
}

std::optional<RunName> parse_run_name(const std::string& text) {
  std::string_view rest(text);
  if (rest.substr(0, 4) != "run-") return std::nullopt;
  rest.remove_prefix(4);
  // Three numbers, or four with the pid namespace (names made before it was recorded have three).
  std::uint64_t numbers[4];
  int count = 0;
  while (count < 4) {
    const auto dash = rest.find('-');
    auto value = parse_canonical_u64(rest.substr(0, dash));
    if (!value) return std::nullopt;
    numbers[count++] = *value;
    if (dash == std::string_view::npos) break;
    rest = rest.substr(dash + 1);
    if (count == 4) return std::nullopt;  // a fifth part
  }
  if (count < 3) return std::nullopt;
  if (numbers[0] == 0 || numbers[0] > static_cast<std::uint64_t>(INT_MAX)) return std::nullopt;
  RunOwner owner{static_cast<pid_t>(numbers[0]), numbers[1], std::nullopt};
  if (count == 4) owner.pid_namespace = numbers[3];
  return RunName{owner, numbers[2]};
}

bool owner_alive(const RunOwner& owner) {
  if (owner.pid <= 0) return false;
  if (owner.pid_namespace) {
    const auto own = pid_namespace_of("/proc/self");
    if (own != owner.pid_namespace) {
      // Its pid means another process here. Only the first namespace sees every other one.
      if (own != kInitialPidNamespace) return true;
      return pid_namespace_in_use(*owner.pid_namespace);
    }
  }
  // A pid that exists with another start time was reused: the owner is gone.
  auto ticks = read_start_ticks(owner.pid);
  return ticks && *ticks == owner.start_ticks;
}

std::string next_run_name() {
  static std::atomic<std::uint64_t> sequence{0};
  return format_run_name(RunName{current_owner(), sequence.fetch_add(1)});
}

std::optional<std::string> enclosing_run_cgroup(std::string_view proc_cgroup) {
  const RunOwner self = current_owner();
  for (const auto& [hierarchy, path] : parse_proc_cgroup(proc_cgroup)) {
    std::size_t at = 0;
    while (at < path.size()) {
      std::size_t next = path.find('/', at);
      if (next == std::string::npos) next = path.size();
      const auto run = parse_run_name(path.substr(at, next - at));
      if (run && !(run->owner.pid == self.pid && run->owner.start_ticks == self.start_ticks) &&
          owner_alive(run->owner))
        return path;
      at = next + 1;
    }
  }
  return std::nullopt;
}

std::string sanitize_cgroup_name(const std::string& name) {
  std::string out = name;
  for (char& c : out) {
    bool allowed = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
                   c == '.' || c == '-';
    if (!allowed) c = '_';
  }
  // "", "." and ".." cannot be directory names.
  if (out.empty() || out == "." || out == "..") out = std::string(std::max<std::size_t>(out.size(), 1), '_');
  return out;
}

}  // namespace faultline::cgroup
