// faultline-payload: deterministic targets for tests and example scenarios, one subcommand per
// behaviour. Each prints one line to stdout (unbuffered) when it reaches its key state, so tests
// can wait for that line; bad arguments print the usage to stderr and exit 2.
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <exception>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "common/units.h"

namespace {

using faultline::Duration;

class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Raw write(2): no stdio buffer can be duplicated by fork or lost by _exit.
void write_all(int fd, std::string_view text) {
  while (!text.empty()) {
    ssize_t n = ::write(fd, text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) faultline::throw_errno("write", "fd " + std::to_string(fd));
    text.remove_prefix(static_cast<size_t>(n));
  }
}

void say(const std::string& line) { write_all(STDOUT_FILENO, line + "\n"); }
void complain(const std::string& line) { write_all(STDERR_FILENO, line + "\n"); }

// ---- arguments --------------------------------------------------------------------------------

struct Args {
  std::vector<std::string> positional;
  std::map<std::string, std::string> options;  // "--hold" -> "2s"; flags map to ""

  bool has(const std::string& name) const { return options.contains(name); }
  std::optional<std::string> option(const std::string& name) const {
    auto it = options.find(name);
    return it == options.end() ? std::nullopt : std::optional(it->second);
  }
};

struct OptionSpec {
  std::set<std::string> with_value;
  std::set<std::string> flags;
};

Args parse_args(std::span<char*> tokens, const OptionSpec& spec, size_t positional_count) {
  Args args;
  for (size_t i = 0; i < tokens.size(); ++i) {
    std::string token = tokens[i];
    if (!token.starts_with("--") || token == "--") {
      args.positional.push_back(token);
      continue;
    }
    std::string name = token;
    std::optional<std::string> value;
    if (auto eq = token.find('='); eq != std::string::npos) {
      name = token.substr(0, eq);
      value = token.substr(eq + 1);
    }
    if (spec.flags.contains(name) && !value) {
      args.options[name] = "";
    } else if (spec.with_value.contains(name)) {
      if (!value) {
        if (i + 1 == tokens.size()) throw UsageError("option " + name + " needs a value");
        value = tokens[++i];
      }
      args.options[name] = *value;
    } else {
      throw UsageError("unknown option " + token);
    }
  }
  if (args.positional.size() != positional_count) {
    throw UsageError("expected " + std::to_string(positional_count) + " argument(s), got " +
                     std::to_string(args.positional.size()));
  }
  return args;
}

// The shared parsers' explanations already quote the offending text.
UsageError bad_value(const std::string& what, const std::string& text, const std::string& why) {
  return UsageError("bad " + what + ": " + (why.empty() ? "`" + text + "`" : why));
}

std::uint64_t size_arg(const std::string& text, const std::string& what) {
  std::string why;
  auto bytes = faultline::parse_size(text, &why);
  if (!bytes) throw bad_value(what, text, why);
  if (*bytes == faultline::kUnlimited) throw UsageError("bad " + what + " `max`: expected a number of bytes");
  return *bytes;
}

// nullopt means "forever".
std::optional<Duration> duration_arg(const std::string& text, const std::string& what) {
  if (text == "forever") return std::nullopt;
  std::string why;
  auto duration = faultline::parse_duration(text, &why);
  if (!duration) throw bad_value(what, text, why);
  if (duration->count() < 0) throw bad_value(what, text, "");
  return *duration;
}

Duration finite_duration_arg(const std::string& text, const std::string& what) {
  auto duration = duration_arg(text, what);
  if (!duration) throw UsageError(what + " cannot be `forever`");
  return *duration;
}

std::uint64_t count_arg(const std::string& text, const std::string& what) {
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) {
    throw UsageError("bad " + what + " `" + text + "`: expected a non-negative integer");
  }
  return value;
}

// ---- time -------------------------------------------------------------------------------------

timespec monotonic_now() {
  timespec now{};
  ::clock_gettime(CLOCK_MONOTONIC, &now);
  return now;
}

std::int64_t to_ns(const timespec& t) { return std::int64_t{t.tv_sec} * 1'000'000'000 + t.tv_nsec; }

timespec from_ns(std::int64_t ns) { return timespec{ns / 1'000'000'000, ns % 1'000'000'000}; }

// Absolute deadlines, so EINTR and a freeze never stretch the sleep beyond what was asked.
void sleep_until_ns(std::int64_t deadline_ns) {
  timespec deadline = from_ns(deadline_ns);
  while (::clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &deadline, nullptr) == EINTR) {
  }
}

void hold(std::optional<Duration> duration) {
  if (!duration) {
    for (;;) ::pause();
  }
  sleep_until_ns(to_ns(monotonic_now()) + duration->count());
}

// ---- subcommands ------------------------------------------------------------------------------

int cmd_alloc(std::span<char*> tokens) {
  Args args = parse_args(tokens, {{"--hold", "--step", "--interval"}, {}}, 1);
  std::uint64_t total = size_arg(args.positional[0], "size");
  std::optional<std::uint64_t> step;
  if (auto text = args.option("--step")) step = size_arg(*text, "step");
  if (step && *step == 0) throw UsageError("--step must be greater than 0");
  Duration interval = finite_duration_arg(args.option("--interval").value_or("0s"), "interval");
  auto hold_for = duration_arg(args.option("--hold").value_or("0s"), "hold");

  const long page = ::sysconf(_SC_PAGESIZE);
  std::uint64_t allocated = 0;
  while (allocated < total) {
    std::uint64_t chunk = std::min(total - allocated, step.value_or(total));
    void* memory = ::mmap(nullptr, chunk, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (memory == MAP_FAILED) {
      complain("alloc failed after " + std::to_string(allocated) + " bytes: " + std::strerror(errno));
      return 1;
    }
    // Writing one byte per page is what makes the kernel charge the page to the cgroup.
    auto* bytes = static_cast<volatile char*>(memory);
    for (std::uint64_t offset = 0; offset < chunk; offset += static_cast<std::uint64_t>(page)) {
      bytes[offset] = 1;
    }
    allocated += chunk;
    if (step) {
      say("allocated " + std::to_string(allocated) + " bytes");
      if (allocated < total && interval.count() > 0) hold(interval);
    }
  }
  if (!step) say("allocated " + std::to_string(allocated) + " bytes");
  hold(hold_for);
  return 0;
}

int cmd_spin(std::span<char*> tokens) {
  Args args = parse_args(tokens, {{}, {"--cpu-time"}}, 1);
  auto duration = duration_arg(args.positional[0], "duration");
  // --cpu-time: DUR of this process's CPU time, however long a loaded machine takes to give it.
  const clockid_t clock = args.options.contains("--cpu-time") ? CLOCK_PROCESS_CPUTIME_ID : CLOCK_MONOTONIC;
  const auto now_ns = [clock] {
    timespec now{};
    ::clock_gettime(clock, &now);
    return to_ns(now);
  };
  const std::int64_t deadline = duration ? now_ns() + duration->count() : INT64_MAX;
  volatile std::uint64_t work = 0;
  while (now_ns() < deadline) {
    for (int i = 0; i < 10000; ++i) work = work + 1;
  }
  say("spun for " + args.positional[0]);
  return 0;
}

int cmd_fork(std::span<char*> tokens) {
  Args args = parse_args(tokens, {{"--hold"}, {}}, 1);
  std::uint64_t wanted = count_arg(args.positional[0], "count");
  auto hold_for = duration_arg(args.option("--hold").value_or("1s"), "hold");

  std::uint64_t forked = 0;
  int fork_errno = 0;
  for (; forked < wanted; ++forked) {
    pid_t pid = ::fork();
    if (pid == 0) {
      hold(hold_for);
      ::_exit(0);
    }
    if (pid < 0) {
      fork_errno = errno;
      break;
    }
  }
  say("forked " + std::to_string(forked) + " of " + std::to_string(wanted));
  if (fork_errno != 0) say(std::string("fork failed: ") + std::strerror(fork_errno));
  while (::wait(nullptr) > 0 || errno == EINTR) {
  }
  return fork_errno == 0 ? 0 : 1;
}

int cmd_open_fds(std::span<char*> tokens) {
  Args args = parse_args(tokens, {{"--hold"}, {}}, 1);
  std::uint64_t wanted = count_arg(args.positional[0], "count");
  auto hold_for = duration_arg(args.option("--hold").value_or("0s"), "hold");

  std::uint64_t opened = 0;
  int open_errno = 0;
  for (; opened < wanted; ++opened) {
    // Deliberately kept open until exit: holding them is the point.
    if (::open("/dev/null", O_RDONLY | O_CLOEXEC) < 0) {
      open_errno = errno;
      break;
    }
  }
  say("opened " + std::to_string(opened) + " of " + std::to_string(wanted));
  if (open_errno != 0) say(std::string("open failed: ") + std::strerror(open_errno));
  hold(hold_for);
  return open_errno == 0 ? 0 : 1;
}

int cmd_connect(std::span<char*> tokens) {
  Args args = parse_args(tokens, {{"--hold"}, {}}, 2);
  const std::uint64_t port = count_arg(args.positional[0], "port");
  const std::uint64_t wanted = count_arg(args.positional[1], "count");
  auto hold_for = duration_arg(args.option("--hold").value_or("0s"), "hold");
  if (port == 0 || port > 65535) throw UsageError("port must be from 1 to 65535");

  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::uint64_t connected = 0;
  int connect_errno = 0;
  for (; connected < wanted; ++connected) {
    // Kept open until exit: holding them is the point.
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || ::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
      connect_errno = errno;
      break;
    }
  }
  say("connected " + std::to_string(connected) + " of " + std::to_string(wanted));
  if (connect_errno != 0) say(std::string("connect failed: ") + std::strerror(connect_errno));
  hold(hold_for);
  return connect_errno == 0 ? 0 : 1;
}

int cmd_death_signal(std::span<char*> tokens) {
  parse_args(tokens, {}, 0);
  int signo = 0;
  if (::prctl(PR_GET_PDEATHSIG, &signo) != 0) faultline::throw_errno("prctl", "PR_GET_PDEATHSIG");
  say("death signal: " + std::to_string(signo));
  return 0;
}

int cmd_list_fds(std::span<char*> tokens) {
  parse_args(tokens, {}, 0);
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) faultline::throw_errno("opendir", "/proc/self/fd");
  std::vector<int> fds;
  while (dirent* entry = ::readdir(dir)) {
    int fd = -1;
    std::string_view name = entry->d_name;
    auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), fd);
    if (ec != std::errc() || end != name.data() + name.size()) continue;  // "." and ".."
    if (fd >= 3 && fd != ::dirfd(dir)) fds.push_back(fd);
  }
  ::closedir(dir);
  std::sort(fds.begin(), fds.end());
  std::string line = "fds:";
  for (int fd : fds) line += " " + std::to_string(fd);
  say(fds.empty() ? "fds: none" : line);
  return 0;
}

int cmd_ignore_term(std::span<char*> tokens) {
  Args args = parse_args(tokens, {{"--hold"}, {}}, 0);
  auto hold_for = duration_arg(args.option("--hold").value_or("forever"), "hold");
  ::signal(SIGTERM, SIG_IGN);
  say("ready");
  hold(hold_for);
  return 0;
}

int cmd_drain_on_term(std::span<char*> tokens) {
  Args args = parse_args(tokens, {{"--drain"}, {}}, 0);
  Duration drain = finite_duration_arg(args.option("--drain").value_or("200ms"), "drain");
  // Blocked before "ready" so a SIGTERM sent right after the line is seen is never lost.
  sigset_t term;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  ::sigprocmask(SIG_BLOCK, &term, nullptr);
  say("ready");
  int signo = 0;
  while (::sigwait(&term, &signo) != 0) {
  }
  say("draining");
  hold(drain);
  say("drained");
  return 0;
}

// A runtime that dumps its state on a signal, as Go does on SIGQUIT: each SIGNAL writes
// "dump: SIGNAL" to stderr; with --exit the process then exits with CODE (Go exits 2).
int cmd_dump_on(std::span<char*> tokens) {
  Args args = parse_args(tokens, {{"--exit"}, {"--ignore-term"}}, 1);
  std::string why;
  auto signo = faultline::parse_signal(args.positional[0], &why);
  if (!signo) throw bad_value("signal", args.positional[0], why);
  std::optional<std::uint64_t> exit_code;
  if (auto text = args.option("--exit")) exit_code = count_arg(*text, "exit code");
  if (exit_code && *exit_code > 255) throw UsageError("bad exit code: expected 0..255");
  if (args.has("--ignore-term")) ::signal(SIGTERM, SIG_IGN);
  // Blocked before "ready" so a signal sent right after the line is seen is never lost.
  sigset_t wanted;
  sigemptyset(&wanted);
  sigaddset(&wanted, *signo);
  ::sigprocmask(SIG_BLOCK, &wanted, nullptr);
  say("ready");
  for (;;) {
    int got = 0;
    if (::sigwait(&wanted, &got) != 0) continue;
    complain("dump: " + faultline::signal_name(got));
    if (exit_code) return static_cast<int>(*exit_code);
  }
}

int cmd_daemonize(std::span<char*> tokens) {
  Args args = parse_args(tokens, {{"--hold"}, {}}, 0);
  auto hold_for = duration_arg(args.option("--hold").value_or("1h"), "hold");

  int pid_pipe[2];
  if (::pipe2(pid_pipe, O_CLOEXEC) != 0) faultline::throw_errno("pipe2", "");
  pid_t middle = ::fork();
  if (middle < 0) faultline::throw_errno("fork", "");
  if (middle == 0) {
    ::close(pid_pipe[0]);
    ::setsid();
    pid_t grandchild = ::fork();
    if (grandchild != 0) ::_exit(grandchild < 0 ? 1 : 0);
    // The grandchild: reparented to init (or a subreaper), outside the parent's session, and
    // no longer holding the pipes a supervisor reads, so only a cgroup can still find it.
    int null_fd = ::open("/dev/null", O_RDWR);
    for (int fd = 0; fd <= 2; ++fd) ::dup2(null_fd, fd);
    if (null_fd > 2) ::close(null_fd);
    if (::chdir("/") != 0) ::_exit(1);
    pid_t self = ::getpid();
    // Reported only after stdio is redirected, so "daemonized" means the pipes are released.
    if (::write(pid_pipe[1], &self, sizeof self) != sizeof self) ::_exit(1);
    ::close(pid_pipe[1]);
    hold(hold_for);
    ::_exit(0);
  }
  ::close(pid_pipe[1]);
  pid_t daemon_pid = 0;
  ssize_t got;
  while ((got = ::read(pid_pipe[0], &daemon_pid, sizeof daemon_pid)) < 0 && errno == EINTR) {
  }
  ::close(pid_pipe[0]);
  int status = 0;
  while (::waitpid(middle, &status, 0) < 0 && errno == EINTR) {
  }
  if (got != sizeof daemon_pid) {
    complain("daemonize failed: the daemon did not report its pid");
    return 1;
  }
  say("daemonized " + std::to_string(daemon_pid));
  return 0;
}

int cmd_flood(std::span<char*> tokens) {
  Args args = parse_args(tokens, {{"--stream", "--first"}, {}}, 1);
  std::uint64_t total = size_arg(args.positional[0], "size");
  std::string stream = args.option("--stream").value_or("stdout");
  if (stream != "stdout" && stream != "stderr") {
    throw UsageError("bad stream `" + stream + "`: expected stdout or stderr");
  }
  const int fd = stream == "stdout" ? STDOUT_FILENO : STDERR_FILENO;
  // A line long gone from any tail by the end of the flood (e.g. a "panic" early in a long run).
  if (auto first = args.option("--first")) write_all(fd, *first + "\n");

  const std::string line = "faultline-payload flood: the quick brown fox jumps over the dog\n";  // 64 B
  std::string block;
  while (block.size() < 64 * 1024) block += line;
  std::uint64_t written = 0;
  while (written < total) {
    std::uint64_t chunk = std::min<std::uint64_t>(total - written, block.size());
    write_all(fd, std::string_view(block).substr(0, chunk));
    written += chunk;
  }
  return 0;
}

int cmd_sleep(std::span<char*> tokens) {
  Args args = parse_args(tokens, {}, 1);
  hold(duration_arg(args.positional[0], "duration"));
  return 0;
}

int cmd_exit(std::span<char*> tokens) {
  Args args = parse_args(tokens, {}, 1);
  std::uint64_t code = count_arg(args.positional[0], "exit code");
  if (code > 255) throw UsageError("bad exit code `" + args.positional[0] + "`: expected 0..255");
  return static_cast<int>(code);
}

int cmd_kill_self(std::span<char*> tokens) {
  Args args = parse_args(tokens, {}, 1);
  std::string why;
  auto signo = faultline::parse_signal(args.positional[0], &why);
  if (!signo) throw bad_value("signal", args.positional[0], why);
  ::signal(*signo, SIG_DFL);
  sigset_t only;
  sigemptyset(&only);
  sigaddset(&only, *signo);
  ::sigprocmask(SIG_UNBLOCK, &only, nullptr);
  ::raise(*signo);
  // Signals whose default action is to ignore (SIGCHLD, SIGWINCH, ...) land here.
  complain("still alive after " + faultline::signal_name(*signo));
  return 1;
}

int cmd_tick(std::span<char*> tokens) {
  Args args = parse_args(tokens, {{"--count"}, {}}, 1);
  Duration interval = finite_duration_arg(args.positional[0], "interval");
  if (interval.count() <= 0) throw UsageError("interval must be greater than 0");
  std::optional<std::uint64_t> count;
  if (auto text = args.option("--count")) count = count_arg(*text, "count");

  std::int64_t next = to_ns(monotonic_now());
  for (std::uint64_t ticks = 0; !count || ticks < *count; ++ticks) {
    const std::int64_t now = to_ns(monotonic_now());
    char line[64];
    std::snprintf(line, sizeof line, "tick %.1f", static_cast<double>(now) / 1e6);
    say(line);
    // After a freeze, skip the missed ticks instead of bursting: the gap is what tests look for.
    while (next <= now) next += interval.count();
    if (!count || ticks + 1 < *count) sleep_until_ns(next);
  }
  return 0;
}

int cmd_print(std::span<char*> tokens) {
  Args args = parse_args(tokens, {{}, {"--stderr"}}, 1);
  write_all(args.has("--stderr") ? STDERR_FILENO : STDOUT_FILENO, args.positional[0] + "\n");
  return 0;
}

struct Subcommand {
  std::string_view name;
  std::string_view synopsis;
  std::string_view description;
  int (*run)(std::span<char*>);
};

constexpr Subcommand kSubcommands[] = {
    {"alloc", "SIZE [--hold DUR] [--step SIZE] [--interval DUR]",
     "touch SIZE bytes (in steps), print \"allocated N bytes\", hold", cmd_alloc},
    {"spin", "DUR [--cpu-time]",
     "burn one CPU for DUR of wall time (or of its CPU time), print \"spun for DUR\"", cmd_spin},
    {"fork", "N [--hold DUR]", "fork N children sleeping DUR (1s), print \"forked X of N\"", cmd_fork},
    {"open-fds", "N [--hold DUR]", "open /dev/null N times, print \"opened X of N\"", cmd_open_fds},
    {"connect", "PORT N [--hold DUR]", "open N TCP connections to 127.0.0.1:PORT, print \"connected X of N\"",
     cmd_connect},
    {"list-fds", "", "print the open fds >= 3: \"fds: 3 5\" or \"fds: none\"", cmd_list_fds},
    {"death-signal", "", "print the signal it gets when its parent dies: \"death signal: 9\" (0: none)",
     cmd_death_signal},
    {"ignore-term", "[--hold DUR]", "ignore SIGTERM, print \"ready\", sleep DUR (forever)", cmd_ignore_term},
    {"drain-on-term", "[--drain DUR]",
     "print \"ready\"; on SIGTERM \"draining\", wait DUR (200ms), \"drained\"", cmd_drain_on_term},
    {"dump-on", "SIGNAL [--exit CODE] [--ignore-term]",
     "print \"ready\"; on each SIGNAL write \"dump: SIGNAL\" to stderr (then exit CODE)", cmd_dump_on},
    {"daemonize", "[--hold DUR]", "leave a detached grandchild sleeping DUR (1h), print \"daemonized PID\"",
     cmd_daemonize},
    {"flood", "SIZE [--stream stdout|stderr] [--first LINE]",
     "write LINE (if given), then SIZE bytes of text as fast as possible", cmd_flood},
    {"sleep", "DUR", "sleep DUR and exit 0", cmd_sleep},
    {"exit", "CODE", "exit with CODE", cmd_exit},
    {"kill-self", "SIGNAL", "raise SIGNAL with its default action", cmd_kill_self},
    {"tick", "INTERVAL [--count N]", "print \"tick <monotonic ms>\" every INTERVAL", cmd_tick},
    {"print", "TEXT [--stderr]", "print TEXT", cmd_print},
};

std::string usage_line(const Subcommand& command) {
  std::string line = "usage: faultline-payload " + std::string(command.name);
  if (!command.synopsis.empty()) line += " " + std::string(command.synopsis);
  return line;
}

void print_usage() {
  std::string text =
      "usage: faultline-payload COMMAND [ARGS]\n"
      "DUR: 250ms, 2s, 1m30s or forever (hold/sleep/spin); SIZE: 4096, 64KiB, 100MiB\n"
      "commands:\n";
  for (const auto& command : kSubcommands) {
    std::string head = "  " + std::string(command.name);
    if (!command.synopsis.empty()) head += " " + std::string(command.synopsis);
    text += head + "\n      " + std::string(command.description) + "\n";
  }
  write_all(STDERR_FILENO, text);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    print_usage();
    return 2;
  }
  std::string_view name = argv[1];
  if (name == "--help" || name == "-h" || name == "help") {
    print_usage();
    return 0;
  }
  const Subcommand* command = nullptr;
  for (const auto& candidate : kSubcommands) {
    if (candidate.name == name) command = &candidate;
  }
  if (command == nullptr) {
    complain("faultline-payload: unknown command `" + std::string(name) + "`");
    print_usage();
    return 2;
  }
  try {
    return command->run(std::span<char*>(argv + 2, static_cast<size_t>(argc - 2)));
  } catch (const UsageError& error) {
    complain("faultline-payload " + std::string(name) + ": " + error.what());
    complain(usage_line(*command));
    return 2;
  } catch (const std::exception& error) {
    complain("faultline-payload " + std::string(name) + ": " + error.what());
    return 1;
  }
}
