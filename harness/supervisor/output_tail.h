// Keeps the last bytes of a stream and counts all of them: a target that floods its output
// costs the harness a fixed amount of memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace faultline::supervisor {

class OutputTail {
 public:
  explicit OutputTail(std::size_t capacity = 64 * 1024) : capacity_(capacity) {}

  void append(std::string_view data);
  // The kept bytes in order, oldest first.
  std::string tail() const;
  std::uint64_t total_bytes() const { return total_; }
  bool truncated() const { return total_ > capacity_; }

 private:
  std::size_t capacity_;
  std::string ring_;       // grows up to capacity_, then wraps
  std::size_t start_ = 0;  // index of the oldest byte once full
  std::uint64_t total_ = 0;
};

// Splits a stream into lines for readiness matching; a line longer than `max_line` is cut
// (the rest is matched as its own line), so a target without newlines cannot grow it.
class LineSplitter {
 public:
  explicit LineSplitter(std::size_t max_line = 64 * 1024) : max_line_(max_line) {}
  template <typename OnLine>
  void feed(std::string_view data, OnLine&& on_line) {
    for (char c : data) {
      if (c == '\n' || partial_.size() >= max_line_) {
        on_line(std::string_view(partial_));
        partial_.clear();
        if (c == '\n') continue;
      }
      partial_.push_back(c);
    }
  }
  template <typename OnLine>
  void finish(OnLine&& on_line) {
    if (!partial_.empty()) on_line(std::string_view(partial_));
    partial_.clear();
  }

 private:
  std::size_t max_line_;
  std::string partial_;
};

}  // namespace faultline::supervisor
