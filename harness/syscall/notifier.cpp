#include "syscall/notifier.h"

#include <fnmatch.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include <algorithm>
#include <cstring>

#include "common/error.h"
#include "syscall/target_paths.h"

// Linux 6.6; Debian 12's headers are older.
#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
#endif
#ifndef SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (1UL << 0)
#endif

namespace faultline::syscall {

ListenerChannel ListenerChannel::create() {
  int ends[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ends) != 0)
    throw_errno("socketpair", "(seccomp listener hand-off)");
  return ListenerChannel{UniqueFd(ends[0]), UniqueFd(ends[1])};
}

namespace {

std::vector<std::string> names_of(const std::vector<Rule>& rules) {
  std::vector<std::string> names;
  for (const auto& rule : rules) names.push_back(rule.name);
  return names;
}

// The fd sent by the child (SCM_RIGHTS), or an empty fd when it closed its end without sending.
UniqueFd receive_fd(int socket) {
  char byte;
  iovec data{&byte, 1};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr message{};
  message.msg_iov = &data;
  message.msg_iovlen = 1;
  message.msg_control = control;
  message.msg_controllen = sizeof control;
  if (::recvmsg(socket, &message, MSG_CMSG_CLOEXEC) <= 0) return {};
  for (cmsghdr* h = CMSG_FIRSTHDR(&message); h; h = CMSG_NXTHDR(&message, h))
    if (h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_RIGHTS) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(h), sizeof fd);
      return UniqueFd(fd);
    }
  return {};
}

}  // namespace

Notifier::Notifier(std::vector<Rule> rules, UniqueFd harness_end, NotifierOptions options)
    : rules_(std::move(rules)),
      counters_(rules_.size(), 0),
      records_(names_of(rules_), options.keep_first, options.keep_last),
      harness_end_(std::move(harness_end)),
      stop_event_(::eventfd(0, EFD_CLOEXEC)) {
  if (!stop_event_) throw_errno("eventfd", "(syscall fault notifier)");
  for (std::size_t i = 0; i < rules_.size(); ++i) {
    active_.push_back(std::make_unique<std::atomic<bool>>(false));
    for (int nr : rules_[i].syscalls) rules_by_syscall_.emplace(nr, i);
  }
  receiver_ = std::thread([this] { receive_loop(); });
  delayer_ = std::thread([this] { delay_loop(); });
}

Notifier::~Notifier() { stop(); }

void Notifier::set_active(std::size_t rule, bool active) { active_.at(rule)->store(active); }
void Notifier::set_all_active(bool active) {
  for (auto& flag : active_) flag->store(active);
}

NotifyFilter Notifier::filter(int child_socket_fd) const {
  std::vector<int> all;
  for (const auto& rule : rules_) all.insert(all.end(), rule.syscalls.begin(), rule.syscalls.end());
  return NotifyFilter(all, child_socket_fd);
}

void Notifier::expect_own_execs(const std::vector<std::array<std::uint64_t, 2>>& calls) {
  std::lock_guard lock(mutex_);
  own_execs_ = calls;
}

bool Notifier::own_exec(const seccomp_notif& n) {
  if (target_called_) return false;
  if (n.data.nr == SYS_execve) {
    std::lock_guard lock(mutex_);
    const std::array<std::uint64_t, 2> call{n.data.args[0], n.data.args[1]};
    if (std::find(own_execs_.begin(), own_execs_.end(), call) != own_execs_.end()) return true;
  }
  // The child traps nothing between the hand-off and its exec: any other call is the target's,
  // and from then on an execve is the target's whatever its arguments.
  target_called_ = true;
  return false;
}

bool Notifier::restarted(const seccomp_notif& n) {
  std::unique_lock lock(mutex_);
  for (;;) {
    const auto item = std::find_if(pending_.begin(), pending_.end(), [&](const Pending& p) {
      return p.pid == static_cast<pid_t>(n.pid) && p.nr == n.data.nr && p.first_arg == n.data.args[0];
    });
    if (item == pending_.end()) return false;
    // Its answer is going out: if it arrives, this is the thread's next call, not a restart.
    if (item->answering) {
      changed_.wait(lock);
      continue;
    }
    item->id = n.id;          // the held answer goes to the call waiting now
    if (item->undelivered) {  // its time has come already
      item->undelivered = false;
      item->due = std::chrono::steady_clock::now();
      std::make_heap(pending_.begin(), pending_.end(), std::greater<>());
      changed_.notify_all();
    }
    return true;
  }
}

void Notifier::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  const std::uint64_t one = 1;
  (void)!::write(stop_event_.get(), &one, sizeof one);
  changed_.notify_all();
  if (receiver_.joinable()) receiver_.join();
  if (delayer_.joinable()) delayer_.join();
}

bool Notifier::wait_finished(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, timeout, [this] { return finished_; });
}

bool Notifier::answer(std::uint64_t id, std::optional<int> error, std::int64_t value, bool pass) {
  seccomp_notif_resp response{};
  response.id = id;
  if (pass) {
    response.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
  } else if (error) {
    response.error = -*error;
  } else {
    response.val = value;
  }
  // ENOENT: the call is no longer waiting (a signal interrupted it, or the caller was killed or
  // exec'ed): nothing received the answer.
  return ::ioctl(listener_.get(), SECCOMP_IOCTL_NOTIF_SEND, &response) == 0;
}

void Notifier::deliver(Pending item) {
  // The events keep the time the call was trapped (inside the rules' windows), even when a delay
  // delivers the answer after a window closed.
  if (answer(item.id, item.error, item.value, item.pass)) record_acts(item);
}

void Notifier::record_acts(Pending& delivered) {
  for (auto& [rule, event] : delivered.acts) records_.acted(rule, std::move(event));
}

void Notifier::deliver_due(std::unique_lock<std::mutex>& lock) {
  // How long a call whose answer found nobody waits for its restart (the handler runs first).
  constexpr std::chrono::milliseconds kRestartGrace{200};
  const std::uint64_t seq = pending_.front().seq;
  const auto find = [&] {
    return std::find_if(pending_.begin(), pending_.end(), [&](const Pending& p) { return p.seq == seq; });
  };
  Pending& due = pending_.front();
  due.answering = true;
  const std::uint64_t id = due.id;
  const auto error = due.error;
  const auto value = due.value;
  const bool pass = due.pass;
  lock.unlock();
  const bool delivered = answer(id, error, value, pass);
  lock.lock();
  const auto it = find();  // only this thread removes items: it is still there
  it->answering = false;
  changed_.notify_all();
  if (delivered) {
    record_acts(*it);
  } else if (!it->undelivered) {
    it->undelivered = true;
    it->due = std::chrono::steady_clock::now() + kRestartGrace;
    std::make_heap(pending_.begin(), pending_.end(), std::greater<>());
    return;
  }
  // Delivered, or not restarted within the grace: the fault never reached that call.
  pending_.erase(it);
  std::make_heap(pending_.begin(), pending_.end(), std::greater<>());
}

void Notifier::receive_loop() {
  auto finish = [this] {
    std::lock_guard lock(mutex_);
    finished_ = true;
    changed_.notify_all();
  };
  pollfd wait_fds[2] = {{harness_end_.get(), POLLIN, 0}, {stop_event_.get(), POLLIN, 0}};
  while (::poll(wait_fds, 2, -1) < 0 && errno == EINTR) {
  }
  if (wait_fds[1].revents) return finish();
  listener_ = receive_fd(harness_end_.get());
  harness_end_.reset();
  if (!listener_) return finish();  // the child failed before loading the filter
  listener_received_ = true;
  std::uint64_t sync_flags = SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP;
  (void)::ioctl(listener_.get(), SECCOMP_IOCTL_NOTIF_SET_FLAGS, sync_flags);  // best effort: Linux >= 6.6

  wait_fds[0].fd = listener_.get();
  for (;;) {
    wait_fds[0].revents = wait_fds[1].revents = 0;
    if (::poll(wait_fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (wait_fds[1].revents) break;
    if (!(wait_fds[0].revents & POLLIN)) {
      if (wait_fds[0].revents & (POLLHUP | POLLERR)) break;  // no task runs under the filter any more
      continue;
    }
    seccomp_notif notification;
    std::memset(&notification, 0, sizeof notification);  // the kernel insists on a zeroed buffer
    if (::ioctl(listener_.get(), SECCOMP_IOCTL_NOTIF_RECV, &notification) != 0) continue;
    handle(notification);
  }
  finish();
}

void Notifier::handle(const seccomp_notif& n) {
  if (own_exec(n)) {
    answer(n.id, std::nullopt, 0, true);
    return;
  }
  if (restarted(n)) return;
  ++notifications_;
  const auto trapped = std::chrono::steady_clock::now();
  const auto [begin, end] = rules_by_syscall_.equal_range(n.data.nr);
  std::optional<std::optional<std::string>> path;      // read once, for the first rule that needs it
  std::optional<std::optional<std::string>> resolved;  // the same through its symlinks, when it differs
  const auto where = path_argument(n.data.nr);
  auto read_path = [&]() -> const std::optional<std::string>& {
    if (!path) {
      path.emplace(where ? target_path(n.data, static_cast<pid_t>(n.pid), *where) : std::nullopt);
      // The pid may have been reused by another process since the call was trapped: what was read
      // then belongs to someone else, so decide nothing on it.
      if (::ioctl(listener_.get(), SECCOMP_IOCTL_NOTIF_ID_VALID, &n.id) != 0) path.emplace(std::nullopt);
    }
    return *path;
  };

  auto event_for = [&](const Rule& rule) {
    FaultEvent event;
    event.time = trapped;
    event.pid = static_cast<pid_t>(n.pid);
    event.syscall = syscall_name(n.data.nr);
    if (where) {
      const auto& subject = read_path();
      if (where->kind == PathArgument::Kind::fd)
        event.subject = "fd " + std::to_string(static_cast<int>(n.data.args[where->index])) +
                        (subject ? " (" + *subject + ")" : "");
      else if (subject)
        event.subject = *subject;
    }
    event.error = rule.action.error.value_or(0);
    event.return_value = rule.action.error ? std::nullopt : rule.action.return_value;
    event.delay = rule.action.delay;
    return event;
  };

  // Every rule is independent: each active rule whose filters match counts the call and decides on
  // it by its own selection, whatever an earlier rule decided. Delays add up; the first selecting
  // rule with an errno or return value answers the call, and a later one that would fail it too
  // did not act (its hit is not counted).
  Pending held{};
  held.id = n.id;
  held.pid = static_cast<pid_t>(n.pid);
  held.nr = n.data.nr;
  held.first_arg = n.data.args[0];
  held.pass = true;
  std::chrono::nanoseconds delay{0};
  for (auto it = begin; it != end; ++it) {
    const std::size_t index = it->second;
    const Rule& rule = rules_[index];
    if (!active_[index]->load(std::memory_order_relaxed)) continue;
    if (rule.path_glob) {
      const auto& subject = read_path();
      if (!subject) continue;
      if (::fnmatch(rule.path_glob->c_str(), subject->c_str(), 0) != 0) {
        if (where->kind == PathArgument::Kind::fd) continue;  // its link is resolved already
        if (!resolved) resolved.emplace(resolved_path(*subject));
        if (!*resolved || ::fnmatch(rule.path_glob->c_str(), (*resolved)->c_str(), 0) != 0) continue;
      }
    }
    if (rule.fds != FdKind::any) {
      const auto& subject = read_path();  // the fd's /proc link: make_rule allows fd-taking calls only
      if (!subject || !fd_link_is(rule.fds, *subject)) continue;
    }
    const std::uint64_t call_index = ++counters_[index];
    records_.matched(index, trapped);
    if (!rule.selection.selects(call_index, index)) continue;
    const bool fails = rule.action.error || rule.action.return_value;
    if (fails && !held.pass) continue;
    if (fails) {
      held.pass = false;
      held.error = rule.action.error;
      held.value = rule.action.return_value.value_or(0);
    }
    delay += rule.action.delay;
    held.acts.emplace_back(index, event_for(rule));
  }
  if (held.acts.empty()) {
    answer(n.id, std::nullopt, 0, true);
    return;
  }
  for (auto& act : held.acts) act.second.held = delay;
  if (delay.count() == 0) return deliver(std::move(held));
  held.due = std::chrono::steady_clock::now() + delay;
  std::lock_guard lock(mutex_);
  held.seq = next_seq_++;
  pending_.push_back(std::move(held));
  std::push_heap(pending_.begin(), pending_.end(), std::greater<>());
  changed_.notify_all();
}

void Notifier::delay_loop() {
  std::unique_lock lock(mutex_);
  for (;;) {
    if (stopping_) break;
    if (pending_.empty()) {
      changed_.wait(lock);
      continue;
    }
    const auto due = pending_.front().due;
    if (std::chrono::steady_clock::now() < due) {
      changed_.wait_until(lock, due);
      continue;
    }
    deliver_due(lock);
  }
  // Stopping: nobody would answer the held calls any more, so they run now.
  for (auto& item : pending_) deliver(std::move(item));
  pending_.clear();
}

}  // namespace faultline::syscall
