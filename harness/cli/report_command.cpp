// `faultline report merge A.json B.json ... [--json F] [--junit F] [--html F]`: the reports of a
// sharded run (`run --shard I/N` on several machines) combined into one.
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "cli/report_outputs.h"
#include "reports/console_writer.h"
#include "reports/merge.h"

namespace faultline::cli {
namespace {

struct MergeArgs {
  std::vector<std::string> inputs;
  std::string json_path;
  std::string junit_path;
  std::string html_path;
};

ReportPaths outputs_of(const MergeArgs& args) { return {args.json_path, args.junit_path, args.html_path}; }

int merge(const MergeArgs& args) {
  const ReportPaths outputs = outputs_of(args);
  // First, as `run` does: a merge refused below must not leave the last merge's green report
  // where CI publishes this one. An output that names an input is left to be replaced by the
  // merged report: emptied, the input would be lost to a merge refused for another reason.
  empty_earlier_reports(outputs, args.inputs);
  check_report_paths(outputs);
  std::vector<report::RunReport> reports;
  // An input that cannot be read, or whose summary disagrees with its scenarios, is exit 2,
  // never 1: CI must tell "could not merge" from "a test failed".
  for (const auto& input : args.inputs) {
    try {
      reports.push_back(report::read_checked_report(input));
    } catch (const Error& e) {
      throw UsageError(e.what());
    }
  }
  try {
    report::check_merge_inputs(reports, args.inputs);
  } catch (const Error& e) {
    throw UsageError(e.what());
  }
  const auto merged = report::merge_reports(reports);
  const bool reports_written = write_reports(merged, {args.json_path, args.junit_path, args.html_path});
  for (const auto& s : merged.scenarios)
    if (s.verdict != report::Verdict::pass)
      std::cout << report::console_line(s) << "\n" << report::console_details(s);
  // An interrupted shard lists only the scenarios that finished, all of which may have passed:
  // the merge must not turn it into a green run.
  for (std::size_t i = 0; i < reports.size(); ++i)
    if (reports[i].interrupted)
      std::cout << "interrupted: " << args.inputs[i]
                << " is the report of an interrupted run; not everything it selected ran to its end\n";
  const auto summary = merged.summary();
  std::cout << report::summary_line(summary) << std::endl;
  if (merged.interrupted) return kExitInterrupted;
  if (summary.failed + summary.errors > 0) return kExitFailed;
  if (!reports_written) {
    std::cout << "faultline: a report could not be written (stderr says which and why)\n";
    return kExitInternal;
  }
  // One shard may skip all it has; the merged run is the whole gate, and exits like `run` would
  // have on every scenario at once.
  if (summary.passed == 0) {
    std::cout << "faultline: "
              << (summary.skipped > 0
                      ? "every scenario of the merged reports was skipped: the hosts lacked what "
                        "they need (the reasons are above); nothing was tested\n"
                      : "the merged reports hold no scenario; nothing was tested\n");
    return kExitHost;
  }
  return kExitOk;
}

}  // namespace

void add_report_command(CLI::App& app, Invocation* invocation) {
  auto* report = app.add_subcommand("report", "Work with JSON reports of earlier runs");
  report->require_subcommand(1);
  auto args = std::make_shared<MergeArgs>();
  auto* merge_cmd = report->add_subcommand(
      "merge",
      "Combine the JSON reports of sharded runs into one; exits 1 if a merged scenario failed, 130 if "
      "a shard was interrupted");
  merge_cmd->add_option("reports", args->inputs, "JSON reports (faultline-report/1) to combine")
      ->required()
      ->trigger_on_parse();
  merge_cmd->add_option("--json", args->json_path, "Write the merged JSON report to this file")
      ->trigger_on_parse();
  merge_cmd->add_option("--junit", args->junit_path, "Write the merged JUnit XML to this file")
      ->trigger_on_parse();
  merge_cmd->add_option("--html", args->html_path, "Write the merged HTML report to this file")
      ->trigger_on_parse();
  merge_cmd->callback([args, invocation] { invocation->run = [args] { return merge(*args); }; });
  invocation->on_parse_error.push_back([args, merge_cmd] {
    if (merge_cmd->parsed()) empty_earlier_reports(outputs_of(*args), args->inputs);
  });
}

}  // namespace faultline::cli
