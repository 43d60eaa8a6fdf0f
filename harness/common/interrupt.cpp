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
// Every interrupt since the last take_interrupts(), and the signals to pass on (Quit::passes_on),
// as Signals::mask bits, and which of them came from a terminal last.
struct Pending {
  std::atomic<unsigned> mask{0};
  std::atomic<unsigned> terminal_mask{0};

  // Lock-free, so safe in a signal handler.
  void add(int signo, bool terminal) {
    const unsigned bit = 1u << signo;
    if (terminal)
      terminal_mask.fetch_or(bit);
    else
      terminal_mask.fetch_and(~bit);
    mask.fetch_or(bit);
  }
};
Pending pending_interrupts;
int pass_on_event_fd = -1;
Pending pending_pass_on;

// Called in a signal handler: write(2) may set errno under the code it interrupted.
void record(int signo, bool terminal) {
  const int saved_errno = errno;
  int expected = 0;
  first_signal.compare_exchange_strong(expected, signo * 2 + (terminal ? 1 : 0));
  pending_interrupts.add(signo, terminal);
  const std::uint64_t one = 1;
  if (event_fd >= 0) (void)!::write(event_fd, &one, sizeof one);
  errno = saved_errno;
}

// A terminal's signals come from the kernel (SI_KERNEL); kill(2) and sigqueue(3) say SI_USER and
// SI_QUEUE.
bool sent_by_terminal(const siginfo_t* info) { return info && info->si_code == SI_KERNEL; }

void on_signal(int signo, siginfo_t* info, void*) { record(signo, sent_by_terminal(info)); }

void on_signal_to_pass_on(int signo, siginfo_t* info, void*) {
  const int saved_errno = errno;
  pending_pass_on.add(signo, sent_by_terminal(info));
  const std::uint64_t one = 1;
  (void)!::write(pass_on_event_fd, &one, sizeof one);
  errno = saved_errno;
}

// Empties an eventfd, so that it is readable again only with the next signal.
void drain(int fd) {
  std::uint64_t count = 0;
  if (fd >= 0) (void)!::read(fd, &count, sizeof count);
}

void create_fd() {
  if (event_fd < 0) event_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
}

void create_pass_on_fd() {
  if (pass_on_event_fd < 0) pass_on_event_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
}

// The eventfd first, then the bits: a signal in between leaves its bit to this take and a wake-up
// with nothing to take, never a bit without a wake-up.
Signals take(int fd, Pending& pending) {
  drain(fd);
  Signals signals;
  signals.mask = pending.mask.exchange(0);
  signals.terminal_mask = pending.terminal_mask.load() & signals.mask;
  return signals;
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
      create_pass_on_fd();
      struct sigaction pass_on = action;
      pass_on.sa_sigaction = on_signal_to_pass_on;
      ::sigaction(SIGQUIT, &pass_on, nullptr);
      // These were left as the caller set them before: one it ignores stays ignored, for faultline
      // and the command alike, as SIGHUP under nohup.
      for (const int signo : {SIGUSR1, SIGUSR2, SIGALRM}) {
        struct sigaction inherited {};
        if (::sigaction(signo, nullptr, &inherited) == 0 && inherited.sa_handler != SIG_IGN)
          ::sigaction(signo, &pass_on, nullptr);
      }
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

Signals take_interrupts() { return take(event_fd, pending_interrupts); }

int pass_on_fd() {
  create_pass_on_fd();
  return pass_on_event_fd;
}

Signals take_passed_on() { return take(pass_on_event_fd, pending_pass_on); }

}  // namespace faultline::interrupt
