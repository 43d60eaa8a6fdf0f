// The wording shared by the loader's messages: quoting, lists, and what a key expects.
#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <limits>

#include "scenario/loader_internal.h"
#include "scenario/time_point.h"

namespace faultline::scenario::detail {

std::string quote(std::string_view s) { return "\"" + std::string(s) + "\""; }
std::string tick(std::string_view s) { return "`" + std::string(s) + "`"; }

std::string join(const std::vector<std::string>& items, std::string_view separator) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += separator;
    out += item;
  }
  return out;
}

std::string join_choices(const std::vector<std::string_view>& choices) {
  return join(std::vector<std::string>(choices.begin(), choices.end()));
}

std::string describe(const toml::node& node) {
  if (auto s = node.as_string()) {
    std::string text = s->get();
    if (text.size() > 40) text = text.substr(0, 37) + "...";
    return "the string " + quote(text);
  }
  if (auto i = node.as_integer()) return "the number " + std::to_string(i->get());
  if (auto f = node.as_floating_point()) {
    // Written as a float, so `oom_kills = 1.0` reads back as what the author wrote, not as `1`.
    // The shortest text that reads back as the same double: 2.0000001 stays 2.0000001.
    char buffer[64];
    const auto written = std::to_chars(buffer, buffer + sizeof buffer, f->get());
    std::string text(buffer, written.ptr);
    if (text.find_first_of(".eEn") == std::string::npos) text += ".0";
    return "the float " + text;
  }
  if (auto b = node.as_boolean()) return b->get() ? "true" : "false";
  if (node.is_array()) return "a list";
  if (node.is_table()) return "a table";
  if (node.is_date()) return "a date";
  if (node.is_time()) return "a time of day";
  return "a date-time";
}

std::string expected_text(const KeySpec& key, Kind kind) {
  switch (kind) {
    case Kind::string:
      return "expected a string";
    case Kind::integer:
      if (key.min != std::numeric_limits<std::int64_t>::min() &&
          key.max != std::numeric_limits<std::int64_t>::max())
        return "expected an integer from " + std::to_string(key.min) + " to " + std::to_string(key.max);
      if (key.min != std::numeric_limits<std::int64_t>::min())
        return "expected an integer of at least " + std::to_string(key.min);
      return "expected an integer";
    case Kind::count_check:
      return R"(expected a count such as 2, or a comparison such as ">=1", "<=3", ">0", "<5" or "==2")";
    case Kind::ratio_check:
      return R"(expected a comparison such as ">=0.7", "<=0.1" or "==1", or a number from 0 to 1 (exactly that))";
    case Kind::boolean:
      return "expected true or false";
    case Kind::ratio:
      return "expected a number from 0 to 1";
    case Kind::duration:
      if (key.min != std::numeric_limits<std::int64_t>::min() &&
          key.max != std::numeric_limits<std::int64_t>::max())
        return "expected a duration from " + format_duration(Duration(key.min)) + " to " +
               format_duration(Duration(key.max));
      if (key.min > 0) return "expected a duration of at least " + format_duration(Duration(key.min));
      return R"(expected a duration such as "250ms", "2s" or "1m30s")";
    case Kind::host_port:
      return R"(expected host:port such as "127.0.0.1:8080")";
    case Kind::ip_port:
      return R"(expected an IP address and port such as "127.0.0.1:8080")";
    case Kind::http_url:
      return R"(expected an http:// URL such as "http://127.0.0.1:8080/healthz")";
    case Kind::size:
      return R"(expected a size such as "64MiB", "512KiB", "100MB", "max" or a number of bytes)";
    case Kind::cpu:
      return R"(expected a CPU amount such as "50%", "1.5" or "max")";
    case Kind::cpu_list:
      return R"(expected CPU numbers and ranges such as "0", "0-1", "0,2-3" or "0-7:2/4")";
    case Kind::signal:
      return R"(expected a signal such as "SIGTERM", "TERM" or "15")";
    case Kind::time_point:
      return kTimeExpected;
    case Kind::regex:
      return "expected a regular expression (a string)";
    case Kind::regex_or_list:
      return "expected a regular expression or a list of them";
    case Kind::choice:
      return "expected one of " + join_choices(key.choices);
    case Kind::string_list:
      return "expected a list of strings";
    case Kind::choice_list:
      return "expected a list of " + join_choices(key.choices);
    case Kind::integer_list:
      return "expected a list of integers";
    case Kind::text_or_list:
      return "expected a string or a list of strings";
    case Kind::command:
      return R"(expected a command as a list of strings, such as ["./server", "--port", "8080"])";
    case Kind::string_map:
      return R"(expected a table of strings, such as { NAME = "value" })";
    case Kind::count_map:
      return R"(expected a table of counts by injection name, such as { "disk-full" = ">=1" })";
    case Kind::table:
      return "expected a table";
    case Kind::table_array:
      return "expected a list of tables ([[" + std::string(key.name) + "]])";
    case Kind::table_or_array:
      return "expected a table or a list of tables";
    case Kind::name_or_table:
      return R"(expected an injection's name or a window such as { from = "ready", to = "ready+5s" })";
    case Kind::range:
      return "expected a list of values";
  }
  return "expected something else";
}

std::string in_where(const std::string& where) {
  return (where.starts_with("the ") ? " at " : " in ") + where;
}

bool valid_name(const std::string& name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
}

bool is_control_char(char c) {
  const auto byte = static_cast<unsigned char>(c);
  return byte < 0x20 || byte == 0x7f;
}

std::string control_char_code(char c) {
  char code[8];
  std::snprintf(code, sizeof code, "U+%04X", static_cast<unsigned>(static_cast<unsigned char>(c)));
  return code;
}

}  // namespace faultline::scenario::detail
