// Reports are written to a temporary file beside the target and renamed over it, so a reader
// (or an interrupted run) never sees half a report.
#pragma once

#include <filesystem>
#include <string_view>

namespace faultline::report {

void write_file_atomically(const std::filesystem::path& path, std::string_view content);

}  // namespace faultline::report
