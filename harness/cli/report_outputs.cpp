#include "cli/report_outputs.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <tuple>
#include <utility>

#include "cli/commands.h"
#include "reports/html_writer.h"
#include "reports/json_writer.h"
#include "reports/junit_writer.h"

namespace faultline::cli {
namespace {

namespace fs = std::filesystem;

// Tried for real as the writer does it (a temporary file in the directory, then a rename), not
// asked with access(2): root passes access() on a regular file named as the directory and on
// /proc.
void check_directory_takes_files(const std::string& flag, const std::string& path, const fs::path& file) {
  const fs::path dir = file.has_parent_path() ? file.parent_path() : fs::path(".");
  std::string probe = (dir / ".faultline-report-XXXXXX").string();
  const int fd = ::mkstemp(probe.data());
  if (fd < 0)
    throw UsageError(flag + " " + path + ": cannot write into " + dir.string() +
                     (errno == ENOTDIR ? " (not a directory)" : std::string()) + ": " + std::strerror(errno));
  ::close(fd);
  ::unlink(probe.c_str());
}

}  // namespace

void empty_earlier_reports(const ReportPaths& paths, const std::vector<std::string>& inputs) {
  for (const std::string* path : {&paths.json, &paths.junit, &paths.html}) {
    if (path->empty()) continue;
    const bool an_input = std::any_of(inputs.begin(), inputs.end(), [&](const std::string& input) {
      return !input.empty() && same_file_key(input) == same_file_key(*path);
    });
    if (an_input) continue;
    std::error_code ec;
    // Never a FIFO or a device: only what a writer left.
    if (fs::is_regular_file(*path, ec)) std::ofstream(*path, std::ios::trunc);
  }
}

void check_report_path(const std::string& flag, const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) throw UsageError(flag + " " + path + ": is a directory");
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
    // A FIFO or a socket (itself or at a symlink's end) is left alone: a reader waiting on it
    // would take this check's close for the end of the report, and the report would then wait
    // for a reader that is gone.
    struct stat target {};
    if (::stat(path.c_str(), &target) == 0 && (S_ISFIFO(target.st_mode) || S_ISSOCK(target.st_mode))) return;
    // A device or a symlink is written through as it is (reports/atomic_file.h): opened for
    // writing here, without creating or truncating it.
    const int fd = ::open(path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd >= 0) {
      ::close(fd);
      return;
    }
    if (errno != ENOENT || !S_ISLNK(st.st_mode))
      throw UsageError(flag + " " + path + ": cannot write: " + std::strerror(errno));
    // A dangling symlink: the writer creates its target.
    check_directory_takes_files(flag, path, follow_symlinks(fs::absolute(path)));
    return;
  }
  check_directory_takes_files(flag, path, fs::path(path));
}

void check_report_paths(const ReportPaths& paths) {
  const std::pair<const char*, const std::string*> reports[] = {
      {"--json", &paths.json}, {"--junit", &paths.junit}, {"--html", &paths.html}};
  for (std::size_t i = 0; i < std::size(reports); ++i)
    for (std::size_t j = i + 1; j < std::size(reports); ++j) {
      if (reports[i].second->empty() || reports[j].second->empty()) continue;
      if (same_file_key(*reports[i].second) == same_file_key(*reports[j].second))
        throw UsageError(std::string(reports[i].first) + " and " + reports[j].first + " both write `" +
                         *reports[j].second + "`: give each report its own file");
    }
  for (const auto& [flag, path] : reports)
    if (!path->empty()) check_report_path(flag, *path);
}

bool write_reports(const report::RunReport& report, const ReportPaths& paths) {
  using Writer = std::function<void(const report::RunReport&, const fs::path&)>;
  const std::tuple<const char*, const std::string*, Writer> reports[] = {
      {"--json", &paths.json, report::write_json},
      {"--junit", &paths.junit, report::write_junit},
      {"--html", &paths.html, report::write_html}};
  bool all = true;
  for (const auto& [flag, path, write] : reports) {
    if (path->empty()) continue;
    try {
      write(report, *path);
    } catch (const std::exception& e) {
      std::cerr << "faultline: " << flag << " " << *path << ": the report could not be written: " << e.what()
                << "\n";
      all = false;
    }
  }
  return all;
}

}  // namespace faultline::cli
