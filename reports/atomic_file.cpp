#include "reports/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "common/error.h"
#include "common/unique_fd.h"

namespace faultline::report {
namespace {

// Writes all of `content` to `fd`; `subject` names the file in the error.
void write_all(int fd, std::string_view content, const std::string& subject) {
  const char* data = content.data();
  std::size_t left = content.size();
  while (left > 0) {
    const ssize_t n = ::write(fd, data, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno("write", subject);
    }
    data += n;
    left -= static_cast<std::size_t>(n);
  }
}

// True when something other than a regular file is at `path`. lstat, not stat: a symlink
// counts as "something else" even when it points at a regular file.
bool is_special(const std::filesystem::path& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode);
}

// Writes into what is at `path`, following a symlink, as a shell's `>` would. A symlink is
// written through rather than resolved and replaced atomically: it may lead into /proc/self/fd
// (/dev/stdout is one), where the "target" is a file someone else holds open, and a rename
// there would detach it from them; writing through also needs no write access to the
// target's directory. The cost is that a reader of a symlinked report may see it half written.
void write_through(const std::filesystem::path& path, std::string_view content) {
  // O_CREAT only matters for a dangling symlink: it creates the target, as `>` does.
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_TRUNC | O_CREAT | O_CLOEXEC, 0644));
  if (!fd) throw_errno("open", path.string());
  write_all(fd.get(), content, path.string());
  // Pipes, sockets and character devices cannot be synced; that is no failure of the write.
  if (::fsync(fd.get()) != 0 && errno != EINVAL && errno != EROFS && errno != ENOTSUP)
    throw_errno("fsync", path.string());
  if (::close(fd.release()) != 0) throw_errno("close", path.string());
}

void write_via_rename(const std::filesystem::path& path, std::string_view content) {
  const auto dir = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  std::string tmpl = (dir / ("." + path.filename().string() + ".XXXXXX")).string();
  UniqueFd fd(::mkstemp(tmpl.data()));
  if (!fd) throw_errno("mkstemp", tmpl);
  try {
    write_all(fd.get(), content, tmpl);
  } catch (const SystemError&) {
    ::unlink(tmpl.c_str());
    throw;
  }
  ::fchmod(fd.get(), 0644);
  if (::fsync(fd.get()) != 0 || ::close(fd.release()) != 0) {
    const int err = errno;
    ::unlink(tmpl.c_str());
    throw SystemError("fsync/close", tmpl, err);
  }
  if (::rename(tmpl.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmpl.c_str());
    throw SystemError("rename", tmpl + " -> " + path.string(), err);
  }
}

}  // namespace

void write_file_atomically(const std::filesystem::path& path, std::string_view content) {
  // A rename over a device, FIFO, socket or symlink would replace it with a regular file (as
  // root, `--json /dev/full` once replaced the host's /dev/full).
  if (is_special(path))
    write_through(path, content);
  else
    write_via_rename(path, content);
}

}  // namespace faultline::report
