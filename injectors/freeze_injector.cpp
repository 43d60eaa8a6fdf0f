#include "injectors/freeze_injector.h"

namespace faultline::injectors {

std::string FreezeInjector::apply(const Target& target) {
  target.group.freeze();
  frozen_ = true;
  return "running -> frozen";
}

std::string FreezeInjector::revert(const Target& target) {
  if (!frozen_) return {};
  target.group.thaw();
  frozen_ = false;
  return "frozen -> running";
}

}  // namespace faultline::injectors
