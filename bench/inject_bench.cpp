// The fault timeline's costs, from the report's three times of every injection event:
// how late the timer asks for a fault against its schedule (requested - scheduled), and how
// long the kernel takes to put it in force (effective - requested); plus what one resource
// sample costs (one stats() read of a process cgroup, done per process every sample interval).
// The e2e tests assert only order and generous bounds; the precision lives here.
#include <benchmark/benchmark.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <numeric>

#include "cgroup/backend.h"
#include "cgroup/layout.h"
#include "runner/scenario_runner.h"
#include "scenario/loader.h"

namespace {

using namespace faultline;
namespace fs = std::filesystem;

// The folder of faultline and faultline-payload: FAULTLINE_DIR, else the build tree this
// bench lives in (build/bench/faultline-bench).
std::string faultline_dir() {
  if (const char* dir = std::getenv("FAULTLINE_DIR")) return dir;
  std::error_code ec;
  const auto self = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string(".") : self.parent_path().parent_path().string();
}

scenario::Scenario load_text(const std::string& file_name, const std::string& text) {
  const fs::path dir = fs::temp_directory_path() / ("faultline-bench-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / file_name) << text;
  scenario::LoadOptions options;
  options.builtin_vars["faultline_dir"] = faultline_dir();
  auto s = scenario::load_scenario(dir / file_name, options);
  fs::remove_all(dir);
  return s;
}

scenario::Scenario timing_scenario() {
  return load_text("timing.toml", R"(
name = "injection timing"
timeout = "10s"
[target]
command = ["/bin/sleep", "0.6"]
[[inject]]
name = "window"
kind = "cpu"
quota = "50%"
at = "200ms"
duration = "250ms"
[[inject]]
name = "poke"
kind = "signal"
signal = "SIGCONT"
at = "window.start+100ms"
repeat = { every = "50ms", count = 3 }
)");
}

double mean(const std::vector<double>& v) {
  return v.empty() ? 0 : std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
}
double worst(const std::vector<double>& v) { return v.empty() ? 0 : *std::max_element(v.begin(), v.end()); }

// Timer lateness and kernel time of every apply/revert of cheap faults (a cpu window, three
// signals), in ms: mean and worst of each.
void BM_InjectionTimingError(benchmark::State& state) {
  if (::geteuid() != 0) {
    state.SkipWithError("needs root to create cgroups");
    return;
  }
  const auto s = timing_scenario();
  auto backend = cgroup::open_backend();
  runner::RunnerOptions options;
  options.faultline_dir = faultline_dir();
  std::vector<double> late, in_effect;
  for (auto _ : state) {
    const auto result = runner::run_scenario(s, *backend, options);
    if (result.verdict != report::Verdict::pass) {
      state.SkipWithError(("scenario did not pass: " + result.reason).c_str());
      return;
    }
    for (const auto& e : result.timeline) {
      if (!e.scheduled_ms || !e.requested_ms || !e.effective_ms) continue;
      late.push_back(*e.requested_ms - *e.scheduled_ms);
      in_effect.push_back(*e.effective_ms - *e.requested_ms);
    }
  }
  state.counters["mean_late_ms"] = mean(late);
  state.counters["worst_late_ms"] = worst(late);
  state.counters["early_ms"] = late.empty() ? 0 : std::min(0.0, *std::min_element(late.begin(), late.end()));
  state.counters["mean_in_effect_ms"] = mean(in_effect);
  state.counters["worst_in_effect_ms"] = worst(in_effect);
}
BENCHMARK(BM_InjectionTimingError)->Iterations(5)->Unit(benchmark::kMillisecond)->UseRealTime();

// A memory squeeze below the usage against a limit change above it, in the same run: how long
// each takes to be in force after it was requested. On cgroup v2 the squeeze's write reclaims
// and OOM-kills; on v1 it includes charging from the helper, the OOM kill and the wait for
// the victim's memory. squeeze_ratio = squeeze / baseline.
void BM_SqueezeInEffect(benchmark::State& state) {
  if (::geteuid() != 0) {
    state.SkipWithError("needs root to create cgroups");
    return;
  }
  const auto s = load_text("squeeze.toml", R"(
name = "squeeze timing"
timeout = "20s"
[target]
command = ["${faultline_dir}/faultline-payload", "alloc", "100MiB", "--hold", "10s"]
[target.ready]
log = "allocated"
[target.limits]
swap = "0B"
[[inject]]
name = "baseline"
kind = "memory"
limit = "300MiB"
at = "ready+100ms"
[[inject]]
name = "squeeze"
kind = "memory"
limit = "48MiB"
at = "ready+300ms"
[expect]
outcome = "oom-killed"
)");
  auto backend = cgroup::open_backend();
  runner::RunnerOptions options;
  options.faultline_dir = faultline_dir();
  std::vector<double> baseline, squeeze, late;
  for (auto _ : state) {
    const auto result = runner::run_scenario(s, *backend, options);
    if (result.verdict != report::Verdict::pass) {
      state.SkipWithError(("scenario did not pass: " + result.reason).c_str());
      return;
    }
    for (const auto& e : result.timeline) {
      if (e.event != "inject.apply" || !e.requested_ms || !e.effective_ms || !e.scheduled_ms) continue;
      (e.inject == "squeeze" ? squeeze : baseline).push_back(*e.effective_ms - *e.requested_ms);
      late.push_back(*e.requested_ms - *e.scheduled_ms);
    }
  }
  state.counters["baseline_in_effect_ms"] = mean(baseline);
  state.counters["squeeze_in_effect_ms"] = mean(squeeze);
  state.counters["squeeze_worst_ms"] = worst(squeeze);
  state.counters["squeeze_ratio"] = mean(baseline) > 0 ? mean(squeeze) / mean(baseline) : 0;
  state.counters["mean_late_ms"] = mean(late);
}
BENCHMARK(BM_SqueezeInEffect)->Iterations(5)->Unit(benchmark::kMillisecond)->UseRealTime();

// One sample: the stats() read the sampler does per running process per interval.
void BM_SampleOneCgroup(benchmark::State& state) {
  if (::geteuid() != 0) {
    state.SkipWithError("needs root to create cgroups");
    return;
  }
  auto backend = cgroup::open_backend();
  auto run = backend->create_run(cgroup::next_run_name());
  auto group = run->create_child("sampled");
  const auto attach = group->open_attach_fds();
  const pid_t pid = ::fork();
  if (pid == 0) {
    for (const auto& fd : attach)
      if (::write(fd.get(), "0", 1) != 1) ::_exit(120);
    ::execl("/bin/sleep", "sleep", "60", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  const auto start = std::chrono::steady_clock::now();
  for (auto _ : state) benchmark::DoNotOptimize(group->stats());
  const double per_sample_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() /
      static_cast<double>(std::max<benchmark::IterationCount>(1, state.iterations()));
  // At the default 50ms interval (20 samples a second), the share of one CPU spent sampling
  // one process, in percent.
  state.counters["cpu_percent_at_50ms"] = per_sample_s * 20 * 100;
  group.reset();
  run->destroy();  // kills the sleeper
  ::waitpid(pid, nullptr, 0);
}
BENCHMARK(BM_SampleOneCgroup)->Unit(benchmark::kMicrosecond);

}  // namespace
