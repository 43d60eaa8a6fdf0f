// A command run once in a throwaway cgroup of its own, on the run's event loop: the one way exec
// probes and `ready.exec` gates run their commands. The command gets at most `timeout`; whatever
// it leaves behind is killed with its cgroup (without blocking the loop) before the outcome is
// reported, and the cgroup is removed.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "cgroup/cgroup.h"
#include "common/units.h"

namespace faultline::runner {

struct OneShotCommand {
  std::vector<std::string> argv;
  std::optional<std::filesystem::path> cwd;  // none: the harness's own
  std::string label;                         // names the process in supervisor messages, e.g. "probe orders"
  Duration timeout{std::chrono::seconds(2)};
};

struct OneShotOutcome {
  bool succeeded = false;        // exited with code 0 within the timeout
  bool could_not_start = false;  // a missing binary, no cgroup: trying again will not help
  std::optional<int> exit_code;  // when it exited (not killed, not timed out)
  // Why not, worded to follow the command: "exited with code 3: not yet", "timed out after 2s",
  // "killed by SIGKILL", "could not start: ...". Empty when it succeeded.
  std::string failure;
};

// Every one-shot command of this process so far (every run's): how many run_one_shot was asked
// to run, and how many of those ended in a cgroup whose CPU count was read before it was removed,
// with what those counts add up to. A cgroup made and removed for each command can lose part of
// its CPU before its parent's count takes it (seen on cgroup v2), so a run's CPU check adds these
// reads to its own cgroup's count, and is only sound when every command it started was read.
struct OneShotTally {
  std::uint64_t started = 0;
  std::uint64_t counted = 0;
  std::chrono::microseconds cpu{0};
};
OneShotTally one_shot_tally();
// What happened between two tallies (`later` taken after `earlier`).
OneShotTally operator-(const OneShotTally& later, const OneShotTally& earlier);

// For a loop that has stopped with commands still running (cut off as the run ended): kills each
// and waits until its cgroup is empty, then reads its count into the tally. Blocks.
void count_unfinished_one_shots(boost::asio::io_context& io);

// The argv as one line for messages: `sh -c echo hi`.
std::string join_argv(const std::vector<std::string>& argv);

// Runs `command` in a new child `child_name` of `parent` and calls `done` exactly once, always
// from the loop (never from inside this call). The returned function kills the command early;
// `done` still follows, reporting what the kill did. `parent` must outlive the command; if the
// loop is destroyed first, `done` is never called and the cgroup is removed with the loop.
std::function<void()> run_one_shot(boost::asio::io_context& io, cgroup::Cgroup& parent,
                                   const std::string& child_name, OneShotCommand command,
                                   std::function<void(OneShotOutcome)> done);

}  // namespace faultline::runner
