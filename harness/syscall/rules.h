// Which system calls fail, how, and which of their calls: the rules of a syscall fault, resolved
// against the host (syscall numbers, errno values) so a typo is an error before anything starts.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace faultline::scenario {
struct LoadOptions;
}

namespace faultline::syscall {

// The host's number for a syscall name (libseccomp's table for the native architecture).
// Throws Error with a did-you-mean hint when the name is unknown.
int resolve_syscall(const std::string& name);
// The name of a syscall number on the native architecture ("syscall 999" when unknown).
std::string syscall_name(int number);

// Fills the tables a scenario load checks syscall faults against: every syscall name of the
// native architecture and every errno name this module maps (for did-you-mean hints), and of
// those calls the ones `path` can select (a path or an fd argument) and those `fds` can select
// (an fd argument). The loader cannot reach this module, so whoever loads a scenario calls this.
void add_host_tables(scenario::LoadOptions& options);

// "ENOSPC" -> 28; throws Error (with a did-you-mean hint) on an unknown name.
int errno_from_name(const std::string& name);
// 28 -> "ENOSPC"; "errno 4242" when unknown.
std::string errno_name(int value);

// Which of the matching calls fail. Calls are counted per rule from 1, only while the rule is
// active and only those that pass its syscall and path filters, so the same target run with the
// same seed fails the same calls.
struct Selection {
  enum class Kind { every_call, every, nth, after, probability };
  Kind kind = Kind::every_call;
  std::uint64_t n = 1;       // every: each n-th; nth: only the n-th; after: all after the first n
  double probability = 1.0;  // probability: chance of each call, drawn from (seed, rule, call index)
  std::uint64_t seed = 0;

  // Whether the call with this 1-based index fails.
  bool selects(std::uint64_t call_index, std::uint64_t rule_salt) const;
};

// What a selected call gets: an errno (the call returns -1 with errno), or a plain return value
// (a short or zero result), or nothing but the delay (the call then runs as usual).
struct Action {
  std::optional<int> error;
  std::optional<std::int64_t> return_value;
  std::chrono::nanoseconds delay{0};
};

// Which open files an fd-taking call must be on to match: a socket (`/proc/PID/fd/N` reads
// `socket:[inode]`) or a file in the filesystem (the link is a path: regular files, directories,
// devices). Pipes, eventfds and other anonymous inodes are neither.
enum class FdKind { any, sockets, files };
// Whether the link read from /proc/PID/fd/N names an open file of that kind.
bool fd_link_is(FdKind kind, const std::string& link);
const char* to_string(FdKind kind);

struct Rule {
  std::string name;           // for records and messages ("disk-full")
  std::vector<int> syscalls;  // host numbers
  Action action;
  Selection selection;
  std::optional<std::string> path_glob;  // fnmatch(3) without FNM_PATHNAME: `*` spans `/`
  FdKind fds = FdKind::any;              // only fd-taking syscalls when not `any`
};

// Builds a rule from names, validating each against the host; errors name the rule and the value.
struct RuleSpec {
  std::string name;
  std::vector<std::string> syscalls;
  std::optional<std::string> errno_name;
  std::optional<std::int64_t> return_value;
  std::chrono::nanoseconds delay{0};
  Selection selection;
  std::optional<std::string> path_glob;
  FdKind fds = FdKind::any;
};
Rule make_rule(const RuleSpec& spec);

// Where a syscall carries a path or an fd that `path_glob` is matched against.
struct PathArgument {
  enum class Kind { path, dirfd_and_path, fd } kind;
  int index;  // argument holding the path (dirfd_and_path: the path; the dirfd is index - 1) or fd
};
std::optional<PathArgument> path_argument(int syscall_number);

}  // namespace faultline::syscall
