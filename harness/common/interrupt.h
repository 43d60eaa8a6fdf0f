// SIGINT/SIGTERM/SIGHUP to the harness: recorded, never acted on inside the signal handler. Runners
// watch fd() on their event loops and tear their targets down; a second Ctrl-C changes
// nothing, so teardown is never skipped.
#pragma once

namespace faultline::interrupt {

// Installs the handlers (idempotent). SIGHUP keeps an inherited SIG_IGN (nohup).
void install();
// An eventfd that becomes readable, and stays readable, once the harness is interrupted.
int fd();
bool requested();
// The first signal received (SIGINT, SIGTERM or SIGHUP), 0 if none.
int signal_number();
// Whether the kernel sent that first signal for a terminal (Ctrl-C, a hangup) rather than a
// process with kill(2). A terminal's Ctrl-C goes to its whole foreground process group, so the
// processes the harness started in its own group have had it too.
bool from_terminal();
// Marks the run as interrupted without a signal (tests, internal errors).
void request(int signo);

}  // namespace faultline::interrupt
