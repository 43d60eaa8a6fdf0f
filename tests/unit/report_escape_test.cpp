#include <catch2/catch.hpp>
#include <string>

#include "reports/escape.h"

using namespace faultline::report;

TEST_CASE("html_escape turns markup into text") {
  CHECK(html_escape("<script>document.title='pwned'</script>") ==
        "&lt;script&gt;document.title=&#39;pwned&#39;&lt;/script&gt;");
  CHECK(html_escape("<img src=x onerror=\"alert(1)\">") == "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;");
  CHECK(html_escape("a & b &amp;") == "a &amp; b &amp;amp;");
  CHECK(html_escape("plain text, caf\xC3\xA9") == "plain text, caf\xC3\xA9");
}

TEST_CASE("html_escape replaces NUL and invalid UTF-8") {
  CHECK(html_escape(std::string("a\0b", 3)) ==
        "a\xEF\xBF\xBD"
        "b");
  CHECK(html_escape("bad \xFF byte") == "bad \xEF\xBF\xBD byte");
}

TEST_CASE("valid_utf8 keeps valid sequences and replaces each bad byte") {
  CHECK(valid_utf8("\xE2\x9C\x93 \xF0\x9F\x94\xA5") == "\xE2\x9C\x93 \xF0\x9F\x94\xA5");
  CHECK(valid_utf8("\xC0\xAF") == "\xEF\xBF\xBD\xEF\xBF\xBD");                  // overlong '/'
  CHECK(valid_utf8("\xED\xA0\x80") == "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // a UTF-16 surrogate
  CHECK(valid_utf8("cut \xE2\x9C") == "cut \xEF\xBF\xBD\xEF\xBF\xBD");          // truncated at the end
}

TEST_CASE("xml_escape drops characters XML 1.0 cannot carry") {
  CHECK(xml_escape("<a href=\"x\">'&'</a>") == "&lt;a href=&quot;x&quot;&gt;&apos;&amp;&apos;&lt;/a&gt;");
  CHECK(xml_escape("tab\tnewline\ncr\r") == "tab\tnewline\ncr\r");
  CHECK(xml_escape("bell\x07 esc\x1b[31m") == "bell\xEF\xBF\xBD esc\xEF\xBF\xBD[31m");
  CHECK(xml_escape("\xEF\xBF\xBF") == "\xEF\xBF\xBD");  // U+FFFF is UTF-8 but not XML
  CHECK(xml_escape("]]>") == "]]&gt;");
}

TEST_CASE("xml_attribute_escape keeps tab, LF and CR as character references") {
  // Raw in an attribute, a parser reads them as spaces: the JUnit name of "line1\nline2" became
  // "line1 line2" while the JSON report kept the newline.
  CHECK(xml_attribute_escape("line1\nline2\ttab\r") == "line1&#10;line2&#9;tab&#13;");
  CHECK(xml_attribute_escape("<\"&\x07") == "&lt;&quot;&amp;\xEF\xBF\xBD");
}

TEST_CASE("GitHub workflow command escaping") {
  CHECK(github_escape_message("100% broken\r\nnext: a, b") == "100%25 broken%0D%0Anext: a, b");
  CHECK(github_escape_property("scenarios/a,b:c%.toml") == "scenarios/a%2Cb%3Ac%25.toml");
}
