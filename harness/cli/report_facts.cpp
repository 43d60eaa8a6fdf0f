#include "cli/report_facts.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>

namespace faultline::cli {

// From the calendar arithmetic of <chrono>: strftime, gmtime_r and the like load the time zone
// (/etc/localtime) first, a file read that every `faultline exec` paid for a UTC time.
std::string utc_now_iso() {
  using namespace std::chrono;
  const auto now = floor<seconds>(system_clock::now());
  const auto today = floor<days>(now);
  const year_month_day date{today};
  const hh_mm_ss time{now - today};
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02dZ", static_cast<int>(date.year()),
                static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
                static_cast<int>(time.hours().count()), static_cast<int>(time.minutes().count()),
                static_cast<int>(time.seconds().count()));
  return buf;
}

void say_stale_runs(const cgroup::Backend::StaleRuns& stale) {
  for (const auto& name : stale.removed)
    std::cerr << "faultline: removed cgroup " << name << " left by a harness that is gone\n";
  for (const auto& failure : stale.failures)
    std::cerr << "faultline: warning: could not remove the cgroup of a harness that is gone, " << failure
              << "; left for `faultline cleanup`\n";
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
