// Runs a command line through /bin/sh and collects its exit status and output, for tests
// that drive the faultline executable as a user would.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace faultline::test {

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

inline std::string quote(const std::string& arg) {
  std::string q = "'";
  for (char c : arg) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

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
