#include "cgroup/proc_stat.h"

#include <cerrno>
#include <string>

#include "cgroup/cgroup_files.h"
#include "common/error.h"

namespace faultline::cgroup {

namespace {

std::optional<std::string_view> stat_fields_after_comm(std::string_view stat_line) {
  auto close = stat_line.rfind(')');
  if (close == std::string_view::npos || stat_line.find('(') > close) return std::nullopt;
  return stat_line.substr(close + 1);
}

}  // namespace

std::optional<std::string> read_stat_line(pid_t pid, int* unreadable) {
  if (unreadable) *unreadable = 0;
  try {
    return read_file_if_exists("/proc/" + std::to_string(pid) + "/stat");
  } catch (const SystemError& e) {
    // ESRCH: the process exited between open and read.
    if (e.code() != ESRCH && unreadable) *unreadable = e.code();
    return std::nullopt;
  }
}

std::optional<std::uint64_t> parse_stat_start_ticks(std::string_view stat_line) {
  auto fields = stat_fields_after_comm(stat_line);
  if (!fields) return std::nullopt;
  auto words = split_words(*fields);
  // words[0] is field 3 (state), so field 22 is words[19].
  if (words.size() < 20) return std::nullopt;
  return parse_u64(words[19]);
}

std::optional<char> parse_stat_state(std::string_view stat_line) {
  auto fields = stat_fields_after_comm(stat_line);
  if (!fields) return std::nullopt;
  auto words = split_words(*fields);
  if (words.empty() || words[0].size() != 1) return std::nullopt;
  return words[0][0];
}

std::optional<std::uint64_t> parse_stat_parent(std::string_view stat_line) {
  auto fields = stat_fields_after_comm(stat_line);
  if (!fields) return std::nullopt;
  auto words = split_words(*fields);
  if (words.size() < 2) return std::nullopt;
  return parse_u64(words[1]);  // words[0] is field 3 (state)
}

std::optional<std::uint64_t> parse_stat_flags(std::string_view stat_line) {
  auto fields = stat_fields_after_comm(stat_line);
  if (!fields) return std::nullopt;
  auto words = split_words(*fields);
  if (words.size() < 7) return std::nullopt;
  return parse_u64(words[6]);  // field 9
}

bool exiting(pid_t pid) {
  // Unreadable too: no sign that it still runs.
  const auto stat = read_stat_line(pid);
  if (!stat) return true;
  return (parse_stat_flags(*stat).value_or(kPfExiting) & kPfExiting) != 0;
}

}  // namespace faultline::cgroup
