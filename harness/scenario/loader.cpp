#include "scenario/loader.h"

#include <re2/re2.h>
#include <toml++/toml.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstring>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

#include "common/address.h"
#include "scenario/did_you_mean.h"
#include "scenario/spec.h"
#include "scenario/variables.h"

namespace faultline::scenario {

// ---------------------------------------------------------------------------------------------
// Diagnostics

namespace {

// The caret goes under column `column` (1-based, in characters); tabs before it are kept so the
// caret lines up however the terminal expands them.
std::string caret_padding(const std::string& line, std::uint32_t column) {
  std::string pad;
  std::uint32_t chars = 1;
  for (std::size_t i = 0; i < line.size() && chars < column; ++i) {
    const unsigned char c = static_cast<unsigned char>(line[i]);
    if ((c & 0xC0) == 0x80) continue;  // UTF-8 continuation byte
    pad += c == '\t' ? '\t' : ' ';
    ++chars;
  }
  while (chars++ < column) pad += ' ';
  return pad;
}

}  // namespace

std::string Diagnostic::render() const {
  std::string out = file.string();
  if (pos.line > 0) out += ":" + std::to_string(pos.line) + ":" + std::to_string(pos.column);
  out += ": " + message;
  if (!hint.empty()) out += "; " + hint;
  if (pos.line > 0 && !source_line.empty()) {
    const std::string number = std::to_string(pos.line);
    out += "\n   " + number + " | " + source_line;
    out += "\n   " + std::string(number.size(), ' ') + " | " + caret_padding(source_line, pos.column) + "^";
  }
  return out;
}

namespace {
std::string render_all(const std::vector<Diagnostic>& diagnostics) {
  std::string out;
  for (const auto& d : diagnostics) {
    if (!out.empty()) out += "\n";
    out += d.render();
  }
  return out;
}
}  // namespace

LoadError::LoadError(std::vector<Diagnostic> diagnostics)
    : Error(render_all(diagnostics)), diagnostics_(std::move(diagnostics)) {}

// ---------------------------------------------------------------------------------------------
// Checked values: what the description-driven walk extracts from the TOML tree.

namespace {

using spec::KeySpec;
using spec::Kind;
using spec::TableSpec;

constexpr const char* kTimeExpected =
    R"(expected a time such as "2s", "ready+2s", "api.ready+1s" or "squeeze.end")";

SourcePos pos_of(const toml::source_region& region) { return {region.begin.line, region.begin.column}; }

struct Table;

struct Field {
  SourcePos key_pos;
  SourcePos pos;  // the value
  std::string text;
  std::int64_t integer = 0;
  bool boolean = false;
  double number = 0;
  Duration duration{0};
  std::uint64_t size = 0;
  int signal = 0;
  TimePoint time;
  scenario::Comparison comparison;
  std::vector<std::string> strings;
  std::vector<std::int64_t> integers;
  std::vector<SourcePos> item_pos;
  std::map<std::string, std::string> map;
  std::vector<Table> tables;
  bool is_table = false;  // Kind::name_or_table written as a table
};

struct Table {
  SourcePos pos;
  std::map<std::string, Field, std::less<>> fields;
  const Field* get(std::string_view key) const {
    auto it = fields.find(key);
    return it == fields.end() ? nullptr : &it->second;
  }
};

std::string quote(std::string_view s) { return "\"" + std::string(s) + "\""; }
std::string tick(std::string_view s) { return "`" + std::string(s) + "`"; }

std::string join(const std::vector<std::string>& items, std::string_view separator = ", ") {
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

// "the number 5", "the string \"x\"", "a list", ... for "got ..." in messages.
std::string describe(const toml::node& node) {
  if (auto s = node.as_string()) {
    std::string text = s->get();
    if (text.size() > 40) text = text.substr(0, 37) + "...";
    return "the string " + quote(text);
  }
  if (auto i = node.as_integer()) return "the number " + std::to_string(i->get());
  if (auto f = node.as_floating_point()) {
    std::ostringstream out;
    out << f->get();
    return "the number " + out.str();
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
    case Kind::boolean:
      return "expected true or false";
    case Kind::ratio:
      return "expected a number from 0 to 1";
    case Kind::duration:
      if (key.min != std::numeric_limits<std::int64_t>::min() &&
          key.max != std::numeric_limits<std::int64_t>::max())
        return "expected a duration from " + format_duration(Duration(key.min)) + " to " +
               format_duration(Duration(key.max));
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

// "2s", "ready", "ready+2s", "api.ready+1s", "load.exit", "squeeze.start+1s", "squeeze.end",
// "squeeze.end-300ms". A `-` offset counts back from an injection's end only: anything earlier than
// another anchor (`ready-1s`, `load.exit-1s`) names a moment the runner has already passed when the
// anchor happens.
std::optional<TimePoint> parse_time_point(const std::string& text, std::string* why) {
  TimePoint tp;
  tp.text = text;
  const auto fail = [&](std::string_view reason = {}) -> std::optional<TimePoint> {
    *why = std::string(kTimeExpected) + ", got " + quote(text);
    if (!reason.empty()) *why += " (" + std::string(reason) + ")";
    return std::nullopt;
  };
  // Names hold no `.` or `+`, so the first `+`, or a `-` right after the event, splits the offset.
  // Events come first: a process may be named `ready-db`, and "ready-db.ready" has no offset.
  std::size_t split = text.find('+');
  bool minus = false;
  if (split == std::string::npos) {
    for (std::string_view event : {".end-", ".start-", ".ready-", ".exit-"})
      if (const std::size_t at = text.find(event); split == std::string::npos && at != std::string::npos)
        split = at + event.size() - 1;
    const bool names_an_event = text.ends_with(".ready") || text.ends_with(".exit") ||
                                text.ends_with(".start") || text.ends_with(".end");
    if (split == std::string::npos && text.starts_with("ready-") && !names_an_event) split = 5;
    minus = split != std::string::npos;
  }
  std::string anchor = text.substr(0, split);
  if (split == std::string::npos) {
    if (!anchor.empty() && std::isdigit(static_cast<unsigned char>(anchor[0]))) {
      std::string duration_why;
      auto offset = parse_duration(anchor, &duration_why);
      if (!offset && duration_why.ends_with("(365 days))"))
        return fail("too large; durations go up to " + format_duration(kMaxDuration) + " (365 days)");
      if (!offset)
        return fail(anchor.find_first_not_of("0123456789.") == std::string::npos ? "durations need a unit"
                                                                                 : "");
      tp.offset = *offset;
      return tp;
    }
  } else {
    if (minus && !anchor.ends_with(".end"))
      return fail(
          "a `-` offset counts back from an injection's end, as in \"squeeze.end-300ms\"; "
          "other anchors take `+` offsets only");
    std::string duration_why;
    auto offset = parse_duration(text.substr(split + 1), &duration_why);
    if (!offset && duration_why.ends_with("(365 days))"))
      return fail("the offset is too large; durations go up to " + format_duration(kMaxDuration) +
                  " (365 days)");
    if (!offset)
      return fail(minus ? "the part after `-` must be a duration" : "the part after `+` must be a duration");
    tp.offset = minus ? -*offset : *offset;
  }
  if (anchor == "ready") {
    tp.anchor = anchor;
    return tp;
  }
  const std::size_t dot = anchor.rfind('.');
  if (dot == std::string::npos || dot == 0) return fail();
  const std::string event = anchor.substr(dot + 1);
  if (event != "ready" && event != "exit" && event != "start" && event != "end") return fail();
  tp.anchor = anchor;
  return tp;
}

// " in [expect]", " at the top level".
std::string in_where(const std::string& where) {
  return (where.starts_with("the ") ? " at " : " in ") + where;
}

bool valid_name(const std::string& name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
}

// ---------------------------------------------------------------------------------------------

class Loader {
 public:
  Loader(const std::filesystem::path& file, const LoadOptions& options)
      : file_(file), options_(options), variables_(options.builtin_vars, options.allocate_port) {}

  Scenario run();
  // Reads from `content` instead of the file (the file name still labels diagnostics).
  Scenario run_on(const std::string& content);
  std::vector<Diagnostic> take_diagnostics() {
    std::stable_sort(diagnostics_.begin(), diagnostics_.end(), [](const Diagnostic& a, const Diagnostic& b) {
      return std::tie(a.pos.line, a.pos.column) < std::tie(b.pos.line, b.pos.column);
    });
    return std::move(diagnostics_);
  }

 private:
  void error(SourcePos pos, std::string message, std::string hint = {}) {
    Diagnostic d{file_, pos, std::move(message), std::move(hint), {}};
    if (pos.line > 0 && pos.line <= lines_.size()) d.source_line = lines_[pos.line - 1];
    diagnostics_.push_back(std::move(d));
  }

  // Walk: unknown keys, types, values, required keys, key groups.
  Table walk_table(const toml::table& table, const TableSpec& spec, const std::string& path,
                   std::string where);
  bool check_value(const toml::node& node, const KeySpec& key, Kind kind, const std::string& label,
                   const std::string& where, Field& field);
  bool check_scalar(const toml::node& node, const KeySpec& key, Kind kind, const std::string& label,
                    Field& field);
  std::optional<std::string> expand(const toml::node& node, const std::string& label);
  bool check_list(const toml::node& node, const KeySpec& key, Kind element, const std::string& label,
                  Field& field);
  void define_variables(const toml::table& root);

  // Build the model.
  void build_process(const Table& t, ProcessSpec& p);
  void build_expects(const Field& field, Scenario& s);
  void build_injection(const Table& t, std::size_t index, Injection& inj);
  void build_probe(const Table& t, std::size_t index, Probe& probe);
  Window build_window(const Table& t);
  void build_chaos(const Table& t, Chaos& chaos);

  // Cross-references.
  void check_processes(const Scenario& s);
  void check_injections(Scenario& s);
  void check_time_point(const Scenario& s, const TimePoint& tp, SourcePos pos, const std::string& label);
  void check_stop(const Scenario& s, SourcePos pos);
  void check_time_cycles(const Scenario& s);
  void check_window(const Scenario& s, const Window& w, SourcePos from_pos, SourcePos to_pos,
                    const std::string& label);
  std::optional<std::pair<std::string, Duration>> resolve(const Scenario& s, const TimePoint& tp,
                                                          std::size_t depth, bool* too_late,
                                                          bool* too_early = nullptr);
  void report_too_early(SourcePos pos, const std::string& label, const TimePoint& tp);
  void check_time_range(const Scenario& s);
  void report_too_late(SourcePos pos, const std::string& label, const std::string& text);
  bool check_process_ref(const Scenario& s, const std::string& name, SourcePos pos, const std::string& label);
  std::vector<std::string> process_names(const Scenario& s) const;
  std::vector<std::string> injection_names(const Scenario& s) const;

  std::filesystem::path file_;
  const LoadOptions& options_;
  Variables variables_;
  std::filesystem::path scenario_dir_;
  std::vector<std::string> lines_;
  std::vector<Diagnostic> diagnostics_;

  // Positions the model does not keep but cross-reference checks point at.
  std::vector<const Table*> process_tables_;
  std::vector<const Table*> injection_tables_;
  std::vector<const Table*> probe_tables_;
};

Table Loader::walk_table(const toml::table& table, const TableSpec& spec, const std::string& path,
                         std::string where) {
  Table out;
  // The root table's own position is 1:1, but "missing `name`" concerns the whole file.
  if (!path.empty()) out.pos = pos_of(table.source());
  const spec::Variant* variant = nullptr;
  bool variant_known = spec.discriminator.empty();
  if (!spec.discriminator.empty()) {
    if (auto d = table.get(spec.discriminator); d && d->is_string()) {
      variant = spec.find_variant(d->as_string()->get());
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
  for (const KeySpec* k : keys)
    if (k->required && !table.contains(k->name))
      error(out.pos, "missing required key " + tick(k->name) + in_where(where));
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
    if (given.empty()) {
      error(out.pos, where + " needs " +
                         (group.rule == spec::KeyGroup::Rule::exactly_one ? "one" : "at least one") + " of " +
                         alternatives);
    } else if (group.rule == spec::KeyGroup::Rule::exactly_one && given.size() > 1) {
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

// A newline written into a regex, as a character or as \n outside \Q...\E: it could never match,
// and a `not_matches` that can never match would pass whatever the output.
bool matches_newline(std::string_view pattern) {
  bool quoted = false;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == '\n') return true;
    if (pattern[i] != '\\' || i + 1 == pattern.size()) continue;
    const char next = pattern[++i];
    if (quoted)
      quoted = next != 'E';
    else if (next == 'Q')
      quoted = true;
    else if (next == 'n')
      return true;
  }
  return false;
}

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
        if (v < key.min || v > key.max) return wrong_type({}, v > key.max ? key.bound_reason : "");
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
  const std::string written = node.as_string()->get();
  const std::string got = quote(text) + (written == text ? "" : " (from " + quote(written) + ")");
  switch (kind) {
    case Kind::string:
      return true;
    case Kind::count_check: {
      if (auto c = parse_comparison(text, true, &why)) return field.comparison = *c, true;
      const std::string name(key.name);
      return bad_value(
          expected_text(key, kind) + ", got " + got + " (" + why + ")",
          "for example " + name + R"( = ">=1" (at least one) or )" + name + " = 2 (exactly two)");
    }
    case Kind::duration:
      if (auto d = parse_duration(text, &why)) {
        if (d->count() >= key.min && d->count() <= key.max) return field.duration = *d, true;
        return bad_value(expected_text(key, kind) + ", got " + got, std::string(key.bound_reason));
      }
      return bad_value(why);
    case Kind::host_port:
    case Kind::ip_port: {
      AddressError address;
      auto target = parse_host_port(text, &address);
      if (target && (kind == Kind::host_port || is_ip_literal(target->host))) return true;
      if (target)
        address = {
            tick(target->host) + " is a host name, which this check does not resolve",
            "write \"127.0.0.1:" + std::to_string(target->port) + "\" (ready.http and probes resolve names)"};
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
      if (auto t = parse_time_point(text, &why)) return field.time = *t, true;
      return bad_value(why);
    case Kind::regex: {
      RE2::Options options;
      options.set_log_errors(false);
      const RE2 compiled(text, options);
      if (!compiled.ok())
        return bad_value("invalid regular expression " + quote(text) + ": " + compiled.error());
      if (matches_newline(text))
        return bad_value("regular expression " + quote(text) +
                         " asks for a newline, but each line is matched on its own, without its newline; "
                         "to find text across lines use `contains` with the newline in it");
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
      if ((kind == Kind::command || kind == Kind::range) && field.strings.empty()) {
        error(pos_of(node.source()), label + ": the list is empty" +
                                         (kind == Kind::command ? "; give at least the program to run" : ""));
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
        return true;
      }
      if (!node.is_array()) return wrong_type();
      return check_list(node, key, element, label, field);
    }
    case Kind::string_map: {
      const toml::table* table = node.as_table();
      if (!table) return wrong_type();
      bool ok = true;
      for (const auto& [name, value] : *table) {
        const std::string item_label = label + "." + std::string(name.str());
        Field one;
        if (!check_scalar(value, key, Kind::string, item_label, one)) {
          ok = false;
          continue;
        }
        field.map[std::string(name.str())] = one.text;
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

// ---------------------------------------------------------------------------------------------
// Model

void Loader::build_process(const Table& t, ProcessSpec& p) {
  p.pos = t.pos;
  if (auto f = t.get("name")) p.name = f->text;
  if (auto f = t.get("command")) p.command = f->strings;
  if (auto f = t.get("shell")) p.shell = f->text;
  if (auto f = t.get("cwd")) {
    std::filesystem::path cwd(f->text);
    p.cwd = (cwd.is_relative() ? scenario_dir_ / cwd : cwd).lexically_normal();
  }
  if (auto f = t.get("env")) p.env = f->map;
  if (auto f = t.get("clear_env")) p.clear_env = f->boolean;
  if (auto f = t.get("user")) p.user = f->text;
  if (auto f = t.get("after")) p.after = f->strings;
  if (auto f = t.get("stop_signal")) p.stop_signal = f->signal;
  if (auto f = t.get("stop_grace")) p.stop_grace = f->duration;
  if (auto f = t.get("ready"); f && !f->tables.empty()) {
    const Table& r = f->tables[0];
    if (auto g = r.get("log")) p.ready.kind = Readiness::Kind::log, p.ready.log_regex = g->text;
    if (auto g = r.get("tcp")) p.ready.kind = Readiness::Kind::tcp, p.ready.address = g->text;
    if (auto g = r.get("http")) p.ready.kind = Readiness::Kind::http, p.ready.address = g->text;
    if (auto g = r.get("exec")) p.ready.kind = Readiness::Kind::exec, p.ready.exec = g->strings;
    if (auto g = r.get("timeout")) p.ready.timeout = g->duration;
  }
  if (auto f = t.get("limits"); f && !f->tables.empty()) {
    const Table& l = f->tables[0];
    if (auto g = l.get("memory")) p.limits.memory = g->size;
    if (auto g = l.get("memory_high")) p.limits.memory_high = g->size;
    if (auto g = l.get("swap")) p.limits.swap = g->size;
    if (auto g = l.get("cpu")) p.limits.cpu = g->number;
    if (auto g = l.get("cpu_period")) p.limits.cpu_period = g->duration;
    if (auto g = l.get("cpuset")) p.limits.cpuset = g->text;
    if (auto g = l.get("pids")) p.limits.pids = static_cast<std::uint64_t>(g->integer);
    if (auto g = l.get("nofile")) p.limits.nofile = static_cast<std::uint64_t>(g->integer);
  }
}

void Loader::build_expects(const Field& field, Scenario& s) {
  const std::string where = field.tables.size() == 1 && !field.tables.empty() ? "[expect]" : "[[expect]]";
  std::map<std::string, SourcePos> seen;
  for (const Table& t : field.tables) {
    Expect e;
    e.pos = t.pos;
    for (const auto& [key, f] : t.fields) {
      if (key == "stdout" || key == "stderr") {
        if (!f.tables.empty())
          for (const auto& [sub, g] : f.tables[0].fields) e.key_pos[key + "." + sub] = g.key_pos;
      } else {
        e.key_pos[key] = f.key_pos;
      }
    }
    if (auto f = t.get("outcome")) {
      const std::string& o = f->text;
      e.outcome = o == "exited"       ? ExpectedOutcome::exited
                  : o == "signaled"   ? ExpectedOutcome::signaled
                  : o == "oom-killed" ? ExpectedOutcome::oom_killed
                  : o == "timed-out"  ? ExpectedOutcome::timed_out
                                      : ExpectedOutcome::any;
    }
    if (auto f = t.get("exit_codes")) {
      e.exit_codes.emplace();
      for (auto code : f->integers) e.exit_codes->push_back(static_cast<int>(code));
      if (e.outcome && *e.outcome != ExpectedOutcome::exited && *e.outcome != ExpectedOutcome::any)
        error(f->key_pos,
              "expect.exit_codes: only applies to outcome \"exited\", not " + quote(to_string(*e.outcome)));
    }
    if (auto f = t.get("graceful")) e.graceful = f->boolean;
    if (auto f = t.get("no_orphans")) e.no_orphans = f->boolean;
    if (auto f = t.get("oom_kills")) e.oom_kills = f->comparison;
    if (auto f = t.get("pids_max_events")) e.pids_max_events = f->comparison;
    if (auto f = t.get("max_memory")) e.max_memory = f->size;
    if (auto f = t.get("max_runtime")) e.max_runtime = f->duration;
    for (auto [name, out] : {std::pair{"stdout", &e.stdout_expect}, std::pair{"stderr", &e.stderr_expect}}) {
      const Field* f = t.get(name);
      if (!f || f->tables.empty()) continue;
      const Table& o = f->tables[0];
      if (auto g = o.get("contains")) out->contains = g->strings;
      if (auto g = o.get("not_contains")) out->not_contains = g->strings;
      if (auto g = o.get("matches")) out->matches = g->strings;
      if (auto g = o.get("not_matches")) out->not_matches = g->strings;
    }
    if (auto f = t.get("process")) {
      if (check_process_ref(s, f->text, f->pos, "expect.process")) e.process = f->text;
    } else if (s.processes.size() == 1) {
      e.process = s.processes[0].name;
    } else if (s.processes.size() > 1) {
      error(t.pos,
            where + " needs `process`: the scenario has several processes (" + join(process_names(s)) + ")");
    }
    if (!e.process.empty()) {
      if (seen.contains(e.process)) {
        error(t.pos,
              "a second " + where + " for process " + tick(e.process) + " (the first is on line " +
                  std::to_string(seen[e.process].line) + ")",
              "merge the two into one table");
      } else {
        seen[e.process] = t.pos;
      }
    }
    s.expects.push_back(std::move(e));
  }
}

void Loader::build_injection(const Table& t, std::size_t index, Injection& inj) {
  inj.pos = t.pos;
  if (auto f = t.get("kind")) inj.kind = f->text;
  inj.name = inj.kind + "#" + std::to_string(index + 1);
  if (auto f = t.get("name")) inj.name = f->text;
  if (auto f = t.get("into")) inj.into = f->text;
  if (auto f = t.get("at")) inj.at = f->time;
  if (auto f = t.get("duration")) inj.duration = f->duration;
  if (inj.kind == "memory") {
    MemoryFault m;
    if (auto f = t.get("limit")) m.limit = f->size;
    if (auto f = t.get("high")) m.high = f->size;
    if (auto f = t.get("over")) m.over = f->duration;
    if (auto f = t.get("mode"); f && f->text == "limit-only") m.mode = MemoryFault::Mode::limit_only;
    inj.params = m;
  } else if (inj.kind == "cpu") {
    CpuFault c;
    if (auto f = t.get("quota")) c.quota = f->number;
    if (auto f = t.get("period")) c.period = f->duration;
    if (auto f = t.get("cpuset")) c.cpuset = f->text;
    inj.params = c;
  } else if (inj.kind == "fd") {
    FdFault fd;
    if (auto f = t.get("nofile")) fd.nofile = static_cast<std::uint64_t>(f->integer);
    inj.params = fd;
  } else if (inj.kind == "pids") {
    PidsFault p;
    if (auto f = t.get("limit")) p.limit = static_cast<std::uint64_t>(f->integer);
    inj.params = p;
  } else if (inj.kind == "signal") {
    SignalFault sig;
    if (auto f = t.get("signal")) sig.signal = f->signal;
    if (auto f = t.get("to")) sig.to = f->text == "all" ? SignalFault::To::all : SignalFault::To::main;
    if (auto f = t.get("repeat"); f && !f->tables.empty()) {
      if (auto g = f->tables[0].get("every")) sig.repeat_every = g->duration;
      if (auto g = f->tables[0].get("count")) sig.repeat_count = static_cast<std::uint32_t>(g->integer);
    }
    inj.params = sig;
  } else if (inj.kind == "freeze") {
    inj.params = FreezeFault{};
  } else if (inj.kind == "hog") {
    HogFault h;
    if (auto f = t.get("memory")) h.memory = f->size;
    if (auto f = t.get("cpu")) h.cpu = f->number;
    inj.params = h;
  }
}

Window Loader::build_window(const Table& t) {
  Window w;
  if (auto f = t.get("from")) w.from = f->time;
  if (auto f = t.get("to")) w.to = f->time;
  return w;
}

void Loader::build_probe(const Table& t, std::size_t index, Probe& probe) {
  probe.pos = t.pos;
  probe.name = "probe#" + std::to_string(index + 1);
  if (auto f = t.get("name")) probe.name = f->text;
  if (auto f = t.get("http")) probe.kind = Probe::Kind::http, probe.target = f->text;
  if (auto f = t.get("tcp")) probe.kind = Probe::Kind::tcp, probe.target = f->text;
  if (auto f = t.get("exec")) probe.kind = Probe::Kind::exec, probe.exec = f->strings;
  if (auto f = t.get("every")) probe.every = f->duration;
  if (auto f = t.get("timeout")) probe.timeout = f->duration;
  if (auto f = t.get("min_pass_ratio")) probe.min_pass_ratio = f->number;
  if (auto f = t.get("during")) {
    if (f->is_table)
      probe.during = build_window(f->tables[0]);
    else
      probe.during.inject = f->text;
  }
  if (auto f = t.get("expect"); f && !f->tables.empty()) {
    const Table& e = f->tables[0];
    const bool http = t.get("http") != nullptr;
    const bool kind_known = t.get("http") || t.get("tcp") || t.get("exec");
    if (auto g = e.get("status")) {
      probe.expect_status.emplace(g->integers.begin(), g->integers.end());
      if (kind_known && !http) error(g->key_pos, "probe.expect.status: only applies to http probes");
    }
    if (auto g = e.get("body_contains")) {
      probe.expect_body_contains = g->text;
      if (kind_known && !http) error(g->key_pos, "probe.expect.body_contains: only applies to http probes");
    }
    if (auto g = e.get("latency_below")) probe.expect_latency_below = g->duration;
    if (auto g = e.get("success")) probe.expect_success = g->boolean;
  }
}

void Loader::build_chaos(const Table& t, Chaos& chaos) {
  chaos.pos = t.pos;
  if (auto f = t.get("faults")) chaos.faults = static_cast<std::uint32_t>(f->integer);
  if (auto f = t.get("window"); f && !f->tables.empty()) chaos.window = build_window(f->tables[0]);
  if (auto f = t.get("kinds")) chaos.kinds = f->strings;
  if (auto f = t.get("into")) chaos.into = f->strings;
  for (const auto& [key, f] : t.fields) {
    if (f.tables.empty() || key == "window") continue;
    for (const auto& [range_key, g] : f.tables[0].fields) chaos.ranges[key][range_key].values = g.strings;
  }
}

// ---------------------------------------------------------------------------------------------
// Cross-references

std::vector<std::string> Loader::process_names(const Scenario& s) const {
  std::vector<std::string> names;
  for (const auto& p : s.processes)
    if (!p.name.empty() && std::find(names.begin(), names.end(), p.name) == names.end())
      names.push_back(p.name);
  return names;
}

std::vector<std::string> Loader::injection_names(const Scenario& s) const {
  std::vector<std::string> names;
  for (const auto& i : s.injections)
    if (std::find(names.begin(), names.end(), i.name) == names.end()) names.push_back(i.name);
  return names;
}

bool Loader::check_process_ref(const Scenario& s, const std::string& name, SourcePos pos,
                               const std::string& label) {
  if (s.find_process(name)) return true;
  auto near = closest_match(name, process_names(s));
  error(pos, label + ": unknown process " + tick(name) + " (processes: " + join(process_names(s)) + ")",
        near ? "did you mean " + tick(*near) + "?" : "");
  return false;
}

void Loader::check_processes(const Scenario& s) {
  std::map<std::string, std::size_t> first;
  for (std::size_t i = 0; i < s.processes.size(); ++i) {
    const ProcessSpec& p = s.processes[i];
    const Table& t = *process_tables_[i];
    const Field* name_field = t.get("name");
    if (name_field && !valid_name(p.name)) {
      error(name_field->pos, "process.name: " + quote(p.name) + " is not a valid name",
            "use letters, digits, `_` and `-`");
    } else if (!p.name.empty() && first.contains(p.name)) {
      error(name_field ? name_field->pos : p.pos,
            "duplicate process name " + tick(p.name) + " (first defined on line " +
                std::to_string(s.processes[first[p.name]].pos.line) + ")");
    } else if (!p.name.empty()) {
      first[p.name] = i;
    }
    if (const Field* after = t.get("after")) {
      for (std::size_t j = 0; j < p.after.size(); ++j) {
        if (p.after[j] == p.name)
          error(after->item_pos[j], "process.after: process " + tick(p.name) + " cannot wait for itself");
        else
          check_process_ref(s, p.after[j], after->item_pos[j], "process.after");
      }
    }
  }
  // Cycles in `after`: depth-first search, reported once at the process where the loop closes.
  enum class Mark { none, active, done };
  std::vector<Mark> marks(s.processes.size(), Mark::none);
  std::vector<std::size_t> stack;
  const auto index_of = [&](const std::string& name) -> std::optional<std::size_t> {
    for (std::size_t i = 0; i < s.processes.size(); ++i)
      if (s.processes[i].name == name) return i;
    return std::nullopt;
  };
  std::function<void(std::size_t)> visit = [&](std::size_t i) {
    marks[i] = Mark::active;
    stack.push_back(i);
    for (std::size_t j = 0; j < s.processes[i].after.size(); ++j) {
      auto next = index_of(s.processes[i].after[j]);
      if (!next || *next == i) continue;
      if (marks[*next] == Mark::active) {
        std::vector<std::string> cycle;
        auto from = std::find(stack.begin(), stack.end(), *next);
        for (auto it = from; it != stack.end(); ++it) cycle.push_back(s.processes[*it].name);
        cycle.push_back(s.processes[*next].name);
        error(process_tables_[i]->get("after")->item_pos[j],
              "process.after: processes wait for each other in a cycle: " + join(cycle, " -> "));
      } else if (marks[*next] == Mark::none) {
        visit(*next);
      }
    }
    stack.pop_back();
    marks[i] = Mark::done;
  };
  for (std::size_t i = 0; i < s.processes.size(); ++i)
    if (marks[i] == Mark::none) visit(i);
}

void Loader::check_injections(Scenario& s) {
  std::map<std::string, std::size_t> first;
  for (std::size_t i = 0; i < s.injections.size(); ++i) {
    Injection& inj = s.injections[i];
    const Table& t = *injection_tables_[i];
    if (const Field* name = t.get("name")) {
      if (!valid_name(inj.name)) {
        error(name->pos, "inject.name: " + quote(inj.name) + " is not a valid name",
              "use letters, digits, `_` and `-`");
      } else if (first.contains(inj.name)) {
        error(name->pos, "duplicate injection name " + tick(inj.name) + " (first defined on line " +
                             std::to_string(s.injections[first[inj.name]].pos.line) + ")");
      } else {
        first[inj.name] = i;
      }
    }
    if (const Field* into = t.get("into")) {
      if (!check_process_ref(s, inj.into, into->pos, "inject.into")) inj.into.clear();
    } else if (s.processes.size() == 1) {
      inj.into = s.processes[0].name;
    } else if (s.processes.size() > 1) {
      error(t.pos,
            "[[inject]] needs `into`: the scenario has several processes (" + join(process_names(s)) + ")");
    }
    if (const Field* at = t.get("at")) check_time_point(s, inj.at, at->pos, "inject.at");
  }
  check_time_cycles(s);
  check_time_range(s);
}

void Loader::check_time_point(const Scenario& s, const TimePoint& tp, SourcePos pos,
                              const std::string& label) {
  if (tp.anchor.empty() || tp.anchor == "ready") return;
  const std::size_t dot = tp.anchor.rfind('.');
  const std::string name = tp.anchor.substr(0, dot);
  const std::string event = tp.anchor.substr(dot + 1);
  const auto injection = std::find_if(s.injections.begin(), s.injections.end(),
                                      [&](const Injection& i) { return i.name == name; });
  if (event == "ready" || event == "exit") {
    if (s.find_process(name)) return;
    if (injection != s.injections.end()) {
      error(pos, label + ": " + tick(name) + " is an injection, it has no `." + event + "`",
            "use `" + name + ".start` or `" + name + ".end`");
      return;
    }
    auto near = closest_match(name, process_names(s));
    error(pos, label + ": unknown process " + tick(name) + " in " + quote(tp.text),
          near ? "did you mean " + tick(*near + "." + event) + "?" : "");
    return;
  }
  if (injection == s.injections.end()) {
    if (s.find_process(name)) {
      error(pos, label + ": " + tick(name) + " is a process, it has no `." + event + "`",
            "use `" + name + ".ready` or `" + name + ".exit`");
      return;
    }
    auto near = closest_match(name, injection_names(s));
    error(pos, label + ": unknown injection " + tick(name) + " in " + quote(tp.text),
          near ? "did you mean " + tick(*near + "." + event) + "?" : "");
    return;
  }
  if (event == "end" && !injection->duration)
    error(pos, label + ": injection " + tick(name) + " has no `duration`, so " + tick(name + ".end") +
                   " never comes");
}

// `stop` names a process's exit: a fixed time is what `duration` is for, and a time relative to an
// injection would let the fault timeline decide when the scenario ends.
void Loader::check_stop(const Scenario& s, SourcePos pos) {
  const TimePoint& tp = *s.stop;
  if (!tp.anchor.ends_with(".exit")) {
    const std::string hint = s.processes.empty() ? std::string("name a process's exit, such as \"load.exit\"")
                                                 : "such as " + quote(s.processes.back().name + ".exit") +
                                                       "; for a fixed time use `duration`";
    error(
        pos,
        "stop: expected a process's exit (\"<process>.exit\", optionally \"+offset\"), got " + quote(tp.text),
        hint);
    return;
  }
  check_time_point(s, tp, pos, "stop");
}

void Loader::check_time_cycles(const Scenario& s) {
  const auto referenced = [&](const Injection& inj) -> std::optional<std::size_t> {
    const std::size_t dot = inj.at.anchor.rfind('.');
    if (dot == std::string::npos) return std::nullopt;
    const std::string event = inj.at.anchor.substr(dot + 1);
    if (event != "start" && event != "end") return std::nullopt;
    const std::string name = inj.at.anchor.substr(0, dot);
    for (std::size_t i = 0; i < s.injections.size(); ++i)
      if (s.injections[i].name == name) return i;
    return std::nullopt;
  };
  // Each injection refers to at most one other, so following the chain finds any cycle.
  std::set<std::size_t> reported;
  for (std::size_t start = 0; start < s.injections.size(); ++start) {
    std::vector<std::size_t> chain{start};
    std::optional<std::size_t> next = referenced(s.injections[start]);
    while (next && std::find(chain.begin(), chain.end(), *next) == chain.end()) {
      chain.push_back(*next);
      next = referenced(s.injections[*next]);
    }
    if (!next || *next != start || reported.contains(start)) continue;
    std::vector<std::string> names;
    for (auto i : chain) {
      names.push_back(s.injections[i].name);
      reported.insert(i);
    }
    names.push_back(s.injections[start].name);
    const Field* at = injection_tables_[start]->get("at");
    error(at ? at->pos : s.injections[start].pos,
          "inject.at: injections are timed relative to each other in a cycle: " + join(names, " -> "));
  }
}

// nullopt for an unknown name or a cycle (reported elsewhere), for a time more than kMaxDuration
// after its base anchor (then `too_late` is set): sums are checked, never wrapped; and for
// `<inj>.end-D` with D longer than the injection (then `too_early` is set).
std::optional<std::pair<std::string, Duration>> Loader::resolve(const Scenario& s, const TimePoint& tp,
                                                                std::size_t depth, bool* too_late,
                                                                bool* too_early) {
  if (depth > s.injections.size()) return std::nullopt;  // a cycle, reported elsewhere
  const auto later = [&](const std::string& anchor, Duration base,
                         Duration offset) -> std::optional<std::pair<std::string, Duration>> {
    if (auto sum = add_durations(base, offset)) return std::pair{anchor, *sum};
    if (too_late) *too_late = true;
    return std::nullopt;
  };
  const std::size_t dot = tp.anchor.rfind('.');
  if (dot == std::string::npos || tp.anchor.substr(dot + 1) == "ready" || tp.anchor.substr(dot + 1) == "exit")
    return later(tp.anchor, {}, tp.offset);
  const std::string name = tp.anchor.substr(0, dot);
  for (const auto& inj : s.injections) {
    if (inj.name != name) continue;
    auto base = resolve(s, inj.at, depth + 1, too_late, too_early);
    if (!base) return std::nullopt;
    if (tp.anchor.substr(dot + 1) == "start") return later(base->first, base->second, tp.offset);
    if (!inj.duration) return std::nullopt;
    auto end = later(base->first, base->second, *inj.duration);
    if (!end || tp.offset >= Duration{0})
      return end ? later(end->first, end->second, tp.offset) : std::nullopt;
    // `<inj>.end-D` counts back within the injection: it may reach its start, not before.
    if (-tp.offset > *inj.duration) {
      if (too_early) *too_early = true;
      return std::nullopt;
    }
    return std::pair{end->first, end->second + tp.offset};
  }
  return std::nullopt;
}

void Loader::report_too_early(SourcePos pos, const std::string& label, const TimePoint& tp) {
  const std::string inj = tp.anchor.substr(0, tp.anchor.rfind('.'));
  error(pos,
        label + ": " + quote(tp.text) + " comes before " + tick(inj + ".start") + ": it counts back " +
            format_duration(-tp.offset) + " from the end of an injection that lasts less than that",
        "a `-` offset may count back at most the injection's `duration`");
}

void Loader::report_too_late(SourcePos pos, const std::string& label, const std::string& text) {
  error(pos,
        label + ": " + quote(text) + " comes more than " + format_duration(kMaxDuration) +
            " (365 days) after the start or readiness it counts from",
        "no scenario runs that long; times on the timeline go up to " + format_duration(kMaxDuration));
}

// Every injection's start and end lie within kMaxDuration of their base anchor, so the runner
// and `plan` never add their way past it.
void Loader::check_time_range(const Scenario& s) {
  for (std::size_t i = 0; i < s.injections.size(); ++i) {
    const Injection& inj = s.injections[i];
    const Field* at = injection_tables_[i]->get("at");
    if (!at) continue;
    bool too_late = false, too_early = false;
    auto start = resolve(s, inj.at, 0, &too_late, &too_early);
    if (too_late) {
      report_too_late(at->pos, "inject.at", inj.at.text);
      continue;
    }
    if (too_early) {
      report_too_early(at->pos, "inject.at", inj.at);
      continue;
    }
    if (!start || !inj.duration || add_durations(start->second, *inj.duration)) continue;
    const Field* duration = injection_tables_[i]->get("duration");
    error(duration ? duration->pos : at->pos,
          "inject.duration: injection " + tick(inj.name) + " would end more than " +
              format_duration(kMaxDuration) + " (365 days) after " +
              (start->first.empty() ? std::string("the scenario start") : tick(start->first)),
          "no scenario runs that long; times on the timeline go up to " + format_duration(kMaxDuration));
  }
}

void Loader::check_window(const Scenario& s, const Window& w, SourcePos from_pos, SourcePos to_pos,
                          const std::string& label) {
  bool from_too_late = false, to_too_late = false, from_too_early = false, to_too_early = false;
  auto from = resolve(s, w.from, 0, &from_too_late, &from_too_early);
  if (from_too_late) report_too_late(from_pos, label + ".from", w.from.text);
  if (from_too_early) report_too_early(from_pos, label + ".from", w.from);
  if (!w.to) return;  // open: until the stop phase begins
  auto to = resolve(s, *w.to, 0, &to_too_late, &to_too_early);
  if (to_too_late) report_too_late(to_pos, label + ".to", w.to->text);
  if (to_too_early) report_too_early(to_pos, label + ".to", *w.to);
  if (!from || !to || from->first != to->first) return;
  if (to->second < from->second)
    error(to_pos, label + ": the window ends (" + quote(w.to->text) + ") before it starts (" +
                      quote(w.from.text) + ")");
  else if (to->second == from->second)
    error(to_pos, label + ": the window is empty: " + quote(w.from.text) + " and " + quote(w.to->text) +
                      " are the same time");
}

// ---------------------------------------------------------------------------------------------

Scenario Loader::run() {
  std::ifstream in(file_, std::ios::binary);
  if (!in) {
    error({}, std::string("cannot read the scenario file: ") + std::strerror(errno));
    Scenario s;
    s.file = file_;
    return s;
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return run_on(buffer.str());
}

Scenario Loader::run_on(const std::string& content) {
  Scenario s;
  s.file = file_;
  std::error_code ec;
  scenario_dir_ = std::filesystem::absolute(file_, ec).parent_path().lexically_normal();
  {
    std::istringstream split(content);
    for (std::string line; std::getline(split, line);) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      lines_.push_back(line);
    }
  }

  toml::table root;
  try {
    root = toml::parse(content, file_.string());
  } catch (const toml::parse_error& e) {
    error(pos_of(e.source()), "invalid TOML: " + std::string(e.description()));
    return s;
  }

  std::map<std::string, std::string> builtins = options_.builtin_vars;
  builtins["scenario_dir"] = scenario_dir_.string();
  variables_ = Variables(builtins, options_.allocate_port);
  define_variables(root);

  const Table top = walk_table(root, spec::scenario_spec(), "", "the top level");
  if (auto f = top.get("name")) s.name = f->text, s.name_pos = f->pos;
  if (auto f = top.get("description")) s.description = f->text;
  if (auto f = top.get("tags")) s.tags = f->strings;
  if (auto f = top.get("timeout")) s.timeout = f->duration;
  if (auto f = top.get("duration")) s.duration = f->duration;
  const Field* stop = top.get("stop");
  if (stop) s.stop = stop->time;

  const Field* target = top.get("target");
  const Field* processes = top.get("process");
  if (root.contains("target") && root.contains("process")) {
    error(pos_of(root.get("target")->source()), "[target] and [[process]] cannot both be given",
          "name the target in a [[process]] table");
  } else if (!root.contains("target") && !root.contains("process")) {
    error({}, "no process to run: add a [target] table or [[process]] tables");
  }
  if (target && !target->tables.empty()) {
    ProcessSpec p;
    build_process(target->tables[0], p);
    p.name = "target";
    s.processes.push_back(std::move(p));
    process_tables_.push_back(&target->tables[0]);
  } else if (processes) {
    for (const Table& t : processes->tables) {
      ProcessSpec p;
      build_process(t, p);
      s.processes.push_back(std::move(p));
      process_tables_.push_back(&t);
    }
  }
  check_processes(s);

  if (auto f = top.get("inject")) {
    for (std::size_t i = 0; i < f->tables.size(); ++i) {
      Injection inj;
      build_injection(f->tables[i], i, inj);
      s.injections.push_back(std::move(inj));
      injection_tables_.push_back(&f->tables[i]);
    }
  }
  check_injections(s);

  if (auto f = top.get("expect")) build_expects(*f, s);

  if (stop) check_stop(s, stop->pos);

  if (auto f = top.get("probe")) {
    for (std::size_t i = 0; i < f->tables.size(); ++i) {
      const Table& t = f->tables[i];
      Probe probe;
      build_probe(t, i, probe);
      if (const Field* during = t.get("during")) {
        if (probe.during.inject) {
          if (std::none_of(s.injections.begin(), s.injections.end(),
                           [&](const Injection& inj) { return inj.name == *probe.during.inject; })) {
            auto near = closest_match(*probe.during.inject, injection_names(s));
            error(during->pos, "probe.during: unknown injection " + tick(*probe.during.inject),
                  near ? "did you mean " + tick(*near) + "?" : "");
          }
        } else {
          const Table& w = during->tables[0];
          const Field* from = w.get("from");
          const Field* to = w.get("to");
          if (from) check_time_point(s, probe.during.from, from->pos, "probe.during.from");
          if (to) check_time_point(s, *probe.during.to, to->pos, "probe.during.to");
          if (from) check_window(s, probe.during, from->pos, to ? to->pos : SourcePos{}, "probe.during");
        }
      }
      s.probes.push_back(std::move(probe));
    }
  }

  if (auto f = top.get("chaos"); f && !f->tables.empty()) {
    const Table& t = f->tables[0];
    Chaos chaos;
    build_chaos(t, chaos);
    if (const Field* into = t.get("into")) {
      for (std::size_t i = 0; i < chaos.into.size(); ++i)
        check_process_ref(s, chaos.into[i], into->item_pos[i], "chaos.into");
    } else {
      chaos.into = process_names(s);
    }
    if (const Field* window = t.get("window"); window && !window->tables.empty()) {
      const Table& w = window->tables[0];
      const Field* from = w.get("from");
      const Field* to = w.get("to");
      if (from) check_time_point(s, chaos.window.from, from->pos, "chaos.window.from");
      if (to) check_time_point(s, *chaos.window.to, to->pos, "chaos.window.to");
      if (from && to) check_window(s, chaos.window, from->pos, to->pos, "chaos.window");
    }
    s.chaos = std::move(chaos);
  }

  if (auto f = top.get("on_timeout"); f && !f->tables.empty()) {
    if (auto g = f->tables[0].get("diagnose")) s.on_timeout.diagnose_signal = g->signal;
    if (auto g = f->tables[0].get("grace")) s.on_timeout.grace = g->duration;
  }
  return s;
}

}  // namespace

Scenario load_scenario(const std::filesystem::path& file, const LoadOptions& options) {
  Loader loader(file, options);
  Scenario s = loader.run();
  auto diagnostics = loader.take_diagnostics();
  if (!diagnostics.empty()) throw LoadError(std::move(diagnostics));
  return s;
}

std::vector<Diagnostic> validate_scenario(const std::filesystem::path& file, const LoadOptions& options) {
  Loader loader(file, options);
  loader.run();
  return loader.take_diagnostics();
}

std::vector<Diagnostic> validate_scenario_text(const std::string& content, const std::filesystem::path& file,
                                               const LoadOptions& options) {
  Loader loader(file, options);
  loader.run_on(content);
  return loader.take_diagnostics();
}

}  // namespace faultline::scenario
