#include "supervisor/spawn.h"

#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>

#include "common/error.h"
#include "supervisor/fd_limit.h"

extern char** environ;

namespace faultline::supervisor {
namespace bp = boost::process::v2;

namespace {

// Which child-side step failed; sent to the parent through a CLOEXEC pipe so the failure can be
// reported with its cause instead of a bare exit code.
enum class ChildStep : int {
  parent_gone,
  enter_cgroup,
  set_nofile,
  redirect_stdio,
  chdir,
  drop_groups,
  set_gid,
  set_uid,
  close_fds,
  no_new_privs,
  load_filter,
  send_listener,
  exec
};

struct ChildReport {
  ChildStep step;
  int err;
};

const char* describe(ChildStep step) {
  switch (step) {
    case ChildStep::parent_gone:
      return "harness exited before the target started";
    case ChildStep::enter_cgroup:
      return "write cgroup.procs (entering the throwaway cgroup)";
    case ChildStep::set_nofile:
      return "setrlimit(RLIMIT_NOFILE)";
    case ChildStep::redirect_stdio:
      return "dup2 (connecting the target's stdin, stdout and stderr)";
    case ChildStep::chdir:
      return "chdir";
    case ChildStep::drop_groups:
      return "setgroups";
    case ChildStep::set_gid:
      return "setgid";
    case ChildStep::set_uid:
      return "setuid";
    case ChildStep::close_fds:
      return "close_range(3, ~0, CLOSE_RANGE_CLOEXEC) (closing the harness's fds in the target)";
    case ChildStep::no_new_privs:
      return "prctl(PR_SET_NO_NEW_PRIVS) (before loading the seccomp filter)";
    case ChildStep::load_filter:
      return "seccomp(SECCOMP_SET_MODE_FILTER, NEW_LISTENER) (loading the syscall fault filter)";
    case ChildStep::send_listener:
      return "sendmsg(SCM_RIGHTS) (handing the seccomp listener to the harness)";
    case ChildStep::exec:
      return "exec";
  }
  return "child setup";
}

// Runs in the vfork child between vfork and exec, on the harness's memory while the spawning
// thread waits: raw system calls only, nothing that allocates, locks or touches libc's state
// (glibc's setuid family would signal the harness's own threads, so those go through syscall()),
// and every failure ends in _exit, so the harness's stdio buffers are never flushed twice.
struct ChildSetup {
  const SpawnRequest& request;
  pid_t parent_pid;
  int report_fd;
  int stdin_fd;  // -1 each: inherit the harness's stream
  int stdout_fd;
  int stderr_fd;
  const char* cwd;  // null: inherit
  const char* executable;
  char* const* argv;
  char* const* envp;
  rlimit inherited_nofile;  // faultline's own limit as it was started (fd_limit.h)

  [[noreturn]] void fail(ChildStep step) const {
    const ChildReport report{step, errno};
    (void)!::write(report_fd, &report, sizeof report);
    ::_exit(127);
  }

  // Last before exec, so none of the steps above can be trapped; the listener is CLOEXEC and the
  // socket too, so the target inherits neither.
  void load_notify_filter() const {
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) fail(ChildStep::no_new_privs);
    const long listener = ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER,
                                    request.notify_filter);
    if (listener < 0) fail(ChildStep::load_filter);
    const int fd = static_cast<int>(listener);
    char byte = 0;
    iovec data{&byte, 1};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    msghdr message{};
    message.msg_iov = &data;
    message.msg_iovlen = 1;
    message.msg_control = control;
    message.msg_controllen = sizeof control;
    cmsghdr* header = CMSG_FIRSTHDR(&message);
    header->cmsg_level = SOL_SOCKET;
    header->cmsg_type = SCM_RIGHTS;
    header->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(header), &fd, sizeof fd);
    if (::sendmsg(request.notify_socket, &message, MSG_NOSIGNAL) != 1) fail(ChildStep::send_listener);
    // The listener is CLOEXEC: the exec closes it, one call fewer that could be trapped.
  }

  // The harness's handlers must not run here (on its memory) and the target must start with
  // the defaults, or it would silently ignore SIGTERM/SIGPIPE it never asked to ignore: every
  // signal arrives blocked (spawn blocks them around vfork), each handler of the harness is
  // reset, the ones the harness ignores are restored too, then the mask is cleared.
  void reset_signals() const {
    for (int sig = 1; sig < NSIG; ++sig) {
      if (sig == SIGKILL || sig == SIGSTOP) continue;
      struct sigaction current {};
      if (::sigaction(sig, nullptr, &current) != 0) continue;  // a signal number glibc reserves
      const bool harness_handler = current.sa_handler != SIG_DFL && current.sa_handler != SIG_IGN;
      const bool ignored_by_harness = sig == SIGPIPE || sig == SIGINT || sig == SIGTERM || sig == SIGQUIT ||
                                      sig == SIGHUP || sig == SIGCHLD;
      if (!harness_handler && !ignored_by_harness) continue;
      struct sigaction defaults {};
      defaults.sa_handler = SIG_DFL;
      ::sigaction(sig, &defaults, nullptr);
    }
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
  }

  void redirect(int from, int to) const {
    if (from < 0) return;
    // dup2 onto itself would keep the CLOEXEC flag, and the stream would close at exec.
    const bool ok = from == to ? ::fcntl(to, F_SETFD, 0) == 0 : ::dup2(from, to) == to;
    if (!ok) fail(ChildStep::redirect_stdio);
  }

  [[noreturn]] void run() const {
    reset_signals();
    // Direct children die with the harness; grandchildren are found through the cgroup.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent_pid) fail(ChildStep::parent_gone);
    redirect(stdin_fd, STDIN_FILENO);
    redirect(stdout_fd, STDOUT_FILENO);
    redirect(stderr_fd, STDERR_FILENO);

    if (request.attach_fds)
      for (const auto& fd : *request.attach_fds)
        if (::write(fd.get(), "0", 1) != 1) fail(ChildStep::enter_cgroup);

    // The harness raised its own soft limit for itself; a target starts with the one faultline
    // was given, or with the scenario's.
    const rlimit nofile = request.nofile ? rlimit{*request.nofile, *request.nofile} : inherited_nofile;
    if (::setrlimit(RLIMIT_NOFILE, &nofile) != 0) fail(ChildStep::set_nofile);
    if (cwd && ::chdir(cwd) != 0) fail(ChildStep::chdir);
    if (request.user) {
      if (::syscall(SYS_setgroups, request.user->groups.size(), request.user->groups.data()) != 0)
        fail(ChildStep::drop_groups);
      if (::syscall(SYS_setgid, request.user->gid) != 0) fail(ChildStep::set_gid);
      if (::syscall(SYS_setuid, request.user->uid) != 0) fail(ChildStep::set_uid);
    }

    // Every fd the harness has open (cgroup files, other targets' pipes) closes at the exec.
    // The report pipe is CLOEXEC already, so it stays usable until then.
    if (::syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) != 0) fail(ChildStep::close_fds);

    if (request.notify_filter) load_notify_filter();

    ::execve(executable, argv, envp);
    fail(ChildStep::exec);
  }
};

std::string lookup_path_variable(const std::vector<std::string>& env) {
  for (const auto& entry : env)
    if (entry.rfind("PATH=", 0) == 0) return entry.substr(5);
  const char* own = ::getenv("PATH");
  return own ? own : "/usr/local/bin:/usr/bin:/bin";
}

// execvp's search, done in the parent so a missing command is reported clearly.
std::optional<std::filesystem::path> find_executable(const std::string& name,
                                                     const std::vector<std::string>& env) {
  if (name.find('/') != std::string::npos) return std::filesystem::path(name);
  const std::string path = lookup_path_variable(env);
  std::size_t begin = 0;
  while (begin <= path.size()) {
    std::size_t end = path.find(':', begin);
    if (end == std::string::npos) end = path.size();
    std::filesystem::path dir = path.substr(begin, end - begin);
    if (dir.empty()) dir = ".";
    auto candidate = dir / name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    begin = end + 1;
  }
  return std::nullopt;
}

void open_pipe(UniqueFd& read_end, UniqueFd& write_end, const char* what) {
  int ends[2];
  if (::pipe2(ends, O_CLOEXEC) != 0) throw_errno("pipe2", what);
  read_end.reset(ends[0]);
  write_end.reset(ends[1]);
}

// vfork, not fork: the child borrows the harness's memory instead of copying its page tables,
// and the harness's event loop is not told of a fork it never sees. Kept out of line, so the
// child's calls run below this small frame and leave the caller's frame as it was.
[[gnu::noinline]] pid_t vfork_into(const ChildSetup& setup) {
  const pid_t pid = ::vfork();
  if (pid == 0) setup.run();
  return pid;
}

}  // namespace

UserIds resolve_user(const std::string& user) {
  std::vector<char> buffer(16384);
  passwd entry{};
  passwd* found = nullptr;
  const bool numeric = !user.empty() && user.find_first_not_of("0123456789") == std::string::npos;
  int rc = numeric ? ::getpwuid_r(static_cast<uid_t>(std::stoul(user)), &entry, buffer.data(), buffer.size(),
                                  &found)
                   : ::getpwnam_r(user.c_str(), &entry, buffer.data(), buffer.size(), &found);
  if (rc != 0) throw SystemError("getpwnam_r", user, rc);
  if (!found) throw Error("user `" + user + "` does not exist on this host");
  UserIds ids{entry.pw_uid, entry.pw_gid, {}};
  int count = 64;
  ids.groups.resize(count);
  if (::getgrouplist(entry.pw_name, entry.pw_gid, ids.groups.data(), &count) < 0) {
    ids.groups.resize(count);
    ::getgrouplist(entry.pw_name, entry.pw_gid, ids.groups.data(), &count);
  }
  ids.groups.resize(count);
  return ids;
}

std::vector<std::string> current_environment() {
  std::vector<std::string> env;
  for (char** e = environ; e && *e; ++e) env.emplace_back(*e);
  return env;
}

std::variant<Spawned, SpawnFailure> spawn(boost::asio::io_context& io, const SpawnRequest& request) {
  if (request.argv.empty()) return SpawnFailure{EINVAL, "empty command"};
  const auto executable = find_executable(request.argv[0], request.env);
  if (!executable)
    return SpawnFailure{ENOENT, "command `" + request.argv[0] + "` not found in PATH (" +
                                    lookup_path_variable(request.env) + ")"};

  int report_pipe[2];
  if (::pipe2(report_pipe, O_CLOEXEC) != 0) throw_errno("pipe2", "(child report pipe)");
  UniqueFd report_read(report_pipe[0]);
  UniqueFd report_write(report_pipe[1]);

  std::vector<char*> envp;
  envp.reserve(request.env.size() + 1);
  for (const auto& entry : request.env) envp.push_back(const_cast<char*>(entry.c_str()));
  envp.push_back(nullptr);
  // argv[0] is the path the PATH search resolved.
  std::vector<char*> argv;
  argv.reserve(request.argv.size() + 1);
  argv.push_back(const_cast<char*>(executable->c_str()));
  for (std::size_t i = 1; i < request.argv.size(); ++i)
    argv.push_back(const_cast<char*>(request.argv[i].c_str()));
  argv.push_back(nullptr);

  // The target's stdin is /dev/null and its stdout and stderr are pipes when output is captured;
  // otherwise it shares the harness's three streams.
  UniqueFd null_input, stdout_read, stdout_write, stderr_read, stderr_write;
  if (request.capture_output) {
    null_input.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    if (!null_input) throw_errno("open", "/dev/null (the target's stdin)");
    open_pipe(stdout_read, stdout_write, "(the target's stdout)");
    open_pipe(stderr_read, stderr_write, "(the target's stderr)");
  }

  const std::string cwd = request.cwd ? request.cwd->string() : std::string();
  const ChildSetup setup{request,
                         ::getpid(),
                         report_write.get(),
                         request.capture_output ? null_input.get() : -1,
                         request.capture_output ? stdout_write.get() : -1,
                         request.capture_output ? stderr_write.get() : -1,
                         request.cwd ? cwd.c_str() : nullptr,
                         executable->c_str(),
                         argv.data(),
                         envp.data(),
                         inherited_fd_limit()};

  // No handler of the harness may run in the child, which shares the harness's memory until it
  // execs: every signal stays blocked from before the vfork until the child has reset them.
  sigset_t all, previous;
  sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &previous);
  const pid_t pid = vfork_into(setup);
  const int vfork_errno = errno;
  ::pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  report_write.reset();
  null_input.reset();
  stdout_write.reset();
  stderr_write.reset();
  if (pid < 0)
    return SpawnFailure{vfork_errno,
                        "starting " + executable->string() + ": vfork: " + std::strerror(vfork_errno)};

  // The child has exec'd or _exited by now (vfork returns then): the report pipe is at end of file
  // after an exec, or carries the step that failed.
  ChildReport report{};
  if (::read(report_read.get(), &report, sizeof report) == static_cast<ssize_t>(sizeof report)) {
    ::waitpid(pid, nullptr, 0);  // no zombie
    std::string message = describe(report.step);
    if (report.step == ChildStep::chdir) message += " " + cwd;
    if (report.step == ChildStep::exec) message += " " + executable->string();
    return SpawnFailure{report.err, message + ": " + std::strerror(report.err)};
  }

  // Exit detection waits on a pidfd: no polling, no SIGCHLD.
  const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (pidfd < 0) {
    const int err = errno;
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    return SpawnFailure{err, "pidfd_open for " + executable->string() + ": " + std::strerror(err)};
  }
  Spawned spawned;
  spawned.pid = pid;
  spawned.process = std::make_unique<bp::process>(io.get_executor(), pid, pidfd);
  if (request.capture_output) {
    spawned.stdout_pipe.emplace(io, stdout_read.release());
    spawned.stderr_pipe.emplace(io, stderr_read.release());
  }
  return spawned;
}

}  // namespace faultline::supervisor
