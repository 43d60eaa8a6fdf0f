#include "supervisor/fd_limit.h"

namespace faultline::supervisor {
namespace {

bool raised = false;
rlimit inherited{};

}  // namespace

void raise_own_fd_limit() {
  if (raised || ::getrlimit(RLIMIT_NOFILE, &inherited) != 0) return;
  raised = true;
  if (inherited.rlim_cur >= inherited.rlim_max) return;
  rlimit all = inherited;
  all.rlim_cur = inherited.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &all);
}

rlimit inherited_fd_limit() {
  if (raised) return inherited;
  rlimit now{};
  ::getrlimit(RLIMIT_NOFILE, &now);
  return now;
}

}  // namespace faultline::supervisor
