#include "cli/report_facts.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <ctime>

namespace faultline::cli {

std::string utc_now_iso() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

report::HostInfo host_info(cgroup::Mode mode) {
  report::HostInfo host;
  host.cgroup = cgroup::to_string(mode);
  utsname u{};
  if (::uname(&u) == 0) host.kernel = u.release;
  host.cpus = static_cast<int>(::sysconf(_SC_NPROCESSORS_ONLN));
  return host;
}

}  // namespace faultline::cli
