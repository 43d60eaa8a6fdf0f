// The loader's parts, shared by the files that define them: the checked values the key-table walk
// extracts from TOML (loader_walk.cpp), the model built from them (loader_model.cpp), the
// cross-reference checks (loader_checks.cpp) and the run over one file (loader.cpp). Only the
// scenario module includes this: it is the one that reads TOML.
#pragma once

#include <toml++/toml.h>

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "scenario/loader.h"
#include "scenario/spec.h"
#include "scenario/time_resolution.h"
#include "scenario/variables.h"

namespace faultline::scenario::detail {

using spec::KeySpec;
using spec::Kind;
using spec::TableSpec;

inline SourcePos pos_of(const toml::source_region& region) {
  return {region.begin.line, region.begin.column};
}

struct Table;

// One entry of a count_map: `"disk-full" = ">=1"`.
struct NamedCount {
  std::string name;
  SourcePos key_pos;
  scenario::Comparison comparison;
};

struct Field {
  SourcePos key_pos;
  SourcePos pos;  // the value
  std::string text;
  std::string written;  // a string value as written, before ${...} was expanded
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
  std::vector<NamedCount> counts;  // Kind::count_map, in file order
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

// Message pieces (loader_text.cpp).
std::string quote(std::string_view s);  // "x" in double quotes, as values are written
std::string tick(std::string_view s);   // `x` in backticks, as keys and names are written
std::string join(const std::vector<std::string>& items, std::string_view separator = ", ");
std::string join_choices(const std::vector<std::string_view>& choices);
// "the number 5", "the string \"x\"", "a list", ... for "got ..." in messages.
std::string describe(const toml::node& node);
// "expected a duration such as ...": what a key of this kind takes.
std::string expected_text(const KeySpec& key, Kind kind);
// " in [expect]", " at the top level".
std::string in_where(const std::string& where);
bool valid_name(const std::string& name);
bool is_control_char(char c);           // C0 controls and DEL
std::string control_char_code(char c);  // "U+000A", as the message names it

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
  void build_syscall_failures(const Field& field, const Scenario& s, Expect& e);
  void build_proxy(const Table& t, ProxySpec& proxy);
  void build_injection(const Table& t, std::size_t index, Injection& inj);
  void build_probe(const Table& t, std::size_t index, Probe& probe);
  Window build_window(const Table& t);
  void build_chaos(const Table& t, Chaos& chaos);

  // Cross-references.
  void check_processes(const Scenario& s);
  void check_proxies(const Scenario& s);
  void check_after_cycles(const Scenario& s);
  void check_injections(Scenario& s);
  void check_syscall_fault(const SyscallFault& sc, const Table& t);
  void check_hog_fault(const HogFault& hog, const Table& t);
  // One value of a hog or a path glob, from [[inject]] or a [chaos] draw.
  void check_hog_memory(std::uint64_t bytes, SourcePos pos, const std::string& label);
  void check_hog_cpu(double cpus, SourcePos pos, const std::string& label);
  void check_syscall_names(const std::vector<std::string>& names, const Field& f, const std::string& label);
  void check_errno_names(const std::vector<std::string>& names, const Field& f, const std::string& label);
  void check_chaos(const Scenario& s, const Table& t, Chaos& chaos);
  void check_chaos_ranges(const Table& t, const std::vector<std::string>* drawn);
  void check_network_injection(const Scenario& s, const Table& t, Injection& inj);
  void check_cpu_quota(double cpus, std::optional<Duration> period, SourcePos pos, const std::string& label);
  void check_time_point(const Scenario& s, const TimePoint& tp, SourcePos pos, const std::string& label);
  void check_stop(const Scenario& s, SourcePos pos);
  void check_time_cycles(const Scenario& s);
  void check_window(const Scenario& s, const Window& w, SourcePos from_pos, SourcePos to_pos,
                    const std::string& label);
  std::optional<ResolvedTime> resolve(const Scenario& s, const TimePoint& tp, bool* too_late,
                                      bool* too_early);
  void report_too_early(SourcePos pos, const std::string& label, const TimePoint& tp);
  void check_time_range(const Scenario& s);
  void report_too_late(SourcePos pos, const std::string& label, const std::string& text);
  bool check_process_ref(const Scenario& s, const std::string& name, SourcePos pos, const std::string& label);
  std::vector<std::string> process_names(const Scenario& s) const;
  std::vector<std::string> injection_names(const Scenario& s) const;
  std::vector<std::string> proxy_names(const Scenario& s) const;
  // The proxy a connect to `address` ("host:port") would land on, however either is written.
  const ProxySpec* proxy_reached_by(const Scenario& s, const std::string& address) const;

  std::filesystem::path file_;
  const LoadOptions& options_;
  Variables variables_;
  std::filesystem::path scenario_dir_;
  std::vector<std::string> lines_;
  std::vector<Diagnostic> diagnostics_;

  // Positions the model does not keep but cross-reference checks point at.
  std::vector<const Table*> process_tables_;
  std::string process_table_name_ = "process";  // "target" for a [target] table
  std::vector<const Table*> proxy_tables_;
  std::vector<const Table*> injection_tables_;
  std::vector<const Table*> probe_tables_;
};

}  // namespace faultline::scenario::detail
