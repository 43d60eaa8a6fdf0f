// Escaping for every place the reports put text they did not write: target output, scenario
// names and file paths end up in HTML, XML and GitHub workflow commands.
#pragma once

#include <string>
#include <string_view>

namespace faultline::report {

// Text for HTML element content and double-quoted attribute values: & < > " ' become entities.
std::string html_escape(std::string_view text);

// Text for XML 1.0 content and attributes. Besides the five entities, characters XML 1.0
// cannot carry at all (NUL and most C0 controls, which targets do print) become U+FFFD, and
// invalid UTF-8 is replaced, since one bad byte makes a CI server reject the whole file.
std::string xml_escape(std::string_view text);
// xml_escape for an attribute value, with tab, LF and CR as character references: a parser
// normalises them to spaces in an attribute, so a name with a newline read differently from the
// JSON report's.
std::string xml_attribute_escape(std::string_view text);

// Replaces each invalid UTF-8 sequence with U+FFFD; target output is arbitrary bytes.
std::string valid_utf8(std::string_view bytes);

// GitHub workflow commands (`::error file=…::message`): the message escapes % \r \n;
// property values additionally escape : and ,.
std::string github_escape_message(std::string_view text);
std::string github_escape_property(std::string_view text);

}  // namespace faultline::report
