#include "supervisor/adoption.h"

#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <thread>

#include "cgroup/proc_stat.h"

namespace faultline::supervisor {

namespace {

// Never destroyed: the reaper thread of an exec may still use them while the process exits.
std::mutex& spawn_lock = *new std::mutex;
// pid -> start time (clock ticks after boot) of the children this process started: a pid alone
// is reused (pid_max may be 32768), the pair is not.
std::map<pid_t, std::uint64_t>& started_children = *new std::map<pid_t, std::uint64_t>;

struct Reaper {
  std::mutex lifecycle;  // one start or stop at a time: a stop joins the thread
  std::mutex lock;
  std::condition_variable wake;
  int watches = 0;
  bool stop = false;
  std::thread thread;
};
Reaper& reaper = *new Reaper;

std::optional<std::string> stat_line(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return std::nullopt;
  return line;
}

// The children of `pid`, of every thread: a child belongs to the thread that forked it, or
// that it was handed to.
std::vector<pid_t> children_of(pid_t pid) {
  std::vector<pid_t> out;
  std::error_code ec;
  const std::filesystem::path tasks = "/proc/" + std::to_string(pid) + "/task";
  for (const auto& task : std::filesystem::directory_iterator(tasks, ec)) {
    std::ifstream in(task.path() / "children");
    long child = 0;
    while (in >> child) out.push_back(static_cast<pid_t>(child));
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

// `pid` and every process below it, parents before their children.
std::vector<pid_t> process_tree(pid_t pid) {
  std::vector<pid_t> tree{pid};
  for (std::size_t i = 0; i < tree.size() && tree.size() < 100000; ++i)
    for (pid_t child : children_of(tree[i]))
      if (std::find(tree.begin(), tree.end(), child) == tree.end()) tree.push_back(child);
  return tree;
}

}  // namespace

void become_subreaper() {
  static std::once_flag once;
  // Refused only by kernels before 3.4; what then escapes is not found, as before.
  std::call_once(once, [] { ::prctl(PR_SET_CHILD_SUBREAPER, 1); });
}

AdoptionWatch::AdoptionWatch() {
  become_subreaper();
  std::lock_guard lifecycle(reaper.lifecycle);
  std::lock_guard lock(reaper.lock);
  if (reaper.watches++ > 0) return;
  reaper.stop = false;
  reaper.thread = std::thread([] {
    std::unique_lock lock(reaper.lock);
    while (!reaper.stop) {
      lock.unlock();
      adopted_children();  // reaps the ended ones
      lock.lock();
      reaper.wake.wait_for(lock, std::chrono::milliseconds(50), [] { return reaper.stop; });
    }
  });
}

AdoptionWatch::~AdoptionWatch() {
  std::lock_guard lifecycle(reaper.lifecycle);
  {
    std::lock_guard lock(reaper.lock);
    if (--reaper.watches > 0) return;
    reaper.stop = true;
  }
  reaper.wake.notify_all();
  reaper.thread.join();
}

std::unique_lock<std::mutex> hold_spawns() { return std::unique_lock<std::mutex>(spawn_lock); }

void note_spawned(pid_t pid) {
  const auto line = stat_line(pid);
  started_children[pid] = line ? cgroup::parse_stat_start_ticks(*line).value_or(0) : 0;
}

std::vector<pid_t> adopted_children() {
  std::lock_guard lock(spawn_lock);
  // A started child whose pid is gone, or names another process now, was reaped: forget it. (Not
  // by its absence from the children lists, which may miss a child while others come and go.)
  std::erase_if(started_children, [](const auto& entry) {
    const auto line = stat_line(entry.first);
    return !line || (entry.second != 0 && cgroup::parse_stat_start_ticks(*line) != entry.second);
  });
  const auto children = children_of(::getpid());
  std::vector<pid_t> adopted;
  for (pid_t child : children) {
    const auto line = stat_line(child);
    if (!line) continue;
    const auto started = started_children.find(child);
    if (started != started_children.end()) {
      const std::uint64_t ticks = cgroup::parse_stat_start_ticks(*line).value_or(0);
      if (started->second == 0 || started->second == ticks) continue;  // ours
      started_children.erase(started);
    }
    if (cgroup::parse_stat_state(*line) == 'Z') {
      ::waitpid(child, nullptr, WNOHANG);  // ended after it was handed over: nothing left of it
      continue;
    }
    adopted.push_back(child);
  }
  return adopted;
}

void kill_adopted(pid_t pid) {
  // Under the lock nothing here reaps: a child of this process keeps its pid until then.
  std::lock_guard lock(spawn_lock);
  const auto line = stat_line(pid);
  if (!line || cgroup::parse_stat_parent(*line) != static_cast<std::uint64_t>(::getpid())) return;
  for (pid_t member : process_tree(pid)) ::kill(member, SIGKILL);
}

}  // namespace faultline::supervisor
