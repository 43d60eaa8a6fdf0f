#include "supervisor/spawn.h"

#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
#include <linux/seccomp.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/process/v2/posix/default_launcher.hpp>
#include <boost/process/v2/stdio.hpp>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fstream>
#include <memory>
#include <optional>

#include "common/error.h"
#include "supervisor/adoption.h"
#include "supervisor/fd_limit.h"

extern char** environ;

namespace faultline::supervisor {
namespace bp = boost::process::v2;

namespace {

// Boost 1.81: the launcher's notify_fork(fork_prepare) stops asio's resolver thread, and
// fork_parent does not start it again; it starts only with the next async_resolve. A name
// resolution queued before a spawn (a check on `localhost` that is retried only once it answers)
// would wait forever. A resolution of a numeric address, answered at once, starts it again;
// only where the loop has resolved anything (the service exists).
void restart_resolver_thread(boost::asio::io_context& io) {
  using ResolverService = boost::asio::detail::resolver_service<boost::asio::ip::tcp>;
  if (!boost::asio::has_service<ResolverService>(io)) return;
  auto resolver = std::make_shared<boost::asio::ip::tcp::resolver>(io);
  resolver->async_resolve(
      "127.0.0.1", "0",
      boost::asio::ip::resolver_base::numeric_host | boost::asio::ip::resolver_base::numeric_service,
      [resolver](const boost::system::error_code&, const boost::asio::ip::tcp::resolver::results_type&) {});
}

// Which child-side step failed; sent to the parent through a CLOEXEC pipe so the failure can be
// reported with its cause instead of a bare exit code.
enum class ChildStep : int {
  parent_gone,
  enter_cgroup,
  set_nofile,
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

// exec reports ENOENT for a file that exists when what it names is missing: the interpreter of
// a `#!` line, or the ELF program's loader. "No such file or directory" about a file that is
// plainly there sends the author looking in the wrong place.
std::string missing_interpreter_hint(const std::filesystem::path& executable) {
  std::ifstream file(executable, std::ios::binary);
  std::string first_line;
  if (!file || !std::getline(file, first_line)) return {};
  if (first_line.starts_with("#!")) {
    std::string interpreter = first_line.substr(2);
    const auto begin = interpreter.find_first_not_of(" \t");
    if (begin == std::string::npos) return " (its #! line names no interpreter)";
    interpreter = interpreter.substr(begin, interpreter.find_first_of(" \t", begin) - begin);
    if (interpreter.ends_with('\r'))  // the kernel looks for "/bin/sh\r"
      return " (its #! line ends in a carriage return: the file has CRLF (Windows) line endings)";
    return " (the interpreter " + interpreter + " named by its #! line was not found)";
  }
  if (first_line.starts_with("\x7f"
                             "ELF"))
    return " (the file exists, but the program loader it names was not found: built for another system?)";
  return {};
}

// Runs in the forked child between fork and exec: async-signal-safe calls only. It execs the
// target itself, so Boost's own failure path (which calls exit() and so flushes the child's copy
// of the parent's stdio buffers a second time) is never reached: every failure ends in _exit.
struct ChildSetup {
  const SpawnRequest& request;
  pid_t parent_pid;
  int report_fd;
  const char* cwd;  // null: inherit
  const char* executable;
  char* const* argv;
  char* const* shell_argv;  // /bin/sh, the file, its arguments: for a file without #!
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

  bp::error_code on_exec_setup(bp::posix::default_launcher&, const std::filesystem::path&,
                               const char* const*) const {
    // Direct children die with the harness; grandchildren are found through the cgroup.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent_pid) fail(ChildStep::parent_gone);

    if (request.attach_fds)
      for (const auto& fd : *request.attach_fds)
        if (::write(fd.get(), "0", 1) != 1) fail(ChildStep::enter_cgroup);

    // The harness raised its own soft limit for itself; a target starts with the one faultline
    // was given, or with the scenario's.
    const rlimit nofile = request.nofile ? rlimit{*request.nofile, *request.nofile} : inherited_nofile;
    if (::setrlimit(RLIMIT_NOFILE, &nofile) != 0) fail(ChildStep::set_nofile);
    if (cwd && ::chdir(cwd) != 0) fail(ChildStep::chdir);
    if (request.user) {
      if (::setgroups(request.user->groups.size(), request.user->groups.data()) != 0)
        fail(ChildStep::drop_groups);
      if (::setgid(request.user->gid) != 0) fail(ChildStep::set_gid);
      if (::setuid(request.user->uid) != 0) fail(ChildStep::set_uid);
    }

    // The harness blocks or ignores some signals for itself; a target must start with the
    // defaults, or it would silently ignore SIGTERM/SIGPIPE it never asked to ignore. Defaults
    // first, then the mask: a Ctrl-C held back since the fork then ends the child as it would
    // have ended the command, instead of running the harness's handler here.
    for (int sig : {SIGPIPE, SIGINT, SIGTERM, SIGQUIT, SIGHUP, SIGCHLD}) ::signal(sig, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);

    // Boost 1.81's close_all_fds compares each entry with itself and closes nothing, so every
    // fd the harness has open (cgroup files, other targets' pipes) would leak into the target.
    // The report pipe is CLOEXEC already, so it stays usable until the exec.
    if (::syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) != 0) fail(ChildStep::close_fds);

    if (request.notify_filter) load_notify_filter();

    ::execve(executable, argv, envp);
    // As execvp: a runnable file the kernel cannot load (a script without a #! line) is run by
    // /bin/sh, which old `make check` scripts rely on.
    if (errno == ENOEXEC) {
      ::execve(shell_argv[0], shell_argv, envp);
      errno = ENOEXEC;
    }
    fail(ChildStep::exec);
  }
};

std::string lookup_path_variable(const std::vector<std::string>& env) {
  for (const auto& entry : env)
    if (entry.rfind("PATH=", 0) == 0) return entry.substr(5);
  const char* own = ::getenv("PATH");
  return own ? own : "/usr/local/bin:/usr/bin:/bin";
}

// execvp's search, done in the parent so a missing command is reported clearly: the first
// executable regular file along PATH; a directory or a file without execute permission is passed
// over, and when nothing executable is found the first such file is returned, so its exec fails
// with EACCES (126) as execvp's would, instead of "not found".
std::optional<std::filesystem::path> find_executable(const std::string& name,
                                                     const std::vector<std::string>& env) {
  if (name.empty()) return std::nullopt;
  if (name.find('/') != std::string::npos) return std::filesystem::path(name);
  const std::string path = lookup_path_variable(env);
  std::optional<std::filesystem::path> not_runnable;
  std::size_t begin = 0;
  while (begin <= path.size()) {
    std::size_t end = path.find(':', begin);
    if (end == std::string::npos) end = path.size();
    std::filesystem::path dir = path.substr(begin, end - begin);
    if (dir.empty()) dir = ".";
    auto candidate = dir / name;
    struct stat st {};
    if (::stat(candidate.c_str(), &st) == 0) {
      if (S_ISREG(st.st_mode) && ::access(candidate.c_str(), X_OK) == 0) return candidate;
      if (!not_runnable) not_runnable = candidate;
    }
    begin = end + 1;
  }
  return not_runnable;
}

// Holds the harness's interrupt signals back in this thread across a fork, so the child inherits
// them blocked (see the reset in ChildSetup): the harness's handler must not run in a child,
// where it would wake the harness's event loop through the shared eventfd with a signal the
// harness never got. Released, they reach the harness as usual.
class InterruptsHeld {
 public:
  InterruptsHeld() {
    sigset_t interrupts;
    sigemptyset(&interrupts);
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) sigaddset(&interrupts, sig);
    ::pthread_sigmask(SIG_BLOCK, &interrupts, &before_);
  }
  ~InterruptsHeld() { ::pthread_sigmask(SIG_SETMASK, &before_, nullptr); }
  InterruptsHeld(const InterruptsHeld&) = delete;
  InterruptsHeld& operator=(const InterruptsHeld&) = delete;

 private:
  sigset_t before_;
};

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
  // argv[0] is the resolved path, as Boost's own exec would have passed it.
  std::vector<char*> argv;
  argv.reserve(request.argv.size() + 1);
  argv.push_back(const_cast<char*>(executable->c_str()));
  for (std::size_t i = 1; i < request.argv.size(); ++i)
    argv.push_back(const_cast<char*>(request.argv[i].c_str()));
  argv.push_back(nullptr);
  static char shell[] = "/bin/sh";
  std::vector<char*> shell_argv{shell};
  shell_argv.insert(shell_argv.end(), argv.begin(), argv.end());

  const std::string cwd = request.cwd ? request.cwd->string() : std::string();
  ChildSetup setup{request,
                   ::getpid(),
                   report_write.get(),
                   request.cwd ? cwd.c_str() : nullptr,
                   executable->c_str(),
                   argv.data(),
                   shell_argv.data(),
                   envp.data(),
                   inherited_fd_limit()};

  bp::posix::default_launcher launcher;
  // Until the child is noted as started here, no scan takes it for one handed over.
  const auto spawning = hold_spawns();
  std::optional<InterruptsHeld> held(std::in_place);

  Spawned spawned;
  bp::error_code ec;
  std::optional<bp::process> process;
  // The executor overload: in 1.81 the io_context overload taking an error_code drops it and
  // throws instead.
  const std::vector<std::string> args(request.argv.begin() + 1, request.argv.end());
  if (request.capture_output) {
    spawned.stdout_pipe.emplace(io);
    spawned.stderr_pipe.emplace(io);
    process.emplace(launcher(io.get_executor(), ec, *executable, args,
                             bp::process_stdio{nullptr, *spawned.stdout_pipe, *spawned.stderr_pipe}, setup));
  } else {
    process.emplace(launcher(io.get_executor(), ec, *executable, args, setup));
  }
  held.reset();
  report_write.reset();
  restart_resolver_thread(io);

  // The child execs the target itself, so Boost sees a failed child as a started one; our own
  // pipe tells: it reaches end of file at the exec, or carries the failed step first.
  ChildReport report{};
  const bool child_failed =
      !ec && ::read(report_read.get(), &report, sizeof report) == static_cast<ssize_t>(sizeof report);
  if (child_failed) {
    bp::error_code ignored;
    process->wait(ignored);  // the child has _exited (or is about to): reap it, no zombie
    std::string message = describe(report.step);
    if (report.step == ChildStep::chdir) message += " " + cwd;
    if (report.step == ChildStep::exec) message += " " + executable->string();
    message += ": " + std::string(std::strerror(report.err));
    // The child ran the file after its chdir: a relative path names it from there.
    if (report.step == ChildStep::exec && report.err == ENOENT)
      message += missing_interpreter_hint(
          request.cwd && executable->is_relative() ? *request.cwd / *executable : *executable);
    return SpawnFailure{report.err, message, report.step != ChildStep::exec};
  }
  if (ec) {
    // Only the fork itself can fail on this path (every child-side failure ends in _exit).
    if (launcher.pid > 0) ::waitpid(launcher.pid, nullptr, 0);
    return SpawnFailure{ec.value(), "starting " + executable->string() + ": " + std::strerror(ec.value())};
  }
  spawned.process = std::make_unique<bp::process>(std::move(*process));
  spawned.pid = launcher.pid;
  note_spawned(spawned.pid);
  return spawned;
}

}  // namespace faultline::supervisor
