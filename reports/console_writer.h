// Human output on the terminal: one line per scenario as it ends, failures indented below it,
// and the closing `N passed, N failed` line.
#pragma once

#include <ostream>
#include <string>

#include "reports/model.h"

namespace faultline::report {

// "PASS  oom is reported  (1.2s)" / "FAIL  name  (3.0s): expect.graceful: ..."
std::string console_line(const ScenarioResult& result);
// The indented detail lines for failures and errors (empty for a pass).
std::string console_details(const ScenarioResult& result);
// "1 passed, 2 failed" plus ", N errors" / ", N skipped" when non-zero.
std::string summary_line(const Summary& summary);

}  // namespace faultline::report
