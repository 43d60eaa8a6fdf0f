// Reading, writing and parsing cgroup interface files, shared by the v1 and v2 backends.
// The parsers are pure so that unit tests can feed them file contents.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/units.h"

namespace faultline::cgroup {

namespace fs = std::filesystem;

// The whole (small) file. Throws SystemError naming the path.
std::string read_file(const fs::path& path);
// nullopt when the file (or its cgroup) does not exist.
std::optional<std::string> read_file_if_exists(const fs::path& path);
// One write(2) of `value`, as the kernel expects for interface files. Throws SystemError naming
// the value and the path.
void write_file(const fs::path& path, std::string_view value);
// Same, but returns 0 or the errno instead of throwing.
int try_write_file(const fs::path& path, std::string_view value);

std::string trim(std::string_view text);
std::vector<std::string> split_words(std::string_view text);

// Decimal without sign or garbage (surrounding whitespace allowed).
std::optional<std::uint64_t> parse_u64(std::string_view text);
// "max" -> kUnlimited, else a decimal (v2 memory.max, pids.max, v1 pids.max).
std::optional<std::uint64_t> parse_limit(std::string_view text);
// The other way: kUnlimited -> "max".
std::string limit_text(std::uint64_t value);
// parse_limit of a file's content; throws Error naming the file on anything else.
std::uint64_t read_limit(const std::filesystem::path& file);
// v1 byte limits: "unlimited" is printed as a huge page-aligned number (PAGE_COUNTER_MAX pages).
std::optional<std::uint64_t> parse_v1_bytes_limit(std::string_view text);
// The value of `key` in a flat keyed file ("key value" per line: cpu.stat, memory.events, ...).
std::optional<std::uint64_t> keyed_value(std::string_view text, std::string_view key);
// cgroup.procs / tasks contents.
std::vector<pid_t> parse_pid_list(std::string_view text);

// v2 cpu.max: "max 100000" or "50000 100000". quota is nullopt for "max".
struct CpuMaxLine {
  std::optional<std::uint64_t> quota_usec;
  std::uint64_t period_usec = 100000;
};
std::optional<CpuMaxLine> parse_cpu_max_line(std::string_view text);
// Quota in microseconds for `cpus` CPUs per period; nullopt for +infinity. Throws Error, saying
// what would do, for a quota below the kernel's minimum (cpu_quota_problem).
std::optional<std::uint64_t> cpu_quota_usec(double cpus, std::uint64_t period_usec);
// CPUs from a quota (nullopt = no quota) and period.
double cpus_from_quota(std::optional<std::uint64_t> quota_usec, std::uint64_t period_usec);

// True when `dir`'s link count says it has no subdirectories: 2, its own entry and its ".".
// kernfs keeps the Unix convention, as tmpfs and ext4 do for the trees of the unit tests; any
// other count (btrfs says 1) is false, and the directory has to be listed to know.
bool is_known_leaf(const fs::path& dir);
// Child directories (each a child cgroup); empty when `dir` does not exist.
std::vector<fs::path> subdirectories(const fs::path& dir);
// rmdir depth-first, children first (unknown ones too). Retries EBUSY briefly: the kernel
// finishes tearing down exited tasks and v1 memory cgroups asynchronously. A missing directory
// is not an error.
void remove_cgroup_tree(const fs::path& dir);
// Every pid in cgroup.procs of `dir` and all its descendants.
std::vector<pid_t> subtree_pids(const fs::path& dir);

enum class WaitResult { reached, timed_out, gone };
// Waits until `key` in the flat keyed file `events_file` (cgroup.events) equals `want`. Event
// driven: the kernel signals changes of cgroup.events to inotify (IN_MODIFY); no busy polling.
// `gone` when the file (its cgroup) disappears.
WaitResult wait_for_event_value(const fs::path& events_file, std::string_view key, std::uint64_t want,
                                Duration timeout);

}  // namespace faultline::cgroup
