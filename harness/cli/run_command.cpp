#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string_view>

#include "cgroup/backend.h"
#include "cli/commands.h"
#include "cli/report_facts.h"
#include "cli/report_outputs.h"
#include "common/interrupt.h"
#include "common/units.h"
#include "reports/annotations.h"
#include "reports/baseline.h"
#include "reports/console_writer.h"
#include "reports/json_reader.h"
#include "reports/merge.h"
#include "runner/selection.h"
#include "runner/suite_runner.h"
#include "scenario/chaos.h"
#include "scenario/loader.h"

namespace faultline::cli {
namespace {

struct RunArgs {
  std::vector<std::string> paths;
  std::string json_path, junit_path, html_path, baseline_path;
  bool strict = false;
  std::string cgroup_root;
  int jobs = 1;
  int repeat = 1;
  std::vector<std::string> tags, exclude_tags;
  std::string shard;
  std::optional<std::uint64_t> seed;
  std::string run_id;
};

scenario::LoadOptions load_options() { return scenario_load_options(); }

// Loads every file, printing every diagnostic of every file; nullopt if any was invalid.
std::optional<std::vector<scenario::Scenario>> load_all(const std::vector<std::string>& files) {
  const auto options = load_options();
  std::vector<scenario::Scenario> scenarios;
  bool invalid = false;
  for (const auto& file : files) {
    try {
      scenarios.push_back(scenario::load_scenario(file, options));
    } catch (const scenario::LoadError& e) {
      invalid = true;
      for (const auto& d : e.diagnostics()) std::cerr << d.render() << "\n";
    }
  }
  if (invalid) return std::nullopt;
  return scenarios;
}

namespace fs = std::filesystem;

ReportPaths report_paths(const RunArgs& args) { return {args.json_path, args.junit_path, args.html_path}; }

// "--tag a --exclude-tag b", as typed; empty without tag filters.
std::string describe_filters(const RunArgs& args) {
  std::string text;
  for (const auto& t : args.tags) text += (text.empty() ? "" : " ") + std::string("--tag ") + t;
  for (const auto& t : args.exclude_tags)
    text += (text.empty() ? "" : " ") + std::string("--exclude-tag ") + t;
  return text;
}

// The scenarios of the files dealt to other shards, for the checks each shard of a matrix must
// make alike. A file that does not load is counted, not kept: its own shard reports it.
struct OtherShards {
  std::vector<scenario::Scenario> scenarios;
  std::size_t unloadable = 0;
};
OtherShards load_other_shards(const std::vector<std::string>& all_files,
                              const std::vector<std::string>& shard_files) {
  OtherShards others;
  // Their scenarios do not run here: stand-in ports, so that they claim none of the host's (and
  // do not push this shard's own claims out).
  auto options = load_options();
  options.allocate_port = [next = std::uint16_t{1}]() mutable { return next++; };
  for (const auto& file : all_files) {
    if (std::find(shard_files.begin(), shard_files.end(), file) != shard_files.end()) continue;
    try {
      others.scenarios.push_back(scenario::load_scenario(file, options));
    } catch (const Error&) {
      // A stand-in port may equal one the file writes out (a proxy would dial itself): the
      // file's own shard loads it with real ports, so it is judged by those.
      try {
        others.scenarios.push_back(scenario::load_scenario(file, load_options()));
      } catch (const Error&) {
        ++others.unloadable;
      }
    }
  }
  return others;
}

// How many scenarios outside this shard the tag filters select. Only asked when this shard
// selected nothing: an empty shard is fine when other shards run something, but a mistyped
// --tag must fail every shard of the matrix, not leave all of them green. A file that does not
// load counts as selected: its own shard reports it and fails.
std::size_t selected_in_other_shards(const OtherShards& others, const RunArgs& args) {
  return others.unloadable +
         static_cast<std::size_t>(std::count_if(
             others.scenarios.begin(), others.scenarios.end(), [&](const scenario::Scenario& s) {
               return runner::tags_match(s.tags, args.tags, args.exclude_tags);
             }));
}

// Reports, JUnit and --baseline tell scenarios apart by name: two files of one name would merge
// into one trend line (a deleted failing one reads as "fixed") and hide each other's failures.
// Both names count: the one run (ports filled in) and the one reports pair runs by (`${port}`
// left as written), under which two files of `name = "svc on ${port}"` are one scenario although
// each run draws its own port.
void check_unique_names(const std::vector<const scenario::Scenario*>& every) {
  std::map<std::string, const scenario::Scenario*> by_name, by_name_across_runs;
  const auto refuse = [](const std::string& name, const scenario::Scenario& a, const scenario::Scenario& b) {
    throw UsageError("two scenario files are named `" + name + "`: " + a.file.string() + " and " +
                     b.file.string() +
                     "; reports, JUnit and --baseline tell scenarios apart by name, so give each its own");
  };
  for (const auto* s : every) {
    if (const auto [it, added] = by_name.emplace(s->name, s); !added) refuse(s->name, *it->second, *s);
    if (const auto [it, added] = by_name_across_runs.emplace(s->name_across_runs, s); !added)
      refuse(s->name_across_runs, *it->second, *s);
  }
}

// With several --tag, the selection is not empty when one of them is mistyped (`--tag gate --tag
// nightyl`), and the scenarios it was meant for never run: each must be some scenario's tag, in
// any shard, so that each shard of a matrix says the same.
void check_every_tag_selects(const std::vector<const scenario::Scenario*>& every, const RunArgs& args) {
  if (args.tags.size() < 2) return;  // one tag that selects nothing leaves the run empty, said below
  std::set<std::string> in_use;
  for (const auto* s : every) in_use.insert(s->tags.begin(), s->tags.end());
  for (const auto& tag : args.tags) {
    if (in_use.contains(tag)) continue;
    std::string known;
    for (const auto& t : in_use) known += (known.empty() ? "" : ", ") + t;
    throw UsageError("--tag " + tag + " matches no scenario among " + std::to_string(every.size()) +
                     " loaded (their tags: " + (known.empty() ? "none" : known) + ")");
  }
}

// What a sharded run was asked to run, the same in each of its shards (report::ShardSelection).
std::string selection_fingerprint(const std::vector<std::string>& all_files, const RunArgs& args) {
  const auto hex = [](std::uint64_t hash) {
    char text[17];
    std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(hash));
    return std::string(text);
  };
  // In the order the shards are dealt (by path): two machines that dealt the same files
  // differently give different selections, and their shards are not merged.
  std::vector<std::string> dealt = all_files;
  std::sort(dealt.begin(), dealt.end());
  std::string files;
  for (const auto& file : dealt) {
    std::ifstream in(file, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    // A checkout with CRLF line endings (git's autocrlf) holds the same scenarios for TOML.
    std::string contents = text.str();
    std::erase(contents, '\r');
    files += std::to_string(scenario::name_hash(contents)) + ",";
  }
  std::string filters;
  for (auto words : {args.tags, args.exclude_tags}) {
    std::sort(words.begin(), words.end());
    filters += "|";
    for (const auto& t : words) filters += t + ",";
  }
  report::ShardSelection selection;
  selection.files = hex(scenario::name_hash(files));
  selection.filters = hex(scenario::name_hash(filters));
  selection.repeat = args.repeat;
  selection.seed = args.seed;
  return selection.text();
}

// A report an earlier run left at one of this run's paths must not outlive a run that ends
// before writing its own (an invalid scenario, a usage error, a killed harness): `report merge`
// would take last night's green shard for tonight's.
void remove_earlier_reports(const RunArgs& args) { empty_earlier_reports(report_paths(args)); }

int run(const RunArgs& args) {
  // The baseline is read first: it may be the report this run replaces.
  std::optional<report::RunReport> baseline;
  if (!args.baseline_path.empty()) {
    try {
      // Checked as a merge input is: a baseline cut short would drop its failed scenarios from
      // the comparison, neither fixed nor gone.
      baseline = report::read_checked_report(args.baseline_path);
    } catch (const Error& e) {
      remove_earlier_reports(args);
      throw UsageError(std::string("--baseline: ") + e.what());
    }
  }
  remove_earlier_reports(args);

  if (args.jobs < 1) throw UsageError("-j must be at least 1");
  if (args.repeat < 1) throw UsageError("--repeat must be at least 1");
  if (!args.run_id.empty() && args.shard.empty())
    throw UsageError("--run-id " + args.run_id +
                     " names the run the shards of a matrix belong to: give --shard too");
  std::optional<runner::Shard> shard;
  if (!args.shard.empty()) {
    std::string why;
    shard = runner::parse_shard(args.shard, &why);
    if (!shard) throw UsageError("--shard " + args.shard + ": " + why);
  }

  check_report_paths(report_paths(args));
  auto files = expand_scenario_paths(args.paths);
  const auto all_files = files;
  if (shard) {
    std::vector<std::string> mine;
    for (auto i : runner::shard_indexes(files, *shard)) mine.push_back(files[i]);
    files = std::move(mine);
  }
  auto loaded = load_all(files);
  if (!loaded) {
    std::cerr << "faultline: invalid scenario files; nothing was run\n";
    return kExitUsage;
  }

  // Every shard's scenarios, for the checks that must come out alike in each shard of a matrix.
  const auto others = shard ? load_other_shards(all_files, files) : OtherShards{};
  std::vector<const scenario::Scenario*> every;
  for (const auto& s : *loaded) every.push_back(&s);
  for (const auto& s : others.scenarios) every.push_back(&s);
  // In path order, whichever shard this is: each says the same.
  std::sort(every.begin(), every.end(),
            [](const scenario::Scenario* a, const scenario::Scenario* b) { return a->file < b->file; });
  check_unique_names(every);
  check_every_tag_selects(every, args);

  const std::uint64_t seed =
      args.seed ? *args.seed : std::random_device{}() * 0x100000001ull + std::random_device{}();
  // One loaded copy per run: runs of the same file in parallel (--repeat with -j) must not share
  // the ports `auto-port` handed out.
  std::vector<std::unique_ptr<scenario::Scenario>> scenarios;
  std::vector<runner::SuiteRun> runs;
  std::size_t selected = 0;
  for (auto& s : *loaded) {
    if (!runner::tags_match(s.tags, args.tags, args.exclude_tags)) continue;
    ++selected;
    for (int r = 1; r <= args.repeat; ++r) {
      try {
        scenario::Scenario copy = r == 1 ? s : scenario::load_scenario(s.file, load_options());
        scenarios.push_back(
            std::make_unique<scenario::Scenario>(copy.chaos ? scenario::with_chaos(copy, seed) : copy));
      } catch (const Error& e) {
        std::cerr << s.file.string() << ": " << e.what() << "\n";
        return kExitUsage;
      }
      runs.push_back({scenarios.back().get(), args.repeat > 1 ? r : 0});
    }
  }

  // A selection that leaves nothing to run is a usage error, not "0 passed, 0 failed": a mistyped
  // tag would otherwise turn the gate green.
  std::string empty_shard;
  if (runs.empty()) {
    const std::string filters = describe_filters(args);
    if (!shard)
      throw UsageError(filters.empty() ? "no scenario to run"
                                       : "no scenario matches " + filters + " among " +
                                             std::to_string(loaded->size()) + " loaded");
    const std::size_t elsewhere = selected_in_other_shards(others, args);
    if (elsewhere == 0)
      throw UsageError("no scenario matches " + filters + " among " + std::to_string(all_files.size()) +
                       " loaded, in any of the " + std::to_string(shard->count) + " shards");
    empty_shard = "faultline: shard " + args.shard + " has no scenario: " +
                  (files.empty() ? std::to_string(shard->count) + " shards for " +
                                       std::to_string(all_files.size()) + " scenario file(s)"
                                 : "the " + std::to_string(elsewhere) + " scenario(s) " + filters +
                                       " selects are in other shards") +
                  "; nothing to run here";
  }

  cgroup::BackendOptions backend_options;
  if (!args.cgroup_root.empty()) backend_options.root = args.cgroup_root;
  if (auto problem = cgroup::cgroup_root_problem(backend_options)) throw UsageError(*problem);
  auto backend = cgroup::open_backend(backend_options);
  say_stale_runs(backend->remove_stale_runs(cgroup::Backend::StaleScan::at_start));

  interrupt::install();
  std::cout << "faultline: " << runs.size() << " run(s) of " << selected << " scenario(s), -j " << args.jobs
            << ", seed " << seed << (shard ? ", shard " + args.shard : std::string()) << std::endl;
  if (!empty_shard.empty()) std::cout << empty_shard << std::endl;
  report::RunReport report;
  report.tool_version = FAULTLINE_VERSION;
  report.host = host_info(backend->mode());
  report.started = utc_now_iso();
  report.seed = seed;
  if (shard)
    report.shard =
        report::ShardInfo{shard->index, shard->count, selection_fingerprint(all_files, args), args.run_id};
  const auto t0 = std::chrono::steady_clock::now();

  report::ProgressLine progress(std::cout);
  progress.start(runs.size());
  runner::SuiteOptions options;
  options.jobs = args.jobs;
  options.runner.strict = args.strict;
  options.runner.faultline_dir = faultline_dir();
  options.runner.seed = seed;
  std::size_t started = 0;
  options.on_started = [&](const runner::SuiteRun& r) {
    ++started;
    progress.scenario_started(r.scenario->name);
  };
  options.on_finished = [&](const report::ScenarioResult& result) { progress.scenario_finished(result); };
  report.scenarios = runner::run_suite(runs, *backend, options);
  progress.finish();

  report.duration_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  report.interrupted = interrupt::requested();
  if (baseline) {
    report.baseline = report::compare_with_baseline(*baseline, report);
    report.baseline->file = args.baseline_path;
  }
  const bool reports_written = write_reports(report, report_paths(args));

  const char* gha = std::getenv("GITHUB_ACTIONS");
  if (gha && std::string(gha) == "true") std::cout << report::github_annotations(report) << std::flush;
  for (const auto& s : report.scenarios) {
    const bool chaotic = std::any_of(scenarios.begin(), scenarios.end(), [&](const auto& sc) {
      return sc->name == s.name && sc->chaos.has_value();
    });
    if (chaotic && (s.verdict == report::Verdict::fail || s.verdict == report::Verdict::error))
      std::cout << "replay: faultline run " << s.file << " --seed " << seed << "\n";
  }
  for (const auto& f : report.flaky()) std::cout << "flaky: " << f << "\n";
  if (report.baseline) std::cout << report::baseline_summary(*report.baseline);
  const auto summary = report.summary();
  if (report.interrupted) {
    std::cout << "interrupted by " << signal_name(interrupt::signal_number())
              << ": every target was torn down";
    if (started < runs.size())
      std::cout << "; " << runs.size() - started << " run(s) never started and count as errors";
    std::cout << "\n";
  }
  std::cout << report::summary_line(summary) << std::endl;
  if (report.interrupted) return interrupt::exit_status(interrupt::signal_number());
  if (summary.failed + summary.errors > 0) return kExitFailed;
  // Every scenario held, but a report the job reads (JUnit, the JSON a merge takes) is missing:
  // not green, and no scenario's failure either.
  if (!reports_written) {
    std::cout << "faultline: a report could not be written (stderr says which and why)\n";
    return kExitInternal;
  }
  // A gate whose every scenario was skipped tested nothing: not green, and not a scenario's
  // failure either, but the host's (as `doctor` would say).
  // Not for one shard: its slice may hold only what this host skips while the run tests plenty.
  if (!shard && summary.passed == 0 && summary.skipped > 0) {
    std::cout << "faultline: every scenario was skipped: this host lacks what they need (the reasons are "
                 "above; `faultline doctor` lists what is unavailable here); nothing was tested\n";
    return kExitHost;
  }
  return kExitOk;
}

}  // namespace

void add_run_command(CLI::App& app, Invocation* invocation) {
  auto args = std::make_shared<RunArgs>();
  auto* cmd = app.add_subcommand("run", "Run scenario files, directories (recursively *.toml) or globs");
  cmd->add_option("paths", args->paths, "Scenario files, directories or globs")->required();
  // Stored as soon as they are read, so that a usage error found later in the command line
  // (a bad --seed, an unknown option) still empties them (on_parse_error below).
  cmd->add_option("--json", args->json_path, "Write the JSON report (faultline-report/1) to this file")
      ->trigger_on_parse();
  cmd->add_option("--junit", args->junit_path, "Write a JUnit XML report to this file")->trigger_on_parse();
  cmd->add_option("--html", args->html_path, "Write a self-contained HTML report to this file")
      ->trigger_on_parse();
  cmd->add_option("-j,--jobs", args->jobs, "Scenarios to run in parallel");
  // One value per --tag: taking every word up to the next option, `run a.toml --tag gate dir/`
  // would read `dir/` as a second tag and never run the scenarios in it.
  cmd->add_option("--tag", args->tags, "Run only scenarios with this tag (repeatable)")
      ->allow_extra_args(false);
  cmd->add_option("--exclude-tag", args->exclude_tags, "Skip scenarios with this tag (repeatable)")
      ->allow_extra_args(false);
  cmd->add_option("--shard", args->shard, "Run the I-th of N stable slices (by file path), e.g. 2/3");
  cmd->add_option("--repeat", args->repeat, "Run each scenario N times");
  cmd->add_option("--run-id", args->run_id,
                  "With --shard: the run the shards belong to (e.g. the CI pipeline's id); report merge "
                  "refuses shards of another run")
      ->check(CLI::Validator(
          [](std::string& text) -> std::string {
            // A letter or digit first: an empty $RUN_ID must not make the next option the id.
            const bool plain =
                !text.empty() && text.size() <= 128 && std::isalnum(static_cast<unsigned char>(text[0])) &&
                std::all_of(text.begin(), text.end(), [](unsigned char c) {
                  return std::isalnum(c) ||
                         std::string_view("._:@/+-").find(static_cast<char>(c)) != std::string_view::npos;
                });
            return plain ? std::string()
                         : "`" + text +
                               "` is not a run id: 1 to 128 letters, digits and ._:@/+-, a letter or digit "
                               "first";
          },
          "ID", "run id"));
  cmd->add_option("--seed", args->seed, "Seed for [chaos] draws (default: random, printed)")
      ->check(seed_validator());
  cmd->add_option("--baseline", args->baseline_path,
                  "Compare with an earlier JSON report: new failures, fixes, regressions in peak memory, "
                  "shutdown time and probe latency (over 20%), scenarios gone since")
      ->trigger_on_parse();
  cmd->add_flag("--strict", args->strict, "A skipped scenario counts as an error");
  cmd->add_option("--cgroup-root", args->cgroup_root, "Parent cgroup for throwaway cgroups (default: auto)");
  cmd->callback([args, invocation] { invocation->run = [args] { return run(*args); }; });
  // The baseline may be the report this run would replace: it is kept, to be read next time.
  invocation->on_parse_error.push_back([args, cmd] {
    if (cmd->parsed()) empty_earlier_reports(report_paths(*args), {args->baseline_path});
  });
}

}  // namespace faultline::cli
