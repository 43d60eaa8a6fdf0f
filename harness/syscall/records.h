// What a syscall fault did: every failed (or delayed) call counted per rule, with the first and
// last events kept, so a rule that fires a million times stays a bounded report.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace faultline::syscall {

struct FaultEvent {
  std::chrono::steady_clock::time_point time;  // steady: the wall clock may be stepped mid-run
  pid_t pid = 0;        // thread id in the target's pid namespace, as the kernel reports it
  std::string syscall;  // "openat"
  std::string subject;  // the path, "fd 3 (/var/lib/x)", or empty when not looked at
  int error = 0;        // 0: delayed or given a return value, not failed
  std::optional<std::int64_t> return_value;  // the value the call was given instead of running
  std::chrono::nanoseconds delay{0};         // held back this long by this rule
  std::chrono::nanoseconds held{0};          // held back in all, by every rule that delayed it
};

struct RuleRecord {
  std::string rule;
  std::uint64_t matched = 0;  // calls that passed the syscall and path filters while active
  std::uint64_t acted = 0;    // calls failed or delayed
  // The same, of calls trapped after the stop phase began (mark_stop): the processes' shutdown,
  // kept apart so that a fault that hit only the shutdown does not count as one that hit the run.
  std::uint64_t matched_while_stopping = 0;
  std::uint64_t acted_while_stopping = 0;
  std::vector<FaultEvent> first;
  std::deque<FaultEvent> last;  // the most recent, oldest first; none of them also in `first`
};

class FaultRecords {
 public:
  FaultRecords(std::vector<std::string> rule_names, std::size_t keep_first, std::size_t keep_last);

  // Calls trapped from `at` on are counted apart (RuleRecord::*_while_stopping).
  void mark_stop(std::chrono::steady_clock::time_point at);
  void matched(std::size_t rule, std::chrono::steady_clock::time_point trapped);
  // Counted by the event's time, when the call was trapped (a delayed answer comes later).
  void acted(std::size_t rule, FaultEvent event);
  std::vector<RuleRecord> snapshot() const;

 private:
  bool stopping_at(std::chrono::steady_clock::time_point t) const { return stop_ && t >= *stop_; }

  mutable std::mutex mutex_;
  std::vector<RuleRecord> rules_;
  std::optional<std::chrono::steady_clock::time_point> stop_;
  std::size_t keep_first_, keep_last_;
};

}  // namespace faultline::syscall
