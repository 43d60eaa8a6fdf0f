#include "injectors/memory_injector.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <thread>

#include "common/error.h"

namespace faultline::injectors {

namespace {
const char* knob_file(bool hard) { return hard ? "memory.max" : "memory.high"; }

// Charges `bytes` to `group` from a short-lived child, then lets it exit.
// Known limit: the child is a fork of the harness and inherits its resident pages, so when the
// harness is larger than the target (a sanitizer build) the OOM killer picks the child and the
// squeeze fails; raising the child's oom_score_adj protection needs CAP_SYS_RESOURCE.
// Returns whether it finished within the time allowed (else it was killed).
bool charge_from_child(const cgroup::Cgroup& group, std::uint64_t bytes) {
  const auto attach = group.open_attach_fds();
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) throw_errno("fork", "memory pressure child for " + group.describe());
  if (pid == 0) {  // only async-signal-safe calls from here on
    // Everything that allocates kernel memory happens before joining: inside, the cgroup is
    // at its limit and such allocations fail instead of reclaiming.
    // Exempt from the OOM killer where the harness may (CAP_SYS_RESOURCE); elsewhere it is
    // still the smallest candidate when the first kill happens, its charge having just begun.
    const int adj = ::open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
    if (adj >= 0 && ::write(adj, "-1000", 5) != 5) {
      // not allowed here: keep the default
    }
    void* block = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (block == MAP_FAILED) ::_exit(122);
    for (const auto& fd : attach)
      if (::write(fd.get(), "0", 1) != 1) ::_exit(120);
    for (std::uint64_t off = 0; off < bytes; off += 4096) static_cast<volatile char*>(block)[off] = 1;
    ::_exit(0);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  int status = 0;
  while (::waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

// cgroup v2 answers a hard limit below the usage with reclaim and then the OOM killer; cgroup
// v1 refuses the write with EBUSY once reclaim fails and kills nothing. For one meaning on
// both, a refused squeeze pins the limit at today's usage and charges the difference from a
// short-lived child: the kernel's OOM killer then kills what uses the most memory in the
// cgroup, as v2 would have, and once the child exits the new limit fits.
void set_hard_limit(cgroup::Cgroup& group, std::uint64_t bytes) {
  try {
    group.set_memory_max(bytes);
    return;
  } catch (const SystemError& e) {
    if (e.code() != EBUSY) throw;
  }
  std::uint64_t pinned = 0;
  for (int attempt = 0; attempt < 20 && pinned == 0; ++attempt) {
    const std::uint64_t usage = group.stats().memory_current.value_or(0);
    if (usage <= bytes) break;  // it shrank by itself meanwhile
    try {
      group.set_memory_max(usage + (1u << 20));  // usage moves while we read it
      pinned = usage + (1u << 20);
    } catch (const SystemError& e) {
      if (e.code() != EBUSY) throw;
    }
  }
  if (pinned > bytes) charge_from_child(group, pinned - bytes);
  // The OOM kill frees the victim's memory only once it has finished exiting, which can take
  // a while on a loaded machine: v1 answers EBUSY until then, and offers no event for it.
  for (int attempt = 0;; ++attempt) {
    try {
      group.set_memory_max(bytes);
      return;
    } catch (const SystemError& e) {
      if (e.code() != EBUSY || attempt == 100)
        throw e.with_context("squeezing " + group.describe() + " below its usage");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}
}  // namespace

MemoryInjector::MemoryInjector(const scenario::MemoryFault& fault) : fault_(fault) {}

void MemoryInjector::write(cgroup::Cgroup& group, bool hard, std::uint64_t bytes) {
  if (hard)
    set_hard_limit(group, bytes);
  else
    group.set_memory_high(bytes);
}

std::string MemoryInjector::apply(const Target& target) {
  std::string detail;
  const auto append = [&](const std::string& part) { detail += (detail.empty() ? "" : ", ") + part; };
  // The ramp follows `limit` when both are given; `high` is then set at once.
  const bool ramp_hard = fault_.limit.has_value();
  for (const bool hard : {true, false}) {
    const auto& wanted = hard ? fault_.limit : fault_.high;
    if (!wanted) continue;
    const std::uint64_t old = hard ? target.group.memory_max() : target.group.memory_high();
    (hard ? old_max_ : old_high_) = old;
    if (fault_.over && hard == ramp_hard) {
      // From "max" there is no limit to start the ramp from: start at what the cgroup uses, the
      // first value that binds.
      std::uint64_t from = old;
      if (from == kUnlimited) from = target.group.stats().memory_current.value_or(*wanted);
      if (from > *wanted) {
        Ramp r;
        r.hard = hard;
        r.from = from;
        r.to = *wanted;
        r.steps = static_cast<std::uint32_t>(std::max<std::int64_t>(1, *fault_.over / kRampStep));
        r.interval = *fault_.over / r.steps;
        ramp_ = r;
        append(std::string(knob_file(hard)) + " " + format_size(old) + " -> " + format_size(*wanted) +
               " over " + format_duration(*fault_.over) + " (" + std::to_string(r.steps) + " steps from " +
               format_size(from) + ")");
        continue;
      }
    }
    write(target.group, hard, *wanted);
    append(std::string(knob_file(hard)) + " " + format_size(old) + " -> " + format_size(*wanted));
  }
  return detail;
}

std::optional<Duration> MemoryInjector::step_interval() const {
  if (!ramp_) return std::nullopt;
  return ramp_->interval;
}

std::optional<std::string> MemoryInjector::step(const Target& target) {
  if (!ramp_ || ramp_->done >= ramp_->steps) return std::nullopt;
  Ramp& r = *ramp_;
  ++r.done;
  const double fraction = static_cast<double>(r.done) / r.steps;
  std::uint64_t value = r.to;
  if (r.done < r.steps)
    value = r.from - static_cast<std::uint64_t>(static_cast<double>(r.from - r.to) * fraction);
  write(target.group, r.hard, value);
  return std::string(knob_file(r.hard)) + " " + format_size(value) + " (step " + std::to_string(r.done) +
         " of " + std::to_string(r.steps) + ")";
}

std::string MemoryInjector::revert(const Target& target) {
  std::string detail;
  if (ramp_) ramp_->done = ramp_->steps;   // a revert ends the ramp
  for (const bool hard : {false, true}) {  // memory.high first: it must not end above max
    const auto& old = hard ? old_max_ : old_high_;
    if (!old) continue;
    const std::uint64_t now = hard ? target.group.memory_max() : target.group.memory_high();
    write(target.group, hard, *old);
    detail += (detail.empty() ? "" : ", ") + std::string(knob_file(hard)) + " " + format_size(now) + " -> " +
              format_size(*old);
  }
  return detail;
}

std::string MemoryInjector::describe() const {
  std::string text = "memory";
  if (fault_.limit) text += " limit " + format_size(*fault_.limit);
  if (fault_.high) text += " high " + format_size(*fault_.high);
  if (fault_.over) text += " over " + format_duration(*fault_.over);
  return text;
}

}  // namespace faultline::injectors
