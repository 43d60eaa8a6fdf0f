// SIGINT/SIGTERM/SIGHUP (and SIGQUIT, see Quit) to the harness: recorded, never acted on inside
// the signal handler. Runners watch fd() on their event loops and tear their targets down; for
// `run` a second Ctrl-C changes nothing, so teardown is never skipped. `exec` passes each one on
// to its command (take_interrupts).
#pragma once

namespace faultline::interrupt {

// What SIGQUIT (Ctrl-\) is to the harness. Its default action would end the harness at once,
// leaving its targets running in their cgroups.
enum class Quit {
  interrupts,  // `run`: one more interrupt, the run is torn down
  passes_on,   // `exec`: for the command, with SIGUSR1, SIGUSR2 and SIGALRM (see Signals)
};

// Installs the handlers; the first call decides. SIGHUP keeps an inherited SIG_IGN (nohup).
void install(Quit quit = Quit::interrupts);
// An eventfd that becomes readable once the harness is interrupted, and stays readable until
// take_interrupts() (which only `exec` calls).
int fd();
bool requested();
// The first signal received (SIGINT, SIGTERM, SIGHUP or SIGQUIT), 0 if none.
int signal_number();
// The exit status of a harness interrupted by `signo`: the documented 130 for SIGINT and
// SIGTERM; 128+N for a hangup or a quit, as a shell reports them.
int exit_status(int signo);
// Whether the kernel sent that first signal for a terminal (Ctrl-C, a hangup) rather than a
// process with kill(2). A terminal's Ctrl-C goes to its whole foreground process group, so the
// processes the harness started in its own group have had it too.
bool from_terminal();
// Marks the run as interrupted without a signal (tests, internal errors).
void request(int signo);

// With Quit::passes_on every signal is for the command too, not only the first: a CI runner
// that cancels a job sends SIGINT, then SIGTERM, as timeout(1) passes each on; and SIGQUIT,
// SIGUSR1, SIGUSR2 and SIGALRM are passed on while the run goes on (a Go test dumps its stacks
// at SIGQUIT), where their default action would end the harness and leave its command running.
struct Signals {
  unsigned mask = 0;           // bit `1u << signo` for each signal that came since the last take
  unsigned terminal_mask = 0;  // the same bit where the last of that signal came from a terminal
  bool has(int signo) const { return (mask & (1u << signo)) != 0; }
  bool from_terminal(int signo) const { return (terminal_mask & (1u << signo)) != 0; }
};
// SIGINT, SIGTERM and SIGHUP since the last take; after it, fd() is readable again only once
// another comes.
Signals take_interrupts();
// An eventfd readable while signals to pass on wait (SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM), and
// the taking of them.
int pass_on_fd();
Signals take_passed_on();

}  // namespace faultline::interrupt
