// The machine-readable report, format "faultline-report/1" (docs/report-format.md).
#pragma once

#include <filesystem>
#include <string>

#include "reports/model.h"

namespace faultline::report {

std::string to_json(const RunReport& report);
void write_json(const RunReport& report, const std::filesystem::path& path);

}  // namespace faultline::report
