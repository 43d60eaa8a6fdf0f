// The scenario's [[proxy]] tables, run on the run's event loop: each proxy listens as soon as the
// processes it comes `after` are ready (before the processes that wait for it start), and closes
// with the scenario. The fault timeline puts network faults on them through apply/revert.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "net/proxy.h"
#include "runner/run_context.h"

namespace faultline::runner {

class Proxies final : public RunObserver {
 public:
  explicit Proxies(const scenario::Scenario& scenario);
  ~Proxies() override;

  void on_run_start(RunContext& ctx) override;
  void on_process_ready(RunContext& ctx, const std::string& process) override;
  void on_stop_phase(RunContext& ctx) override;
  void on_run_end(RunContext& ctx) override;

  // Puts the network fault of `inj` on its proxy, or takes it away; the text says what the
  // proxy's faults were and are now ("none -> latency 2s downstream"). Throws Error.
  std::string apply(const scenario::Injection& inj);
  std::string revert(const scenario::Injection& inj);

 private:
  struct Running {
    const scenario::ProxySpec* spec = nullptr;
    std::unique_ptr<net::TcpProxy> proxy;
    std::map<std::string, std::string> active;  // injection name -> what it does, in force now
    // What the faults had done when the stop phase began; counted from then on, the shutdown it
    // starts (the clients closing their connections) would pass for the faults' work.
    std::optional<std::map<std::string, std::uint64_t>> touched_at_stop;
    std::optional<std::uint64_t> refused_at_stop;
  };
  void start_waiting(RunContext& ctx);
  Running& running(const scenario::Injection& inj);
  static std::string describe(const Running& r);
  static std::string describe(const scenario::Injection& inj);

  const scenario::Scenario& scenario_;
  std::vector<std::string> ready_;
  std::map<std::string, Running> proxies_;
  bool stopped_ = false;
};

// Converts a scenario's network fault into the engine's toxic.
net::Toxic to_toxic(const scenario::Injection& inj);

}  // namespace faultline::runner
