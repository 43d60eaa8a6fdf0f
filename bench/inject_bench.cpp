// The fault timeline's costs: how late an injection lands against its schedule (scheduled vs
// applied, from the report's timeline) and what one resource sample costs (one stats() read
// of a process cgroup, done per process every sample interval).
#include <benchmark/benchmark.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>

#include "cgroup/backend.h"
#include "cgroup/layout.h"
#include "runner/scenario_runner.h"
#include "scenario/loader.h"

namespace {

using namespace faultline;
namespace fs = std::filesystem;

scenario::Scenario timing_scenario(const fs::path& dir) {
  std::ofstream(dir / "timing.toml") << R"(
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
)";
  return scenario::load_scenario(dir / "timing.toml");
}

// Lateness of every apply/revert against its schedule, in ms; counters: mean and worst.
void BM_InjectionTimingError(benchmark::State& state) {
  if (::geteuid() != 0) {
    state.SkipWithError("needs root to create cgroups");
    return;
  }
  const fs::path dir = fs::temp_directory_path() / ("faultline-bench-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const auto s = timing_scenario(dir);
  fs::remove_all(dir);
  auto backend = cgroup::open_backend();
  runner::RunnerOptions options;
  std::vector<double> errors;
  for (auto _ : state) {
    const auto result = runner::run_scenario(s, *backend, options);
    if (result.verdict != report::Verdict::pass) {
      state.SkipWithError(("scenario did not pass: " + result.reason).c_str());
      return;
    }
    int poke = 0;
    for (const auto& e : result.timeline) {
      double expected = -1;
      if (e.inject == "window" && e.event == "inject.apply") expected = 200;
      if (e.inject == "window" && e.event == "inject.revert") expected = 450;
      if (e.inject == "poke" && e.event == "inject.apply") expected = 300 + 50 * poke++;
      if (expected >= 0) errors.push_back(e.t_ms - expected);
    }
  }
  if (errors.empty()) return;
  double sum = 0;
  for (double e : errors) sum += e;
  state.counters["mean_late_ms"] = sum / static_cast<double>(errors.size());
  state.counters["worst_late_ms"] = *std::max_element(errors.begin(), errors.end());
  state.counters["early_ms"] = std::min(0.0, *std::min_element(errors.begin(), errors.end()));
}
BENCHMARK(BM_InjectionTimingError)->Iterations(5)->Unit(benchmark::kMillisecond)->UseRealTime();

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
