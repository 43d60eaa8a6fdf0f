// [[probe]] tables: while a probe's window is open, an HTTP GET, TCP connect or command is tried
// every `every`, each attempt judged against `expect.*` and recorded. Attempts never overlap:
// the next one starts `every` after the previous one started, or as soon as a slow one ended.
// At the end of the run each probe's pass ratio is compared with `min_pass_ratio`; a probe
// below it becomes a failure that names it and shows expected against actual.
#pragma once

#include <memory>

#include "runner/run_context.h"

namespace faultline::runner {

// The observer for a scenario's [[probe]] tables; null when it has none. Throws Error when a
// window's time cannot be resolved (the loader normally rejects those first). Exec probes run in
// the run's side group (RunContext::side_group).
std::unique_ptr<RunObserver> make_probes(const scenario::Scenario& scenario);

}  // namespace faultline::runner
