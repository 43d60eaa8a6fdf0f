#include "injectors/pids_injector.h"

#include <algorithm>

namespace faultline::injectors {

namespace {
std::string text(std::uint64_t v) { return v == kUnlimited ? "max" : std::to_string(v); }
}  // namespace

std::string PidsInjector::apply(const Target& target) {
  const std::uint64_t old = target.group.pids_max();
  const std::uint64_t above = enclosing_pids_max(target);
  // A limit at or above the one in force squeezes nothing, and a fault never loosens a limit:
  // "forks 10 workers under a pids squeeze to 64" must not pass for a process started under 4,
  // or for one whose caller's limit of 50 the run keeps.
  if (fault_.limit >= std::min(old, above))
    throw NoEffect(
        (above < old ? held_by_caller("pids", text(above)) : "pids.max is " + text(old) + " already") +
        kMustLower);
  target.group.set_pids_max(fault_.limit);
  old_ = old;
  return "pids.max " + text(old) + " -> " + text(fault_.limit);
}

std::string PidsInjector::revert(const Target& target) {
  if (!old_) return {};
  const std::uint64_t now = target.group.pids_max();
  target.group.set_pids_max(*old_);
  return "pids.max " + text(now) + " -> " + text(*old_);
}

std::string PidsInjector::describe() const { return "pids.max " + text(fault_.limit); }

}  // namespace faultline::injectors
