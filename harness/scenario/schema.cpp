#include "scenario/schema.h"

#include <limits>
#include <nlohmann/json.hpp>
#include <string_view>
#include <vector>

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
const char* const kCpuListPattern =
    "^([0-9]+(-[0-9]+(:[0-9]+/[0-9]+)?)?(,[0-9]+(-[0-9]+(:[0-9]+/[0-9]+)?)?)*" FAULTLINE_VARIABLE_ALTERNATIVE
    ")$";
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
// Ratios: 0 to 1 with an optional fraction (parse_comparison, then the loader's bound).
const char* const kRatioCheckPattern =
    "^((==|>=|<=|>|<)(0(\\.[0-9]+)?|1(\\.0+)?)" FAULTLINE_VARIABLE_ALTERNATIVE ")$";

using Json = nlohmann::ordered_json;

Json string_with_pattern(const char* pattern) { return {{"type", "string"}, {"pattern", pattern}}; }

Json enum_of(const std::vector<std::string_view>& choices) {
  Json values = Json::array();
  for (const auto choice : choices) values.push_back(choice);
  return {{"type", "string"}, {"enum", values}};
}

Json array_of(Json items) { return {{"type", "array"}, {"items", std::move(items)}}; }

Json integer_schema(const KeySpec& key) {
  Json out = {{"type", "integer"}};
  if (key.min != std::numeric_limits<std::int64_t>::min()) out["minimum"] = key.min;
  if (key.max != std::numeric_limits<std::int64_t>::max()) out["maximum"] = key.max;
  return out;
}

Json regex_schema() { return {{"type", "string"}, {"format", "regex"}}; }

// No text key may be empty or blank (the loader says why at the key).
Json non_empty_string() { return {{"type", "string"}, {"pattern", "\\S"}}; }

Json object_schema(const TableSpec& table, const spec::Variant* variant = nullptr);

Json value_schema(const KeySpec& key, Kind kind) {
  switch (kind) {
    case Kind::string:
      return non_empty_string();
    case Kind::integer:
      return integer_schema(key);
    case Kind::count_check:
      return {{"oneOf", {{{"type", "integer"}, {"minimum", 0}}, string_with_pattern(kCountCheckPattern)}}};
    case Kind::ratio_check:
      return {
          {"oneOf",
           {{{"type", "number"}, {"minimum", 0}, {"maximum", 1}}, string_with_pattern(kRatioCheckPattern)}}};
    case Kind::boolean:
      return {{"type", "boolean"}};
    case Kind::ratio:
      return {{"type", "number"}, {"minimum", 0}, {"maximum", 1}};
    case Kind::duration:
      return string_with_pattern(kDurationPattern);
    case Kind::size:
      return {{"anyOf", {{{"type", "integer"}, {"minimum", 0}}, string_with_pattern(kSizePattern)}}};
    case Kind::cpu:
      return {{"anyOf", {{{"type", "number"}, {"exclusiveMinimum", 0}}, string_with_pattern(kCpuPattern)}}};
    case Kind::cpu_list:
      return string_with_pattern(kCpuListPattern);
    case Kind::signal:
      return {
          {"anyOf",
           {{{"type", "integer"}, {"minimum", 1}, {"maximum", 64}}, string_with_pattern(kSignalPattern)}}};
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
      return regex_schema();
    case Kind::regex_or_list:
      return {{"anyOf", {regex_schema(), array_of(regex_schema())}}};
    case Kind::choice:
      return enum_of(key.choices);
    case Kind::string_list:
      return array_of(non_empty_string());
    case Kind::choice_list:
      return array_of(enum_of(key.choices));
    case Kind::integer_list:
      return array_of(integer_schema(key));
    case Kind::text_or_list:
      return {{"anyOf", {{{"type", "string"}}, array_of({{"type", "string"}})}}};
    case Kind::command:  // the program, then its arguments (which may be empty)
      return {{"type", "array"},
              {"minItems", 1},
              {"items", Json::array({non_empty_string()})},
              {"additionalItems", {{"type", "string"}}}};
    case Kind::string_map:
      return {{"type", "object"}, {"additionalProperties", {{"type", "string"}}}};
    case Kind::count_map:
      return {{"type", "object"}, {"additionalProperties", value_schema(key, Kind::count_check)}};
    case Kind::table:
      return object_schema(*key.table);
    case Kind::table_array:
      return array_of(object_schema(*key.table));
    case Kind::table_or_array:
      return {{"anyOf", {object_schema(*key.table), array_of(object_schema(*key.table))}}};
    case Kind::name_or_table:
      return {{"anyOf", {{{"type", "string"}}, object_schema(*key.table)}}};
    case Kind::range:
      return {{"type", "array"}, {"minItems", 1}, {"items", value_schema(key, key.element)}};
  }
  return Json::object();
}

Json key_schema(const KeySpec& key) {
  // Description and default first, for a reader; a table's own description then replaces the
  // key's, as it always has.
  Json out = {{"description", key.description}};
  if (!key.default_value.empty()) out["default"] = Json::parse(key.default_value);
  out.update(value_schema(key, key.kind));
  return out;
}

Json object_schema(const TableSpec& table, const spec::Variant* variant) {
  if (!variant && !table.variants.empty()) {
    Json variants = Json::array();
    for (const auto& each : table.variants) variants.push_back(object_schema(table, &each));
    return {{"type", "object"}, {"description", table.description}, {"oneOf", std::move(variants)}};
  }
  Json properties = Json::object();
  Json required = Json::array();
  const auto add = [&](const KeySpec& key) {
    if (variant && key.name == table.discriminator)
      properties[std::string(key.name)] = {{"description", key.description}, {"const", variant->value}};
    else
      properties[std::string(key.name)] = key_schema(key);
    if (key.required) required.push_back(key.name);
  };
  for (const auto& key : table.keys) add(key);
  std::vector<spec::KeyGroup> groups = table.groups;
  if (variant) {
    for (const auto& key : variant->keys) add(key);
    groups.insert(groups.end(), variant->groups.begin(), variant->groups.end());
  }
  Json out = {{"type", "object"},
              {"description", variant ? variant->description : table.description},
              {"properties", std::move(properties)},
              {"additionalProperties", false}};
  if (!required.empty()) out["required"] = std::move(required);
  Json all_of = Json::array();
  for (const auto& group : groups) {
    Json alternatives = Json::array();
    for (const auto& name : group.keys) alternatives.push_back({{"required", Json::array({name})}});
    if (group.rule == spec::KeyGroup::Rule::at_most_one) {
      // Exactly one of "has k1", "has k2", ..., "has none of them".
      Json none = {{"not", {{"anyOf", alternatives}}}};
      alternatives.push_back(std::move(none));
    }
    all_of.push_back({{group.rule == spec::KeyGroup::Rule::at_least_one ? "anyOf" : "oneOf", alternatives}});
  }
  // One group stands in the object itself; several need `allOf`, as two `oneOf` keys cannot.
  if (all_of.size() == 1) {
    out.update(all_of[0]);
  } else if (!all_of.empty()) {
    out["allOf"] = std::move(all_of);
  }
  return out;
}

}  // namespace

std::string scenario_json_schema() {
  Json schema = {{"$schema", "http://json-schema.org/draft-07/schema#"}, {"title", "faultline scenario"}};
  schema.update(object_schema(spec::scenario_spec()));
  // `[target]` and `[[process]]` exclude each other.
  schema["not"] = {{"required", Json::array({"target", "process"})}};
  return schema.dump(2) + "\n";
}

}  // namespace faultline::scenario
