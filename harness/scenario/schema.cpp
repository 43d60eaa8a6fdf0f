#include "scenario/schema.h"

#include <string_view>

#include "scenario/spec.h"

namespace faultline::scenario {

// A string holding a variable can be anything once expanded; the loader checks the result.
#define FAULTLINE_VARIABLE_ALTERNATIVE "|.*\\$\\{.*"
#define FAULTLINE_DURATION "([0-9]+(\\.[0-9]+)?(ns|us|µs|ms|s|m|h))+"

const char* const kDurationPattern = "^(" FAULTLINE_DURATION FAULTLINE_VARIABLE_ALTERNATIVE ")$";
// Units are case-sensitive: "64mb" and "64m" are refused as ambiguous (see parse_size).
const char* const kSizePattern = "^(max|[0-9]+(\\.[0-9]+)?([KMGT]i?B|B)?" FAULTLINE_VARIABLE_ALTERNATIVE ")$";
// The shapes only; ports from 1 to 65535 and the rest are the loader's (parse_host_port).
const char* const kHostPortPattern =
    "^((\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9._-]+):[0-9]{1,5}" FAULTLINE_VARIABLE_ALTERNATIVE ")$";
const char* const kIpPortPattern =
    "^((\\[[0-9A-Fa-f:.]+\\]|[0-9.]+):[0-9]{1,5}" FAULTLINE_VARIABLE_ALTERNATIVE ")$";
const char* const kHttpUrlPattern =
    "^(http://(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9._-]+)(:[0-9]{1,5})?([/?#].*)?" FAULTLINE_VARIABLE_ALTERNATIVE
    ")$";

namespace {

using spec::KeySpec;
using spec::Kind;
using spec::TableSpec;

const char* const kCpuPattern = "^(max|[0-9]+(\\.[0-9]+)?%?" FAULTLINE_VARIABLE_ALTERNATIVE ")$";
const char* const kSignalPattern =
    "^(([Ss][Ii][Gg])?[A-Za-z][A-Za-z0-9]*([+-][0-9]+)?|[0-9]+" FAULTLINE_VARIABLE_ALTERNATIVE ")$";
// `-` offsets only after `<inject>.end` (see parse_time_point).
const char* const kTimePattern =
    "^((ready|[A-Za-z0-9_#-]+\\.(ready|exit|start|end))(\\+" FAULTLINE_DURATION
    ")?|[A-Za-z0-9_#-]+\\.end-" FAULTLINE_DURATION "|" FAULTLINE_DURATION FAULTLINE_VARIABLE_ALTERNATIVE ")$";
// `stop`: a process's exit only, `+` offsets only (see Loader::check_stop).
const char* const kStopPattern =
    "^([A-Za-z0-9_#-]+\\.exit(\\+" FAULTLINE_DURATION ")?" FAULTLINE_VARIABLE_ALTERNATIVE ")$";
// Counts: whole numbers only (parse_comparison).
const char* const kCountCheckPattern = "^((==|>=|<=|>|<)[0-9]+" FAULTLINE_VARIABLE_ALTERNATIVE ")$";

std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          static const char* hex = "0123456789abcdef";
          out += "\\u00";
          out += hex[(c >> 4) & 0xF];
          out += hex[c & 0xF];
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

std::string string_with_pattern(const char* pattern) {
  return R"({"type": "string", "pattern": )" + json_string(pattern) + "}";
}

std::string enum_of(const std::vector<std::string_view>& choices) {
  std::string out = R"({"type": "string", "enum": [)";
  for (std::size_t i = 0; i < choices.size(); ++i) out += (i ? ", " : "") + json_string(choices[i]);
  return out + "]}";
}

std::string integer_schema(const KeySpec& key) {
  std::string out = R"({"type": "integer")";
  if (key.min != std::numeric_limits<std::int64_t>::min())
    out += R"(, "minimum": )" + std::to_string(key.min);
  if (key.max != std::numeric_limits<std::int64_t>::max())
    out += R"(, "maximum": )" + std::to_string(key.max);
  return out + "}";
}

std::string object_schema(const TableSpec& table, const spec::Variant* variant = nullptr);

std::string value_schema(const KeySpec& key, Kind kind) {
  switch (kind) {
    case Kind::string:
      return R"({"type": "string"})";
    case Kind::integer:
      return integer_schema(key);
    case Kind::count_check:
      return R"({"oneOf": [{"type": "integer", "minimum": 0}, )" + string_with_pattern(kCountCheckPattern) +
             "]}";
    case Kind::boolean:
      return R"({"type": "boolean"})";
    case Kind::ratio:
      return R"({"type": "number", "minimum": 0, "maximum": 1})";
    case Kind::duration:
      return string_with_pattern(kDurationPattern);
    case Kind::size:
      return R"({"anyOf": [{"type": "integer", "minimum": 0}, )" + string_with_pattern(kSizePattern) + "]}";
    case Kind::cpu:
      return R"({"anyOf": [{"type": "number", "exclusiveMinimum": 0}, )" + string_with_pattern(kCpuPattern) +
             "]}";
    case Kind::signal:
      return R"({"anyOf": [{"type": "integer", "minimum": 1, "maximum": 64}, )" +
             string_with_pattern(kSignalPattern) + "]}";
    case Kind::time_point:
      // The one time key that takes a process's exit and nothing else.
      if (key.name == "stop") return string_with_pattern(kStopPattern);
      return string_with_pattern(kTimePattern);
    case Kind::host_port:
      return string_with_pattern(kHostPortPattern);
    case Kind::ip_port:
      return string_with_pattern(kIpPortPattern);
    case Kind::http_url:
      return string_with_pattern(kHttpUrlPattern);
    case Kind::regex:
      return R"({"type": "string", "format": "regex"})";
    case Kind::regex_or_list:
      return R"({"anyOf": [{"type": "string", "format": "regex"}, {"type": "array", "items": {"type": "string", "format": "regex"}}]})";
    case Kind::choice:
      return enum_of(key.choices);
    case Kind::string_list:
      return R"({"type": "array", "items": {"type": "string"}})";
    case Kind::choice_list:
      return R"({"type": "array", "items": )" + enum_of(key.choices) + "}";
    case Kind::integer_list:
      return R"({"type": "array", "items": )" + integer_schema(key) + "}";
    case Kind::text_or_list:
      return R"({"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]})";
    case Kind::command:
      return R"({"type": "array", "minItems": 1, "items": {"type": "string"}})";
    case Kind::string_map:
      return R"({"type": "object", "additionalProperties": {"type": "string"}})";
    case Kind::table:
      return object_schema(*key.table);
    case Kind::table_array:
      return R"({"type": "array", "items": )" + object_schema(*key.table) + "}";
    case Kind::table_or_array:
      return R"({"anyOf": [)" + object_schema(*key.table) + R"(, {"type": "array", "items": )" +
             object_schema(*key.table) + "}]}";
    case Kind::name_or_table:
      return R"({"anyOf": [{"type": "string"}, )" + object_schema(*key.table) + "]}";
    case Kind::range:
      return R"({"type": "array", "minItems": 1, "items": )" + value_schema(key, key.element) + "}";
  }
  return "{}";
}

std::string key_schema(const KeySpec& key) {
  std::string schema = value_schema(key, key.kind);
  // Splice description and default into the value's object: `{"type": ...}` -> `{"description": ..., "type":
  // ...}`.
  std::string extra = R"("description": )" + json_string(key.description);
  if (!key.default_value.empty()) extra += R"(, "default": )" + std::string(key.default_value);
  return "{" + extra + ", " + schema.substr(1);
}

std::string object_schema(const TableSpec& table, const spec::Variant* variant) {
  if (!variant && !table.variants.empty()) {
    std::string out =
        R"({"type": "object", "description": )" + json_string(table.description) + R"(, "oneOf": [)";
    for (std::size_t i = 0; i < table.variants.size(); ++i)
      out += (i ? ", " : "") + object_schema(table, &table.variants[i]);
    return out + "]}";
  }
  std::string out = R"({"type": "object", "description": )" +
                    json_string(variant ? variant->description : table.description) + R"(, "properties": {)";
  std::vector<std::string> required;
  bool first = true;
  const auto add = [&](const KeySpec& key) {
    out += (first ? "" : ", ") + json_string(key.name) + ": ";
    first = false;
    if (variant && key.name == table.discriminator)
      out += R"({"description": )" + json_string(key.description) + R"(, "const": )" +
             json_string(variant->value) + "}";
    else
      out += key_schema(key);
    if (key.required) required.push_back(json_string(key.name));
  };
  for (const auto& key : table.keys) add(key);
  std::vector<spec::KeyGroup> groups = table.groups;
  if (variant) {
    for (const auto& key : variant->keys) add(key);
    groups.insert(groups.end(), variant->groups.begin(), variant->groups.end());
  }
  out += "}, \"additionalProperties\": false";
  if (!required.empty()) {
    out += R"(, "required": [)";
    for (std::size_t i = 0; i < required.size(); ++i) out += (i ? ", " : "") + required[i];
    out += "]";
  }
  std::vector<std::string> all_of;
  for (const auto& group : groups) {
    std::string alternatives;
    for (std::size_t i = 0; i < group.keys.size(); ++i)
      alternatives += (i ? ", " : "") + std::string(R"({"required": [)") + json_string(group.keys[i]) + "]}";
    all_of.push_back(
        std::string(group.rule == spec::KeyGroup::Rule::exactly_one ? R"({"oneOf": [)" : R"({"anyOf": [)") +
        alternatives + "]}");
  }
  if (all_of.size() == 1) {
    out += ", " + all_of[0].substr(1, all_of[0].size() - 2);
  } else if (!all_of.empty()) {
    out += R"(, "allOf": [)";
    for (std::size_t i = 0; i < all_of.size(); ++i) out += (i ? ", " : "") + all_of[i];
    out += "]";
  }
  return out + "}";
}

}  // namespace

std::string scenario_json_schema() {
  const TableSpec& root = spec::scenario_spec();
  std::string body = object_schema(root);
  // `[target]` and `[[process]]` exclude each other.
  body.pop_back();
  body += R"(, "not": {"required": ["target", "process"]})";
  return R"({"$schema": "http://json-schema.org/draft-07/schema#", "title": "faultline scenario", )" +
         body.substr(1) + "}\n";
}

}  // namespace faultline::scenario
