#include "runner/escapes.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <mutex>
#include <thread>

#include "runner/process_text.h"
#include "supervisor/adoption.h"
#include "supervisor/spawn.h"

namespace faultline::runner {

namespace {

std::mutex found_lock;
std::vector<Escapee> found_so_far;

std::atomic<int> runs_going_on{0};
std::atomic<unsigned long> runs_started{0};

// Where the process is now, as its first hierarchy line names it (the unified one on v2).
std::string cgroup_of(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/cgroup");
  std::string line, unified, first;
  while (std::getline(in, line)) {
    const auto second = line.find(':', line.find(':') + 1);
    if (second == std::string::npos) continue;
    if (first.empty()) first = line.substr(second + 1);
    if (line.starts_with("0::")) unified = line.substr(second + 1);
  }
  return !unified.empty() ? unified : !first.empty() ? first : "?";
}

}  // namespace

std::chrono::microseconds reaped_cpu() {
  // The starts' part first: a child started between the two reads is then in neither, where the
  // other order would take out its part before its CPU is in the waits, hiding as much of an
  // escape.
  const auto before_join =
      std::chrono::duration_cast<std::chrono::microseconds>(supervisor::cpu_spent_before_cgroup_join());
  rusage usage{};
  ::getrusage(RUSAGE_CHILDREN, &usage);
  const auto us = [](const timeval& t) {
    return std::chrono::seconds(t.tv_sec) + std::chrono::microseconds(t.tv_usec);
  };
  return us(usage.ru_utime) + us(usage.ru_stime) - before_join;
}

std::optional<std::chrono::microseconds> cpu_outside_cgroup(std::chrono::microseconds reaped,
                                                            std::chrono::microseconds counted,
                                                            std::chrono::microseconds allowance) {
  const auto tolerance = std::chrono::milliseconds(50) + counted / 20 + allowance;
  if (reaped <= counted + tolerance) return std::nullopt;
  return reaped - counted;
}

std::optional<std::chrono::microseconds> cpu_outside_run_cgroups(
    std::chrono::microseconds reaped, std::optional<std::chrono::microseconds> counted,
    bool waits_are_its_own, std::uint64_t one_shot_commands) {
  static std::atomic<bool> waits_mixed{false};
  if (!waits_are_its_own) waits_mixed = true;
  if (waits_mixed || !counted) return std::nullopt;
  return cpu_outside_cgroup(
      reaped, *counted, kOneShotAllowance * static_cast<std::chrono::microseconds::rep>(one_shot_commands));
}

bool reap_handed_over_within(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!supervisor::adopted_children().empty()) {  // which reaps those that have ended
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

std::vector<Escapee> kill_escapees(const cgroup::Backend& backend) {
  std::vector<Escapee> found;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  // What a killed process leaves is handed over in turn and taken on the next round.
  for (;;) {
    const auto killed = supervisor::kill_adopted_where([&](pid_t pid) {
      // One still in a cgroup of ours is a run's own orphan, which that run kills and reports.
      if (backend.holds_process(pid)) return false;
      const bool again =
          std::any_of(found.begin(), found.end(), [&](const Escapee& e) { return e.pid == pid; });
      if (!again) {
        found.push_back({pid, comm_of(pid), cgroup_of(pid), std::chrono::steady_clock::now()});
        // Known to every run before it is killed: the run it came from may be waiting for the
        // output it holds, and ends the moment the kill closes it (-j). Recorded after this
        // search, the escapee was missed by that run, which passed, while the run whose teardown
        // found it took the blame.
        std::lock_guard lock(found_lock);
        found_so_far.push_back(found.back());
      }
      return true;
    });
    if (killed.empty() || std::chrono::steady_clock::now() > deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return found;
}

std::vector<Escapee> escapees_found_since(std::chrono::steady_clock::time_point since) {
  std::lock_guard lock(found_lock);
  std::vector<Escapee> out;
  for (const auto& e : found_so_far)
    if (e.found >= since) out.push_back(e);
  return out;
}

std::string describe_escapees(const std::vector<Escapee>& escapees) {
  constexpr std::size_t kNamed = 5;
  std::string text;
  for (std::size_t i = 0; i < std::min(kNamed, escapees.size()); ++i)
    text += (i ? ", " : "") + std::to_string(escapees[i].pid) + " (" + escapees[i].comm + ") in " +
            escapees[i].cgroup;
  if (escapees.size() > kNamed) text += ", ...";
  return text;
}

ConcurrentRun::ConcurrentRun()
    : company_at_start_(runs_going_on.fetch_add(1) > 0), started_before_(runs_started.fetch_add(1)) {}

ConcurrentRun::~ConcurrentRun() { runs_going_on.fetch_sub(1); }

bool ConcurrentRun::had_company() const {
  return company_at_start_ || runs_going_on.load() > 1 || runs_started.load() != started_before_ + 1;
}

}  // namespace faultline::runner
