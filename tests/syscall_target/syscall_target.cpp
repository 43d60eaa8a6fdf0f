// faultline-syscall-target: a statically linked target for the syscall fault tests and benchmark
// (no dynamic loader, no libc wrapper interposition: only a seccomp filter reaches its calls).
// Every mode prints what its calls returned, so a test can check exactly which calls failed.
//   loop N PATH            N x (open PATH, close, getppid); prints "fail I ERRNO" per failed open
//   fork MODE ARGS...      runs MODE in a child (the target's descendant) and exits with its status
//   phases PATH N DIR      N opens, touch DIR/phaseK, wait for DIR/goK; three phases
//   timed SLOW FAST        a child opens SLOW while the parent opens FAST; prints both times in ms
//   getppid N              N x getppid (the cost of calls the filter does not list)
//   fdkinds FILE           one write to a socket (of a socketpair) and one to FILE; prints
//                          "socket ok|ERRNO" and "file ok|ERRNO"
//   restarted-write FILE   one write while a SA_RESTART timer interrupts it every 100 ms for 2 s;
//                          prints "wrote after MS ms, N signals"
//   exec PROGRAM ARGS...   execv PROGRAM; prints "exec failed ERRNO" when it fails
//   sendmsg-on FD          one sendmsg (MSG_NOSIGNAL) on a unix socket moved to fd number FD;
//                          prints "sendmsg ok|ERRNO"
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

double now_ms() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int open_loop(long n, const char* path) {
  long failed = 0;
  for (long i = 1; i <= n; ++i) {
    const int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      ++failed;
      printf("fail %ld %s\n", i, strerrorname_np(errno));
    } else {
      close(fd);
    }
    (void)getppid();
  }
  printf("done %ld failed %ld\n", n, failed);
  return 0;
}

bool exists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

int phases(const char* path, long n, const std::string& dir) {
  for (int phase = 1; phase <= 3; ++phase) {
    long failed = 0;
    for (long i = 0; i < n; ++i) {
      const int fd = open(path, O_RDONLY | O_CLOEXEC);
      if (fd < 0)
        ++failed;
      else
        close(fd);
    }
    printf("phase %d failed %ld\n", phase, failed);
    fflush(stdout);
    if (phase == 3) break;
    const int marker =
        open((dir + "/phase" + std::to_string(phase)).c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
    if (marker >= 0) close(marker);
    const std::string go = dir + "/go" + std::to_string(phase);
    while (!exists(go)) usleep(2000);
  }
  return 0;
}

int timed(const char* slow, const char* fast) {
  const pid_t child = fork();
  if (child == 0) {
    const double start = now_ms();
    const int fd = open(slow, O_RDONLY | O_CLOEXEC);
    printf("slow %.0f ms %s\n", now_ms() - start, fd >= 0 ? "ok" : strerrorname_np(errno));
    fflush(stdout);
    _exit(0);
  }
  usleep(200 * 1000);  // the child's open is held by now
  const double start = now_ms();
  const int fd = open(fast, O_RDONLY | O_CLOEXEC);
  printf("fast %.0f ms %s\n", now_ms() - start, fd >= 0 ? "ok" : strerrorname_np(errno));
  fflush(stdout);
  int status = 0;
  waitpid(child, &status, 0);
  return 0;
}

// What one write on `fd` returned, as the mode's output names it.
std::string write_result(int fd) {
  if (fd < 0) return strerrorname_np(errno);
  return write(fd, "x", 1) == 1 ? "ok" : strerrorname_np(errno);
}

int fd_kinds(const char* file) {
  int pair[2] = {-1, -1};
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) return 3;
  const int fd = open(file, O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0644);
  // Both writes happen before anything is printed: stdout is neither a socket nor a file here.
  const std::string socket_result = write_result(pair[0]);
  const std::string file_result = write_result(fd);
  printf("socket %s\nfile %s\n", socket_result.c_str(), file_result.c_str());
  return 0;
}

void on_alarm(int) {}

// One write to `file` that a SIGALRM (a handler without SA_RESTART) interrupts after 100 ms.
int interrupted_write(const char* file) {
  const int fd = open(file, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return 3;
  struct sigaction action {};
  action.sa_handler = on_alarm;
  sigaction(SIGALRM, &action, nullptr);
  const itimerval once{{0, 0}, {0, 100000}};
  setitimer(ITIMER_REAL, &once, nullptr);
  if (write(fd, "x", 1) == 1)
    printf("wrote\n");
  else
    printf(errno == EINTR ? "interrupted\n" : "failed %s\n", strerrorname_np(errno));
  return 0;
}

volatile sig_atomic_t ticks = 0;
void on_tick(int) {
  ticks = ticks + 1;
  if (ticks == 20) {  // two seconds of interruptions, then none
    const itimerval off{};
    setitimer(ITIMER_REAL, &off, nullptr);
  }
}

// One write while a SA_RESTART timer fires every 100 ms: each signal interrupts the call and the
// kernel restarts it, the same call with the same arguments.
int restarted_write(const char* file) {
  const int fd = open(file, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return 3;
  struct sigaction action {};
  action.sa_handler = on_tick;
  action.sa_flags = SA_RESTART;
  sigaction(SIGALRM, &action, nullptr);
  const itimerval every{{0, 100000}, {0, 100000}};
  const double start = now_ms();
  setitimer(ITIMER_REAL, &every, nullptr);
  if (write(fd, "x", 1) == 1)
    printf("wrote after %ld ms, %d signals\n", static_cast<long>(now_ms() - start), static_cast<int>(ticks));
  else
    printf("failed %s\n", strerrorname_np(errno));
  return 0;
}

int run(int argc, char** argv) {
  if (argc >= 4 && !strcmp(argv[1], "loop")) return open_loop(atol(argv[2]), argv[3]);
  if (argc >= 3 && !strcmp(argv[1], "fork")) {
    fflush(stdout);
    const pid_t child = fork();
    if (child == 0) _exit(run(argc - 1, argv + 1));
    int status = 0;
    waitpid(child, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  if (argc >= 5 && !strcmp(argv[1], "phases")) return phases(argv[2], atol(argv[3]), argv[4]);
  if (argc >= 4 && !strcmp(argv[1], "timed")) return timed(argv[2], argv[3]);
  if (argc >= 3 && !strcmp(argv[1], "fdkinds")) return fd_kinds(argv[2]);
  if (argc >= 3 && !strcmp(argv[1], "interrupted-write")) return interrupted_write(argv[2]);
  if (argc >= 3 && !strcmp(argv[1], "restarted-write")) return restarted_write(argv[2]);
  if (argc >= 3 && !strcmp(argv[1], "exec")) {
    execv(argv[2], argv + 2);
    printf("exec failed %s\n", strerrorname_np(errno));
    return 1;
  }
  if (argc >= 3 && !strcmp(argv[1], "sendmsg-on")) {
    int pair[2];
    const int fd = atoi(argv[2]);
    if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, pair) != 0 || dup2(pair[0], fd) != fd) return 3;
    char byte = 'x';
    iovec data{&byte, 1};
    msghdr message{};
    message.msg_iov = &data;
    message.msg_iovlen = 1;
    if (sendmsg(fd, &message, MSG_NOSIGNAL) == 1)
      printf("sendmsg ok\n");
    else
      printf("sendmsg %s\n", strerrorname_np(errno));
    return 0;
  }
  if (argc >= 3 && !strcmp(argv[1], "getppid")) {
    const long n = atol(argv[2]);
    for (long i = 0; i < n; ++i) (void)syscall(SYS_getppid);
    return 0;
  }
  fprintf(stderr,
          "usage: faultline-syscall-target loop N PATH | fork MODE... | phases PATH N DIR | timed SLOW FAST "
          "| getppid N | fdkinds FILE | interrupted-write FILE | restarted-write FILE | exec PROGRAM ARGS... "
          "| sendmsg-on FD\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  setvbuf(stdout, nullptr, _IOLBF, 0);
  return run(argc, argv);
}
