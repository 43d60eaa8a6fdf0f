// Reads a faultline-report/1 JSON file back into the report model (for `faultline report merge`
// and --baseline). Accepts what json_writer writes, and ignores keys it does not know, so
// reports from newer versions of format 1 still read.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "reports/model.h"

namespace faultline::report {

// A report as its file states it: the model, and the `summary` the file gives of itself, which
// the model does not keep (it counts scenarios[]). nullopt when the file has none: reports from
// before the summary was written. A count that is not an integer from 0 to INT_MAX is an error.
struct ReportFile {
  RunReport report;
  std::optional<Summary> stated_summary;
};
// Throws SystemError "open PATH: ..." for a file it cannot read, and Error naming the file and,
// for a bad value, the JSON path of it
// ("shard-1.json: scenarios[0].result: expected one of pass, fail, error, skip, got \"maybe\"").
ReportFile read_report_file(const std::filesystem::path& path);
// The model of report text already in memory; `origin` names it in errors.
RunReport parse_json_report(std::string_view text, const std::string& origin);

}  // namespace faultline::report
