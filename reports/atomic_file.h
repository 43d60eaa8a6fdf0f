// Reports are written to a temporary file beside the target and renamed over it, so a reader
// (or an interrupted run) never sees half a report. That is only for a regular file (or a path
// that does not exist yet): a FIFO, a device (`--json /dev/full`, `--junit /dev/stdout`), a socket
// or a symlink at the path is written through, never replaced by a regular file.
#pragma once

#include <filesystem>
#include <string_view>

namespace faultline::report {

// Throws SystemError naming the call, the path and the errno text.
void write_file_atomically(const std::filesystem::path& path, std::string_view content);

}  // namespace faultline::report
