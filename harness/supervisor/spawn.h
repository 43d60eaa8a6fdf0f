// Starting a target: vfork, the child-side steps faultline needs before exec (connect stdio,
// enter the cgroups, set rlimits, drop privileges, close inherited fds, load a seccomp filter),
// and a Boost.Process v2 handle on the child (a pidfd) to wait for it. Boost's own launcher is
// not used; docs/ARCHITECTURE.md lists the Boost 1.81 defects that ruled it out.
#pragma once

#include <linux/filter.h>
#include <sys/types.h>

// Boost 1.81 needs these before its process headers when BOOST_PROCESS_USE_STD_FS is set.
#include <boost/optional.hpp>
#include <boost/type_traits.hpp>
// clang-format off
#include <boost/asio/io_context.hpp>
#include <boost/asio/readable_pipe.hpp>
#include <boost/process/v2/process.hpp>
// clang-format on
#include <array>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "common/unique_fd.h"

namespace faultline::supervisor {

struct UserIds {
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;
};
// Looks up a user name (or numeric uid); throws Error naming the user when unknown.
UserIds resolve_user(const std::string& user);

struct SpawnRequest {
  std::vector<std::string> argv;  // argv[0] is looked up in PATH unless it contains '/'
  std::optional<std::filesystem::path> cwd;
  std::vector<std::string> env;  // complete environment, "NAME=value"
  std::optional<UserIds> user;
  std::optional<std::uint64_t> nofile;                // RLIMIT_NOFILE soft and hard
  const std::vector<UniqueFd>* attach_fds = nullptr;  // cgroup.procs files: the child writes "0"
  bool capture_output = true;  // false: the target shares the harness's stdin/stdout/stderr
  // A seccomp program loaded in the child as its last step before exec (after the cgroups, the
  // rlimits and the privilege drop, with no_new_privs), so it holds from the target's first
  // instruction and for everything the target starts. It must be created with a user
  // notification listener: the child sends the listener fd over `notify_socket` (a unix socket,
  // SCM_RIGHTS) before exec, and whoever holds the other end must answer notifications at once,
  // since the child's own remaining calls (close, execve) may already be trapped.
  const sock_fprog* notify_filter = nullptr;
  int notify_socket = -1;
  // Told, before the child starts, the first two arguments (path, argv) of each execve the child
  // itself makes: the command's, then /bin/sh's for a file without #!. The filter may trap them
  // (execve listed); the listener passes them as the harness's calls, not the target's.
  std::function<void(const std::vector<std::array<std::uint64_t, 2>>&)> announce_own_execs;
  // Open fds above 2 the target gets as they are (those `faultline exec` was handed: a make
  // jobserver's pipe, `7>file`), ascending; every other fd above 2 is closed in the target.
  std::vector<int> pass_fds;
};

struct Spawned {
  pid_t pid = -1;
  // Boost's handle waits on a pidfd: exit detection without polling or SIGCHLD.
  std::unique_ptr<boost::process::v2::process> process;
  // Read ends when capturing output.
  std::optional<boost::asio::readable_pipe> stdout_pipe;
  std::optional<boost::asio::readable_pipe> stderr_pipe;
};

// The target could not be started: `errno_value` says why (ENOENT for a missing binary,
// EACCES, the errno of a failed cgroup write or setrlimit in the child, ...).
struct SpawnFailure {
  int errno_value = 0;
  std::string message;  // "exec ./missing: No such file or directory"
  // A step of the harness's own failed (entering the cgroup, setrlimit, setuid, or watching the
  // started child): faultline's failure, not the command's.
  bool harness_step = false;
};

// The CPU time this harness's children spent before they joined their cgroups (from the vfork to
// the write to cgroup.procs), summed over every start since the harness began. It comes back
// through the waits but no cgroup of a run counted it, so a check that compares the two takes it
// out. A few microseconds on a real machine; in an emulated one whose virtual CPU the host
// preempted in that window, tens of milliseconds were seen.
std::chrono::nanoseconds cpu_spent_before_cgroup_join();

// Starts the target; never leaves a zombie or a half-started child behind.
// Returns the failure instead of throwing, since failing to start is a result, not a bug.
std::variant<Spawned, SpawnFailure> spawn(boost::asio::io_context& io, const SpawnRequest& request);

// The environment of the harness as "NAME=value" entries.
std::vector<std::string> current_environment();

}  // namespace faultline::supervisor
