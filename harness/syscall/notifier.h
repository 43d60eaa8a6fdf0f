// The harness side of a syscall fault: answers the target's seccomp notifications, failing,
// delaying or passing each trapped call according to the rules, and records what it did.
//
// A dedicated thread blocks in SECCOMP_IOCTL_NOTIF_RECV rather than the runner's asio loop
// watching the fd: each trapped call waits for its answer, so the answer must not queue behind
// timers, output reads or report work on the shared loop, and a blocking receive is the fewest
// wake-ups per call (with SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP the kernel switches straight to it).
// Delayed answers go to a second thread, so a delay never holds up other notifications.
#pragma once

#include <linux/seccomp.h>
#include <sys/types.h>

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "common/unique_fd.h"
#include "syscall/filter.h"
#include "syscall/records.h"
#include "syscall/rules.h"

namespace faultline::syscall {

// The two ends of the unix socket the listener fd travels through (SpawnRequest::notify_socket is
// `child_end`; close it in the harness once the spawn returned).
struct ListenerChannel {
  UniqueFd harness_end;
  UniqueFd child_end;
  static ListenerChannel create();
};

struct NotifierOptions {
  std::size_t keep_first = 100;  // events kept per rule from its start
  std::size_t keep_last = 100;   // and from its end
};

class Notifier {
 public:
  // Starts serving at once: receives the listener from `harness_end`, then answers notifications
  // until the target and all its descendants are gone or stop() is called. Every rule starts
  // inactive (calls go through untouched) until set_active.
  Notifier(std::vector<Rule> rules, UniqueFd harness_end, NotifierOptions options = {});
  ~Notifier();
  Notifier(const Notifier&) = delete;
  Notifier& operator=(const Notifier&) = delete;

  // The injection window of one rule: inactive rules answer CONTINUE without looking at the call.
  void set_active(std::size_t rule, bool active);
  void set_all_active(bool active);
  bool active(std::size_t rule) const { return active_.at(rule)->load(); }

  // The filter the target must run under: the syscalls of every rule, the child's own hand-off
  // of the listener exempted.
  NotifyFilter filter(int child_socket_fd) const;
  // The (path, argv) addresses of the execve calls the spawn's child makes itself, before the
  // target runs (supervisor::SpawnRequest::announce_own_execs). Until the first other trapped call,
  // an execve with those arguments passes untouched and uncounted: it is the harness's exec of
  // the command, which an execve rule must neither count as the target's first nor fail.
  void expect_own_execs(const std::vector<std::array<std::uint64_t, 2>>& calls);

  // Waits until the listener is closed (the target tree ended) or `timeout` passed.
  bool wait_finished(std::chrono::milliseconds timeout);
  // Ends both threads; answers every delayed call still pending at once.
  void stop();

  FaultRecords& records() { return records_; }
  std::uint64_t notifications() const { return notifications_.load(); }
  bool listener_received() const { return listener_received_.load(); }

 private:
  // A call held for its rules' delays, and what it will be told when the delays are over.
  struct Pending {
    std::chrono::steady_clock::time_point due;
    std::uint64_t id;
    std::uint64_t seq = 0;  // which held call this is, while its place in the heap changes
    // The call as trapped: a thread is in one call at a time, so the same call (syscall and
    // first argument: the fd or path) trapped again while this one is held is its restart
    // after a signal (restarted()). Not every argument: a runtime that retries on EINTR calls
    // again from its own code, and the registers a call does not use differ.
    pid_t pid = 0;
    int nr = 0;
    std::uint64_t first_arg = 0;
    // Its answer found no call (a signal interrupted it): kept a moment for the restart, which
    // is then answered at once.
    bool undelivered = false;
    bool answering = false;  // its answer is going out, with the lock released
    std::optional<int> error;
    std::int64_t value = 0;
    bool pass = true;
    // Every rule that acted on the call, with its event: recorded only once the answer is delivered.
    std::vector<std::pair<std::size_t, FaultEvent>> acts;
    bool operator>(const Pending& other) const { return due > other.due; }
  };

  void receive_loop();
  void delay_loop();
  // False when the answer reached nobody: the call was interrupted (a signal, the caller
  // killed or exec'ed) while it was held, so the fault never took effect.
  bool answer(std::uint64_t id, std::optional<int> error, std::int64_t value, bool pass);
  void deliver(Pending item);
  // The rule events of an answer that reached its call, with the time the call was trapped.
  void record_acts(Pending& delivered);
  // Answers the held call that is due, leaving it in `pending_` meanwhile (marked `answering`,
  // with `lock` released for the answer), so that a call of the same thread trapped in that
  // moment can wait for the outcome: the next call if the answer arrived, the restart if not.
  void deliver_due(std::unique_lock<std::mutex>& lock);
  void handle(const seccomp_notif& notification);
  // Whether the call is the spawn's own exec of the command (expect_own_execs).
  bool own_exec(const seccomp_notif& notification);
  // Whether the call is a held one restarted after a signal interrupted it (the kernel's
  // SA_RESTART, or a runtime that retries EINTR): it takes the held call's place, keeping its
  // due time and its count, instead of a fresh delay each time a signal comes.
  bool restarted(const seccomp_notif& notification);

  std::vector<Rule> rules_;
  std::vector<std::unique_ptr<std::atomic<bool>>> active_;
  std::vector<std::uint64_t> counters_;  // matching calls per rule: touched by the receiver only
  std::multimap<int, std::size_t> rules_by_syscall_;
  FaultRecords records_;
  UniqueFd harness_end_;
  UniqueFd listener_;
  UniqueFd stop_event_;
  std::atomic<std::uint64_t> notifications_{0};
  std::atomic<bool> listener_received_{false};

  std::vector<std::array<std::uint64_t, 2>> own_execs_;  // under mutex_: set before the child starts
  bool target_called_ = false;                           // the receiver's: a call not the harness's seen

  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<Pending> pending_;  // a min-heap on `due`
  std::uint64_t next_seq_ = 0;
  bool finished_ = false;
  bool stopping_ = false;

  std::thread receiver_;
  std::thread delayer_;
};

}  // namespace faultline::syscall
