#include "common/interrupt.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <mutex>

namespace faultline::interrupt {
namespace {

// The first signal and whether a terminal sent it, in one word: signo * 2 + from_terminal. One
// compare-and-swap sets both, so a reader never sees the one without the other.
std::atomic<int> first_signal{0};
int event_fd = -1;
std::once_flag install_once;
// SIGQUITs to pass on (Quit::passes_on): counted in quit_event_fd, the source of the last here.
int quit_event_fd = -1;
std::atomic<bool> last_quit_from_terminal{false};

// Called in a signal handler: write(2) may set errno under the code it interrupted.
void record(int signo, bool terminal) {
  const int saved_errno = errno;
  int expected = 0;
  first_signal.compare_exchange_strong(expected, signo * 2 + (terminal ? 1 : 0));
  const std::uint64_t one = 1;
  if (event_fd >= 0) (void)!::write(event_fd, &one, sizeof one);
  errno = saved_errno;
}

// A terminal's signals come from the kernel (SI_KERNEL); kill(2) and sigqueue(3) say SI_USER and
// SI_QUEUE.
bool sent_by_terminal(const siginfo_t* info) { return info && info->si_code == SI_KERNEL; }

void on_signal(int signo, siginfo_t* info, void*) { record(signo, sent_by_terminal(info)); }

void on_quit_to_pass_on(int, siginfo_t* info, void*) {
  const int saved_errno = errno;
  last_quit_from_terminal = sent_by_terminal(info);
  const std::uint64_t one = 1;
  (void)!::write(quit_event_fd, &one, sizeof one);
  errno = saved_errno;
}

void create_fd() {
  if (event_fd < 0) event_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
}

void create_quit_fd() {
  if (quit_event_fd < 0) quit_event_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
}

}  // namespace

void install(Quit quit) {
  std::call_once(install_once, [quit] {
    create_fd();
    struct sigaction action {};
    action.sa_sigaction = on_signal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART | SA_SIGINFO;
    ::sigaction(SIGINT, &action, nullptr);
    ::sigaction(SIGTERM, &action, nullptr);
    if (quit == Quit::passes_on) {
      create_quit_fd();
      struct sigaction pass_on = action;
      pass_on.sa_sigaction = on_quit_to_pass_on;
      ::sigaction(SIGQUIT, &pass_on, nullptr);
    } else {
      ::sigaction(SIGQUIT, &action, nullptr);
    }
    // A closed terminal or SSH session (SIGHUP) would otherwise kill the harness outright, with
    // its targets left running in their cgroups and no report. Under nohup SIGHUP stays ignored.
    struct sigaction hup {};
    if (::sigaction(SIGHUP, nullptr, &hup) == 0 && hup.sa_handler != SIG_IGN)
      ::sigaction(SIGHUP, &action, nullptr);
  });
}

int fd() {
  create_fd();
  return event_fd;
}

bool requested() { return first_signal.load() != 0; }
int signal_number() { return first_signal.load() / 2; }
bool from_terminal() { return (first_signal.load() & 1) != 0; }
int exit_status(int signo) { return signo == SIGHUP || signo == SIGQUIT ? 128 + signo : 130; }
void request(int signo) { record(signo, false); }

int quit_fd() {
  create_quit_fd();
  return quit_event_fd;
}

Quits take_quits() {
  Quits quits;
  std::uint64_t count = 0;
  if (quit_event_fd >= 0 && ::read(quit_event_fd, &count, sizeof count) == sizeof count) {
    quits.count = static_cast<unsigned>(count);
    quits.from_terminal = last_quit_from_terminal.load();
  }
  return quits;
}

}  // namespace faultline::interrupt
