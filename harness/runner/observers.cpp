#include "runner/observers.h"

#include "runner/fault_timeline.h"
#include "runner/hang_diagnosis.h"
#include "runner/membership_watch.h"
#include "runner/probes.h"
#include "runner/proxies.h"
#include "runner/sampler.h"

namespace faultline::runner {

std::vector<std::unique_ptr<RunObserver>> make_observers(const scenario::Scenario& scenario,
                                                         const RunnerOptions& options) {
  std::vector<std::unique_ptr<RunObserver>> observers;
  // The fault timeline comes first so that at the end it reverts network faults before the
  // proxies close; the proxies start on the same hooks, before the runner starts processes.
  auto proxies = scenario.proxies.empty() ? nullptr : std::make_unique<Proxies>(scenario);
  if (auto o = make_fault_timeline(scenario, proxies.get())) observers.push_back(std::move(o));
  if (proxies) observers.push_back(std::move(proxies));
  if (auto o = make_sampler(options.sample_interval)) observers.push_back(std::move(o));
  observers.push_back(make_membership_watch(std::chrono::milliseconds(100)));
  if (auto o = make_probes(scenario)) observers.push_back(std::move(o));
  if (auto o = make_hang_diagnosis(scenario)) observers.push_back(std::move(o));
  return observers;
}

}  // namespace faultline::runner
