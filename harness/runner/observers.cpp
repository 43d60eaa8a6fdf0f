#include "runner/observers.h"

#include "runner/fault_timeline.h"
#include "runner/hang_diagnosis.h"
#include "runner/probes.h"
#include "runner/sampler.h"

namespace faultline::runner {

std::vector<std::unique_ptr<RunObserver>> make_observers(const scenario::Scenario& scenario,
                                                         const RunnerOptions& options) {
  std::vector<std::unique_ptr<RunObserver>> observers;
  if (auto o = make_fault_timeline(scenario)) observers.push_back(std::move(o));
  if (auto o = make_sampler(options.sample_interval)) observers.push_back(std::move(o));
  if (auto o = make_probes(scenario)) observers.push_back(std::move(o));
  if (auto o = make_hang_diagnosis(scenario)) observers.push_back(std::move(o));
  return observers;
}

}  // namespace faultline::runner
