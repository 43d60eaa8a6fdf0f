// Resource samples of every running process's cgroup at a fixed interval (memory, CPU usage,
// throttled time, pids), into the result's `samples`. One stats() read per process per tick
// on the run's event loop: cheap enough to leave on.
#pragma once

#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <memory>

#include "runner/run_context.h"

namespace faultline::runner {

class Sampler final : public RunObserver {
 public:
  explicit Sampler(std::chrono::milliseconds interval) : interval_(interval) {}

  void on_run_start(RunContext& ctx) override;
  void on_process_exit(RunContext& ctx, const std::string& process) override;
  void on_run_end(RunContext& ctx) override;

  // One sample of every running process, now.
  void sample(RunContext& ctx);

 private:
  void sample_one(RunContext& ctx, const std::string& process);
  void arm(RunContext& ctx);

  std::chrono::milliseconds interval_;
  std::unique_ptr<boost::asio::steady_timer> timer_;
  std::uint64_t ticks_ = 0;
};

// The sampler for a run; null when sampling is off (interval 0).
std::unique_ptr<RunObserver> make_sampler(std::chrono::milliseconds interval);

}  // namespace faultline::runner
