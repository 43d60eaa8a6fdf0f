#include "scenario/loader.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "scenario/did_you_mean.h"
#include "scenario/loader_internal.h"

namespace faultline::scenario {
namespace detail {

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
  if (auto f = top.get("name")) {
    s.name = f->text, s.name_as_written = f->written, s.name_pos = f->pos;
    s.name_across_runs = variables_.expand_keeping_ports(f->written).value_or(f->text);
    // The name heads a line in the console, a JUnit testcase and a CI annotation's title: a tab
    // or newline in it would break those lines, or start a new one that reads as faultline's own.
    if (auto c = std::find_if(s.name.begin(), s.name.end(), is_control_char); c != s.name.end())
      error(f->pos, "name: control character " + control_char_code(*c) + " in the scenario name",
            "write the name on one line; put details in `description`");
  }
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
    error({1, 1}, "no process to run: the file has no [target] table and no [[process]] tables",
          "add [target] with command = [\"./my-service\"], or a [[process]] table for each process");
  }
  if (target && !target->tables.empty()) {
    ProcessSpec p;
    build_process(target->tables[0], p);
    p.name = "target";
    s.processes.push_back(std::move(p));
    process_tables_.push_back(&target->tables[0]);
    process_table_name_ = "target";
  } else if (processes) {
    for (const Table& t : processes->tables) {
      ProcessSpec p;
      build_process(t, p);
      s.processes.push_back(std::move(p));
      process_tables_.push_back(&t);
    }
  }
  if (auto f = top.get("proxy")) {
    for (const Table& t : f->tables) {
      ProxySpec proxy;
      build_proxy(t, proxy);
      s.proxies.push_back(std::move(proxy));
      proxy_tables_.push_back(&t);
    }
  }
  check_processes(s);
  check_proxies(s);

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
      // A proxy accepts a connect before it dials its upstream, so a tcp probe of its listen
      // address passes with nothing behind it: a "recovery" check on the address the clients use
      // passed while the service behind the proxy was down.
      if (const Field* tcp = t.get("tcp"); tcp && probe.kind == Probe::Kind::tcp)
        if (const ProxySpec* proxy = proxy_reached_by(s, probe.target))
          error(tcp->pos,
                "probe.tcp: " + quote(probe.target) + " reaches proxy " + tick(proxy->name) +
                    " (listening on " + quote(proxy->listen) +
                    "): the proxy accepts every connect before it dials its upstream, so this probe would "
                    "pass with nothing behind it",
                "probe the upstream (" + quote(proxy->upstream) +
                    ") directly, or use an `http` probe through the proxy, which needs an answer");
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
    check_chaos(s, t, chaos);
    s.chaos = std::move(chaos);
  }

  if (auto f = top.get("on_timeout"); f && !f->tables.empty()) {
    if (auto g = f->tables[0].get("diagnose")) s.on_timeout.diagnose_signal = g->signal;
    if (auto g = f->tables[0].get("grace")) s.on_timeout.grace = g->duration;
  }
  return s;
}

}  // namespace detail

using detail::Loader;

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
