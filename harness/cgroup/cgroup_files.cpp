#include "cgroup/cgroup_files.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cmath>
#include <thread>

#include "common/error.h"
#include "common/unique_fd.h"
#include "common/units.h"

namespace faultline::cgroup {

namespace {

using Clock = std::chrono::steady_clock;

bool is_missing(int err) { return err == ENOENT || err == ENODEV || err == ENOTDIR; }

std::optional<std::string> read_fd_or_errno(const fs::path& path, int* err) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    *err = errno;
    return std::nullopt;
  }
  std::string text;
  std::array<char, 4096> buffer;
  for (;;) {
    ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      *err = errno;
      return std::nullopt;
    }
    if (n == 0) break;
    text.append(buffer.data(), static_cast<std::size_t>(n));
  }
  return text;
}

}  // namespace

std::string read_file(const fs::path& path) {
  int err = 0;
  auto text = read_fd_or_errno(path, &err);
  if (!text) throw SystemError("read", path.string(), err);
  return *text;
}

std::optional<std::string> read_file_if_exists(const fs::path& path) {
  int err = 0;
  auto text = read_fd_or_errno(path, &err);
  if (!text && !is_missing(err)) throw SystemError("read", path.string(), err);
  return text;
}

int try_write_file(const fs::path& path, std::string_view value) {
  // Nothing written changes nothing: a zero-length write "succeeds" while the kernel keeps its
  // value, and the caller would record a change that never happened.
  if (value.empty()) return EINVAL;
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd) return errno;
  for (;;) {
    ssize_t n = ::write(fd.get(), value.data(), value.size());
    if (n >= 0)
      return static_cast<std::size_t>(n) == value.size() ? 0 : EIO;  // a control file takes all or nothing
    if (errno != EINTR) return errno;
  }
}

void write_file(const fs::path& path, std::string_view value) {
  int err = try_write_file(path, value);
  if (err != 0) throw SystemError("write", "\"" + std::string(value) + "\" to " + path.string(), err);
}

std::string trim(std::string_view text) {
  const char* space = " \t\r\n";
  auto first = text.find_first_not_of(space);
  if (first == std::string_view::npos) return {};
  auto last = text.find_last_not_of(space);
  return std::string(text.substr(first, last - first + 1));
}

std::vector<std::string> split_words(std::string_view text) {
  std::vector<std::string> words;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    std::size_t start = i;
    while (i < text.size() && !std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    if (i > start) words.emplace_back(text.substr(start, i - start));
  }
  return words;
}

std::optional<std::uint64_t> parse_u64(std::string_view text) {
  std::string word = trim(text);
  if (word.empty() || !std::isdigit(static_cast<unsigned char>(word[0]))) return std::nullopt;
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(word.data(), word.data() + word.size(), value);
  if (ec != std::errc() || end != word.data() + word.size()) return std::nullopt;
  return value;
}

std::optional<std::uint64_t> parse_limit(std::string_view text) {
  if (trim(text) == "max") return kUnlimited;
  return parse_u64(text);
}

std::string limit_text(std::uint64_t value) { return value == kUnlimited ? "max" : std::to_string(value); }

std::uint64_t read_limit(const std::filesystem::path& file) {
  auto text = read_file(file);
  auto value = parse_limit(text);
  if (!value) throw Error(file.string() + ": unexpected content \"" + trim(text) + "\"");
  return *value;
}

std::optional<std::uint64_t> parse_v1_bytes_limit(std::string_view text) {
  auto value = parse_u64(text);
  // PAGE_COUNTER_MAX * PAGE_SIZE is LONG_MAX rounded down to a page (9223372036854771712 with
  // 4 KiB pages); anything at or above 2^62 can only be that sentinel.
  if (value && *value >= (std::uint64_t{1} << 62)) return kUnlimited;
  return value;
}

std::optional<std::uint64_t> keyed_value(std::string_view text, std::string_view key) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    auto words = split_words(text.substr(pos, end - pos));
    if (words.size() == 2 && words[0] == key) return parse_u64(words[1]);
    pos = end + 1;
  }
  return std::nullopt;
}

std::vector<pid_t> parse_pid_list(std::string_view text) {
  std::vector<pid_t> pids;
  for (const auto& word : split_words(text)) {
    if (auto value = parse_u64(word); value && *value > 0 && *value <= 0x7fffffff) {
      pids.push_back(static_cast<pid_t>(*value));
    }
  }
  return pids;
}

std::optional<CpuMaxLine> parse_cpu_max_line(std::string_view text) {
  auto words = split_words(text);
  if (words.size() != 2) return std::nullopt;
  CpuMaxLine line;
  auto period = parse_u64(words[1]);
  if (!period || *period == 0) return std::nullopt;
  line.period_usec = *period;
  if (words[0] != "max") {
    auto quota = parse_u64(words[0]);
    if (!quota) return std::nullopt;
    line.quota_usec = *quota;
  }
  return line;
}

std::optional<std::uint64_t> cpu_quota_usec(double cpus, std::uint64_t period_usec) {
  if (std::isinf(cpus)) return std::nullopt;
  // Never raised to the kernel's minimum behind the author's back: 10% of a 1ms period raised to
  // 1ms is a whole CPU, and a throttling fault would pass without throttling anything.
  if (auto problem = cpu_quota_problem(cpus, std::chrono::microseconds(period_usec)))
    throw Error("cannot set the CPU quota: " + problem->what + " (" + problem->fix + ")");
  return static_cast<std::uint64_t>(std::llround(cpus * static_cast<double>(period_usec)));
}

double cpus_from_quota(std::optional<std::uint64_t> quota_usec, std::uint64_t period_usec) {
  if (!quota_usec || period_usec == 0) return std::numeric_limits<double>::infinity();
  return static_cast<double>(*quota_usec) / static_cast<double>(period_usec);
}

bool is_known_leaf(const fs::path& dir) {
  struct stat st {};
  return ::stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode) && st.st_nlink == 2;
}

std::vector<fs::path> subdirectories(const fs::path& dir) {
  std::vector<fs::path> children;
  // A leaf cgroup, the common case, needs no listing of its 30-odd control files.
  if (is_known_leaf(dir)) return children;
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) {
    if (is_missing(ec.value())) return children;
    throw SystemError("opendir", dir.string(), ec.value());
  }
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    if (ec) break;
    std::error_code type_ec;
    if (it->is_directory(type_ec)) children.push_back(it->path());
  }
  std::sort(children.begin(), children.end());
  return children;
}

void remove_cgroup_tree(const fs::path& dir) {
  // Most trees are one directory: remove it first and list children only when the kernel says it
  // has some (or members), which saves a directory listing per cgroup removed.
  if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) return;
  if (errno != EBUSY && errno != ENOTEMPTY) throw_errno("rmdir", dir.string());  // ENOTEMPTY: not cgroupfs
  for (const auto& child : subdirectories(dir)) remove_cgroup_tree(child);
  auto deadline = Clock::now() + std::chrono::seconds(2);
  auto backoff = std::chrono::milliseconds(1);
  for (;;) {
    if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) return;
    if (errno != EBUSY || Clock::now() >= deadline) throw_errno("rmdir", dir.string());
    std::this_thread::sleep_for(backoff);
    backoff = std::min(backoff * 2, std::chrono::milliseconds(50));
  }
}

std::vector<pid_t> subtree_pids(const fs::path& dir) {
  std::vector<pid_t> pids;
  if (auto procs = read_file_if_exists(dir / "cgroup.procs")) pids = parse_pid_list(*procs);
  for (const auto& child : subdirectories(dir)) {
    auto below = subtree_pids(child);
    pids.insert(pids.end(), below.begin(), below.end());
  }
  return pids;
}

WaitResult wait_for_event_value(const fs::path& events_file, std::string_view key, std::uint64_t want,
                                Duration timeout) {
  UniqueFd notify(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
  if (!notify) throw_errno("inotify_init1", "");
  // Watch before the first read so that a change between the read and the poll is not lost.
  if (::inotify_add_watch(notify.get(), events_file.c_str(), IN_MODIFY | IN_DELETE_SELF) < 0) {
    if (is_missing(errno)) return WaitResult::gone;
    throw_errno("inotify_add_watch", events_file.string());
  }
  auto deadline = Clock::now() + timeout;
  for (;;) {
    auto text = read_file_if_exists(events_file);
    if (!text) return WaitResult::gone;
    auto value = keyed_value(*text, key);
    if (!value) throw Error("no `" + std::string(key) + "` in " + events_file.string());
    if (*value == want) return WaitResult::reached;
    auto remaining = deadline - Clock::now();
    if (remaining <= Duration::zero()) return WaitResult::timed_out;
    auto ms = std::chrono::ceil<std::chrono::milliseconds>(remaining).count();
    pollfd pfd{notify.get(), POLLIN, 0};
    if (::poll(&pfd, 1, static_cast<int>(std::min<long long>(ms, 60000))) < 0 && errno != EINTR) {
      throw_errno("poll", "inotify on " + events_file.string());
    }
    std::array<char, 4096> drain;
    while (::read(notify.get(), drain.data(), drain.size()) > 0) {
    }
  }
}

}  // namespace faultline::cgroup
