#include "runner/sampler.h"

#include "common/error.h"

namespace faultline::runner {

void Sampler::on_run_start(RunContext& ctx) {
  timer_ = std::make_unique<boost::asio::steady_timer>(ctx.io());
  arm(ctx);
}

void Sampler::arm(RunContext& ctx) {
  // Ticks are counted from the scenario start, so a slow tick does not shift the later ones.
  ++ticks_;
  timer_->expires_at(ctx.t0() + interval_ * ticks_);
  timer_->async_wait([this, &ctx](boost::system::error_code ec) {
    if (ec) return;
    sample(ctx);
    // Catch up without a burst when the loop was blocked for several intervals.
    const auto behind = (std::chrono::steady_clock::now() - ctx.t0()) / interval_;
    if (static_cast<std::uint64_t>(behind) >= ticks_) ticks_ = static_cast<std::uint64_t>(behind);
    arm(ctx);
  });
}

void Sampler::sample(RunContext& ctx) {
  for (const auto& p : ctx.scenario().processes)
    if (ctx.main_pid(p.name)) sample_one(ctx, p.name);
}

void Sampler::sample_one(RunContext& ctx, const std::string& process) {
  cgroup::Cgroup* group = ctx.process_group(process);
  if (!group) return;
  cgroup::Stats stats;
  try {
    stats = group->stats();
  } catch (const Error&) {
    return;  // a sample is best effort: the cgroup may be going away under us
  }
  report::Sample s;
  s.t_ms = ctx.now_ms();
  s.process = process;
  s.memory_bytes = stats.memory_current.value_or(0);
  s.cpu_usage_usec = stats.cpu_usage_usec.value_or(0);
  s.throttled_usec = stats.cpu_throttled_usec.value_or(0);
  s.pids = stats.pids_current.value_or(0);
  ctx.result().samples.push_back(s);
}

// The last sample of a process: what it had used when its main process ended.
void Sampler::on_process_exit(RunContext& ctx, const std::string& process) { sample_one(ctx, process); }

void Sampler::on_run_end(RunContext&) {
  if (timer_) timer_->cancel();
}

std::unique_ptr<RunObserver> make_sampler(std::chrono::milliseconds interval) {
  if (interval <= std::chrono::milliseconds(0)) return nullptr;
  return std::make_unique<Sampler>(interval);
}

}  // namespace faultline::runner
