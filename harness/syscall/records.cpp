#include "syscall/records.h"

namespace faultline::syscall {

FaultRecords::FaultRecords(std::vector<std::string> rule_names, std::size_t keep_first, std::size_t keep_last)
    : keep_first_(keep_first), keep_last_(keep_last) {
  for (auto& name : rule_names) {
    rules_.emplace_back();
    rules_.back().rule = std::move(name);
  }
}

void FaultRecords::mark_stop(std::chrono::steady_clock::time_point at) {
  std::lock_guard lock(mutex_);
  if (!stop_) stop_ = at;
}

void FaultRecords::matched(std::size_t rule, std::chrono::steady_clock::time_point trapped) {
  std::lock_guard lock(mutex_);
  auto& record = rules_.at(rule);
  ++(stopping_at(trapped) ? record.matched_while_stopping : record.matched);
}

void FaultRecords::acted(std::size_t rule, FaultEvent event) {
  std::lock_guard lock(mutex_);
  auto& record = rules_.at(rule);
  ++(stopping_at(event.time) ? record.acted_while_stopping : record.acted);
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
