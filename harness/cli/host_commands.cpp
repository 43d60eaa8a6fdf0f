// `doctor` and `cleanup`: the host side of faultline.
#include <linux/capability.h>

#include <boost/asio/io_context.hpp>
#include <iostream>

#include "cgroup/backend.h"
#include "cli/commands.h"
#include "common/proc_status.h"
#include "net/refused_connects.h"
#include "syscall/host_support.h"

namespace faultline::cli {
namespace {

// What a scenario or `exec` cannot use when a knob is missing.
std::string keys_needing(cgroup::Knob knob) {
  using cgroup::Knob;
  switch (knob) {
    case Knob::memory_max:
      return "limits.memory, [[inject]] memory limit, exec --memory";
    case Knob::memory_high:
      return "limits.memory_high, [[inject]] memory high, exec --memory-high";
    case Knob::swap_max:
      return "limits.swap, exec --swap";
    case Knob::cpu_max:
      return "limits.cpu, limits.cpu_period, [[inject]] cpu quota/period, exec --cpu";
    case Knob::cpuset:
      return "limits.cpuset, [[inject]] cpu cpuset";
    case Knob::pids_max:
      return "limits.pids, [[inject]] pids, exec --pids";
    case Knob::freeze:
      return "[[inject]] freeze";
    case Knob::kill:
      return "killing a run (every scenario)";
  }
  return cgroup::to_string(knob);
}

// Ready as soon as throwaway cgroups can be made: a missing controller or a v2-only key takes
// away the scenarios that use it (skipped, or an error under --strict), not the host.
int doctor() {
  const auto r = cgroup::diagnose_host();
  std::cout << "cgroup mode:      " << cgroup::to_string(r.mode) << "\n"
            << "throwaway parent: " << r.parent << (r.writable ? " (writable)" : " (NOT writable)") << "\n"
            << "controllers:\n";
  for (const auto& c : r.controllers)
    std::cout << "  " << (c.usable ? "ok    " : "MISSING ") << c.name << "  " << c.detail << "\n";
  if (!r.writable) {
    for (const auto& p : r.problems) std::cout << "problem: " << p << "\n";
    for (const auto& f : r.fixes) std::cout << "fix:     " << f << "\n";
    std::cout << "this host cannot run scenarios: no throwaway cgroup can be made\n";
    return kExitHost;
  }
  const auto syscalls = syscall::assess(syscall::gather_host_facts());
  std::cout << "syscall faults (seccomp user notification):\n";
  for (const auto& c : syscalls.checks)
    std::cout << "  " << (c.ok ? "ok    " : "MISSING ") << c.name << "  " << c.detail << "\n";
  if (syscalls.usable) std::cout << "  note  " << syscalls.fast_path << "\n";
  // Not a missing capability of the host, but a fault that holds differently: say so before a
  // windowed fd fault surprises its author.
  std::cout << "fd faults (RLIMIT_NOFILE):\n";
  if (has_effective_capability(CAP_SYS_RESOURCE))
    std::cout
        << "  ok    hard limit  CAP_SYS_RESOURCE is held: a fault lowers the soft and the hard limit and "
           "its end restores both\n";
  else
    std::cout
        << "  note  hard limit  no CAP_SYS_RESOURCE: a fault with a `duration` lowers only the soft limit "
           "(its end could not raise the hard one back) and is an error if a process raised its soft "
           "limit past it; one without a `duration` lowers both\n";
  // The proxy's own watch, opened and dropped, for each family a proxy may listen on: what a
  // `down` fault can show here (a host without IPv6 has no IPv6 raw socket either).
  std::cout << "network faults (TCP proxy):\n";
  for (const auto& [family, loopback] : {std::pair{"IPv4", "127.0.0.1"}, std::pair{"IPv6", "::1"}}) {
    try {
      boost::asio::io_context io;
      net::RefusedConnectWatch watch(io, {boost::asio::ip::make_address(loopback), 9}, [](std::uint16_t) {});
      std::cout << "  ok    refused connects (" << family << ")  a raw socket opens: a `down` fault counts "
                << "the connects it refuses, so a partition no client met fails\n";
    } catch (const Error& e) {
      std::cout << "  note  refused connects (" << family << ")  " << e.what()
                << ": a `down` fault on a proxy "
                << "listening on " << family << " cannot count the connects it refuses, and counts as tried "
                << "when the proxy accepted any connection in the run\n";
    }
  }
  if (!r.unavailable.empty()) {
    std::cout
        << "unavailable here (scenarios using them are skipped, an error under --strict; exec exits 125):\n";
    for (const auto& u : r.unavailable) std::cout << "  " << keys_needing(u.knob) << ": " << u.why << "\n";
    for (const auto& f : r.fixes) std::cout << "to enable: " << f << "\n";
  }
  // The target itself loads the filter before exec, so on such a host its start fails.
  if (!syscalls.usable)
    std::cout << "unavailable here (a process under a syscall fault fails to start):\n  "
              << syscall::kSyscallFaultKeys << ": " << syscalls.why << "\n";
  const bool all = r.unavailable.empty() && syscalls.usable;
  std::cout << "ready: this host can run scenarios and exec" << (all ? "" : ", except with the keys above")
            << "\n";
  return kExitOk;
}

int cleanup(const std::string& cgroup_root) {
  cgroup::BackendOptions options;
  options.refuse_inside_another_run = false;  // it removes only runs whose harness is gone
  if (!cgroup_root.empty()) options.root = cgroup_root;
  if (auto problem = cgroup::cgroup_root_problem(options)) throw UsageError(*problem);
  auto backend = cgroup::open_backend(options);
  const auto stale = backend->remove_stale_runs();
  for (const auto& name : stale.removed) std::cout << "removed " << name << "\n";
  std::cout << stale.removed.size() << " stale run(s) removed\n";
  for (const auto& failure : stale.failures) std::cerr << "faultline: could not remove " << failure << "\n";
  return stale.failures.empty() ? kExitOk : kExitFailed;
}

}  // namespace

void add_doctor_command(CLI::App& app, Invocation* invocation) {
  auto* cmd = app.add_subcommand("doctor", "What this host supports and how to fix what it lacks");
  cmd->callback([invocation] { invocation->run = doctor; });
}

void add_cleanup_command(CLI::App& app, Invocation* invocation) {
  auto* cmd = app.add_subcommand("cleanup", "Kill and remove throwaway cgroups left by dead harnesses");
  auto root = std::make_shared<std::string>();
  cmd->add_option("--cgroup-root", *root,
                  "Parent cgroup the runs were made under, as given to run and exec (default: auto)");
  cmd->callback([invocation, root] { invocation->run = [root] { return cleanup(*root); }; });
}

}  // namespace faultline::cli
