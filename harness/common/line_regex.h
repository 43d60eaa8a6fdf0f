// Regexes over a process's output (stdout.matches and not_matches, ready.log), which match a
// line at a time: each line on its own, without its newline. One compile of them, for the
// matcher that runs them and for the loader that refuses a pattern that checks nothing.
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace re2 {
class RE2;
}

namespace faultline {

// `pattern` compiled for line-by-line matching; !ok() (with its error()) when RE2 refuses it.
std::unique_ptr<re2::RE2> compile_line_regex(std::string_view pattern);

// True when RE2 finds that no line can match `pattern`: every first byte of a match is a dead
// end, as when it asks for a newline however that is spelled (`[\n-\n]`,
// `[^\x00-\x09\x0b-\x{10FFFF}]`) or for an impossible place first (`$a`), or every match
// would begin with one fixed text after which it meets one (`x$a`, `a^b`). A `not_matches` of
// it would pass whatever the output. An impossibility after a part that can vary (`(x|y)$a`,
// `(?i)x$a`, `x+$a`) is not seen, nor is any in a pattern with \b or \B. False for a pattern RE2
// refuses.
bool line_regex_matches_no_line(std::string_view pattern);

// True when `pattern` matches every line whatever it holds, the empty line and a line of one
// control byte alike (`ready|`, `(listening on .*)?`, `x*`): a `matches` of it checks nothing.
// `^$` and `^\s*$` match the empty line only, and look.
bool line_regex_matches_every_line(std::string_view pattern);

}  // namespace faultline
