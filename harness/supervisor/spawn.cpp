#include "supervisor/spawn.h"

#include <fcntl.h>
#include <grp.h>
#include <linux/seccomp.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <ctime>
#include <fstream>
#include <memory>
#include <optional>
#include <utility>

#include "common/error.h"
#include "common/listener_handoff.h"
#include "common/pidfd.h"
#include "supervisor/adoption.h"
#include "supervisor/fd_limit.h"

extern char** environ;

namespace faultline::supervisor {
namespace bp = boost::process::v2;

// The vforked child runs on the harness's stack: ASan's clean-up before a call that does not
// return would unpoison the redzones of the harness's own frames above it, for good.
#define FAULTLINE_CHILD_SIDE __attribute__((no_sanitize("address")))

namespace {

// Which child-side step failed, so the failure can be reported with its cause instead of a bare
// exit code.
enum class ChildStep : int {
  parent_gone,
  redirect_stdio,
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
  bool failed = false;
  ChildStep step = ChildStep::exec;
  int err = 0;
  std::int64_t cpu_before_join_ns = 0;  // the child's CPU time once it was in its cgroups
};

std::atomic<std::int64_t> cpu_before_join_total_ns{0};

const char* describe(ChildStep step) {
  switch (step) {
    case ChildStep::parent_gone:
      return "harness exited before the target started";
    case ChildStep::redirect_stdio:
      return "dup2 (connecting the target's stdin, stdout and stderr)";
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
      return "close_range (closing the harness's fds in the target)";
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

// Runs in the vfork()ed child between vfork and exec. The child shares the harness's memory and
// runs on this thread's stack until its exec, so: async-signal-safe calls only, nothing written
// but its own locals, errno and the report of a failed step, raw system calls where glibc would
// act on the harness's thread list (the set*id calls), signals blocked until every handler of the
// harness is reset, and every failure ends in _exit (exit() would flush the harness's stdio
// buffers). The kernel state of the shared memory is the harness's too: a change of user makes it
// non-dumpable, which spawn() undoes.
struct ChildSetup {
  const SpawnRequest& request;
  pid_t parent_pid;
  // In the harness's memory, which the child shares until its exec or _exit, and the harness
  // reads only after that: a plain store, which cannot fail the way a write to a pipe can (a
  // memory limit of a few bytes leaves the child no page for the pipe's buffer).
  ChildReport* report;
  const char* cwd;  // null: inherit
  const char* executable;
  char* const* argv;
  char* const* shell_argv;  // /bin/sh, the file, its arguments: for a file without #!
  char* const* envp;
  rlimit inherited_nofile;  // faultline's own limit as it was started (fd_limit.h)
  const int* keep_fds;      // ascending: left open in the target (and the listener's socket)
  std::size_t keep_count;
  int stdio[3];  // put on 0, 1, 2 where >= 0; otherwise the harness's are inherited

  [[noreturn]] FAULTLINE_CHILD_SIDE void fail(ChildStep step) const {
    report->err = errno;
    report->step = step;
    report->failed = true;
    ::_exit(127);
  }

  // Last before exec, so none of the steps above can be trapped; the listener is CLOEXEC and the
  // socket too, so the target inherits neither.
  FAULTLINE_CHILD_SIDE void load_notify_filter() const {
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
    if (::sendmsg(request.notify_socket, &message, kListenerHandoffFlags) != 1)
      fail(ChildStep::send_listener);
    // The listener is CLOEXEC: the exec closes it, one call fewer that could be trapped.
  }

  // Every fd the harness has open (cgroup files, other targets' pipes) must stay out of the
  // target. They are closed, not only marked close-on-exec: the seccomp listener is a new fd, which
  // the target's `nofile` limit (set above) would refuse while the harness's are still open. Kept:
  // the fds passed on to the target, and until the exec the listener's socket (close-on-exec).
  FAULTLINE_CHILD_SIDE void close_harness_fds() const {
    unsigned first = 3;
    for (std::size_t i = 0; i < keep_count; ++i) {
      const int fd = keep_fds[i];
      if (fd < static_cast<int>(first)) continue;
      if (static_cast<unsigned>(fd) > first && ::syscall(SYS_close_range, first, fd - 1U, 0U) != 0)
        fail(ChildStep::close_fds);
      first = static_cast<unsigned>(fd) + 1;
    }
    if (::syscall(SYS_close_range, first, ~0U, 0U) != 0) fail(ChildStep::close_fds);
  }

  // Not inlined: its frames lie below the vforking function's, which the parent still needs.
  [[noreturn, gnu::noinline]] FAULTLINE_CHILD_SIDE void run() const {
    // Into the cgroups first (every signal is still blocked, as it was across the vfork): what
    // the child spends before is counted in the harness's cgroup, so it is kept short, and its
    // CPU time is noted for the harness (cpu_spent_before_cgroup_join).
    if (request.attach_fds) {
      for (const auto& fd : *request.attach_fds)
        if (::write(fd.get(), "0", 1) != 1) fail(ChildStep::enter_cgroup);
      timespec spent{};
      if (::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &spent) == 0)
        report->cpu_before_join_ns = std::int64_t{spent.tv_sec} * 1'000'000'000 + spent.tv_nsec;
    }

    // Every handler the harness installed goes back to the default while all signals are still
    // blocked (as they were across the vfork): a handler run here would act in the harness's
    // memory. The exec would reset them too, but only once it is done.
    for (int sig = 1; sig < NSIG; ++sig) {
      struct sigaction action {};
      if (sig == SIGKILL || sig == SIGSTOP || ::sigaction(sig, nullptr, &action) != 0) continue;
      if (action.sa_handler != SIG_DFL && action.sa_handler != SIG_IGN) ::signal(sig, SIG_DFL);
    }

    for (int target = 0; target < 3; ++target) {
      if (stdio[target] < 0) continue;
      // dup2 onto itself keeps FD_CLOEXEC (a harness started with that fd closed got it back
      // for the pipe), so the exec would close it: clear the flag instead.
      const bool ok = stdio[target] == target ? ::fcntl(target, F_SETFD, 0) == 0
                                              : ::dup2(stdio[target], target) == target;
      if (!ok) fail(ChildStep::redirect_stdio);
    }

    // The harness raised its own soft limit for itself; a target starts with the one faultline
    // was given, or with the scenario's.
    const rlimit nofile = request.nofile ? rlimit{*request.nofile, *request.nofile} : inherited_nofile;
    if (::setrlimit(RLIMIT_NOFILE, &nofile) != 0) fail(ChildStep::set_nofile);
    if (cwd && ::chdir(cwd) != 0) fail(ChildStep::chdir);
    if (request.user) {
      // glibc's setgroups/setgid/setuid change every thread it knows of, and in this child it
      // knows the harness's threads, which are not this process's: the system calls instead.
      if (::syscall(SYS_setgroups, request.user->groups.size(), request.user->groups.data()) != 0)
        fail(ChildStep::drop_groups);
      if (::syscall(SYS_setgid, request.user->gid) != 0) fail(ChildStep::set_gid);
      if (::syscall(SYS_setuid, request.user->uid) != 0) fail(ChildStep::set_uid);
    }

    // Direct children die with the harness; grandchildren are found through the cgroup. After
    // the change of user, which clears the death signal.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent_pid) fail(ChildStep::parent_gone);

    // The harness blocks or ignores some signals for itself; a target must start with the
    // defaults, or it would silently ignore SIGTERM/SIGPIPE it never asked to ignore. SIGHUP is
    // left as it is now: the harness never ignores it itself (its handler was reset above), so
    // an ignored SIGHUP is nohup's, meant for the target too. Defaults first, then the mask: a
    // Ctrl-C held back since the vfork then ends the child as it would have ended the command,
    // instead of running the harness's handler here.
    for (int sig : {SIGPIPE, SIGINT, SIGTERM, SIGQUIT, SIGCHLD}) ::signal(sig, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);

    close_harness_fds();

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

// Holds every signal back in this thread across the vfork (all but glibc's two internal ones,
// which it never lets a program block and which nothing sends here), so the child starts with
// them blocked (see ChildSetup::run): a handler of the harness must not run in the child, in the
// harness's memory, where an interrupt handler would also wake the harness's event loop with a
// signal the harness never got. Released, they reach the harness as usual.
class SignalsHeld {
 public:
  SignalsHeld() {
    sigset_t all;
    sigfillset(&all);
    ::pthread_sigmask(SIG_BLOCK, &all, &before_);
  }
  ~SignalsHeld() { ::pthread_sigmask(SIG_SETMASK, &before_, nullptr); }
  SignalsHeld(const SignalsHeld&) = delete;
  SignalsHeld& operator=(const SignalsHeld&) = delete;

 private:
  sigset_t before_;
};

// vfork, not fork: this thread waits until the child has exec'd or exited, and no page table of
// the harness is copied for a child that execs at once (a fork cost about 1 ms more per start on
// the 2-vCPU hosts this was measured on; bench/exec_vs_cgexec.sh). A function of its own, with
// nothing in its frame the child could clobber. Returns -1 with errno when vfork fails.
[[gnu::noinline]] FAULTLINE_CHILD_SIDE pid_t start_child(const ChildSetup& setup) {
  const pid_t pid = ::vfork();
  if (pid == 0) setup.run();
  return pid;
}

// A pipe for one of the target's output streams: the read end to the event loop, the write end
// for the child.
UniqueFd output_pipe(boost::asio::io_context& io, std::optional<boost::asio::readable_pipe>& read_end,
                     const char* stream) {
  int ends[2];
  if (::pipe2(ends, O_CLOEXEC) != 0) throw_errno("pipe2", std::string("(the target's ") + stream + ")");
  read_end.emplace(io, ends[0]);
  return UniqueFd(ends[1]);
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

std::chrono::nanoseconds cpu_spent_before_cgroup_join() {
  return std::chrono::nanoseconds(cpu_before_join_total_ns.load());
}

std::variant<Spawned, SpawnFailure> spawn(boost::asio::io_context& io, const SpawnRequest& request) {
  if (request.argv.empty()) return SpawnFailure{EINVAL, "empty command"};
  const auto executable = find_executable(request.argv[0], request.env);
  if (!executable)
    return SpawnFailure{ENOENT, "command `" + request.argv[0] + "` not found in PATH (" +
                                    lookup_path_variable(request.env) + ")"};

  std::vector<char*> envp;
  envp.reserve(request.env.size() + 1);
  for (const auto& entry : request.env) envp.push_back(const_cast<char*>(entry.c_str()));
  envp.push_back(nullptr);
  // argv[0] as typed, as execvp passes it (`cat`, not `/usr/bin/cat`): a program that looks at
  // its own name (a multi-call binary, a usage line) sees what the caller wrote. The shell that
  // runs a script without a #! line gets the script's path, as execvp gives it.
  std::vector<char*> argv;
  argv.reserve(request.argv.size() + 1);
  for (const auto& word : request.argv) argv.push_back(const_cast<char*>(word.c_str()));
  argv.push_back(nullptr);
  static char shell[] = "/bin/sh";
  std::vector<char*> shell_argv{shell, const_cast<char*>(executable->c_str())};
  shell_argv.insert(shell_argv.end(), argv.begin() + 1, argv.end());

  const std::string cwd = request.cwd ? request.cwd->string() : std::string();
  std::vector<int> keep_fds = request.pass_fds;
  if (request.notify_filter) keep_fds.push_back(request.notify_socket);
  std::sort(keep_fds.begin(), keep_fds.end());
  ChildReport report;
  ChildSetup setup{request,
                   ::getpid(),
                   &report,
                   request.cwd ? cwd.c_str() : nullptr,
                   executable->c_str(),
                   argv.data(),
                   shell_argv.data(),
                   envp.data(),
                   inherited_fd_limit(),
                   keep_fds.data(),
                   keep_fds.size(),
                   {-1, -1, -1}};

  // Captured output goes to pipes, stdin to /dev/null; otherwise the target shares the
  // harness's three.
  Spawned spawned;
  UniqueFd child_stdin, child_stdout, child_stderr;
  if (request.capture_output) {
    child_stdin = UniqueFd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    if (!child_stdin) throw_errno("open", "/dev/null (the target's stdin)");
    child_stdout = output_pipe(io, spawned.stdout_pipe, "stdout");
    child_stderr = output_pipe(io, spawned.stderr_pipe, "stderr");
  }
  setup.stdio[0] = child_stdin ? child_stdin.get() : -1;
  setup.stdio[1] = child_stdout ? child_stdout.get() : -1;
  setup.stdio[2] = child_stderr ? child_stderr.get() : -1;

  if (request.notify_filter && request.announce_own_execs) {
    const auto address = [](const void* p) {
      return static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(p));
    };
    request.announce_own_execs({{address(executable->c_str()), address(argv.data())},
                                {address(shell_argv[0]), address(shell_argv.data())}});
  }

  // Until the child is noted as started here, no scan takes it for one handed over.
  const auto spawning = hold_spawns();
  // A change of user in the child marks the memory it shares with the harness non-dumpable
  // (no core dump of faultline, its /proc files root's, no ptrace without CAP_SYS_PTRACE), and
  // the exec leaves that mark on the harness: put back what it was.
  const int dumpable = request.user ? ::prctl(PR_GET_DUMPABLE) : -1;
  pid_t pid;
  int vfork_errno = 0;
  {
    const SignalsHeld held;
    pid = start_child(setup);
    vfork_errno = errno;
  }
  if (dumpable == 1) ::prctl(PR_SET_DUMPABLE, 1);
  if (pid > 0) cpu_before_join_total_ns += report.cpu_before_join_ns;
  child_stdin.reset();
  child_stdout.reset();
  child_stderr.reset();
  // The harness could not start a process at all (its own pids limit, no memory): its failure,
  // not the command's.
  if (pid < 0)
    return SpawnFailure{vfork_errno,
                        "starting " + executable->string() + ": vfork: " + std::strerror(vfork_errno), true};

  // vfork returns here once the child has exec'd the target, or has _exited after a failed step
  // (which it noted in `report`, in this frame).
  if (report.failed) {
    ::waitpid(pid, nullptr, 0);  // the child has _exited: reap it, no zombie
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
  // Boost's handle waits on a pidfd of the child, opened here before anything can reap it.
  // Without one (the harness out of fds or memory) nothing would ever wait for the child, and
  // Boost would throw with the child still running: stop it instead, a start that failed.
  UniqueFd pidfd = open_pidfd(pid);
  if (!pidfd) {
    const int err = errno;
    ::kill(pid, SIGKILL);  // still our unreaped child: the number cannot name another process
    ::waitpid(pid, nullptr, 0);
    return SpawnFailure{err, "starting " + executable->string() + ": pidfd_open: " + std::strerror(err),
                        true};
  }
  spawned.process = std::make_unique<bp::process>(io.get_executor(), pid, pidfd.release());
  spawned.pid = pid;
  note_spawned(spawned.pid);
  return spawned;
}

}  // namespace faultline::supervisor
