#include "supervisor/output_tail.h"

namespace faultline::supervisor {

void OutputTail::append(std::string_view data) {
  total_ += data.size();
  if (capacity_ == 0) return;
  if (data.size() >= capacity_) {
    ring_.assign(data.substr(data.size() - capacity_));
    start_ = 0;
    return;
  }
  if (ring_.size() < capacity_) {
    const std::size_t room = capacity_ - ring_.size();
    const std::size_t now = std::min(room, data.size());
    ring_.append(data.substr(0, now));
    data.remove_prefix(now);
  }
  for (char c : data) {  // full: overwrite the oldest bytes
    ring_[start_] = c;
    start_ = (start_ + 1) % capacity_;
  }
}

std::string OutputTail::tail() const {
  if (start_ == 0) return ring_;
  return ring_.substr(start_) + ring_.substr(0, start_);
}

}  // namespace faultline::supervisor
