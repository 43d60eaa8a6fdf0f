// `faultline hog`: the noisy neighbour started by the hog injection inside a target's cgroup,
// and (`--charge`) the helper that charges memory for a squeeze below the usage on cgroup v1.
// Hidden from --help: users ask for it through [[inject]] kind = "hog" or kind = "memory".
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <iostream>
#include <thread>
#include <vector>

#include "cli/commands.h"
#include "common/proc_status.h"
#include "common/unique_fd.h"
#include "common/units.h"

namespace faultline::cli {
namespace {

using Clock = std::chrono::steady_clock;

struct HogOptions {
  std::string memory, cpu, duration, charge;
};

// Charges `total` to this process's memory cgroup, then returns (and the charge ends with the
// process). The pages belong to an unlinked tmpfs file that is never mapped: the cgroup pays
// for them but this process's RSS stays small, so when the charge drives the cgroup into the
// OOM killer, the victim is what holds the most memory there (the target), not this helper.
// The helper's own pages count towards `total`: charged on top, an instrumented (sanitizer)
// build's tens of MiB pushed the cgroup over its limit again once the target was gone, and the
// helper, then alone there, was the OOM killer's next victim.
int charge(std::uint64_t total) {
  const std::uint64_t own =
      own_status_bytes("RssAnon") + own_status_bytes("RssShmem") + own_status_bytes("VmPTE");
  const std::uint64_t bytes = total > own ? total - own : 0;
  const UniqueFd fd(::memfd_create("faultline-charge", MFD_CLOEXEC));
  if (!fd) throw Error(std::string("hog --charge: memfd_create: ") + std::strerror(errno));
  // In steps: an ENOMEM while the OOM killer's victim is still exiting costs one step's retry.
  constexpr std::uint64_t kStep = 4u << 20;
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  for (std::uint64_t off = 0; off < bytes;) {
    const std::uint64_t len = std::min(kStep, bytes - off);
    if (::fallocate(fd.get(), 0, static_cast<off_t>(off), static_cast<off_t>(len)) == 0) {
      off += len;
      continue;
    }
    if (errno == EINTR) continue;
    if (errno == ENOMEM && Clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      continue;
    }
    throw Error("hog --charge: fallocate " + format_size(len) + " at " + format_size(off) + " of " +
                format_size(bytes) + ": " + std::strerror(errno));
  }
  return kExitOk;
}

// Busy for `share` of every 10ms slice: a fraction of one CPU as the scheduler sees it.
void burn(double share, const std::atomic<bool>& stop) {
  constexpr auto slice = std::chrono::milliseconds(10);
  volatile std::uint64_t sink = 0;
  while (!stop.load(std::memory_order_relaxed)) {
    const auto slice_start = Clock::now();
    const auto busy_until = slice_start + std::chrono::duration_cast<Clock::duration>(slice * share);
    while (Clock::now() < busy_until) sink = sink + 1;
    if (share < 1.0) std::this_thread::sleep_until(slice_start + slice);
  }
}

int hog(const HogOptions& o) {
  std::string why;
  if (!o.charge.empty()) {
    if (!o.memory.empty() || !o.cpu.empty() || !o.duration.empty())
      throw UsageError("--charge charges memory and exits: it takes no --memory, --cpu or --for");
    auto v = parse_size(o.charge, &why);
    if (!v || *v == kUnlimited)
      throw UsageError("--charge `" + o.charge + "`: " + (why.empty() ? "must be finite" : why));
    return charge(*v);
  }
  std::uint64_t memory = 0;
  double cpus = 0;
  std::optional<Duration> run_for;
  if (!o.memory.empty()) {
    auto v = parse_size(o.memory, &why);
    if (!v || *v == kUnlimited)
      throw UsageError("--memory `" + o.memory + "`: " + (why.empty() ? "must be finite" : why));
    memory = *v;
  }
  if (!o.cpu.empty()) {
    auto v = parse_cpu(o.cpu, &why);
    if (!v || std::isinf(*v) || *v < 0)
      throw UsageError("--cpu `" + o.cpu + "`: " + (why.empty() ? "must be finite" : why));
    cpus = *v;
  }
  if (!o.duration.empty()) {
    run_for = parse_duration(o.duration, &why);
    if (!run_for) throw UsageError("--for `" + o.duration + "`: " + why);
  }
  const auto start = Clock::now();
  if (memory > 0) {
    // MAP_POPULATE faults every page in inside the kernel: several times faster than a trap per
    // page where page faults are dear (nested virtualisation), so the hog holds its memory sooner.
    void* block =
        ::mmap(nullptr, memory, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (block == MAP_FAILED) throw Error("hog: mmap " + format_size(memory) + ": " + std::strerror(errno));
    // Touch every page so it is charged to the cgroup, not merely reserved.
    const long page = ::sysconf(_SC_PAGESIZE);
    for (std::uint64_t off = 0; off < memory; off += static_cast<std::uint64_t>(page))
      static_cast<volatile char*>(block)[off] = 1;
  }
  std::cout << "hog: holding " << format_size(memory) << ", burning " << format_cpu(cpus) << std::endl;
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (double left = cpus; left > 1e-6; left -= 1.0)
    threads.emplace_back(burn, std::min(left, 1.0), std::cref(stop));
  if (run_for)
    std::this_thread::sleep_until(start + std::chrono::duration_cast<Clock::duration>(*run_for));
  else
    for (;;) std::this_thread::sleep_for(std::chrono::hours(1));  // until killed
  stop = true;
  for (auto& t : threads) t.join();
  return kExitOk;
}

}  // namespace

void add_hog_command(CLI::App& app, Invocation* invocation) {
  auto options = std::make_shared<HogOptions>();
  auto* cmd = app.add_subcommand("hog", "Noisy neighbour for the hog injection (allocate memory, burn CPU)");
  cmd->group("");  // hidden: an implementation detail of [[inject]] kind = "hog"
  cmd->add_option("--memory", options->memory, "Memory to allocate and touch (e.g. 120MiB)");
  cmd->add_option("--cpu", options->cpu, "CPUs to burn (e.g. 1.5 or 50%)");
  cmd->add_option("--for", options->duration, "Run this long, then exit (default: until killed)");
  cmd->add_option("--charge", options->charge,
                  "Charge this much memory to the cgroup (outside this process's RSS), then exit");
  cmd->callback([options, invocation] { invocation->run = [options] { return hog(*options); }; });
}

}  // namespace faultline::cli
