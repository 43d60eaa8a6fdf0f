// What a target leaves outside every cgroup of the harness. The harness is the child subreaper
// of its targets (PR_SET_CHILD_SUBREAPER): a process whose parent ends is handed to the harness
// instead of init. One that also moved itself out of its cgroup (a daemon that writes its pid
// into another cgroup's procs file, a container runtime the target runs) is then still found: a
// child of the harness that the harness never started.
//
// What that changes for targets: an orphan's getppid() is the harness's pid, not 1.
#pragma once

#include <sys/types.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <mutex>
#include <vector>

namespace faultline::supervisor {

// Makes this process the subreaper of everything it starts, once; later calls do nothing. The
// children it has already (inherited across the exec that started it) are never taken for
// handed-over ones. Nothing is done where the kernel cannot list a process's children
// (/proc/<pid>/task/<tid>/children, CONFIG_PROC_CHILDREN): what is handed over could not be
// found or reaped.
void become_subreaper();

// While it exists, this process is the subreaper of what it starts, and every 50 ms `io`'s loop
// reaps what was handed to it and has ended: a zombie still counts against its cgroup's pids
// limit until it is reaped, as init would have done at once. A turn that finds a spawn of
// another run holding the lock leaves the reaping to the next one, so a slow exec elsewhere never
// stalls this loop.
class AdoptionWatch {
 public:
  explicit AdoptionWatch(boost::asio::io_context& io);
  ~AdoptionWatch();
  AdoptionWatch(const AdoptionWatch&) = delete;
  AdoptionWatch& operator=(const AdoptionWatch&) = delete;
  // No more turns, so that a loop that ends when it runs out of work can end.
  void stop();

 private:
  void arm();
  boost::asio::steady_timer timer_;
  bool stopped_ = false;
};

// Held across the fork of a child and note_spawned(), so that a scan from another thread never
// takes a child that is being started for one that was handed over.
std::unique_lock<std::mutex> hold_spawns();
// Records a child the harness started itself (with the lock of hold_spawns()).
void note_spawned(pid_t pid);

// The children of this process it did not start and that are still running, handed over as
// their parents ended. Those that have already ended are reaped on the way (no zombie stays).
// A child this process forked other than through spawn() counts as handed over: the harness has
// none while a run goes on.
std::vector<pid_t> adopted_children();

// For each running handed-over child (not one already exiting), asks `kill_it`; those it names
// are SIGKILLed with every process below them. All under the lock of hold_spawns(), so nothing
// is reaped meanwhile and each pid still names the child `kill_it` was asked about. Returns the
// children killed. What the killed leave is handed to this process in turn: call again.
std::vector<pid_t> kill_adopted_where(const std::function<bool(pid_t)>& kill_it);

}  // namespace faultline::supervisor
