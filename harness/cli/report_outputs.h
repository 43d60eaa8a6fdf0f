// The report files a command is told to write (`--json`, `--junit`, `--html`): checked before
// anything runs, so a CI job does not lose its run to a report it cannot write afterwards, and
// written each on its own, so one that fails (a full disk) does not take the others with it.
#pragma once

#include <string>
#include <vector>

#include "reports/model.h"

namespace faultline::cli {

struct ReportPaths {
  std::string json, junit, html;  // empty: not asked for
};

// UsageError when `path` cannot take the report `flag` names: a directory, a file or device that
// cannot be opened for writing, or a directory (the dangling symlink's target's, for one) in which
// the temporary file the writers rename into place cannot be made. Nothing is created or
// truncated, and a FIFO or socket is not even opened (its reader would see the end of it).
void check_report_path(const std::string& flag, const std::string& path);

// check_report_path for each report given, and UsageError when two of them name one file under
// any spelling, also through a symlink whose target does not exist yet.
void check_report_paths(const ReportPaths& paths);

// Empties each report file given that an earlier run left (a regular file only, emptied and not
// unlinked, so a symlink such as latest.json -> runs/42.json stays one). A command that ends
// before writing its own reports (a usage error, an input refused, a killed harness) must not
// leave last night's green one at the path tonight's CI publishes or merges. A path that names
// one of `inputs` (a --baseline, a merge's input, under any spelling) is left alone: emptied
// before it is read, it would be lost.
void empty_earlier_reports(const ReportPaths& paths, const std::vector<std::string>& inputs = {});

// Writes each report given. One that fails is said on stderr ("faultline: --junit r.xml: ...")
// and the others are still written. Returns whether every one was.
bool write_reports(const report::RunReport& report, const ReportPaths& paths);

}  // namespace faultline::cli
