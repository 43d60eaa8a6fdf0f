#include "supervisor/adoption.h"

#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "cgroup/proc_stat.h"

namespace faultline::supervisor {

namespace {

// Never destroyed: a thread of a run may still use them while the process exits.
std::mutex& spawn_lock = *new std::mutex;
// pid -> start time (clock ticks after boot) of the children this process started: a pid alone
// is reused (pid_max may be 32768), the pair is not.
std::map<pid_t, std::uint64_t>& started_children = *new std::map<pid_t, std::uint64_t>;

std::vector<pid_t> adopted_children_locked();

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
  std::set<pid_t> seen{pid};
  for (std::size_t i = 0; i < tree.size() && tree.size() < 100000; ++i)
    for (pid_t child : children_of(tree[i]))
      if (seen.insert(child).second) tree.push_back(child);
  return tree;
}

}  // namespace

void become_subreaper() {
  static std::once_flag once;
  std::call_once(once, [] {
    const std::string own_children = "/proc/self/task/" + std::to_string(::getpid()) + "/children";
    if (::access(own_children.c_str(), R_OK) != 0) return;
    std::lock_guard lock(spawn_lock);
    for (pid_t inherited : children_of(::getpid())) note_spawned(inherited);
    // Refused only by kernels before 3.4; what then escapes is not found, as before.
    ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  });
}

AdoptionWatch::AdoptionWatch(boost::asio::io_context& io) : timer_(io) {
  become_subreaper();
  arm();
}

AdoptionWatch::~AdoptionWatch() { stop(); }

void AdoptionWatch::stop() {
  stopped_ = true;
  timer_.cancel();
}

void AdoptionWatch::arm() {
  timer_.expires_after(std::chrono::milliseconds(50));
  timer_.async_wait([this](boost::system::error_code ec) {
    if (ec || stopped_) return;
    if (std::unique_lock lock(spawn_lock, std::try_to_lock); lock.owns_lock()) adopted_children_locked();
    arm();
  });
}

std::unique_lock<std::mutex> hold_spawns() { return std::unique_lock<std::mutex>(spawn_lock); }

void note_spawned(pid_t pid) {
  const auto line = cgroup::read_stat_line(pid);
  started_children[pid] = line ? cgroup::parse_stat_start_ticks(*line).value_or(0) : 0;
}

std::vector<pid_t> adopted_children() {
  std::lock_guard lock(spawn_lock);
  return adopted_children_locked();
}

namespace {
// With spawn_lock held.
std::vector<pid_t> adopted_children_locked() {
  // A started child whose pid is gone, or names another process now, was reaped: forget it. (Not
  // by its absence from the children lists, which may miss a child while others come and go.)
  std::erase_if(started_children, [](const auto& entry) {
    const auto line = cgroup::read_stat_line(entry.first);
    return !line || (entry.second != 0 && cgroup::parse_stat_start_ticks(*line) != entry.second);
  });
  const auto children = children_of(::getpid());
  std::vector<pid_t> adopted;
  for (pid_t child : children) {
    const auto line = cgroup::read_stat_line(child);
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
}  // namespace

std::vector<pid_t> kill_adopted_where(const std::function<bool(pid_t)>& kill_it) {
  std::lock_guard lock(spawn_lock);
  std::vector<pid_t> killed;
  for (pid_t child : adopted_children_locked()) {
    // PF_EXITING: on its way out, and no longer in any cgroup; reaped once it has ended.
    const auto line = cgroup::read_stat_line(child);
    if (!line || (cgroup::parse_stat_flags(*line).value_or(0) & cgroup::kPfExiting) != 0 || !kill_it(child))
      continue;
    for (pid_t member : process_tree(child)) ::kill(member, SIGKILL);
    killed.push_back(child);
  }
  return killed;
}

}  // namespace faultline::supervisor
