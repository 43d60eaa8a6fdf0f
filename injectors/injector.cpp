#include "injectors/injector.h"

#include <cmath>

#include "common/error.h"
#include "injectors/cpu_injector.h"
#include "injectors/fd_injector.h"
#include "injectors/freeze_injector.h"
#include "injectors/hog_injector.h"
#include "injectors/memory_injector.h"
#include "injectors/pids_injector.h"
#include "injectors/signal_injector.h"

namespace faultline::injectors {

namespace {
template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

template <typename T, typename Read>
T held_above(const Target& target, T none, Read read) {
  if (!target.enclosing) return none;
  try {
    return read(*target.enclosing);
  } catch (const Error&) {  // no such controller in the run's cgroup: it holds nothing
    return none;
  }
}
}  // namespace

std::uint64_t enclosing_memory_max(const Target& target) {
  return held_above(target, kUnlimited, [](const cgroup::Cgroup& g) { return g.memory_max(); });
}

std::uint64_t enclosing_pids_max(const Target& target) {
  return held_above(target, kUnlimited, [](const cgroup::Cgroup& g) { return g.pids_max(); });
}

double enclosing_cpus(const Target& target) {
  return held_above(target, INFINITY, [](const cgroup::Cgroup& g) { return g.cpu_max().cpus; });
}

std::string held_by_caller(const std::string& limit, const std::string& value) {
  return "the run's cgroup holds the caller's " + limit + " limit " + value;
}

std::optional<std::string> unsupported(const scenario::Injection& injection, const cgroup::Cgroup& group) {
  using cgroup::Knob;
  std::vector<Knob> knobs;
  std::visit(Overloaded{
                 [&](const scenario::MemoryFault& m) {
                   if (m.limit) knobs.push_back(Knob::memory_max);
                   if (m.high) knobs.push_back(Knob::memory_high);
                 },
                 [&](const scenario::CpuFault& c) {
                   if (c.quota || c.period) knobs.push_back(Knob::cpu_max);
                   if (c.cpuset) knobs.push_back(Knob::cpuset);
                 },
                 [&](const scenario::PidsFault&) { knobs.push_back(Knob::pids_max); },
                 [&](const scenario::FreezeFault&) { knobs.push_back(Knob::freeze); },
                 [](const auto&) {},
             },
             injection.params);
  for (Knob k : knobs)
    if (auto why = group.unsupported(k)) return why;
  return std::nullopt;
}

std::unique_ptr<Injector> make_injector(const scenario::Injection& injection,
                                        std::string faultline_executable, HelperLauncher launch_helper) {
  return std::visit(
      Overloaded{
          [&](const scenario::MemoryFault& f) -> std::unique_ptr<Injector> {
            return std::make_unique<MemoryInjector>(f, std::move(faultline_executable),
                                                    std::move(launch_helper));
          },
          [](const scenario::CpuFault& f) -> std::unique_ptr<Injector> {
            return std::make_unique<CpuInjector>(f);
          },
          [&](const scenario::FdFault& f) -> std::unique_ptr<Injector> {
            return std::make_unique<FdInjector>(f, injection.duration.has_value());
          },
          [](const scenario::PidsFault& f) -> std::unique_ptr<Injector> {
            return std::make_unique<PidsInjector>(f);
          },
          [](const scenario::SignalFault& f) -> std::unique_ptr<Injector> {
            return std::make_unique<SignalInjector>(f);
          },
          [](const scenario::FreezeFault&) -> std::unique_ptr<Injector> {
            return std::make_unique<FreezeInjector>();
          },
          [&](const scenario::HogFault& f) -> std::unique_ptr<Injector> {
            return std::make_unique<HogInjector>(f, std::move(faultline_executable),
                                                 std::move(launch_helper));
          },
          [&](const scenario::SyscallFault&) -> std::unique_ptr<Injector> {
            throw Error("inject `" + injection.name +
                        "` (syscall): syscall faults are driven by their own engine, not an injector");
          },
          [&](const scenario::NetworkFault&) -> std::unique_ptr<Injector> {
            throw Error("inject `" + injection.name + "` (" + injection.kind +
                        "): network faults act on a proxy, not through a cgroup injector");
          },
      },
      injection.params);
}

}  // namespace faultline::injectors
