#include "syscall/target_paths.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>

namespace faultline::syscall {

namespace {

std::optional<std::string> read_link(const std::string& link) {
  char buffer[PATH_MAX];
  const ssize_t n = ::readlink(link.c_str(), buffer, sizeof buffer);
  if (n < 0) return std::nullopt;
  return std::string(buffer, static_cast<std::size_t>(n));
}

// Lexically: symlinks are left to resolved_path. A trailing `/` stays, as the call wrote it.
std::string normal(const std::string& absolute) {
  return std::filesystem::path(absolute).lexically_normal().string();
}

}  // namespace

std::optional<std::string> read_target_string(pid_t pid, std::uint64_t address, std::size_t max) {
  static const std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  std::string out;
  char chunk[4096];
  while (out.size() < max) {
    const std::size_t to_page_end = page - (address % page);
    const std::size_t want = std::min({to_page_end, sizeof chunk, max - out.size()});
    iovec local{chunk, want};
    iovec remote{reinterpret_cast<void*>(address), want};
    const ssize_t n = ::process_vm_readv(pid, &local, 1, &remote, 1, 0);
    if (n <= 0) return std::nullopt;
    const void* end = std::memchr(chunk, '\0', static_cast<std::size_t>(n));
    if (end) {
      out.append(chunk, static_cast<const char*>(end) - chunk);
      return out;
    }
    out.append(chunk, static_cast<std::size_t>(n));
    address += static_cast<std::uint64_t>(n);
  }
  return std::nullopt;  // longer than PATH_MAX: the kernel would refuse it anyway
}

std::optional<std::string> target_path(const seccomp_data& call, pid_t pid, const PathArgument& where) {
  const std::string proc = "/proc/" + std::to_string(pid);
  const auto arg = call.args[where.index];
  if (where.kind == PathArgument::Kind::fd)
    return read_link(proc + "/fd/" + std::to_string(static_cast<int>(arg)));

  auto path = read_target_string(pid, arg, PATH_MAX);
  if (!path || path->empty()) return path;
  if (path->front() == '/') return normal(*path);
  std::optional<std::string> base;
  const int dirfd = where.kind == PathArgument::Kind::dirfd_and_path
                        ? static_cast<int>(call.args[where.index - 1])
                        : AT_FDCWD;
  if (dirfd != AT_FDCWD)
    base = read_link(proc + "/fd/" + std::to_string(dirfd));
  else
    base = read_link(proc + "/cwd");
  if (!base) return path;
  return normal((base->back() == '/' ? *base : *base + "/") + *path);
}

std::optional<std::string> resolved_path(const std::string& absolute) {
  std::error_code error;
  auto resolved = std::filesystem::weakly_canonical(absolute, error).string();
  if (error || resolved.empty() || resolved == absolute) return std::nullopt;
  return resolved;
}

}  // namespace faultline::syscall
