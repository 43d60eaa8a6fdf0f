// Human output on the terminal: one line per scenario as it ends, failures indented below it,
// a live progress line on a terminal, and the closing `N passed, N failed` line.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <optional>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "reports/model.h"

namespace faultline::report {

// "PASS  oom is reported  (1.2s)" / "FAIL  name  (3.0s): expect.graceful: ..."
std::string console_line(const ScenarioResult& result);
// The indented detail lines: for failures and errors the file and each failure; for every
// scenario a start limit that changed nothing here ("limits [spin]: cpu 5000% (50 CPUs) cannot
// throttle ..."), under a pass each fault skipped as `optional` ("skipped squeeze [spin]: ...");
// then the fault lines below. Empty for a plain pass.
std::string console_details(const ScenarioResult& result);
// One indented line per syscall fault ("syscall disk-full [db]: hit 5 of 17 matching calls") and
// per proxy ("proxy db: 5 connections, 1 reset, 100B up, 2.0KiB down, first byte p50 0.5ms p99 300ms").
std::string console_fault_lines(const ScenarioResult& result);
// "1 passed, 2 failed" plus ", N errors" / ", N skipped" when non-zero.
std::string summary_line(const Summary& summary);

// The console during a run. On a terminal a status line at the bottom ("[2/5] 1 failed ·
// running: name (3.1s)") is redrawn in place with \r every second and erased before each
// finished scenario's line is printed above it; anywhere else (CI logs, pipes) only the plain
// lines appear. Safe to call from the threads of a parallel run.
class ProgressLine {
 public:
  // `tty` unset: a terminal when `out` is std::cout / std::cerr and that fd is one (and TERM is
  // not "dumb"). Colours on a terminal unless NO_COLOR is set.
  explicit ProgressLine(std::ostream& out, std::optional<bool> tty = std::nullopt);
  ~ProgressLine();
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;

  void start(std::size_t total);
  void scenario_started(const std::string& name);
  // Prints console_line and console_details for the result.
  void scenario_finished(const ScenarioResult& result);
  // Erases the live line (the caller prints the summary line after it).
  void finish();

  bool live() const { return tty_; }
  // The live line as drawn now, without control characters (for tests).
  std::string status_text() const;

 private:
  struct Running {
    std::string name;
    std::chrono::steady_clock::time_point since;
  };
  std::string status_text_locked() const;
  void redraw_locked();
  void erase_locked();
  void ticker();

  std::ostream& out_;
  bool tty_ = false;
  bool color_ = false;
  std::size_t width_ = 80;
  std::size_t total_ = 0;
  std::size_t done_ = 0;
  std::size_t not_passed_ = 0;
  std::vector<Running> running_;
  bool drawn_ = false;
  bool stopping_ = false;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::thread ticker_;
};

}  // namespace faultline::report
