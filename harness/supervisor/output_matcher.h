// Checks a target's whole output for patterns while it streams, in bounded memory: the tail
// kept for the report is not enough, a forbidden word that scrolled out of it must still fail.
// Literals are searched across read boundaries (newlines included); regexes (RE2, linear time)
// are matched against every line. Only the first occurrence of each pattern is kept: it answers
// both "was it ever seen" and "where did the forbidden one appear".
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace re2 {
class RE2;
}

namespace faultline::supervisor {

struct OutputPatterns {
  std::vector<std::string> literals;  // anywhere in the stream, across lines too
  std::vector<std::string> regexes;   // RE2 syntax, against each line without its newline
  bool empty() const { return literals.empty() && regexes.empty(); }
};

// Where a pattern was first seen.
struct OutputMatch {
  std::uint64_t line = 0;    // 1-based line where the match starts
  std::uint64_t offset = 0;  // byte offset of the match start in the stream
  std::string excerpt;       // the text around it on that line, escaped and bounded
};

class OutputMatcher {
 public:
  // A line longer than `max_line` bytes is matched in pieces of `max_line` bytes, each piece
  // starting `overlap` bytes before the end of the previous one: memory stays bounded on a
  // target that never writes a newline, and a match up to `overlap` bytes long is still found
  // wherever it falls. `^` and `$` keep matching only at the real start and end of the line.
  static constexpr std::size_t kMaxLine = 1024 * 1024;
  static constexpr std::size_t kLineOverlap = 64 * 1024;

  // Throws faultline::Error when a regex does not compile (the loader validates them first).
  explicit OutputMatcher(OutputPatterns patterns, std::size_t max_line = kMaxLine,
                         std::size_t overlap = kLineOverlap);
  OutputMatcher(OutputMatcher&&) noexcept;
  OutputMatcher& operator=(OutputMatcher&&) noexcept;
  ~OutputMatcher();

  void feed(std::string_view chunk);
  // End of the stream: a last line without a newline is matched like any other line.
  void finish();

  const OutputPatterns& patterns() const { return patterns_; }
  const std::optional<OutputMatch>& literal_match(std::size_t i) const { return literal_found_.at(i); }
  const std::optional<OutputMatch>& regex_match(std::size_t i) const { return regex_found_.at(i); }
  std::uint64_t bytes() const { return bytes_; }
  // Newlines seen, plus one for a last line without a newline.
  std::uint64_t lines() const { return newlines_ + (bytes_ > 0 && !last_was_newline_ ? 1 : 0); }

 private:
  void feed_literals(std::string_view chunk);
  void feed_regexes(std::string_view chunk, std::uint64_t newlines);
  void append_to_line(std::string_view data);
  void end_line();
  // Matches text[begin, end) (text outside it is context for ^, $ and \b). `line` is the line
  // number at text[begin] and `offset` the stream offset of text[0].
  void match_regexes(std::string_view text, std::size_t begin, std::size_t end, std::uint64_t line,
                     std::uint64_t offset);

  OutputPatterns patterns_;
  std::vector<std::unique_ptr<re2::RE2>> compiled_;
  std::vector<std::optional<OutputMatch>> literal_found_;
  std::vector<std::optional<OutputMatch>> regex_found_;
  std::size_t literals_left_ = 0;
  std::size_t regexes_left_ = 0;
  std::size_t max_line_;
  std::size_t overlap_;

  std::uint64_t bytes_ = 0;
  std::uint64_t newlines_ = 0;
  bool last_was_newline_ = false;

  // Literals: the last (longest literal - 1) bytes, for matches across two reads.
  std::size_t longest_literal_ = 0;
  std::string carry_;

  // Regexes: the current line so far. After a long line was cut, line_[0] is a context byte
  // already matched (so `^` cannot match after it) and matching resumes at line_[1].
  std::string line_;
  bool line_continued_ = false;
  std::uint64_t line_no_ = 1;      // 1-based number of that line
  std::uint64_t line_offset_ = 0;  // stream offset of line_[0]
};

// Bytes made safe for a one-line message: control bytes and invalid UTF-8 as \n, \t, \xNN;
// valid UTF-8 is kept. At most `max` input bytes, "…" when cut.
std::string escape_excerpt(std::string_view text, std::size_t max = 160);

}  // namespace faultline::supervisor
