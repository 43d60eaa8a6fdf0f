// What output checks cost the harness: a target floods 1 GiB to stdout, once with no output
// checks (the baseline: reading the pipe and keeping the tail) and once with two
// `not_matches` regexes, in the same run. Counters: harness CPU seconds per GiB (this
// process's own CPU, the target's is not in it) and the harness's peak RSS during the run.
// Run: build/bench/faultline-bench --benchmark_filter=OutputFlood (as root: real cgroups).
#include <benchmark/benchmark.h>
#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "cgroup/backend.h"
#include "runner/scenario_runner.h"
#include "scenario/loader.h"

namespace {

using namespace faultline;
namespace fs = std::filesystem;

constexpr double kGiB = 1024.0 * 1024 * 1024;

double own_cpu_seconds() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);  // children (the target) are not counted here
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// VmHWM, reset first by writing 5 to clear_refs, so each run reports its own peak.
void reset_peak_rss() { std::ofstream("/proc/self/clear_refs") << "5"; }
double peak_rss_mib() {
  std::ifstream in("/proc/self/status");
  std::string key;
  while (in >> key) {
    if (key == "VmHWM:") {
      double kib = 0;
      in >> kib;
      return kib / 1024;
    }
    std::getline(in, key);
  }
  return 0;
}

fs::path payload_dir() {
  if (const char* p = std::getenv("FAULTLINE_PAYLOAD")) return fs::path(p).parent_path();
  return fs::read_symlink("/proc/self/exe").parent_path().parent_path();  // build/bench/.. = build
}

scenario::Scenario flood_scenario(bool with_checks) {
  const fs::path dir = fs::temp_directory_path() / ("faultline-bench-output-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "flood.toml")
      << "name = \"flood 1GiB\"\ntimeout = \"300s\"\n[target]\ncommand = [\""
      << (payload_dir() / "faultline-payload").string()
      << "\", \"flood\", \"1GiB\"]\n[expect]\nexit_codes = [0]\n"
      << (with_checks ? "stdout.not_matches = [\"^panic: \", \"fatal error|segmentation fault\"]\n" : "");
  auto s = scenario::load_scenario(dir / "flood.toml");
  fs::remove_all(dir);
  return s;
}

void BM_OutputFlood1GiB(benchmark::State& state) {
  if (::geteuid() != 0) {
    state.SkipWithError("needs root to create cgroups");
    return;
  }
  const bool with_checks = state.range(0) != 0;
  const auto s = flood_scenario(with_checks);
  auto backend = cgroup::open_backend();
  double cpu = 0, peak = 0;
  std::uint64_t bytes = 0;
  for (auto _ : state) {
    reset_peak_rss();
    const double before = own_cpu_seconds();
    const auto result = runner::run_scenario(s, *backend, {});
    cpu += own_cpu_seconds() - before;
    peak = std::max(peak, peak_rss_mib());
    if (result.verdict != report::Verdict::pass || result.processes.empty()) {
      state.SkipWithError(("scenario did not pass: " + result.reason).c_str());
      return;
    }
    bytes += result.processes[0].stdout_bytes;
  }
  state.SetLabel(with_checks ? "two not_matches regexes" : "baseline: no output checks");
  state.counters["harness_cpu_s_per_GiB"] = cpu / (static_cast<double>(bytes) / kGiB);
  state.counters["peak_rss_MiB"] = peak;
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
}
BENCHMARK(BM_OutputFlood1GiB)->Arg(0)->Arg(1)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
