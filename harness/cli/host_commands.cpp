// `doctor` and `cleanup`: the host side of faultline.
#include <iostream>

#include "cgroup/backend.h"
#include "cli/commands.h"

namespace faultline::cli {
namespace {

int doctor() {
  const auto r = cgroup::diagnose_host();
  std::cout << "cgroup mode:      " << cgroup::to_string(r.mode) << "\n"
            << "throwaway parent: " << r.parent << (r.writable ? " (writable)" : " (NOT writable)") << "\n"
            << "controllers:\n";
  for (const auto& c : r.controllers)
    std::cout << "  " << (c.usable ? "ok    " : "MISSING ") << c.name << "  " << c.detail << "\n";
  for (const auto& p : r.problems) std::cout << "problem: " << p << "\n";
  for (const auto& f : r.fixes) std::cout << "fix:     " << f << "\n";
  const bool can_run = r.writable && r.problems.empty();
  std::cout << (can_run ? "this host can run scenarios\n" : "this host cannot run scenarios yet\n");
  return r.writable ? kExitOk : kExitHost;
}

int cleanup() {
  auto backend = cgroup::open_backend();
  const auto removed = backend->remove_stale_runs();
  for (const auto& name : removed) std::cout << "removed " << name << "\n";
  std::cout << removed.size() << " stale run(s) removed\n";
  return kExitOk;
}

}  // namespace

void add_doctor_command(CLI::App& app, Action* action) {
  auto* cmd = app.add_subcommand("doctor", "What this host supports and how to fix what it lacks");
  cmd->callback([action] { *action = doctor; });
}

void add_cleanup_command(CLI::App& app, Action* action) {
  auto* cmd = app.add_subcommand("cleanup", "Kill and remove throwaway cgroups left by dead harnesses");
  cmd->callback([action] { *action = cleanup; });
}

}  // namespace faultline::cli
