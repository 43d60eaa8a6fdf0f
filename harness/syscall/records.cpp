#include "syscall/records.h"

namespace faultline::syscall {

FaultRecords::FaultRecords(std::vector<std::string> rule_names, std::size_t keep_first, std::size_t keep_last)
    : keep_first_(keep_first), keep_last_(keep_last) {
  for (auto& name : rule_names) rules_.push_back(RuleRecord{std::move(name), 0, 0, {}, {}});
}

void FaultRecords::matched(std::size_t rule) {
  std::lock_guard lock(mutex_);
  ++rules_.at(rule).matched;
}

void FaultRecords::acted(std::size_t rule, FaultEvent event) {
  std::lock_guard lock(mutex_);
  auto& record = rules_.at(rule);
  ++record.acted;
  if (record.first.size() < keep_first_) {
    record.first.push_back(std::move(event));
    return;
  }
  if (keep_last_ == 0) return;
  if (record.last.size() == keep_last_) record.last.pop_front();
  record.last.push_back(std::move(event));
}

std::vector<RuleRecord> FaultRecords::snapshot() const {
  std::lock_guard lock(mutex_);
  return rules_;
}

}  // namespace faultline::syscall
