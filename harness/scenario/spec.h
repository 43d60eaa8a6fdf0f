// The one description of the scenario format: every table and key, its value kind, default and
// meaning. The loader's unknown-key, type and required-key checks and the JSON Schema are both
// driven by it, so the two cannot drift apart.
#pragma once

#include <cstdint>
#include <limits>
#include <string_view>
#include <vector>

namespace faultline::scenario::spec {

enum class Kind {
  string,       // any string; `${...}` variables are expanded
  integer,      // TOML integer within [min, max]
  count_check,  // an integer (exactly that many) or "==N", ">=N", "<=N", ">N", "<N"
  ratio_check,  // a number from 0 to 1 (exactly that) or "==R", ">=R", "<=R", ">R", "<R"
  boolean,
  ratio,           // number from 0 to 1
  duration,        // "250ms", "1m30s"; a bare number is an error
  size,            // "64MiB", "100MB", "max" or an integer number of bytes
  cpu,             // "50%", "1.5", "max" (or a number of CPUs)
  cpu_list,        // "0", "0-1", "0,2-3": CPU numbers and ranges, as cpuset.cpus takes them
  signal,          // "SIGTERM", "TERM" or a signal number
  time_point,      // "2s", "ready+2s", "<process>.ready+1s", "<inject>.start", "<inject>.end"
  host_port,       // "127.0.0.1:8080", "[::1]:8080", "localhost:8080" (checked after `${...}` expansion)
  ip_port,         // host_port with an IP address, not a host name (nothing resolves it)
  http_url,        // "http://127.0.0.1:8080/healthz" (http only; checked after expansion)
  regex,           // RE2 regular expression, compiled at load
  regex_or_list,   // one RE2 regular expression or a list of them
  choice,          // a string from `choices`
  string_list,     // list of strings
  choice_list,     // list of strings from `choices`
  integer_list,    // list of integers within [min, max]
  text_or_list,    // one string or a list of strings
  command,         // non-empty list of strings (argv, no shell)
  string_map,      // table of string values
  count_map,       // table of count_check values, keyed by a name the loader checks (an injection)
  table,           // sub-table described by `table`
  table_array,     // [[name]]: list of tables described by `table`
  table_or_array,  // [name] (one) or [[name]] (several)
  name_or_table,   // a name (string) or a sub-table described by `table`
  range,           // list of one or more values of kind `element` (chaos draws)
};

struct TableSpec;

struct KeySpec {
  std::string_view name;
  Kind kind;
  std::string_view description;
  bool required = false;
  std::string_view default_value;  // as written in TOML (and JSON): "\"5m\"", "true"; empty: none
  std::vector<std::string_view> choices;
  // Bounds of an integer, or of a duration in nanoseconds (0 and max: only the general bounds).
  std::int64_t min = std::numeric_limits<std::int64_t>::min();
  std::int64_t max = std::numeric_limits<std::int64_t>::max();
  // Why the bounds are what they are, shown as the hint (for ip_port: why it takes no name).
  std::string_view bound_reason;
  const TableSpec* table = nullptr;
  Kind element = Kind::string;  // Kind::range only
};

// A rule over several keys of one table.
struct KeyGroup {
  enum class Rule { exactly_one, at_least_one, at_most_one } rule;
  std::vector<std::string_view> keys;
};

// Keys that exist only for one value of the table's discriminator key (inject `kind`).
struct Variant {
  std::string_view value;
  std::string_view description;
  std::vector<KeySpec> keys;
  std::vector<KeyGroup> groups;
};

struct TableSpec {
  std::string_view description;
  std::vector<KeySpec> keys;
  std::vector<KeyGroup> groups;
  std::string_view discriminator;  // key whose value chooses one of `variants`
  std::vector<Variant> variants;

  const KeySpec* find(std::string_view key, const Variant* variant = nullptr) const;
  const Variant* find_variant(std::string_view value) const;
};

// Element kinds a [chaos] range draws a value between: two values of one of these are [low, high];
// any other list is choices, one drawn per fault.
inline bool drawn_between(Kind element) {
  return element == Kind::integer || element == Kind::duration || element == Kind::size ||
         element == Kind::cpu || element == Kind::ratio;
}

// The whole file (top level).
const TableSpec& scenario_spec();
// A process's `limits` table: `faultline exec`'s limit flags take the same bounds.
const TableSpec& limits_spec();

// Value names the format accepts, shared with the loader's checks.
inline constexpr std::string_view kOutcomeChoices[] = {"exited", "signaled", "oom-killed", "timed-out",
                                                       "any"};

}  // namespace faultline::scenario::spec
