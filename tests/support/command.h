// Runs a command line through /bin/sh and collects its exit status and output, for tests
// that drive the faultline executable as a user would.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>

#include "tests/support/test_env.h"

namespace faultline::test {

// The wait status of `pid` once it ends, or empty after `limit` (it is then SIGKILLed and
// reaped): a harness that ignores the signal a test sends must fail the test, not hang it.
inline std::optional<int> wait_bounded(pid_t pid, std::chrono::seconds limit) {
  int status = 0;
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (::waitpid(pid, &status, WNOHANG) == pid) return status;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, &status, 0);
  return std::nullopt;
}

// In a forked child before it execs faultline: the signals a test sends act as they would for a
// user. A runner started under nohup would otherwise pass its ignored SIGHUP down, and faultline
// keeps an inherited SIG_IGN on purpose (for SIGUSR1, SIGUSR2 and SIGALRM too); a runner started
// as a background job of a script has SIGQUIT ignored as well.
inline void default_signal_dispositions() {
  for (int sig : {SIGHUP, SIGINT, SIGTERM, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM}) ::signal(sig, SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
}

struct CommandOutput {
  int status = -1;  // exit code, or 128+signal
  std::string out;
  std::string err;
};

inline std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Running, as opposed to gone or a zombie waiting for its parent to reap it.
inline bool alive(pid_t pid) {
  const std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
  const auto close = stat.rfind(')');
  return close != std::string::npos && close + 2 < stat.size() && stat[close + 2] != 'Z';
}

inline std::string quote(const std::string& arg) {
  std::string q = "'";
  for (char c : arg) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// The faultline and payload executables under test, quoted for a shell command line.
inline std::string faultline_cmd() { return quote(faultline_path()); }
inline std::string payload() { return quote(payload_path()); }

inline CommandOutput run_shell(const std::string& command_line) {
  char dir[] = "/tmp/faultline-e2e-XXXXXX";
  const std::string d = ::mkdtemp(dir);
  const std::string out = d + "/out", err = d + "/err";
  const int raw = std::system((command_line + " >" + out + " 2>" + err + " </dev/null").c_str());
  CommandOutput r;
  if (WIFEXITED(raw))
    r.status = WEXITSTATUS(raw);
  else if (WIFSIGNALED(raw))
    r.status = 128 + WTERMSIG(raw);
  r.out = read_file(out);
  r.err = read_file(err);
  std::remove(out.c_str());
  std::remove(err.c_str());
  ::rmdir(d.c_str());
  return r;
}

}  // namespace faultline::test
