// Killing a cgroup from inside the event loop. Cgroup::kill_all blocks until the subtree is
// empty (up to 10 s); a timer handler that called it would stall every other timer, probe and
// output read of the run. This starts the kill and waits for "empty" through the loop instead:
// cgroup.events changes (inotify) where the host has them, a short poll where it does not.
#pragma once

#include <boost/asio/io_context.hpp>
#include <functional>
#include <optional>
#include <string>

#include "cgroup/cgroup.h"
#include "common/units.h"

namespace faultline::runner {

// Calls `done` from the loop once `group` is empty (nullopt) or with why not (the kill could not
// be started, or processes were still there after `timeout`). Never calls it synchronously.
// `group` must outlive the operation; if the loop is stopped first, `done` is never called.
void async_kill_all(boost::asio::io_context& io, cgroup::Cgroup& group,
                    std::function<void(std::optional<std::string> error)> done,
                    Duration timeout = std::chrono::seconds(10));

}  // namespace faultline::runner
