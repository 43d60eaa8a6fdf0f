// What a target leaves outside every cgroup of the harness. The harness is the child subreaper
// of its targets (PR_SET_CHILD_SUBREAPER): a process whose parent ends is handed to the harness
// instead of init. One that also moved itself out of its cgroup (a container runtime, a daemon
// that writes its pid into another cgroup's procs file) is then still found: a child of the
// harness that the harness never started.
#pragma once

#include <sys/types.h>

#include <mutex>
#include <vector>

namespace faultline::supervisor {

// Makes this process the subreaper of everything it starts, once; later calls do nothing.
void become_subreaper();

// While one exists (one per run; runs side by side share them), this process is the subreaper
// of what it starts and reaps what is handed to it as soon as it ends, every 50 ms: a zombie
// still counts against its cgroup's pids limit until it is reaped, as init would have done.
class AdoptionWatch {
 public:
  AdoptionWatch();
  ~AdoptionWatch();
  AdoptionWatch(const AdoptionWatch&) = delete;
  AdoptionWatch& operator=(const AdoptionWatch&) = delete;
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

// SIGKILLs `pid`, a child of this process, and every process below it; nothing when `pid` is no
// longer a child of this process (it ended and was reaped). What the killed leave is handed to
// this process in turn.
void kill_adopted(pid_t pid);

}  // namespace faultline::supervisor
