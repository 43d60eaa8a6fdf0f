// Syscall faults against the tools people use today, on one workload in one run:
// 100,000 x (openat + close + getppid) in a static target, every 1000th openat failing with
// EMFILE. Each benchmark iteration runs every variant once (paired), and the counters are the
// medians over the iterations: seconds per variant, added microseconds per loop iteration, and
// faultline's added time as a fraction of plain strace's. A second benchmark times a getppid loop
// under a filter that does not list getppid against the same loop without one.
//   faultline-bench --benchmark_filter=Syscall
#include <benchmark/benchmark.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "supervisor/supervised_process.h"
#include "syscall/notifier.h"
#include "syscall/rules.h"

namespace {

using namespace faultline;
using Clock = std::chrono::steady_clock;

constexpr long kLoops = 100000;
constexpr long kEvery = 1000;

struct Timed {
  double seconds;      // wall
  double cpu_seconds;  // user + system of the target (and strace), immune to the machine's other load
  std::string out;
};

double children_cpu_seconds() {
  rusage usage{};
  ::getrusage(RUSAGE_CHILDREN, &usage);
  auto seconds = [](const timeval& t) { return t.tv_sec + t.tv_usec / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

// Runs argv through the supervisor's spawn path, under a filter for `rules` when there are any.
Timed run_target(std::vector<std::string> argv, const std::vector<syscall::RuleSpec>& specs) {
  std::vector<syscall::Rule> rules;
  for (const auto& spec : specs) rules.push_back(syscall::make_rule(spec));
  std::optional<syscall::ListenerChannel> channel;
  std::optional<syscall::Notifier> notifier;
  std::optional<syscall::NotifyFilter> filter;
  supervisor::SpawnRequest request;
  request.argv = std::move(argv);
  request.env = supervisor::current_environment();
  if (!rules.empty()) {
    channel = syscall::ListenerChannel::create();
    notifier.emplace(std::move(rules), std::move(channel->harness_end));
    notifier->set_all_active(true);
    filter.emplace(notifier->filter(channel->child_end.get()));
    request.notify_filter = filter->program();
    request.notify_socket = channel->child_end.get();
  }
  boost::asio::io_context io;
  supervisor::SupervisedProcess process(io, "bench", 1 << 16);
  const double cpu_before = children_cpu_seconds();
  const auto start = Clock::now();
  if (!process.start(request, [](supervisor::SupervisedProcess&) {}))
    throw std::runtime_error("start: " + process.start_failure()->message);
  if (channel) channel->child_end.reset();
  io.run();
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  const double cpu_seconds = children_cpu_seconds() - cpu_before;
  if (notifier) notifier->stop();
  return {seconds, cpu_seconds, process.output(supervisor::Stream::stdout_stream).tail()};
}

std::string target() { return FAULTLINE_SYSCALL_TARGET; }

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

void expect_failed(const Timed& t, long failed, const char* variant) {
  const std::string want = "done " + std::to_string(kLoops) + " failed " + std::to_string(failed);
  if (t.out.find(want) == std::string::npos)
    throw std::runtime_error(std::string(variant) + ": expected `" + want +
                             "`, got: " + t.out.substr(0, 200));
}

void BM_SyscallFaultVsStrace(benchmark::State& state) {
  const std::string file = (std::filesystem::temp_directory_path() / "faultline-bench-open").string();
  std::ofstream(file) << "x";
  const std::vector<std::string> workload{target(), "loop", std::to_string(kLoops), file};
  syscall::RuleSpec every;
  every.name = "emfile";
  every.syscalls = {"openat"};
  every.errno_name = "EMFILE";
  every.selection = syscall::Selection{syscall::Selection::Kind::every, kEvery};
  const std::string inject =
      "inject=openat:error=EMFILE:when=" + std::to_string(kEvery) + "+" + std::to_string(kEvery);
  auto with_strace = [&](std::vector<std::string> options) {
    std::vector<std::string> argv{"strace", "-f", "-qq", "-o", "/dev/null"};
    argv.insert(argv.end(), options.begin(), options.end());
    argv.insert(argv.end(), {"-e", inject});
    argv.insert(argv.end(), workload.begin(), workload.end());
    return argv;
  };
  const bool have_strace = ::access("/usr/bin/strace", X_OK) == 0;
  std::map<std::string, std::vector<double>> times;
  for (auto _ : state) {
    const auto bare = run_target(workload, {});
    expect_failed(bare, 0, "bare");
    times["bare"].push_back(bare.seconds);
    times["bare_cpu"].push_back(bare.cpu_seconds);
    const auto ours = run_target(workload, {every});
    expect_failed(ours, kLoops / kEvery, "faultline");
    times["faultline"].push_back(ours.seconds);
    times["faultline_cpu"].push_back(ours.cpu_seconds);
    if (have_strace) {
      const auto strace = run_target(with_strace({}), {});
      expect_failed(strace, kLoops / kEvery, "strace");
      times["strace"].push_back(strace.seconds);
      // --seccomp-bpf stops only on the traced calls, so it is told to trace openat alone.
      const auto bpf = run_target(with_strace({"--seccomp-bpf", "-e", "trace=openat"}), {});
      expect_failed(bpf, kLoops / kEvery, "strace --seccomp-bpf");
      times["strace_bpf"].push_back(bpf.seconds);
    }
  }
  std::filesystem::remove(file);
  const double bare = median(times["bare"]);
  const double ours = median(times["faultline"]);
  state.counters["bare_s"] = bare;
  state.counters["faultline_s"] = ours;
  state.counters["faultline_cpu_s"] = median(times["faultline_cpu"]);
  state.counters["bare_cpu_s"] = median(times["bare_cpu"]);
  state.counters["faultline_added_us_per_loop"] = (ours - bare) / kLoops * 1e6;
  if (have_strace) {
    const double strace = median(times["strace"]);
    const double bpf = median(times["strace_bpf"]);
    state.counters["strace_s"] = strace;
    state.counters["strace_bpf_s"] = bpf;
    state.counters["strace_added_us_per_loop"] = (strace - bare) / kLoops * 1e6;
    state.counters["strace_bpf_added_us_per_loop"] = (bpf - bare) / kLoops * 1e6;
    // The goal of the syscall fault work: at most 0.1.
    state.counters["faultline_added_vs_strace_added"] = (ours - bare) / (strace - bare);
    state.counters["faultline_added_vs_strace_bpf_added"] = (ours - bare) / (bpf - bare);
  } else {
    state.SetLabel("strace missing: apt-get install strace");
  }
}
BENCHMARK(BM_SyscallFaultVsStrace)->Iterations(3)->Unit(benchmark::kSecond)->UseRealTime();

// Calls the filter does not list never leave the kernel: a getppid loop costs the same with or
// without a filter trapping openat.
void BM_SyscallFaultUnlistedCalls(benchmark::State& state) {
  const std::vector<std::string> workload{target(), "getppid", "1000000"};
  syscall::RuleSpec unrelated;
  unrelated.name = "unrelated";
  unrelated.syscalls = {"openat"};
  unrelated.errno_name = "EIO";
  // CPU time of the target: on a shared machine its wall time mostly measures the other load.
  std::vector<double> bare, filtered;
  for (auto _ : state) {
    bare.push_back(run_target(workload, {}).cpu_seconds);
    filtered.push_back(run_target(workload, {unrelated}).cpu_seconds);
  }
  state.counters["bare_cpu_s"] = median(bare);
  state.counters["filtered_cpu_s"] = median(filtered);
  state.counters["filtered_vs_bare"] = median(filtered) / median(bare);
  state.counters["added_ns_per_call"] = (median(filtered) - median(bare)) / 1e6 * 1e9;
}
BENCHMARK(BM_SyscallFaultUnlistedCalls)->Iterations(3)->Unit(benchmark::kSecond)->UseRealTime();

}  // namespace
