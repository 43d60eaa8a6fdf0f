// Keeps the last bytes of a stream and counts all of them: a target that floods its output
// costs the harness a fixed amount of memory.
#pragma once

#include <algorithm>
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
    // A line at a time (memchr), not a byte at a time: a flooding target reads at pipe speed.
    while (!data.empty()) {
      const std::size_t nl = data.find('\n');
      const std::size_t room = max_line_ - partial_.size();
      if (nl != std::string_view::npos && nl <= room) {
        if (partial_.empty()) {
          on_line(data.substr(0, nl));
        } else {
          partial_.append(data.substr(0, nl));
          on_line(std::string_view(partial_));
          partial_.clear();
        }
        data.remove_prefix(nl + 1);
        continue;
      }
      const std::size_t take = std::min(room, data.size());
      partial_.append(data.substr(0, take));
      data.remove_prefix(take);
      if (!data.empty()) {  // full, and the line goes on: the rest is matched as its own line
        on_line(std::string_view(partial_));
        partial_.clear();
      }
    }
  }
  // The line written so far and not yet ended by a newline (a prompt, a "ready" flushed without
  // one), or empty.
  std::string_view open_line() const { return partial_; }
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
