// Baselines for later work: what the supervisor adds to starting a process, and what a
// throwaway cgroup costs. Compare the figures as ratios within one run:
//   BM_SupervisedSpawn / BM_BareForkExecWait, BM_SupervisedSpawnInCgroup / BM_SupervisedSpawn.
#include <benchmark/benchmark.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup/backend.h"
#include "cgroup/layout.h"
#include "supervisor/supervised_process.h"

extern char** environ;

namespace {

using namespace faultline;

const char* true_path() { return ::access("/bin/true", X_OK) == 0 ? "/bin/true" : "/usr/bin/true"; }

void BM_BareForkExecWait(benchmark::State& state) {
  for (auto _ : state) {
    pid_t pid = ::fork();
    if (pid == 0) {
      ::execl(true_path(), "true", static_cast<char*>(nullptr));
      ::_exit(127);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    benchmark::DoNotOptimize(status);
  }
}
BENCHMARK(BM_BareForkExecWait)->Unit(benchmark::kMicrosecond);

void spawn_and_wait(const std::vector<UniqueFd>* attach) {
  boost::asio::io_context io;
  supervisor::SupervisedProcess process(io, "true", 4096);
  supervisor::SpawnRequest request;
  request.argv = {true_path()};
  request.env = {"PATH=/usr/bin:/bin"};
  request.attach_fds = attach;
  process.start(request, [](supervisor::SupervisedProcess&) {});
  io.run();
  benchmark::DoNotOptimize(process.exit_status());
}

void BM_SupervisedSpawn(benchmark::State& state) {
  for (auto _ : state) spawn_and_wait(nullptr);
}
BENCHMARK(BM_SupervisedSpawn)->Unit(benchmark::kMicrosecond);

// The host's backend, or null with the benchmark marked skipped (no cgroup access).
std::unique_ptr<cgroup::Backend> backend_or_skip(benchmark::State& state) {
  try {
    return cgroup::open_backend();
  } catch (const Error& e) {
    state.SkipWithError(e.what());
    return nullptr;
  }
}

void BM_SupervisedSpawnInCgroup(benchmark::State& state) {
  auto backend = backend_or_skip(state);
  if (!backend) return;
  auto run = backend->create_run(cgroup::next_run_name());
  auto child = run->create_child("bench");
  const auto attach = child->open_attach_fds();
  for (auto _ : state) spawn_and_wait(&attach);
  run->destroy();
}
BENCHMARK(BM_SupervisedSpawnInCgroup)->Unit(benchmark::kMicrosecond);

void BM_CgroupCreateDestroy(benchmark::State& state) {
  auto backend = backend_or_skip(state);
  if (!backend) return;
  for (auto _ : state) {
    auto run = backend->create_run(cgroup::next_run_name());
    auto child = run->create_child("bench");
    child.reset();
    run->destroy();
  }
}
BENCHMARK(BM_CgroupCreateDestroy)->Unit(benchmark::kMicrosecond);

}  // namespace
