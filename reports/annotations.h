// GitHub Actions workflow commands for failed and errored scenarios, so a failure shows up on
// the scenario file in the pull request (printed when GITHUB_ACTIONS=true).
#pragma once

#include <string>

#include "reports/model.h"

namespace faultline::report {

// One `::error file=PATH,line=N,title=NAME::MESSAGE` line per failure of a failed scenario
// (at the failing key's line when known) and one per errored scenario; each newline-terminated.
// Empty when everything passed or was skipped.
std::string github_annotations(const RunReport& report);

}  // namespace faultline::report
