#include "syscall/rules.h"

#include <seccomp.h>
#include <sys/syscall.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <mutex>

#include "common/error.h"
#include "scenario/did_you_mean.h"
#include "scenario/loader.h"

namespace faultline::syscall {

namespace {

#define FAULTLINE_ERRNO(name) \
  { #name, name }
const std::vector<std::pair<std::string, int>>& errno_table() {
  static const std::vector<std::pair<std::string, int>> table = {
      FAULTLINE_ERRNO(EPERM),           FAULTLINE_ERRNO(ENOENT),        FAULTLINE_ERRNO(ESRCH),
      FAULTLINE_ERRNO(EINTR),           FAULTLINE_ERRNO(EIO),           FAULTLINE_ERRNO(ENXIO),
      FAULTLINE_ERRNO(E2BIG),           FAULTLINE_ERRNO(ENOEXEC),       FAULTLINE_ERRNO(EBADF),
      FAULTLINE_ERRNO(ECHILD),          FAULTLINE_ERRNO(EAGAIN),        FAULTLINE_ERRNO(ENOMEM),
      FAULTLINE_ERRNO(EACCES),          FAULTLINE_ERRNO(EFAULT),        FAULTLINE_ERRNO(EBUSY),
      FAULTLINE_ERRNO(EEXIST),          FAULTLINE_ERRNO(EXDEV),         FAULTLINE_ERRNO(ENODEV),
      FAULTLINE_ERRNO(ENOTDIR),         FAULTLINE_ERRNO(EISDIR),        FAULTLINE_ERRNO(EINVAL),
      FAULTLINE_ERRNO(ENFILE),          FAULTLINE_ERRNO(EMFILE),        FAULTLINE_ERRNO(ENOTTY),
      FAULTLINE_ERRNO(ETXTBSY),         FAULTLINE_ERRNO(EFBIG),         FAULTLINE_ERRNO(ENOSPC),
      FAULTLINE_ERRNO(ESPIPE),          FAULTLINE_ERRNO(EROFS),         FAULTLINE_ERRNO(EMLINK),
      FAULTLINE_ERRNO(EPIPE),           FAULTLINE_ERRNO(ERANGE),        FAULTLINE_ERRNO(EDEADLK),
      FAULTLINE_ERRNO(ENAMETOOLONG),    FAULTLINE_ERRNO(ENOLCK),        FAULTLINE_ERRNO(ENOSYS),
      FAULTLINE_ERRNO(ENOTEMPTY),       FAULTLINE_ERRNO(ELOOP),         FAULTLINE_ERRNO(ENODATA),
      FAULTLINE_ERRNO(ETIME),           FAULTLINE_ERRNO(EOVERFLOW),     FAULTLINE_ERRNO(EILSEQ),
      FAULTLINE_ERRNO(EUSERS),          FAULTLINE_ERRNO(ENOTSOCK),      FAULTLINE_ERRNO(EDESTADDRREQ),
      FAULTLINE_ERRNO(EMSGSIZE),        FAULTLINE_ERRNO(EPROTOTYPE),    FAULTLINE_ERRNO(ENOPROTOOPT),
      FAULTLINE_ERRNO(EPROTONOSUPPORT), FAULTLINE_ERRNO(EOPNOTSUPP),    FAULTLINE_ERRNO(EAFNOSUPPORT),
      FAULTLINE_ERRNO(EADDRINUSE),      FAULTLINE_ERRNO(EADDRNOTAVAIL), FAULTLINE_ERRNO(ENETDOWN),
      FAULTLINE_ERRNO(ENETUNREACH),     FAULTLINE_ERRNO(ENETRESET),     FAULTLINE_ERRNO(ECONNABORTED),
      FAULTLINE_ERRNO(ECONNRESET),      FAULTLINE_ERRNO(ENOBUFS),       FAULTLINE_ERRNO(EISCONN),
      FAULTLINE_ERRNO(ENOTCONN),        FAULTLINE_ERRNO(ETIMEDOUT),     FAULTLINE_ERRNO(ECONNREFUSED),
      FAULTLINE_ERRNO(EHOSTDOWN),       FAULTLINE_ERRNO(EHOSTUNREACH),  FAULTLINE_ERRNO(EALREADY),
      FAULTLINE_ERRNO(EINPROGRESS),     FAULTLINE_ERRNO(ESTALE),        FAULTLINE_ERRNO(EDQUOT),
      FAULTLINE_ERRNO(ECANCELED),       FAULTLINE_ERRNO(EOWNERDEAD),    FAULTLINE_ERRNO(ENOTRECOVERABLE),
  };
  return table;
}
#undef FAULTLINE_ERRNO

std::vector<std::string> errno_names() {
  std::vector<std::string> names;
  for (const auto& [name, value] : errno_table()) names.push_back(name);
  return names;
}

// Names offered in did-you-mean hints: every number libseccomp knows for this architecture.
const std::vector<std::string>& host_syscall_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (int nr = 0; nr < 1024; ++nr) {
      char* name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
      if (name) {
        out.emplace_back(name);
        ::free(name);
      }
    }
    return out;
  }();
  return names;
}

std::vector<std::string> host_syscalls_where(bool (*wanted)(const PathArgument&)) {
  std::vector<std::string> out;
  for (const auto& name : host_syscall_names()) {
    const int nr = seccomp_syscall_resolve_name(name.c_str());
    if (nr == __NR_SCMP_ERROR) continue;
    if (const auto where = path_argument(nr); where && wanted(*where)) out.push_back(name);
  }
  return out;
}

}  // namespace

void add_host_tables(scenario::LoadOptions& options) {
  options.syscall_names = host_syscall_names();
  options.errno_names = errno_names();
  options.syscalls_with_path_or_fd = host_syscalls_where([](const PathArgument&) { return true; });
  options.syscalls_with_fd =
      host_syscalls_where([](const PathArgument& a) { return a.kind == PathArgument::Kind::fd; });
}

namespace {

std::string hint(const std::optional<std::string>& match) {
  return match ? " (did you mean `" + *match + "`?)" : "";
}

// SplitMix64: a well-mixed, stable function of (seed, rule, call index), the same on every host.
std::uint64_t mix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace

int resolve_syscall(const std::string& name) {
  const int nr = seccomp_syscall_resolve_name(name.c_str());
  if (nr < 0)
    throw Error("unknown system call `" + name + "` on this host" +
                hint(scenario::closest_match(name, host_syscall_names())) +
                "; hint: names as in syscalls(2), e.g. openat, write, fsync");
  return nr;
}

std::string syscall_name(int number) {
  char* name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, number);
  if (!name) return "syscall " + std::to_string(number);
  std::string out(name);
  ::free(name);
  return out;
}

int errno_from_name(const std::string& name) {
  for (const auto& [known, value] : errno_table())
    if (known == name) return value;
  throw Error("unknown errno `" + name + "`" + hint(scenario::closest_match(name, errno_names())) +
              "; hint: a name from errno(3) such as ENOSPC, EIO, EINTR");
}

std::string errno_name(int value) {
  for (const auto& [name, known] : errno_table())
    if (known == value) return name;
  return "errno " + std::to_string(value);
}

bool Selection::selects(std::uint64_t call_index, std::uint64_t rule_salt) const {
  switch (kind) {
    case Kind::every_call:
      return true;
    case Kind::every:
      return n > 0 && call_index % n == 0;
    case Kind::nth:
      return call_index == n;
    case Kind::after:
      return call_index > n;
    case Kind::probability: {
      const std::uint64_t draw = mix(seed ^ mix(rule_salt ^ mix(call_index)));
      // The top 53 bits as a double in [0, 1).
      return static_cast<double>(draw >> 11) * 0x1.0p-53 < probability;
    }
  }
  return false;
}

Rule make_rule(const RuleSpec& spec) {
  const std::string where = "syscall fault `" + spec.name + "`";
  Rule rule;
  rule.name = spec.name;
  if (spec.syscalls.empty()) throw Error(where + ": no system calls listed; hint: syscalls = [\"write\"]");
  try {
    for (const auto& name : spec.syscalls) {
      const int number = resolve_syscall(name);
      // Listed twice, a call would be counted twice: `nth = 7` would pick the 4th call.
      if (std::find(rule.syscalls.begin(), rule.syscalls.end(), number) == rule.syscalls.end())
        rule.syscalls.push_back(number);
    }
    if (spec.errno_name) rule.action.error = errno_from_name(*spec.errno_name);
  } catch (const Error& e) {
    throw e.with_context(where);
  }
  if (spec.errno_name && spec.return_value)
    throw Error(where + ": both an errno and a return value; hint: keep one of them");
  rule.action.return_value = spec.return_value;
  if (spec.delay.count() < 0) throw Error(where + ": negative delay");
  rule.action.delay = spec.delay;
  if (!rule.action.error && !rule.action.return_value && rule.action.delay.count() == 0)
    throw Error(where + ": does nothing; hint: give an errno, a return value or a delay");

  const auto& sel = spec.selection;
  using Kind = Selection::Kind;
  if ((sel.kind == Kind::every || sel.kind == Kind::nth) && sel.n == 0)
    throw Error(where + ": every/nth must be at least 1");
  if (sel.kind == Kind::probability && !(sel.probability >= 0.0 && sel.probability <= 1.0))
    throw Error(where + ": probability " + std::to_string(sel.probability) + " is not within [0, 1]");
  rule.selection = sel;

  if (spec.fds != FdKind::any) {
    for (std::size_t i = 0; i < rule.syscalls.size(); ++i) {
      const auto where_arg = path_argument(rule.syscalls[i]);
      if (!where_arg || where_arg->kind != PathArgument::Kind::fd)
        throw Error(where + ": `" + spec.syscalls[i] + "` takes no file descriptor, so `fds = \"" +
                    to_string(spec.fds) +
                    "\"` cannot select its calls; hint: list it in another rule without `fds`");
    }
    rule.fds = spec.fds;
  }
  if (spec.path_glob) {
    if (spec.path_glob->empty()) throw Error(where + ": empty path glob");
    for (std::size_t i = 0; i < rule.syscalls.size(); ++i)
      if (!path_argument(rule.syscalls[i]))
        throw Error(where + ": `" + spec.syscalls[i] +
                    "` takes no path or file descriptor, so `path` cannot select its calls; hint: list it in "
                    "another rule without `path`");
    rule.path_glob = spec.path_glob;
  }
  return rule;
}

bool fd_link_is(FdKind kind, const std::string& link) {
  switch (kind) {
    case FdKind::any:
      return true;
    case FdKind::sockets:
      return link.starts_with("socket:");
    case FdKind::files:
      return link.starts_with("/");
  }
  return false;
}

const char* to_string(FdKind kind) {
  switch (kind) {
    case FdKind::any:
      return "any";
    case FdKind::sockets:
      return "sockets";
    case FdKind::files:
      return "files";
  }
  return "any";
}

std::optional<PathArgument> path_argument(int nr) {
  using K = PathArgument::Kind;
  switch (nr) {
#ifdef SYS_open
    case SYS_open:
    case SYS_creat:
    case SYS_stat:
    case SYS_lstat:
    case SYS_access:
    case SYS_unlink:
    case SYS_mkdir:
    case SYS_rmdir:
    case SYS_rename:
    case SYS_readlink:
    case SYS_chmod:
    case SYS_chown:
    case SYS_lchown:
    case SYS_link:
#endif
    case SYS_truncate:
    case SYS_chdir:
    case SYS_execve:
    case SYS_statfs:
    case SYS_setxattr:
    case SYS_getxattr:
    case SYS_listxattr:
    case SYS_removexattr:
      return PathArgument{K::path, 0};
    case SYS_openat:
    case SYS_openat2:
    case SYS_newfstatat:
    case SYS_statx:
    case SYS_faccessat:
    case SYS_faccessat2:
    case SYS_unlinkat:
    case SYS_mkdirat:
    case SYS_renameat:
    case SYS_renameat2:
    case SYS_readlinkat:
    case SYS_fchmodat:
    case SYS_fchownat:
    case SYS_linkat:
    case SYS_execveat:
    case SYS_utimensat:
    case SYS_mknodat:
      return PathArgument{K::dirfd_and_path, 1};
    case SYS_read:
    case SYS_write:
    case SYS_pread64:
    case SYS_pwrite64:
    case SYS_readv:
    case SYS_writev:
    case SYS_preadv:
    case SYS_pwritev:
    case SYS_preadv2:
    case SYS_pwritev2:
    case SYS_fsync:
    case SYS_fdatasync:
    case SYS_syncfs:
    case SYS_sync_file_range:
    case SYS_ftruncate:
    case SYS_fallocate:
    case SYS_close:
    case SYS_fstat:
    case SYS_lseek:
    case SYS_getdents64:
    case SYS_fchmod:
    case SYS_fchown:
    case SYS_flock:
    case SYS_fcntl:
    case SYS_ioctl:
    case SYS_connect:
    case SYS_bind:
    case SYS_accept:
    case SYS_accept4:
    case SYS_sendto:
    case SYS_recvfrom:
    case SYS_sendmsg:
    case SYS_recvmsg:
    case SYS_shutdown:
    case SYS_sendfile:  // the output fd
      return PathArgument{K::fd, 0};
    case SYS_mmap:
      return PathArgument{K::fd, 4};
    default:
      return std::nullopt;
  }
}

}  // namespace faultline::syscall
