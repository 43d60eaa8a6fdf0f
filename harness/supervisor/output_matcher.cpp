#include "supervisor/output_matcher.h"

#include <re2/re2.h>

#include <algorithm>
#include <cstring>

#include "common/error.h"
#include "common/line_regex.h"

namespace faultline::supervisor {
namespace {

// A valid UTF-8 sequence starting at s[i]: its length, or 0. Overlong forms, UTF-16 surrogates
// and code points above U+10FFFF are invalid, as they are to RE2 and in reports/escape.cpp.
std::size_t utf8_length(std::string_view s, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const unsigned char b = byte(0);
  const std::size_t n = b >= 0xC2 && b <= 0xDF   ? 2
                        : b >= 0xE0 && b <= 0xEF ? 3
                        : b >= 0xF0 && b <= 0xF4 ? 4
                                                 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k)
    if ((byte(k) & 0xC0) != 0x80) return 0;
  if ((b == 0xE0 && byte(1) < 0xA0) || (b == 0xF0 && byte(1) < 0x90)) return 0;  // overlong
  if (b == 0xED && byte(1) >= 0xA0) return 0;                                    // surrogates
  if (b == 0xF4 && byte(1) >= 0x90) return 0;                                    // above U+10FFFF
  return n;
}

// Where the first invalid UTF-8 byte of s[from, to) is, or npos.
std::size_t find_invalid_utf8(std::string_view s, std::size_t from, std::size_t to) {
  for (std::size_t i = from; i < to;) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
    } else if (const std::size_t n = utf8_length(s, i)) {
      i += n;
    } else {
      return i;
    }
  }
  return std::string_view::npos;
}

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

std::string escape_bytes(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto b = static_cast<unsigned char>(s[i]);
    if (b == '\n') {
      out += "\\n";
    } else if (b == '\r') {
      out += "\\r";
    } else if (b == '\t') {
      out += "\\t";
    } else if (b == '\\') {
      out += "\\\\";
    } else if (b >= 0x20 && b < 0x7f) {
      out += static_cast<char>(b);
    } else if (const std::size_t n = b >= 0x80 ? utf8_length(s, i) : 0) {
      out.append(s.substr(i, n));
      i += n - 1;
    } else {
      out += "\\x";
      out += kHex[b >> 4];
      out += kHex[b & 0xF];
    }
  }
  return out;
}

// The match text[begin, end) with some of its line around it.
constexpr std::size_t kExcerptContext = 40;

std::string excerpt_of(std::string_view text, std::size_t begin, std::size_t end) {
  constexpr std::size_t kBefore = kExcerptContext, kMatch = 80, kAfter = kExcerptContext;
  std::size_t line_start = 0;
  if (begin > 0)
    if (auto nl = text.rfind('\n', begin - 1); nl != std::string_view::npos) line_start = nl + 1;
  std::size_t line_end = text.find('\n', end);
  if (line_end == std::string_view::npos) line_end = text.size();
  const std::size_t from = begin - std::min(begin - line_start, kBefore);
  const std::size_t to = end + std::min(line_end - end, kAfter);
  std::string out = from > line_start ? "…" : "";
  out += escape_bytes(text.substr(from, begin - from));
  out += escape_excerpt(text.substr(begin, end - begin), kMatch);
  out += escape_bytes(text.substr(end, to - end));
  if (to < line_end) out += "…";
  return out;
}

std::uint64_t count_newlines(std::string_view s) {
  return static_cast<std::uint64_t>(std::count(s.begin(), s.end(), '\n'));
}

std::size_t find_literal(std::string_view haystack, std::string_view needle) {
  // glibc's memmem is linear in the worst case (two-way) and vectorized.
  const void* p = ::memmem(haystack.data(), haystack.size(), needle.data(), needle.size());
  return p ? static_cast<std::size_t>(static_cast<const char*>(p) - haystack.data()) : std::string_view::npos;
}

}  // namespace

std::string escape_excerpt(std::string_view text, std::size_t max) {
  if (text.size() <= max) return escape_bytes(text);
  return escape_bytes(text.substr(0, max)) + "…";
}

OutputMatcher::OutputMatcher(OutputPatterns patterns, std::size_t max_line, std::size_t overlap)
    : patterns_(std::move(patterns)),
      literal_found_(patterns_.literals.size()),
      regex_found_(patterns_.regexes.size()),
      max_line_(std::max<std::size_t>(max_line, 4)),
      overlap_(std::min(overlap, max_line_ / 2)) {
  for (std::size_t i = 0; i < patterns_.literals.size(); ++i) {
    const std::string& l = patterns_.literals[i];
    if (l.empty()) {
      literal_found_[i] = OutputMatch{1, 0, ""};  // found in any output, even none
      continue;
    }
    ++literals_left_;
    longest_literal_ = std::max(longest_literal_, l.size());
  }
  for (const auto& r : patterns_.regexes) {
    auto re = compile_line_regex(r);
    if (!re->ok()) throw Error("invalid regular expression \"" + r + "\": " + re->error());
    compiled_.push_back(std::move(re));
  }
  regexes_left_ = compiled_.size();
}

OutputMatcher::OutputMatcher(OutputMatcher&&) noexcept = default;
OutputMatcher& OutputMatcher::operator=(OutputMatcher&&) noexcept = default;
OutputMatcher::~OutputMatcher() = default;

void OutputMatcher::feed(std::string_view chunk) {
  if (chunk.empty()) return;
  const std::uint64_t newlines = count_newlines(chunk);
  if (literals_left_ > 0) feed_literals(chunk);
  if (regexes_left_ > 0) feed_regexes(chunk, newlines);
  bytes_ += chunk.size();
  newlines_ += newlines;
  last_was_newline_ = chunk.back() == '\n';
}

void OutputMatcher::feed_literals(std::string_view chunk) {
  const std::uint64_t chunk_line = newlines_ + 1;
  // Matches that start in the carried bytes and end in this chunk.
  if (!carry_.empty()) {
    const std::string joint = carry_ + std::string(chunk.substr(0, longest_literal_ - 1));
    const std::uint64_t carry_offset = bytes_ - carry_.size();
    const std::uint64_t carry_line = chunk_line - count_newlines(carry_);
    for (std::size_t i = 0; i < literal_found_.size(); ++i) {
      if (literal_found_[i]) continue;
      const std::string& l = patterns_.literals[i];
      const std::size_t at = find_literal(joint, l);
      if (at == std::string::npos || at >= carry_.size()) continue;  // later ones: found in the chunk
      literal_found_[i] = OutputMatch{carry_line + count_newlines(std::string_view(joint).substr(0, at)),
                                      carry_offset + at, excerpt_of(joint, at, at + l.size())};
      --literals_left_;
    }
  }
  for (std::size_t i = 0; i < literal_found_.size(); ++i) {
    if (literal_found_[i]) continue;
    const std::string& l = patterns_.literals[i];
    const std::size_t at = find_literal(chunk, l);
    if (at == std::string::npos) continue;
    // The carried bytes give the excerpt the start of a line that began in an earlier read.
    const std::string seen = carry_ + std::string(chunk.substr(0, at + l.size() + kExcerptContext));
    literal_found_[i] = OutputMatch{chunk_line + count_newlines(chunk.substr(0, at)), bytes_ + at,
                                    excerpt_of(seen, carry_.size() + at, carry_.size() + at + l.size())};
    --literals_left_;
  }
  // A match that starts in the last (longest - 1) bytes may end in the next chunk; a few more
  // bytes are kept for excerpts. Nothing wholly inside them is new: it was searched already.
  const std::size_t keep = std::max(longest_literal_ - 1, kExcerptContext);
  if (chunk.size() >= keep) {
    carry_.assign(chunk.substr(chunk.size() - keep));
  } else {
    carry_.append(chunk);
    if (carry_.size() > keep) carry_.erase(0, carry_.size() - keep);
  }
}

void OutputMatcher::feed_regexes(std::string_view chunk, std::uint64_t newlines) {
  const std::size_t first_nl = chunk.find('\n');
  if (first_nl == std::string_view::npos) {
    append_to_line(chunk);
    return;
  }
  std::size_t block_start = 0;
  if (!line_.empty() || line_continued_) {  // the line begun in earlier reads ends here
    append_to_line(chunk.substr(0, first_nl));
    end_line();
    block_start = first_nl + 1;
  }
  // Every complete line of this read in one call, without copying. The last newline stays
  // outside the matched range as context: `$` matches before it, `^` cannot match after it.
  const std::size_t last_nl = chunk.rfind('\n');
  if (last_nl + 1 > block_start) {
    const std::string_view block = chunk.substr(block_start, last_nl + 1 - block_start);
    const std::uint64_t block_line = newlines_ + 1 + (block_start > 0 ? 1 : 0);
    match_regexes(block, 0, block.size() - 1, block_line, bytes_ + block_start);
  }
  line_no_ = newlines_ + newlines + 1;
  line_offset_ = bytes_ + last_nl + 1;
  append_to_line(chunk.substr(last_nl + 1));
}

void OutputMatcher::append_to_line(std::string_view data) {
  while (!data.empty()) {
    const std::size_t context = line_continued_ ? 1 : 0;
    // Up to max_line bytes to match plus one more, kept as context so `$` cannot match at a cut.
    const std::size_t room = context + max_line_ + 1 - line_.size();
    const std::size_t take = std::min(room, data.size());
    line_.append(data.substr(0, take));
    data.remove_prefix(take);
    if (line_.size() < context + max_line_ + 1) break;
    match_regexes(line_, line_continued_ ? 1 : 0, line_.size() - 1, line_no_, line_offset_);
    // Keep [context byte][overlap already matched][the unmatched last byte].
    const std::size_t keep = overlap_ + 2;
    line_offset_ += line_.size() - keep;
    line_.erase(0, line_.size() - keep);
    line_continued_ = true;
  }
}

void OutputMatcher::end_line() {
  match_regexes(line_, line_continued_ ? 1 : 0, line_.size(), line_no_, line_offset_);
  line_.clear();
  line_continued_ = false;
  ++line_no_;
}

void OutputMatcher::match_regexes(std::string_view text, std::size_t begin, std::size_t end,
                                  std::uint64_t line, std::uint64_t offset) {
  // RE2 reads UTF-8: a byte that is not valid UTF-8 (Latin-1 "caf\xe9") matches no `.`, `[^x]`
  // or `\C`, so "ERROR.*crashed" would miss "ERROR: caf\xe9 crashed" and a forbidden line would
  // pass. Such bytes are matched as U+FFFD, which is how the JSON report shows them; a match is
  // mapped back to the raw bytes for its offset and excerpt. Valid text is matched in place.
  std::string fixed;
  std::vector<std::size_t> replaced;  // where each U+FFFD starts in `fixed`, one per raw byte
  std::size_t copied = 0;
  for (std::size_t bad = find_invalid_utf8(text, 0, text.size()); bad != std::string_view::npos;
       bad = find_invalid_utf8(text, copied, text.size())) {
    fixed.append(text.substr(copied, bad - copied));
    replaced.push_back(fixed.size());
    fixed += kReplacement;
    copied = bad + 1;
  }
  if (!replaced.empty()) fixed.append(text.substr(copied));
  const std::size_t grow = kReplacement.size() - 1;
  // Raw position -> position in `fixed`: every replaced byte before it grew by `grow`.
  const auto to_fixed = [&](std::size_t raw) {
    std::size_t k = 0;
    while (k < replaced.size() && replaced[k] - k * grow < raw) ++k;
    return raw + k * grow;
  };
  // Position in `fixed` -> raw position; one inside a U+FFFD means after its raw byte.
  const auto to_raw = [&](std::size_t pos) {
    const auto k =
        static_cast<std::size_t>(std::lower_bound(replaced.begin(), replaced.end(), pos) - replaced.begin());
    if (k > 0 && pos < replaced[k - 1] + kReplacement.size()) return replaced[k - 1] - (k - 1) * grow + 1;
    return pos - k * grow;
  };
  const std::string_view subject = replaced.empty() ? text : std::string_view(fixed);
  const std::size_t from = replaced.empty() ? begin : to_fixed(begin);
  const std::size_t to = replaced.empty() ? end : to_fixed(end);

  const re2::StringPiece piece(subject.data(), subject.size());
  for (std::size_t i = 0; i < compiled_.size(); ++i) {
    if (regex_found_[i]) continue;
    // The DFA alone says whether; only a hit pays for finding where.
    if (!compiled_[i]->Match(piece, from, to, RE2::UNANCHORED, nullptr, 0)) continue;
    re2::StringPiece m;
    if (!compiled_[i]->Match(piece, from, to, RE2::UNANCHORED, &m, 1)) continue;
    std::size_t at = static_cast<std::size_t>(m.data() - subject.data());
    std::size_t at_end = at + m.size();
    if (!replaced.empty()) {
      at = to_raw(at);
      at_end = std::max(at, to_raw(at_end));
    }
    regex_found_[i] = OutputMatch{line + count_newlines(text.substr(begin, at - begin)), offset + at,
                                  excerpt_of(text, at, at_end)};
    --regexes_left_;
  }
}

void OutputMatcher::finish() {
  carry_.clear();
  if (regexes_left_ > 0 && (!line_.empty() || line_continued_)) end_line();
  line_.clear();
  line_continued_ = false;
}

}  // namespace faultline::supervisor
