#include "reports/escape.h"

#include <cstdint>

namespace faultline::report {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// Length of the valid UTF-8 sequence at the start of `s`, or 0 when it is not one
// (overlong forms, surrogates and code points above U+10FFFF are invalid).
std::size_t utf8_sequence_length(std::string_view s) {
  const auto byte = [&](std::size_t i) { return static_cast<std::uint8_t>(s[i]); };
  const auto continuation = [&](std::size_t i) { return i < s.size() && (byte(i) & 0xC0) == 0x80; };
  const std::uint8_t b0 = byte(0);
  if (b0 < 0x80) return 1;
  if (b0 >= 0xC2 && b0 <= 0xDF) return continuation(1) ? 2 : 0;
  if (b0 >= 0xE0 && b0 <= 0xEF) {
    if (!continuation(1) || !continuation(2)) return 0;
    if (b0 == 0xE0 && byte(1) < 0xA0) return 0;   // overlong
    if (b0 == 0xED && byte(1) >= 0xA0) return 0;  // UTF-16 surrogates
    return 3;
  }
  if (b0 >= 0xF0 && b0 <= 0xF4) {
    if (!continuation(1) || !continuation(2) || !continuation(3)) return 0;
    if (b0 == 0xF0 && byte(1) < 0x90) return 0;   // overlong
    if (b0 == 0xF4 && byte(1) >= 0x90) return 0;  // above U+10FFFF
    return 4;
  }
  return 0;
}

}  // namespace

std::string valid_utf8(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  while (!bytes.empty()) {
    const std::size_t n = utf8_sequence_length(bytes);
    if (n == 0) {
      out += kReplacement;
      bytes.remove_prefix(1);
    } else {
      out.append(bytes.substr(0, n));
      bytes.remove_prefix(n);
    }
  }
  return out;
}

namespace {

// The markup characters both HTML and XML escape; they differ in how they write an apostrophe
// (XML 1.0 has &apos;, HTML 4 does not) and in which control characters they allow.
// `text` is valid UTF-8 already.
template <typename ControlPolicy>
std::string escape_markup(std::string_view text, std::string_view apostrophe, ControlPolicy control) {
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  for (const char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += apostrophe;
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 && !control(c))
          out += kReplacement;
        else
          out += c;
    }
  }
  return out;
}

}  // namespace

std::string html_escape(std::string_view text) {
  // HTML text shows every control character but NUL.
  return escape_markup(valid_utf8(text), "&#39;", [](char c) { return c != '\0'; });
}

std::string xml_escape(std::string_view text) {
  std::string utf8 = valid_utf8(text);
  // U+FFFE and U+FFFF are valid UTF-8 but not XML 1.0 characters.
  for (const std::string_view nonchar : {"\xEF\xBF\xBE", "\xEF\xBF\xBF"})
    for (auto at = utf8.find(nonchar); at != std::string::npos; at = utf8.find(nonchar, at))
      utf8.replace(at, nonchar.size(), kReplacement);
  // XML 1.0 allows only tab, LF and CR below 0x20; not even as &#1; references.
  return escape_markup(utf8, "&apos;", [](char c) { return c == '\t' || c == '\n' || c == '\r'; });
}

std::string xml_attribute_escape(std::string_view text) {
  std::string out;
  for (const char c : xml_escape(text)) {
    if (c == '\t')
      out += "&#9;";
    else if (c == '\n')
      out += "&#10;";
    else if (c == '\r')
      out += "&#13;";
    else
      out += c;
  }
  return out;
}

std::string github_escape_message(std::string_view text) {
  std::string out;
  for (const char c : text) {
    switch (c) {
      case '%':
        out += "%25";
        break;
      case '\r':
        out += "%0D";
        break;
      case '\n':
        out += "%0A";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string github_escape_property(std::string_view text) {
  std::string out;
  for (const char c : github_escape_message(text)) {
    switch (c) {
      case ':':
        out += "%3A";
        break;
      case ',':
        out += "%2C";
        break;
      default:
        out += c;
    }
  }
  return out;
}

}  // namespace faultline::report
