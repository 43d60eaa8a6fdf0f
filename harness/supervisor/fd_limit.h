// The harness's own open-files limit. A proxied connection holds about six descriptors in the
// harness (two sockets, two pipes) and every target a few more, so the soft limit most shells
// and services start with (1024) would cap a proxy at some 170 connections. The harness raises
// its own soft limit to the hard limit once at start; every process it starts gets back the
// soft limit faultline itself was started with, so a target's limits never depend on it.
#pragma once

#include <sys/resource.h>

#include <vector>

namespace faultline::supervisor {

// Raises this process's RLIMIT_NOFILE soft limit to its hard limit and remembers the one it
// had. Call once, before any thread or child exists. Failing to raise it is not an error: the
// harness then works within the limit it was given.
void raise_own_fd_limit();

// The RLIMIT_NOFILE faultline was started with (the current one when it was never raised).
rlimit inherited_fd_limit();

// The fds above 2 open in this process now, ascending (from /proc/self/fd). Called before the
// harness opens anything, these are the ones its caller handed down.
std::vector<int> open_fds_above_stdio();

}  // namespace faultline::supervisor
