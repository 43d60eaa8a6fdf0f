// Reads a faultline-report/1 JSON file back into the report model (for `faultline report merge`
// and --baseline). Accepts what json_writer writes, and ignores keys it does not know, so
// reports from newer versions of format 1 still read.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "reports/model.h"

namespace faultline::report {

// Throws Error naming the file and, for a bad value, the JSON path of it
// ("shard-1.json: scenarios[0].result: expected one of pass, fail, error, skip, got \"maybe\"").
RunReport read_json_report(const std::filesystem::path& path);
// The file's bytes, unparsed: for readers that look at more of the text than the report model
// holds (`report merge` checks the stated summary). Throws SystemError "open PATH: ..." or
// "read PATH: ...", as read_json_report does.
std::string read_report_text(const std::filesystem::path& path);
// The same for text already in memory; `origin` names it in errors.
RunReport parse_json_report(std::string_view text, const std::string& origin);

}  // namespace faultline::report
