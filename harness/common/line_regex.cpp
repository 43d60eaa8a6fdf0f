#include "common/line_regex.h"

#include <re2/re2.h>

#include <algorithm>
#include <cctype>

namespace faultline {
namespace {

// The regex runs over many lines at once (one call per read, not per line): multi-line mode
// makes ^ and $ line anchors and never_nl keeps every match inside one line, so the result is
// the same as matching line by line. \A and \z would mean "start/end of this read" there, so
// they become their per-line meaning, ^ and $. Two things would still reach past a line:
// \C (any byte, which never_nl does not stop) becomes "any byte but a newline", and a flag group
// that turns multi-line mode off ((?-m), (?i-m:...)) loses its -m.
std::string line_mode_pattern(std::string_view p) {
  std::string out = "(?m)";
  bool in_class = false, quoted = false;
  for (std::size_t i = 0; i < p.size(); ++i) {
    const char c = p[i];
    const char next = i + 1 < p.size() ? p[i + 1] : '\0';
    if (quoted) {  // \Q...\E: literal text
      if (c == '\\' && next == 'E') quoted = false;
      out += c;
      continue;
    }
    if (c == '\\' && i + 1 < p.size()) {
      ++i;
      if (!in_class && next == 'A') {
        out += '^';
      } else if (!in_class && next == 'z') {
        out += '$';
      } else if (!in_class && next == 'C') {
        out += "[^\\n]";
      } else {
        if (next == 'Q') quoted = true;
        out += c;
        out += next;
      }
      continue;
    }
    if (!in_class && c == '(' && next == '?') {
      // Flags: letters and one '-', up to ')' (for the rest of the group) or ':' (a group).
      std::size_t end = i + 2;
      while (end < p.size() && (std::isalpha(static_cast<unsigned char>(p[end])) || p[end] == '-')) ++end;
      if (end > i + 2 && end < p.size() && (p[end] == ')' || p[end] == ':')) {
        std::string flags(p.substr(i + 2, end - i - 2));
        if (const auto minus = flags.find('-'); minus != std::string::npos) {
          std::string off = flags.substr(minus + 1);
          off.erase(std::remove(off.begin(), off.end(), 'm'), off.end());
          flags = flags.substr(0, minus) + (off.empty() ? "" : "-" + off);
        }
        if (flags.empty()) {
          if (p[end] == ':') out += "(?:";  // "(?-m)" alone says nothing left: dropped
        } else {
          out += "(?" + flags + p[end];
        }
        i = end;
        continue;
      }
    }
    out += c;
    if (in_class) {
      if (c == '[' && next == ':') {  // [:alpha:] inside a class
        const auto close = p.find(":]", i + 2);
        if (close != std::string_view::npos) {
          out.append(p.substr(i + 1, close + 2 - (i + 1)));
          i = close + 1;
        }
      } else if (c == ']') {
        in_class = false;
      }
    } else if (c == '[') {
      in_class = true;
      if (next == '^') out += p[++i];
      if (i + 1 < p.size() && p[i + 1] == ']') out += p[++i];  // "[]a]": a literal ]
    }
  }
  return out;
}

RE2::Options line_regex_options() {
  RE2::Options options;
  options.set_never_nl(true);
  options.set_log_errors(false);
  return options;
}

// Whether the pattern has a word-boundary assertion (\b, \B) anywhere: the one kind whose
// meaning at a match's start depends on the character before it.
bool asserts_word_boundary(std::string_view pattern) {
  for (std::size_t i = 0; i + 1 < pattern.size(); ++i) {
    if (pattern[i] != '\\') continue;
    if (pattern[i + 1] == 'b' || pattern[i + 1] == 'B') return true;
    ++i;  // the escaped character, whatever it is
  }
  return false;
}

}  // namespace

std::unique_ptr<RE2> compile_line_regex(std::string_view pattern) {
  return std::make_unique<RE2>(line_mode_pattern(pattern), line_regex_options());
}

bool line_regex_matches_no_line(std::string_view pattern) {
  const auto compiled = compile_line_regex(pattern);
  if (!compiled->ok()) return false;
  // RE2 says which strings a match starting at the start of the text can begin with: none at all
  // (min and max both empty, and not even the empty string matches) when every first byte is a
  // dead end; never_nl made every newline in the pattern match nothing. A match may start
  // mid-line too, where only ^ (a line start, in multi-line mode) and \b \B judge differently:
  // ^ fails there, so a dead start is dead everywhere, but \b and \B can match mid-line what
  // they cannot at the start (`\Bing`), so a pattern with them is not judged.
  if (asserts_word_boundary(pattern)) return false;
  std::string min, max;
  if (!compiled->PossibleMatchRange(&min, &max, 16)) return false;
  if (min.empty() && max.empty()) return !RE2::PartialMatch("", *compiled);
  // One string both ways: every match begins as exactly `min`, and RE2 followed it to a dead end
  // (a bound cut short by a loop or by the length limit is rounded up, so it differs from min).
  // Such a match is all of `min`, so a line of `min` alone would hold one, its end being where
  // `$` holds. When that line does not match, nothing after a first part (`x$a`, `a^b`) can.
  return min == max && !RE2::PartialMatch(min, *compiled);
}

bool line_regex_matches_every_line(std::string_view pattern) {
  const auto compiled = compile_line_regex(pattern);
  return compiled->ok() && RE2::PartialMatch("", *compiled) && RE2::PartialMatch("\x01", *compiled);
}

}  // namespace faultline
