// The key-table walk: every key checked against the scenario's key table (spec.cpp), every value
// against its kind, with ${...} expanded first; what passes becomes a Field.
#include <re2/re2.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <csignal>
#include <limits>
#include <sstream>

#include "common/address.h"
#include "common/line_regex.h"
#include "common/units.h"
#include "scenario/did_you_mean.h"
#include "scenario/loader_internal.h"
#include "scenario/time_point.h"

namespace faultline::scenario::detail {

Table Loader::walk_table(const toml::table& table, const TableSpec& spec, const std::string& path,
                         std::string where) {
  Table out;
  // The root table's own position is 1:1, but "missing `name`" concerns the whole file.
  if (!path.empty()) out.pos = pos_of(table.source());
  const spec::Variant* variant = nullptr;
  bool variant_known = spec.discriminator.empty();
  if (!spec.discriminator.empty()) {
    if (auto d = table.get(spec.discriminator); d && d->is_string()) {
      // Expanded as the value itself will be (`kind = "${k}"`): looked up as written, no kind
      // matched, and every key of the kind was passed over unchecked, and unused. A value that
      // does not expand is reported where the value is checked.
      std::string why, hint;
      const auto expanded = variables_.expand(d->as_string()->get(), &why, &hint);
      variant = expanded ? spec.find_variant(*expanded) : nullptr;
      variant_known = variant != nullptr;
      if (variant) where += " of kind " + quote(variant->value);
    }
  }
  for (const auto& [key, node] : table) {
    const std::string name(key.str());
    const std::string label = path.empty() ? name : path + "." + name;
    if (path.empty() && name == "vars") continue;  // checked by define_variables
    const KeySpec* key_spec = spec.find(name, variant);
    if (!key_spec) {
      std::vector<std::string> owners;
      for (const auto& v : spec.variants)
        for (const auto& k : v.keys)
          if (k.name == name) owners.push_back(std::string(v.value));
      if (!owners.empty() && !variant_known) continue;  // kind is wrong or missing: reported on its own
      if (!owners.empty()) {
        error(pos_of(key.source()), "key " + tick(name) + " does not apply to " + where,
              "it belongs to kind " + join(owners, " and "));
        continue;
      }
      std::vector<std::string> candidates;
      for (const auto& k : spec.keys) candidates.push_back(std::string(k.name));
      if (variant)
        for (const auto& k : variant->keys) candidates.push_back(std::string(k.name));
      auto near = closest_match(name, candidates);
      std::string hint = near ? "did you mean " + tick(*near) + "?" : "";
      if (where == "[target]" && name == "name")
        hint = "[target] is always named `target`; use [[process]] to name it";
      error(pos_of(key.source()), "unknown key " + tick(name) + in_where(where), hint);
      continue;
    }
    Field field;
    field.key_pos = pos_of(key.source());
    field.pos = pos_of(node.source());
    if (check_value(node, *key_spec, key_spec->kind, label, where, field))
      out.fields.emplace(name, std::move(field));
  }

  std::vector<const KeySpec*> keys;
  for (const auto& k : spec.keys) keys.push_back(&k);
  std::vector<spec::KeyGroup> groups = spec.groups;
  if (variant) {
    for (const auto& k : variant->keys) keys.push_back(&k);
    groups.insert(groups.end(), variant->groups.begin(), variant->groups.end());
  }
  // The top level has no position of its own: its missing keys are pointed at the file's start.
  const bool top_level = out.pos.line == 0;
  for (const KeySpec* k : keys)
    if (k->required && !table.contains(k->name))
      error(top_level ? SourcePos{1, 1} : out.pos, "missing required key " + tick(k->name) + in_where(where),
            top_level ? "add `" + std::string(k->name) + " = ...` above the first [table] of the file" : "");
  for (const auto& group : groups) {
    std::vector<std::string> given;
    std::vector<std::string> names;
    for (auto k : group.keys) {
      names.push_back(tick(k));
      if (table.contains(k)) given.push_back(std::string(k));
    }
    const std::string alternatives =
        names.size() == 2
            ? names[0] + " or " + names[1]
            : join(std::vector<std::string>(names.begin(), names.end() - 1)) + " or " + names.back();
    if (given.empty() && group.rule != spec::KeyGroup::Rule::at_most_one) {
      error(out.pos, where + " needs " +
                         (group.rule == spec::KeyGroup::Rule::exactly_one ? "one" : "at least one") + " of " +
                         alternatives);
    } else if (group.rule != spec::KeyGroup::Rule::at_least_one && given.size() > 1) {
      const toml::node* second = table.get(given[1]);
      error(pos_of(second->source()),
            tick(given[0]) + " and " + tick(given[1]) + " cannot both be given in " + where,
            "choose one of " + alternatives);
    }
  }
  return out;
}

std::optional<std::string> Loader::expand(const toml::node& node, const std::string& label) {
  std::string why, hint;
  auto value = variables_.expand(node.as_string()->get(), &why, &hint);
  if (!value && !why.empty()) error(pos_of(node.source()), label + ": " + why, hint);
  return value;
}

namespace {

// Empty or only whitespace: `shell = "${env:TEST_CMD}"` with TEST_CMD=" " runs nothing too.
bool is_blank(std::string_view text) { return text.find_first_not_of(" \t\r\n") == std::string_view::npos; }

bool is_hex(char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; }

// The character an RE2 escape at `at` (the backslash) spells by its code, and where the escape
// ends: \n, \xHH, \x{H...}, and octal \0oo / \ooo. nullopt for any other escape.
std::optional<unsigned long> escaped_code(std::string_view pattern, std::size_t at, std::size_t* end) {
  const std::string_view rest = pattern.substr(at + 1);
  if (rest.starts_with('n')) return *end = at + 2, 10ul;
  if (rest.size() >= 3 && rest[0] == 'x' && is_hex(rest[1]) && is_hex(rest[2])) {
    *end = at + 4;
    return std::stoul(std::string(rest.substr(1, 2)), nullptr, 16);
  }
  if (rest.starts_with("x{")) {
    const auto close = rest.find('}');
    const std::string_view digits = rest.substr(2, close == std::string_view::npos ? 0 : close - 2);
    if (digits.empty() || !std::all_of(digits.begin(), digits.end(), is_hex)) return std::nullopt;
    *end = at + 1 + close + 1;
    // RE2 takes any number of digits (\x{000000000A} is a newline); beyond 16 significant ones the
    // code is no newline, nor any character.
    const auto significant = digits.find_first_not_of('0');
    if (significant == std::string_view::npos) return 0ul;
    if (digits.size() - significant > 16) return std::nullopt;
    return std::stoul(std::string(digits.substr(significant)), nullptr, 16);
  }
  std::size_t digits = 0;
  while (digits < 3 && digits < rest.size() && rest[digits] >= '0' && rest[digits] <= '7') ++digits;
  // RE2 reads a lone \1-\7 as a backreference (refused); \0 alone is NUL.
  if (digits == 0 || (digits == 1 && rest[0] != '0')) return std::nullopt;
  *end = at + 1 + digits;
  return std::stoul(std::string(rest.substr(0, digits)), nullptr, 8);
}

// A bracket expression at `start` (its '['): true when it matches a newline and nothing else
// (`[\n]`, `[\x0a]`). `end` is set to its closing ']', or to the pattern's end when it has none
// (RE2 refuses that pattern anyway). `[^\n]` matches everything else, so it asks for no newline.
bool class_of_newlines_only(std::string_view pattern, std::size_t start, std::size_t* end) {
  std::size_t i = start + 1;
  const bool negated = i < pattern.size() && pattern[i] == '^';
  if (negated) ++i;
  bool only_newlines = true;
  for (const std::size_t first = i; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (c == ']' && i != first) {  // a ']' first in the class is one of its characters
      *end = i;
      return !negated && only_newlines;
    }
    if (c == '\\' && i + 1 < pattern.size()) {
      std::size_t escape_end = 0;
      const auto code = escaped_code(pattern, i, &escape_end);
      only_newlines = only_newlines && code == '\n';
      i = code ? escape_end - 1 : i + 1;
    } else if (pattern.substr(i).starts_with("[:")) {  // [:alpha:]
      only_newlines = false;
      if (const auto close = pattern.find(":]", i + 2); close != std::string_view::npos) i = close + 1;
    } else {
      only_newlines = only_newlines && c == '\n';
    }
  }
  *end = pattern.size();
  return false;
}

// A newline written into a regex outside \Q...\E, as a character or by its code (\n, \x0a,
// \x{A}, \012), or a class of nothing else: output is matched line by line, so it could never
// match, and a `not_matches` that can never match would pass whatever the output.
bool matches_newline(std::string_view pattern) {
  bool quoted = false;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (c == '\n') return true;
    if (quoted) {
      if (c == '\\' && i + 1 < pattern.size() && pattern[i + 1] == 'E') quoted = false, ++i;
      continue;
    }
    if (c == '[') {
      std::size_t end = 0;
      if (class_of_newlines_only(pattern, i, &end)) return true;
      i = end;
      continue;
    }
    if (c != '\\' || i + 1 == pattern.size()) continue;
    if (pattern[i + 1] == 'Q') {
      quoted = true;
      ++i;
    } else if (std::size_t end = 0; const auto code = escaped_code(pattern, i, &end)) {
      if (*code == '\n') return true;
      i = end - 1;
    } else {
      ++i;  // the escaped character, whatever it is
    }
  }
  return false;
}

}  // namespace

bool Loader::check_scalar(const toml::node& node, const KeySpec& key, Kind kind, const std::string& label,
                          Field& field) {
  const auto wrong_type = [&](std::string_view reason = {}, std::string_view hint = {}) {
    std::string message = label + ": " + expected_text(key, kind) + ", got " + describe(node);
    if (!reason.empty()) message += " (" + std::string(reason) + ")";
    error(pos_of(node.source()), message, std::string(hint));
    return false;
  };
  const auto bad_value = [&](const std::string& why, const std::string& hint = {}) {
    error(pos_of(node.source()), label + ": " + why, hint);
    return false;
  };

  // Kinds that also accept numbers.
  if (auto i = node.as_integer()) {
    const std::int64_t v = i->get();
    field.text = std::to_string(v);
    switch (kind) {
      case Kind::integer:
        // A key bounded on one side only has its reason for that side.
        if (v < key.min || v > key.max)
          return wrong_type(
              {}, v > key.max || key.max == std::numeric_limits<std::int64_t>::max() ? key.bound_reason : "");
        field.integer = v;
        return true;
      case Kind::count_check:
        if (v < 0) return wrong_type("counts cannot be negative");
        field.comparison = scenario::Comparison{scenario::Comparison::Op::eq, static_cast<double>(v)};
        return true;
      case Kind::ratio:
        if (v < 0 || v > 1) return wrong_type();
        field.number = static_cast<double>(v);
        return true;
      case Kind::ratio_check:
        if (v < 0 || v > 1) return wrong_type("a ratio goes from 0 to 1");
        field.comparison = scenario::Comparison{scenario::Comparison::Op::eq, static_cast<double>(v)};
        return true;
      case Kind::size:
        if (v < 0) return wrong_type("sizes cannot be negative");
        field.size = static_cast<std::uint64_t>(v);
        return true;
      case Kind::cpu:
        if (v <= 0) return wrong_type("must be more than 0");
        field.number = static_cast<double>(v);
        return true;
      case Kind::signal:
        if (v < 1 || v > SIGRTMAX)
          return wrong_type("signal numbers go from 1 to " + std::to_string(SIGRTMAX));
        field.signal = static_cast<int>(v);
        return true;
      case Kind::duration:
      case Kind::time_point:
        return wrong_type("durations need a unit");
      default:
        return wrong_type();
    }
  }
  if (auto f = node.as_floating_point()) {
    const double v = f->get();
    std::ostringstream text;
    text << v;
    field.text = text.str();
    if (kind == Kind::ratio && v >= 0 && v <= 1) return field.number = v, true;
    if (kind == Kind::ratio_check && v >= 0 && v <= 1)
      return field.comparison = scenario::Comparison{scenario::Comparison::Op::eq, v}, true;
    if (kind == Kind::cpu && v > 0 && std::isfinite(v)) return field.number = v, true;
    if (kind == Kind::duration || kind == Kind::time_point) return wrong_type("durations need a unit");
    return wrong_type();
  }
  if (auto b = node.as_boolean()) {
    if (kind != Kind::boolean) return wrong_type();
    field.boolean = b->get();
    return true;
  }
  if (!node.is_string() || kind == Kind::integer || kind == Kind::boolean || kind == Kind::ratio)
    return wrong_type();

  auto expanded = expand(node, label);
  if (!expanded) return false;
  const std::string& text = *expanded;
  field.text = text;
  std::string why;
  // "got "…"" names the value as expanded; a value from variables also shows how it was written.
  const std::string& written = field.written = node.as_string()->get();
  const std::string got = quote(text) + (written == text ? "" : " (from " + quote(written) + ")");
  switch (kind) {
    case Kind::string:
      // An empty name, shell line, path or body text names nothing: `shell = ""` runs a command
      // that passes, `body_contains = ""` is in every body. Most often a variable set to "".
      // Items of `command` and of output checks have rules of their own (check_value), and an
      // environment variable may be set to "".
      if (is_blank(text) && (key.kind == Kind::string || key.kind == Kind::string_list ||
                             key.kind == Kind::range || key.kind == Kind::name_or_table))
        return bad_value(std::string(key.kind == Kind::string ? "the value is " : "an item is ") +
                             (text.empty() ? "empty" : "blank") +
                             (written == text ? "" : " (from " + quote(written) + ")"),
                         key.kind != Kind::string ? "remove the empty item"
                         : key.required           ? "give it a value"
                                                  : "give it a value, or leave the key out");
      return true;
    case Kind::count_check: {
      // In a count_map the entry's own name is what the example shows: `"disk-full" = ">=1"`.
      const std::string name =
          key.kind == Kind::count_map ? quote(label.substr(label.rfind('.') + 1)) : std::string(key.name);
      if (auto c = parse_comparison(text, true, &why)) {
        // ">=0" checks nothing, and a stated count replaces a check that looks (a syscall fault
        // must fire at least once).
        if (c->holds(0) && c->holds(scenario::kLargestComparisonValue))
          return bad_value(quote(text) + " holds for every count, so it checks nothing",
                           "write " + name + R"( = ">=1" for at least one, or leave the key out)");
        return field.comparison = *c, true;
      }
      return bad_value(
          expected_text(key, kind) + ", got " + got + " (" + why + ")",
          "for example " + name + R"( = ">=1" (at least one) or )" + name + " = 2 (exactly two)");
    }
    case Kind::ratio_check: {
      auto c = parse_comparison(text, false, &why);
      if (c && c->value > 1) c.reset(), why = "a ratio goes from 0 to 1";
      const std::string name(key.name);
      if (c && c->holds(0) && c->holds(1))  // ">=0", "<=1": every share of attempts meets it
        return bad_value(quote(text) + " holds for every ratio, so it checks nothing",
                         "give the share of attempts that must pass, such as " + name + R"( = ">=0.7")");
      using Op = scenario::Comparison::Op;
      if (c && ((c->op == Op::gt && c->value >= 1) || (c->op == Op::lt && c->value <= 0)))
        return bad_value(quote(text) + " holds for no ratio from 0 to 1, so it always fails",
                         "give the share of attempts that must pass, such as " + name + R"( = ">=0.7")");
      if (c) return field.comparison = *c, true;
      return bad_value(expected_text(key, kind) + ", got " + got + " (" + why + ")",
                       "for example " + name + R"( = ">=0.7" (at least 70% of the attempts))");
    }
    case Kind::duration:
      // "0.0000000001s" rounds to 0: a repeat with no interval, a fault held for no time.
      if (auto d = parse_duration(text, &why);
          d && d->count() == 0 && text.find_first_of("123456789") != std::string::npos)
        return bad_value(quote(text) + " is below 1ns, the finest duration, and would be read as 0",
                         "durations are whole nanoseconds");
      if (auto d = parse_duration(text, &why)) {
        if (d->count() >= key.min && d->count() <= key.max) return field.duration = *d, true;
        return bad_value(expected_text(key, kind) + ", got " + got, std::string(key.bound_reason));
      }
      return bad_value(why);
    case Kind::cpu_list:
      // An empty list would be written as nothing at all: the kernel keeps its set and the
      // limit or fault would be recorded for a change that never happened.
      if (parse_cpu_list(text)) return true;
      return bad_value(expected_text(key, kind) + ", got " + got,
                       text.empty()
                           ? "an empty set of CPUs cannot run anything; leave the key out to keep all"
                           : "CPU numbers as `nproc` counts them from 0, ranges low-high, strides "
                             "low-high:used/group");
    case Kind::host_port:
    case Kind::ip_port: {
      AddressError address;
      auto target = parse_host_port(text, &address);
      if (target && (kind == Kind::host_port || is_ip_literal(target->host))) return true;
      if (target) {
        // Only `localhost` has an address known here; for any other name the author knows it.
        const std::string port = std::to_string(target->port);
        address = {tick(target->host) + " is a host name, not an IP address",
                   (target->host == "localhost"
                        ? "write \"127.0.0.1:" + port + "\""
                        : "write the IP address it stands for, such as \"192.0.2.10:" + port + "\"") +
                       (key.bound_reason.empty() ? "" : " (" + std::string(key.bound_reason) + ")")};
      }
      return bad_value(expected_text(key, kind) + ", got " + got + " (" + address.message + ")",
                       address.hint);
    }
    case Kind::http_url: {
      AddressError address;
      if (parse_http_url(text, &address)) return true;
      return bad_value(expected_text(key, kind) + ", got " + got + " (" + address.message + ")",
                       address.hint);
    }
    case Kind::size:
      if (auto s = parse_size(text, &why)) return field.size = *s, true;
      return bad_value(why);
    case Kind::cpu:
      if (auto c = parse_cpu(text, &why)) return field.number = *c, true;
      return bad_value(why);
    case Kind::signal:
      if (auto s = parse_signal(text, &why)) return field.signal = *s, true;
      return bad_value(why);
    case Kind::time_point:
      if (auto t = parse_time_point(text, &why)) return field.time = to_time_point(*t, text), true;
      return bad_value(why);
    case Kind::regex: {
      // Compiled as written, so that RE2's error quotes the author's text.
      RE2::Options options;
      options.set_log_errors(false);
      if (const RE2 compiled(text, options); !compiled.ok())
        return bad_value("invalid regular expression " + quote(text) + ": " + compiled.error());
      // A newline written in it is a part that never matches (a `not_matches` alternative that
      // never fails); one that no line can match at all, however written (`[\n-\n]`, `$a`),
      // makes a whole `not_matches` pass whatever the output.
      if (matches_newline(text))
        return bad_value("regular expression " + quote(text) +
                         " asks for a newline, but each line is matched on its own, without its newline; "
                         "to find text across lines use `contains` with the newline in it");
      if (line_regex_matches_no_line(text))
        return bad_value("regular expression " + quote(text) +
                         " can match no line: each line is matched on its own, without its newline, and "
                         "^ $ \\A \\z are where the line starts and ends");
      return true;
    }
    case Kind::choice: {
      if (std::find(key.choices.begin(), key.choices.end(), text) != key.choices.end()) return true;
      auto near = closest_match(text, std::vector<std::string>(key.choices.begin(), key.choices.end()));
      error(pos_of(node.source()),
            label + ": unknown value " + quote(text) + ", expected one of " + join_choices(key.choices),
            near ? "did you mean " + quote(*near) + "?" : "");
      return false;
    }
    default:
      return wrong_type();
  }
}

bool Loader::check_list(const toml::node& node, const KeySpec& key, Kind element, const std::string& label,
                        Field& field) {
  const toml::array* array = node.as_array();
  bool ok = true;
  for (const auto& item : *array) {
    Field one;
    if (!check_scalar(item, key, element, label, one)) {
      ok = false;
      continue;
    }
    field.strings.push_back(one.text);
    field.integers.push_back(one.integer);
    field.item_pos.push_back(pos_of(item.source()));
  }
  return ok;
}

bool Loader::check_value(const toml::node& node, const KeySpec& key, Kind kind, const std::string& label,
                         const std::string& where, Field& field) {
  const auto wrong_type = [&](std::string_view reason = {}) {
    std::string message = label + ": " + expected_text(key, kind) + ", got " + describe(node);
    if (!reason.empty()) message += "; " + std::string(reason);
    error(pos_of(node.source()), message);
    return false;
  };
  const std::string child_where = "[" + label + "]";
  switch (kind) {
    case Kind::string_list:
    case Kind::choice_list:
    case Kind::integer_list:
    case Kind::command:
    case Kind::range: {
      if (!node.is_array()) return wrong_type();
      const Kind element = kind == Kind::string_list || kind == Kind::command ? Kind::string
                           : kind == Kind::choice_list                        ? Kind::choice
                           : kind == Kind::integer_list                       ? Kind::integer
                                                                              : key.element;
      if (!check_list(node, key, element, label, field)) return false;
      if (kind == Kind::command && !field.strings.empty() && field.strings.front().empty()) {
        error(field.item_pos.front(), label + ": the program to run is empty",
              "give the program's name or path as the first item");
        return false;
      }
      // An empty list of exit codes or statuses allows none, and the check could only fail.
      if ((kind == Kind::command || kind == Kind::range || kind == Kind::integer_list) &&
          field.strings.empty()) {
        error(pos_of(node.source()), label + ": the list is empty" +
                                         (kind == Kind::command        ? "; give at least the program to run"
                                          : kind == Kind::integer_list ? "; it would allow no value at all"
                                                                       : ""));
        return false;
      }
      return true;
    }
    case Kind::text_or_list:
    case Kind::regex_or_list: {
      const Kind element = kind == Kind::regex_or_list ? Kind::regex : Kind::string;
      if (node.is_string()) {
        if (!check_scalar(node, key, element, label, field)) return false;
        field.strings.push_back(field.text);
        field.item_pos.push_back(pos_of(node.source()));
      } else if (!node.is_array()) {
        return wrong_type();
      } else if (!check_list(node, key, element, label, field)) {
        return false;
      }
      // An empty text or pattern is found in every output: `contains = ""` would pass without
      // looking, `not_contains = ""` fail whatever the output; an empty list checks nothing.
      if (field.strings.empty()) {
        error(pos_of(node.source()), label + ": the list is empty; it would check nothing",
              "leave the key out, or give the text to look for");
        return false;
      }
      for (std::size_t i = 0; i < field.strings.size(); ++i)
        if (field.strings[i].empty()) {
          error(field.item_pos[i],
                label + ": an empty " + (kind == Kind::regex_or_list ? "pattern" : "text") +
                    " is found in every output, so it checks nothing",
                "give the text to look for");
          return false;
        }
      // So is a pattern that matches nothing at all in a line (`ready|`, `(listening on .*)?`,
      // `x*`): it matches every line, whatever was printed. `^$` and `^\s*$` (an empty or blank
      // line) match the empty line only, and look: a line of one control byte tells them apart.
      if (kind == Kind::regex_or_list)
        for (std::size_t i = 0; i < field.strings.size(); ++i) {
          if (!line_regex_matches_every_line(field.strings[i])) continue;
          error(field.item_pos[i],
                label + ": the pattern " + quote(field.strings[i]) +
                    " matches an empty text in any line, so it matches every line of any output: it checks "
                    "nothing",
                "drop the empty alternative (a trailing `|`) or make the optional part required, e.g. "
                "`(listening on .*)` for `(listening on .*)?`");
          return false;
        }
      return true;
    }
    case Kind::string_map:
    case Kind::count_map: {
      // A table of name -> value, each value checked as one scalar of the map's element kind.
      const toml::table* table = node.as_table();
      if (!table) return wrong_type();
      const Kind element = kind == Kind::string_map ? Kind::string : Kind::count_check;
      bool ok = true;
      for (const auto& [name, value] : *table) {
        Field one;
        if (!check_scalar(value, key, element, label + "." + std::string(name.str()), one)) {
          ok = false;
          continue;
        }
        if (kind == Kind::string_map)
          field.map[std::string(name.str())] = one.text;
        else
          field.counts.push_back({std::string(name.str()), pos_of(name.source()), one.comparison});
      }
      return ok;
    }
    case Kind::table: {
      const toml::table* table = node.as_table();
      if (!table) return wrong_type();
      field.tables.push_back(walk_table(*table, *key.table, label, child_where));
      return true;
    }
    case Kind::table_array:
    case Kind::table_or_array: {
      if (const toml::table* table = node.as_table()) {
        if (kind == Kind::table_array)
          return wrong_type("write [[" + label + "]] instead of [" + label + "]");
        field.tables.push_back(walk_table(*table, *key.table, label, child_where));
        return true;
      }
      const toml::array* array = node.as_array();
      if (!array || !array->is_array_of_tables()) return wrong_type();
      for (const auto& item : *array)
        field.tables.push_back(walk_table(*item.as_table(), *key.table, label, "[[" + label + "]]"));
      return true;
    }
    case Kind::name_or_table:
      if (const toml::table* table = node.as_table()) {
        field.is_table = true;
        field.tables.push_back(walk_table(*table, *key.table, label, child_where));
        return true;
      }
      if (!node.is_string()) return wrong_type();
      return check_scalar(node, key, Kind::string, label, field);
    default:
      (void)where;
      return check_scalar(node, key, kind, label, field);
  }
}

void Loader::define_variables(const toml::table& root) {
  const toml::node* vars_node = root.get("vars");
  if (!vars_node) return;
  const toml::table* vars = vars_node->as_table();
  if (!vars) {
    error(pos_of(vars_node->source()),
          "vars: expected a table of strings, such as { port = \"auto-port\" }, got " + describe(*vars_node));
    return;
  }
  for (const auto& [key, node] : *vars) {
    const std::string name(key.str());
    if (name == "scenario_dir" || variables_.is_builtin(name) || name.starts_with("env:")) {
      error(pos_of(key.source()),
            "vars." + name + ": " + tick(name) + " is built in and cannot be redefined");
      continue;
    }
    if (!node.is_string()) {
      error(pos_of(node.source()), "vars." + name + ": expected a string, got " + describe(node));
      continue;
    }
    try {
      variables_.define(name, node.as_string()->get());
    } catch (const Error& e) {
      error(pos_of(node.source()), "vars." + name + ": cannot allocate a port: " + e.what());
    }
  }
  // Report undefined references inside [vars] at their own line, once.
  for (const auto& [key, node] : *vars) {
    if (!node.is_string() || node.as_string()->get() == "auto-port") continue;
    std::string why, hint;
    if (!variables_.expand("${" + std::string(key.str()) + "}", &why, &hint) && !why.empty())
      error(pos_of(node.source()), "vars." + std::string(key.str()) + ": " + why, hint);
  }
}

}  // namespace faultline::scenario::detail
