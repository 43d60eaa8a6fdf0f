#include "supervisor/output_tail.h"

#include <algorithm>

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
  while (!data.empty()) {  // full: overwrite the oldest bytes, a block at a time
    const std::size_t now = std::min(capacity_ - start_, data.size());
    ring_.replace(start_, now, data.substr(0, now));
    data.remove_prefix(now);
    start_ = (start_ + now) % capacity_;
  }
}

std::string OutputTail::tail() const {
  if (start_ == 0) return ring_;
  return ring_.substr(start_) + ring_.substr(0, start_);
}

}  // namespace faultline::supervisor
