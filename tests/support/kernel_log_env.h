// Whether this machine lets faultline name OOM kills from the kernel log, for tests whose verdict
// depends on it.
#pragma once

#include <unistd.h>

#include <optional>
#include <string>

#include "common/proc_status.h"

namespace faultline::test {

// Why the kernel log cannot name faultline's processes here, or nullopt when it can: it must be
// readable, and faultline must run in the initial pid namespace, whose pids the log names.
inline std::optional<std::string> kernel_log_skip_reason() {
  if (::access("/dev/kmsg", R_OK) != 0)
    return "/dev/kmsg is not readable here (the kernel log names OOM kills)";
  if (pid_namespace_of("/proc/self") != kInitialPidNamespace)
    return "a pid namespace of its own: the kernel log names other pids than faultline's";
  return std::nullopt;
}

}  // namespace faultline::test
