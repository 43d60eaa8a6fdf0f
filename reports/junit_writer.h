// JUnit XML for CI servers (Jenkins, GitLab, GitHub test reporters): one <testsuite> per run,
// one <testcase> per scenario run with classname = scenario file and name = scenario name
// (plus " (repeat N)" with --repeat, so every run is a test case of its own);
// <failure> for fail, <error> for error, <skipped> for skip, output tails in <system-out>
// and <system-err>.
#pragma once

#include <filesystem>
#include <string>

#include "reports/model.h"

namespace faultline::report {

std::string to_junit(const RunReport& report);
void write_junit(const RunReport& report, const std::filesystem::path& path);

}  // namespace faultline::report
