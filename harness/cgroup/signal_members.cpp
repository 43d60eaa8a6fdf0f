#include "cgroup/signal_members.h"

#include <algorithm>
#include <cerrno>
#include <utility>
#include <vector>

#include "common/pidfd.h"
#include "common/proc_status.h"

namespace faultline::cgroup {

SignalCount signal_members(const Cgroup& group, int signo, const std::set<pid_t>& except, bool count_merged) {
  SignalCount count;
  const auto listed = group.pids();
  std::vector<std::pair<pid_t, UniqueFd>> opened;
  for (pid_t pid : listed) {
    if (except.count(pid)) continue;
    if (auto fd = open_pidfd(pid)) opened.emplace_back(pid, std::move(fd));
  }
  // The pidfds now pin the processes they name; any of them the cgroup still lists is a member.
  auto members = group.pids();
  std::sort(members.begin(), members.end());
  for (auto& [pid, fd] : opened) {
    if (!std::binary_search(members.begin(), members.end(), pid)) continue;  // reaped meanwhile
    const bool pending = count_merged && process_signal_pending(pid, signo);
    const int err = send_signal(fd, signo);
    if (err == 0) {
      ++count.sent;
      if (pending) ++count.merged;
    } else if (err != ESRCH && !count.first_error) {
      count.first_error = err;
      count.first_error_pid = pid;
    }
  }
  return count;
}

}  // namespace faultline::cgroup
