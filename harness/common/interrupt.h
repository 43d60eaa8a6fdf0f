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
// Marks the run as interrupted without a signal (tests, internal errors).
void request(int signo);

}  // namespace faultline::interrupt
