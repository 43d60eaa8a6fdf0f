// The report for people: one self-contained HTML file (inline CSS and SVG, no script, no
// network; a Content-Security-Policy forbids both even if something slipped through escaping).
// Summary first, then per scenario the verdict, failures with expected/actual, a timeline chart,
// processes, probes, the diagnosis of a timeout and the output tails.
#pragma once

#include <filesystem>
#include <string>

#include "reports/model.h"

namespace faultline::report {

std::string to_html(const RunReport& report);
void write_html(const RunReport& report, const std::filesystem::path& path);

}  // namespace faultline::report
