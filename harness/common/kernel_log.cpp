#include "common/kernel_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <string>

#include "common/proc_status.h"
#include "common/unique_fd.h"

namespace faultline::kernel_log {

bool record_names_oom_kill(std::string_view record, pid_t pid, std::chrono::microseconds since) {
  const auto header_end = record.find(';');
  if (header_end == std::string_view::npos) return false;
  // The header's third field is the record's time in µs since boot.
  const auto header = record.substr(0, header_end);
  const auto first = header.find(',');
  const auto second = first == std::string_view::npos ? first : header.find(',', first + 1);
  if (second == std::string_view::npos) return false;
  const auto third_end = header.find(',', second + 1);
  const auto stamp_text = header.substr(
      second + 1, third_end == std::string_view::npos ? std::string_view::npos : third_end - second - 1);
  long long stamp = 0;
  const auto [end, error] = std::from_chars(stamp_text.data(), stamp_text.data() + stamp_text.size(), stamp);
  if (error != std::errc() || end != stamp_text.data() + stamp_text.size() || stamp < since.count())
    return false;
  const auto message = record.substr(header_end + 1);
  // The OOM killer's own line ("Memory cgroup out of memory: Killed process 42 (comm) ...",
  // or "Out of memory: ..." for the whole machine); nothing else in the kernel words it so.
  const std::string needle = "Killed process " + std::to_string(pid) + " (";
  return message.find(needle) != std::string_view::npos;
}

namespace {
// The log names processes by their pid in the initial pid namespace. In a nested one (a
// container with its own pids) the numbers faultline knows are others, so the log cannot say.
// Asked of the namespace itself: /proc/self/status's NSpid lists only the levels from the
// mounted /proc's namespace down, one level in a container that mounts its own.
bool in_initial_pid_namespace() { return pid_namespace_of("/proc/self") == kInitialPidNamespace; }
}  // namespace

std::optional<bool> oom_killed(pid_t pid, std::chrono::steady_clock::time_point since) {
  if (!in_initial_pid_namespace()) return std::nullopt;
  UniqueFd log(::open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  if (!log) return std::nullopt;
  // The log stamps with the scheduler clock, which can run a little apart from CLOCK_MONOTONIC: a
  // second of slack (an earlier process with the same pid killed within it is not a real risk).
  const auto since_us = std::chrono::duration_cast<std::chrono::microseconds>(since.time_since_epoch()) -
                        std::chrono::seconds(1);
  char record[8192];  // each read returns one whole record
  bool read_any = false;
  for (;;) {
    const ssize_t n = ::read(log.get(), record, sizeof record);
    if (n < 0) {
      if (errno == EPIPE) continue;  // records overwritten while reading: go on with the next
      if (errno == EINTR) continue;
      break;  // EAGAIN: the end of the log
    }
    if (n == 0) break;
    read_any = true;
    if (record_names_oom_kill(std::string_view(record, static_cast<std::size_t>(n)), pid, since_us))
      return true;
  }
  if (!read_any) return std::nullopt;  // e.g. EPERM on read where dmesg is restricted
  return false;
}

}  // namespace faultline::kernel_log
