#include "supervisor/output_matcher.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "common/error.h"

using faultline::supervisor::escape_excerpt;
using faultline::supervisor::OutputMatcher;
using faultline::supervisor::OutputPatterns;

namespace {

// Feeds `text` in pieces of `chunk` bytes, then ends the stream.
void feed_in_chunks(OutputMatcher& m, std::string_view text, std::size_t chunk) {
  for (std::size_t i = 0; i < text.size(); i += chunk) m.feed(text.substr(i, chunk));
  m.finish();
}

std::string filler_lines(std::size_t bytes) {
  const std::string line = "the quick brown fox jumps over the lazy dog, again and again\n";  // 61 B
  std::string s;
  while (s.size() + line.size() <= bytes) s += line;
  return s;
}

}  // namespace

TEST_CASE("OutputMatcher finds a literal split across two reads at every offset") {
  const std::string text = "line one\nline two has a panic: in it\nline three\n";
  const std::size_t at = text.find("panic:");
  for (std::size_t split = 0; split <= text.size(); ++split) {
    OutputMatcher m(OutputPatterns{{"panic:", "absent"}, {}});
    m.feed(std::string_view(text).substr(0, split));
    m.feed(std::string_view(text).substr(split));
    m.finish();
    INFO("split at " << split);
    REQUIRE(m.literal_match(0));
    CHECK(m.literal_match(0)->line == 2);
    CHECK(m.literal_match(0)->offset == at);
    CHECK_FALSE(m.literal_match(1));
  }
}

TEST_CASE("OutputMatcher finds literals fed one byte at a time, newlines included") {
  const std::string text = "alpha\nbeta\ngamma\n";
  OutputMatcher m(OutputPatterns{{"beta\ngam", "a\nb", "ma\n"}, {}});
  feed_in_chunks(m, text, 1);
  REQUIRE(m.literal_match(0));
  CHECK(m.literal_match(0)->line == 2);
  CHECK(m.literal_match(0)->offset == 6);
  REQUIRE(m.literal_match(1));
  CHECK(m.literal_match(1)->line == 1);
  REQUIRE(m.literal_match(2));
  CHECK(m.literal_match(2)->line == 3);
  CHECK(m.lines() == 3);
  CHECK(m.bytes() == text.size());
}

TEST_CASE("OutputMatcher keeps the first occurrence, far beyond any tail") {
  const std::string head = filler_lines(1000) + "worker 7: panic: nil map\n";
  const std::string text = head + filler_lines(3 * 1024 * 1024) + "panic again\n";
  const std::uint64_t head_lines = 1000 / 61 + 1;
  OutputMatcher m(OutputPatterns{{"panic"}, {"panic: \\w+"}});
  feed_in_chunks(m, text, 16384);
  REQUIRE(m.literal_match(0));
  CHECK(m.literal_match(0)->line == head_lines);
  CHECK(m.literal_match(0)->excerpt == "worker 7: panic: nil map");
  REQUIRE(m.regex_match(0));
  CHECK(m.regex_match(0)->line == head_lines);
  CHECK(m.regex_match(0)->offset == head.find("panic"));
}

TEST_CASE("OutputMatcher finds a match 64 MiB into the stream") {
  const std::string block = filler_lines(1024 * 1024);
  const std::uint64_t block_lines = block.size() / 61;
  OutputMatcher m(OutputPatterns{{"segfault"}, {"^fatal error \\d+$"}});
  for (int i = 0; i < 64; ++i) m.feed(block);
  m.feed("fatal error 12\nsegfault at 0x0\n");
  m.finish();
  REQUIRE(m.regex_match(0));
  CHECK(m.regex_match(0)->line == 64 * block_lines + 1);
  REQUIRE(m.literal_match(0));
  CHECK(m.literal_match(0)->line == 64 * block_lines + 2);
  CHECK(m.lines() == 64 * block_lines + 2);
}

TEST_CASE("OutputMatcher matches regexes on every line, whatever the read boundaries") {
  std::string text;
  for (int i = 1; i <= 300; ++i) text += "request " + std::to_string(i) + " ok\n";
  text += "request 301 failed: timeout\n";
  for (int i = 302; i <= 400; ++i) text += "request " + std::to_string(i) + " ok\n";
  for (std::size_t chunk : {1, 2, 3, 7, 64, 4096, 100000}) {
    INFO("chunk " << chunk);
    OutputMatcher m(OutputPatterns{{}, {"^request \\d+ failed", "^ok$", "ok$"}});
    feed_in_chunks(m, text, chunk);
    REQUIRE(m.regex_match(0));
    CHECK(m.regex_match(0)->line == 301);
    CHECK(m.regex_match(0)->excerpt == "request 301 failed: timeout");
    CHECK_FALSE(m.regex_match(1));  // no line is only "ok"
    REQUIRE(m.regex_match(2));
    CHECK(m.regex_match(2)->line == 1);
  }
}

TEST_CASE("OutputMatcher anchors ^ and $ at each line, never at a read boundary") {
  const std::string text = "first line\n\nthird\nfourth\n";
  for (std::size_t split = 0; split <= text.size(); ++split) {
    INFO("split at " << split);
    OutputMatcher m(OutputPatterns{{}, {"^$", "^hird", "\\Athird\\z", "line$", "^fourth$"}});
    m.feed(std::string_view(text).substr(0, split));
    m.feed(std::string_view(text).substr(split));
    m.finish();
    REQUIRE(m.regex_match(0));
    CHECK(m.regex_match(0)->line == 2);
    CHECK_FALSE(m.regex_match(1));
    REQUIRE(m.regex_match(2));
    CHECK(m.regex_match(2)->line == 3);
    REQUIRE(m.regex_match(3));
    CHECK(m.regex_match(3)->line == 1);
    REQUIRE(m.regex_match(4));
    CHECK(m.regex_match(4)->line == 4);
  }
}

TEST_CASE("OutputMatcher: no empty line is seen after the last newline") {
  OutputMatcher m(OutputPatterns{{}, {"^$", "^\\s*$"}});
  feed_in_chunks(m, "a\nb\nc\n", 4);
  CHECK_FALSE(m.regex_match(0));
  CHECK_FALSE(m.regex_match(1));
  CHECK(m.lines() == 3);
}

TEST_CASE("OutputMatcher: a regex never matches across a newline") {
  OutputMatcher m(OutputPatterns{{}, {"alpha.beta", "alpha\\sbeta", "alpha[^x]beta", "(?s)alpha.beta"}});
  feed_in_chunks(m, "alpha\nbeta\n", 3);
  for (std::size_t i = 0; i < 4; ++i) CHECK_FALSE(m.regex_match(i));
}

TEST_CASE("OutputMatcher: \\C and a flag group turning multi-line off stay inside a line") {
  // \C (any byte) once passed never_nl; (?-m) once made ^ and $ the ends of a whole read.
  OutputMatcher m(OutputPatterns{
      {}, {"foo\\Cbar", "(?-m)foo$", "(?-m)^bar$", "(?i-m:^BAR$)", "(?-ms)o.b", "f\\Co", "(?i)FOO"}});
  feed_in_chunks(m, "foo\nbar\n", 3);
  CHECK_FALSE(m.regex_match(0));  // no line holds foo, a byte, bar
  CHECK(m.regex_match(1));        // line 1 is "foo"
  CHECK(m.regex_match(2));        // line 2 is "bar"
  CHECK(m.regex_match(3));
  CHECK_FALSE(m.regex_match(4));  // -s kept, -m dropped: "o\nb" is never a match
  CHECK(m.regex_match(5));        // \C still matches a byte within the line
  CHECK(m.regex_match(6));        // other flags pass through
}

TEST_CASE("OutputMatcher matches the last line without a newline at the end of the stream") {
  OutputMatcher m(OutputPatterns{{}, {"^last words$"}});
  m.feed("first\nlast ");
  m.feed("words");
  CHECK_FALSE(m.regex_match(0));
  m.finish();
  REQUIRE(m.regex_match(0));
  CHECK(m.regex_match(0)->line == 2);
  CHECK(m.regex_match(0)->offset == 6);
  CHECK(m.lines() == 2);
}

TEST_CASE("OutputMatcher cuts a long line into overlapping pieces and keeps ^ and $ real") {
  // Pieces of 64 bytes overlapping by 16: "panic" is found wherever it falls, even across a
  // cut, while ^ and $ still mean the start and end of the whole line.
  for (std::size_t pos = 0; pos < 300; ++pos) {
    std::string line(400, 'x');
    line.replace(pos, 5, "panic");
    line.back() = 'y';
    const std::string text = "short\n" + line + "\nend\n";
    OutputMatcher m(OutputPatterns{{}, {"panic", "^x", "x$", "^y", "y$", "xy$"}}, 64, 16);
    feed_in_chunks(m, text, 7);
    INFO("panic at " << pos);
    REQUIRE(m.regex_match(0));
    CHECK(m.regex_match(0)->line == 2);
    CHECK(m.regex_match(0)->offset == 6 + pos);
    CHECK(bool(m.regex_match(1)) == (pos != 0));  // the line starts with x unless panic is there
    CHECK_FALSE(m.regex_match(2));                // x never ends a line
    CHECK_FALSE(m.regex_match(3));                // no line starts with y
    REQUIRE(m.regex_match(4));
    CHECK(m.regex_match(4)->line == 2);
    CHECK(bool(m.regex_match(5)) == (pos < 394));
  }
}

TEST_CASE("OutputMatcher: a newline-free flood is matched in bounded pieces") {
  const std::string piece(1024 * 1024, 'z');
  OutputMatcher m(OutputPatterns{{"zzq"}, {"zzq", "q$"}});
  for (int i = 0; i < 8; ++i) m.feed(piece);
  m.feed("zzq");
  for (int i = 0; i < 2; ++i) m.feed(piece);
  m.finish();
  REQUIRE(m.literal_match(0));
  REQUIRE(m.regex_match(0));
  CHECK(m.regex_match(0)->line == 1);
  CHECK(m.regex_match(0)->offset == 8 * piece.size());
  CHECK(m.literal_match(0)->offset == 8 * piece.size());
  CHECK_FALSE(m.regex_match(1));
  CHECK(m.lines() == 1);
}

TEST_CASE("OutputMatcher reports where it matched: an escaped, bounded excerpt of the line") {
  const std::string long_before(300, 'a');
  OutputMatcher m(OutputPatterns{{"PANIC"}, {"boom\\t\\d"}});
  feed_in_chunks(
      m, "ok\n" + long_before + " PANIC \x01\xff tail " + std::string(300, 'b') + "\nx boom\t7 \xc3\xa9\n",
      4096);
  REQUIRE(m.literal_match(0));
  const std::string& e = m.literal_match(0)->excerpt;
  INFO(e);
  CHECK(e.find("PANIC \\x01\\xff tail") != std::string::npos);
  CHECK(e.rfind("…", 0) == 0);  // cut before
  CHECK(e.size() < 200);
  REQUIRE(m.regex_match(0));
  CHECK(m.regex_match(0)->excerpt == "x boom\\t7 \xc3\xa9");
  CHECK(m.regex_match(0)->line == 3);
}

TEST_CASE("OutputMatcher: a literal's excerpt starts where its line did, in an earlier read") {
  OutputMatcher m(OutputPatterns{{"panic"}, {}});
  m.feed("ok\nworker 3: ");
  m.feed("panic: nil map\n");
  m.finish();
  REQUIRE(m.literal_match(0));
  CHECK(m.literal_match(0)->excerpt == "worker 3: panic: nil map");
}

TEST_CASE("OutputMatcher: an empty literal is always found; a bad regex is an error") {
  OutputMatcher m(OutputPatterns{{""}, {}});
  m.finish();
  CHECK(m.literal_match(0));
  CHECK_THROWS_AS(OutputMatcher((OutputPatterns{{}, {"panic("}})), faultline::Error);
}

TEST_CASE("OutputMatcher: a byte that is not UTF-8 cannot hide a line from a regex") {
  // RE2 reads UTF-8, where a Latin-1 byte matches no `.`: a forbidden line must still be seen.
  const std::string text = "ok\nERROR: caf\xe9 crashed\n\xff\xfe bad start\nsurrogate \xed\xa0\x80 end\n";
  for (const std::size_t chunk : {text.size(), std::size_t{5}, std::size_t{1}}) {
    INFO("chunk " << chunk);
    OutputMatcher m(OutputPatterns{
        {"caf\xe9"},
        {"ERROR.*crashed", "caf.\\s", "^..\\sbad", "caf\\x{FFFD}", "surrogate \\S+ end$", "caf\xc3\xa9"}});
    feed_in_chunks(m, text, chunk);
    REQUIRE(m.literal_match(0));  // literals stay raw bytes
    CHECK(m.literal_match(0)->offset == text.find("caf\xe9"));
    REQUIRE(m.regex_match(0));
    CHECK(m.regex_match(0)->line == 2);
    CHECK(m.regex_match(0)->offset == text.find("ERROR"));
    CHECK(m.regex_match(0)->excerpt == "ERROR: caf\\xe9 crashed");
    REQUIRE(m.regex_match(1));
    CHECK(m.regex_match(1)->offset == text.find("caf"));
    CHECK(m.regex_match(1)->excerpt == "ERROR: caf\\xe9 crashed");
    REQUIRE(m.regex_match(2));  // each invalid byte is one character
    CHECK(m.regex_match(2)->line == 3);
    CHECK(m.regex_match(2)->offset == text.find("\xff"));
    CHECK(m.regex_match(3));  // U+FFFD, as the JSON report shows the byte
    REQUIRE(m.regex_match(4));
    CHECK(m.regex_match(4)->line == 4);
    CHECK(m.regex_match(4)->excerpt == "surrogate \\xed\\xa0\\x80 end");
    CHECK_FALSE(m.regex_match(5));  // the Latin-1 byte is not read as the character it means
  }
}

TEST_CASE("OutputMatcher: an invalid byte in a long line cut into pieces is still matched") {
  const std::string line = std::string(300, 'a') + " ERROR \xe9 crashed " + std::string(300, 'b');
  OutputMatcher m(OutputPatterns{{}, {"ERROR . crashed"}}, 128, 32);
  feed_in_chunks(m, line + "\n", 7);
  REQUIRE(m.regex_match(0));
  CHECK(m.regex_match(0)->offset == 301);
  CHECK(m.regex_match(0)->line == 1);
}

TEST_CASE("escape_excerpt keeps UTF-8, escapes control bytes and cuts long text") {
  CHECK(escape_excerpt("a\tb\n\\ \xc3\xa9 \xe2\x82") == "a\\tb\\n\\\\ \xc3\xa9 \\xe2\\x82");
  CHECK(escape_excerpt(std::string(10, 'x'), 4) == "xxxx…");
  // Overlong forms and UTF-16 surrogates are not UTF-8 either.
  CHECK(escape_excerpt("\xc0\xaf \xe0\x80\xaf \xed\xa0\x80") == "\\xc0\\xaf \\xe0\\x80\\xaf \\xed\\xa0\\x80");
}
