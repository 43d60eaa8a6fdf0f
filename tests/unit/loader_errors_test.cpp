// Every kind of mistake in a scenario file, with the whole rendered message asserted.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <vector>

#include "scenario/loader.h"
#include "tests/support/scenario_text.h"
#include "tests/support/scratch_dir.h"

namespace fs = std::filesystem;
using namespace faultline::scenario;

namespace {

using faultline::test::errors_of;
using faultline::test::kTarget;

// A scenario file and all the diagnostics expected for it, as errors_of renders them.
struct Case {
  std::string toml;
  std::string diagnostics;
};

void check_diagnostics(const std::vector<Case>& cases) {
  for (const auto& [toml, diagnostics] : cases) {
    INFO("scenario file:\n" << toml);
    CHECK(errors_of(toml) == diagnostics);
  }
}

const std::string kTwo =
    "name = \"x\"\n[[process]]\nname = \"api\"\ncommand = [\"a\"]\n"
    "[[process]]\nname = \"db\"\ncommand = [\"d\"]\n";

}  // namespace

TEST_CASE("a valid file has no diagnostics", "[loader]") { CHECK(errors_of(kTarget).empty()); }

TEST_CASE("unknown keys are errors with a did-you-mean hint", "[loader]") {
  check_diagnostics({
      {kTarget + "[expect]\ngraceful_ = true\n",
       "s.toml:5:1: unknown key `graceful_` in [expect]; did you mean `graceful`?\n"
       "   5 | graceful_ = true\n"
       "     | ^"},
      {"tmeout = \"1s\"\n" + kTarget,
       "s.toml:1:1: unknown key `tmeout` at the top level; did you mean `timeout`?\n"
       "   1 | tmeout = \"1s\"\n"
       "     | ^"},
      {kTarget + "[expect]\nstdout.contain = \"x\"\n",
       "s.toml:5:8: unknown key `contain` in [expect.stdout]; did you mean `contains`?\n"
       "   5 | stdout.contain = \"x\"\n"
       "     |        ^"},
      {kTarget + "wobble = 1\n",
       "s.toml:4:1: unknown key `wobble` in [target]\n"
       "   4 | wobble = 1\n"
       "     | ^"},
      {kTarget + "name = \"t\"\n",
       "s.toml:4:1: unknown key `name` in [target]; [target] is always named `target`; use [[process]] to "
       "name it\n"
       "   4 | name = \"t\"\n"
       "     | ^"},
  });
}

TEST_CASE("a control character in the scenario name", "[loader]") {
  check_diagnostics({
      {"name = \"ok\\n::error::forged\"\n[target]\ncommand = [\"true\"]\n",
       "s.toml:1:8: name: control character U+000A in the scenario name; write the name on one line; put "
       "details in `description`\n"
       "   1 | name = \"ok\\n::error::forged\"\n"
       "     |        ^"},
      {"name = \"tab\\there\"\n[target]\ncommand = [\"true\"]\n",
       "s.toml:1:8: name: control character U+0009 in the scenario name; write the name on one line; put "
       "details in `description`\n"
       "   1 | name = \"tab\\there\"\n"
       "     |        ^"},
  });
  CHECK(errors_of("name = \"caf\u00e9 \u2014 ok\"\n[target]\ncommand = [\"true\"]\n").empty());
}

TEST_CASE("a negative syscall return is an errno, not a result", "[loader]") {
  check_diagnostics({
      {kTarget + "[[inject]]\nkind = \"syscall\"\nsyscalls = [\"fsync\"]\nreturn = -28\nat = \"0s\"\n",
       "s.toml:7:10: inject.return: expected an integer of at least 0, got the number -28; a negative result "
       "is an error: name it with `errno`\n"
       "   7 | return = -28\n"
       "     |          ^"},
  });
}

TEST_CASE("a bare number where a duration is needed", "[loader]") {
  check_diagnostics({
      {"timeout = 5\n" + kTarget,
       "s.toml:1:11: timeout: expected a duration such as \"250ms\", \"2s\" or \"1m30s\", got the number 5 "
       "(durations need a unit)\n"
       "   1 | timeout = 5\n"
       "     |           ^"},
      {kTarget + "stop_grace = \"10\"\n",
       "s.toml:4:14: target.stop_grace: expected a duration such as \"250ms\", \"2s\" or \"1m30s\", got "
       "\"10\" "
       "(durations need a unit)\n"
       "   4 | stop_grace = \"10\"\n"
       "     |              ^"},
  });
}

TEST_CASE("wrong TOML types", "[loader]") {
  check_diagnostics({
      {"name = 3\n[target]\ncommand = \"./server --port 1\"\n",
       "s.toml:1:8: name: expected a string, got the number 3\n"
       "   1 | name = 3\n"
       "     |        ^\n"
       "s.toml:3:11: target.command: expected a command as a list of strings, such as [\"./server\", "
       "\"--port\", "
       "\"8080\"], got the string \"./server --port 1\"\n"
       "   3 | command = \"./server --port 1\"\n"
       "     |           ^"},
      {"name = \"x\"\n[process]\nname = \"a\"\ncommand = [\"a\"]\n",
       "s.toml:2:1: process: expected a list of tables ([[process]]), got a table; write [[process]] "
       "instead of "
       "[process]\n"
       "   2 | [process]\n"
       "     | ^"},
      {kTarget + "[target.limits]\npids = 0\nmemory = -1\n",
       "s.toml:5:8: target.limits.pids: expected an integer from 1 to 4194304, got the number 0\n"
       "   5 | pids = 0\n"
       "     |        ^\n"
       "s.toml:6:10: target.limits.memory: expected a size such as \"64MiB\", \"512KiB\", \"100MB\", "
       "\"max\" or a "
       "number of bytes, got the number -1 (sizes cannot be negative)\n"
       "   6 | memory = -1\n"
       "     |          ^"},
      {kTarget + "[expect]\noom_kills = 1.0\n",
       "s.toml:5:13: expect.oom_kills: expected a count such as 2, or a comparison such as \">=1\", "
       "\"<=3\", \">0\", \"<5\" or \"==2\", got the float 1.0\n"
       "   5 | oom_kills = 1.0\n"
       "     |             ^"},
      {kTarget + "[expect]\noom_kills = 2.0000001\n",
       "s.toml:5:13: expect.oom_kills: expected a count such as 2, or a comparison such as \">=1\", "
       "\"<=3\", \">0\", \"<5\" or \"==2\", got the float 2.0000001\n"
       "   5 | oom_kills = 2.0000001\n"
       "     |             ^"},
  });
}

TEST_CASE("TOML syntax errors point at the parser's position", "[loader]") {
  CHECK(errors_of("name = \"x\"\n[target\n") ==
        "s.toml:2:8: invalid TOML: Error while parsing table header: expected ']', saw '\\n'\n"
        "   2 | [target\n"
        "     |        ^");
}

TEST_CASE("unknown signals, inject kinds and outcomes", "[loader]") {
  check_diagnostics({
      {kTarget + "stop_signal = \"SIGTEMR\"\n",
       "s.toml:4:15: target.stop_signal: expected a signal such as \"SIGTERM\", \"TERM\" or \"15\", got "
       "\"SIGTEMR\" "
       "(unknown signal)\n"
       "   4 | stop_signal = \"SIGTEMR\"\n"
       "     |               ^"},
      {kTarget + "[[inject]]\nkind = \"frezee\"\nat = \"ready\"\n",
       "s.toml:5:8: inject.kind: unknown value \"frezee\", expected one of memory, cpu, fd, pids, signal, "
       "freeze, hog, syscall, latency, bandwidth, timeout, reset, slow_close, slicer, limit_data, down; "
       "did you mean \"freeze\"?\n"
       "   5 | kind = \"frezee\"\n"
       "     |        ^"},
      {kTarget + "[expect]\noutcome = \"oom\"\n",
       "s.toml:5:11: expect.outcome: unknown value \"oom\", expected one of exited, signaled, oom-killed, "
       "timed-out, "
       "any\n"
       "   5 | outcome = \"oom\"\n"
       "     |           ^"},
      {kTarget + "[expect]\noutcome = \"exitd\"\n",
       "s.toml:5:11: expect.outcome: unknown value \"exitd\", expected one of exited, signaled, oom-killed, "
       "timed-out, any; did you mean \"exited\"?\n"
       "   5 | outcome = \"exitd\"\n"
       "     |           ^"},
  });
}

TEST_CASE("keys of another inject kind", "[loader]") {
  CHECK(errors_of(kTarget + "[[inject]]\nkind = \"freeze\"\nat = \"1s\"\nlimit = \"64MiB\"\n") ==
        "s.toml:7:1: key `limit` does not apply to [[inject]] of kind \"freeze\"; it belongs to kind memory "
        "and pids and limit_data\n"
        "   7 | limit = \"64MiB\"\n"
        "     | ^");
}

TEST_CASE("undefined variables, unset environment variables and the $${ escape", "[loader]") {
  CHECK(errors_of("name = \"x\"\n[vars]\nport = \"auto-port\"\n[target]\ncommand = [\"s\", \"${prot}\"]\n") ==
        "s.toml:5:17: target.command: undefined variable `prot`; did you mean `port`?\n"
        "   5 | command = [\"s\", \"${prot}\"]\n"
        "     |                 ^");
  ::unsetenv("FAULTLINE_TEST_SURELY_UNSET");
  check_diagnostics({
      {kTarget + "cwd = \"${env:FAULTLINE_TEST_SURELY_UNSET}\"\n",
       "s.toml:4:7: target.cwd: environment variable `FAULTLINE_TEST_SURELY_UNSET` is not set (in "
       "`${env:FAULTLINE_TEST_SURELY_UNSET}`)\n"
       "   4 | cwd = \"${env:FAULTLINE_TEST_SURELY_UNSET}\"\n"
       "     |       ^"},
      {kTarget + "user = \"${oops\"\n",
       "s.toml:4:8: target.user: unterminated `${` (write `$${` for a literal `${`)\n"
       "   4 | user = \"${oops\"\n"
       "     |        ^"},
      {"name = \"x\"\n[vars]\na = \"${b}\"\nb = \"${a}\"\n[target]\ncommand = [\"s\"]\n",
       "s.toml:3:5: vars.a: variables refer to each other in a cycle: a -> b -> a\n"
       "   3 | a = \"${b}\"\n"
       "     |     ^"},
      {"name = \"x\"\n[vars]\nscenario_dir = \"/\"\n[target]\ncommand = [\"s\"]\n",
       "s.toml:3:1: vars.scenario_dir: `scenario_dir` is built in and cannot be redefined\n"
       "   3 | scenario_dir = \"/\"\n"
       "     | ^"},
  });
  CHECK(errors_of(kTarget + "user = \"$${not_a_variable}\"\n").empty());
}

TEST_CASE("an empty text value is an error, and so is an empty program", "[loader]") {
  ::setenv("FAULTLINE_TEST_EMPTY", "", 1);
  check_diagnostics({
      {"name = \"\"\n[target]\ncommand = [\"s\"]\n",
       "s.toml:1:8: name: the value is empty; give it a value\n"
       "   1 | name = \"\"\n"
       "     |        ^"},
      // A CI variable set to "" would run `sh -c ""`, which passes without testing anything.
      {"name = \"x\"\n[target]\nshell = \"${env:FAULTLINE_TEST_EMPTY}\"\n",
       "s.toml:3:9: target.shell: the value is empty (from \"${env:FAULTLINE_TEST_EMPTY}\"); give it a "
       "value, or leave the key out\n"
       "   3 | shell = \"${env:FAULTLINE_TEST_EMPTY}\"\n"
       "     |         ^"},
      {"name = \"x\"\ntags = [\"gate\", \"\"]\n[target]\ncommand = [\"s\"]\n",
       "s.toml:2:17: tags: an item is empty; remove the empty item\n"
       "   2 | tags = [\"gate\", \"\"]\n"
       "     |                 ^"},
      {"name = \"x\"\n[target]\ncommand = [\"\", \"-v\"]\n",
       "s.toml:3:12: target.command: the program to run is empty; give the program's name or path as the "
       "first "
       "item\n"
       "   3 | command = [\"\", \"-v\"]\n"
       "     |            ^"},
  });
  // Blank is empty too: TEST_CMD=" " (two unset variables joined by a space) runs `sh -c ' '`.
  ::setenv("FAULTLINE_TEST_EMPTY", " ", 1);
  CHECK(errors_of("name = \"x\"\n[target]\nshell = \"${env:FAULTLINE_TEST_EMPTY}\"\n") ==
        "s.toml:3:9: target.shell: the value is blank (from \"${env:FAULTLINE_TEST_EMPTY}\"); give it a "
        "value, or "
        "leave the key out\n"
        "   3 | shell = \"${env:FAULTLINE_TEST_EMPTY}\"\n"
        "     |         ^");
  ::unsetenv("FAULTLINE_TEST_EMPTY");
  // An argument may be empty: `printf ""` prints nothing, on purpose.
  CHECK(errors_of("name = \"x\"\n[target]\ncommand = [\"printf\", \"\"]\n").empty());
}

TEST_CASE("a count or ratio that every value meets is an error: it checks nothing", "[loader]") {
  check_diagnostics({
      {kTarget + "[expect]\noom_kills = \">=0\"\n",
       "s.toml:5:13: expect.oom_kills: \">=0\" holds for every count, so it checks nothing; write oom_kills "
       "= "
       "\">=1\" for at least one, or leave the key out\n"
       "   5 | oom_kills = \">=0\"\n"
       "     |             ^"},
      {kTarget + "[[probe]]\ntcp = \"127.0.0.1:1\"\nduring = { from = \"1s\", to = \"2s\" }\npass_ratio = "
                 "\"<=1\"\n",
       "s.toml:7:14: probe.pass_ratio: \"<=1\" holds for every ratio, so it checks nothing; give the share "
       "of "
       "attempts that must pass, such as pass_ratio = \">=0.7\"\n"
       "   7 | pass_ratio = \"<=1\"\n"
       "     |              ^"},
  });
  CHECK(errors_of(kTarget + "[[probe]]\ntcp = \"127.0.0.1:1\"\nduring = { from = \"1s\", to = \"2s\" }\n"
                            "min_pass_ratio = 0\n")
            .find("probe.min_pass_ratio: 0 holds for every ratio") != std::string::npos);
  // Stating a syscall fault's count replaces its must-fire check: ">=0" would switch that off.
  CHECK(errors_of(kTarget + "[expect]\npids_max_events = \">=0\"\n").find("holds for every count") !=
        std::string::npos);
  // Bounds that some value breaks still count.
  CHECK(errors_of(kTarget + "[expect]\noom_kills = \"<=3\"\npids_max_events = 0\n").empty());
  CHECK(
      errors_of(
          kTarget +
          "[[probe]]\ntcp = \"127.0.0.1:1\"\nduring = { from = \"1s\", to = \"2s\" }\npass_ratio = \">0\"\n")
          .empty());
}

TEST_CASE("references to unknown processes", "[loader]") {
  check_diagnostics({
      {kTwo + "after = [\"apii\"]\n",
       "s.toml:8:10: process.after: unknown process `apii` (processes: api, db); did you mean `api`?\n"
       "   8 | after = [\"apii\"]\n"
       "     |          ^"},
      {kTwo + "[[inject]]\ninto = \"dbb\"\nkind = \"freeze\"\nat = \"1s\"\n",
       "s.toml:9:8: inject.into: unknown process `dbb` (processes: api, db); did you mean `db`?\n"
       "   9 | into = \"dbb\"\n"
       "     |        ^"},
      {kTwo + "[expect]\nprocess = \"web\"\n",
       "s.toml:9:11: expect.process: unknown process `web` (processes: api, db)\n"
       "   9 | process = \"web\"\n"
       "     |           ^"},
      {kTwo + "[[inject]]\ninto = \"db\"\nkind = \"freeze\"\nat = \"ap.ready+1s\"\n",
       "s.toml:11:6: inject.at: unknown process `ap` in \"ap.ready+1s\"; did you mean `api.ready`?\n"
       "   11 | at = \"ap.ready+1s\"\n"
       "      |      ^"},
  });
}

TEST_CASE("a process must be named when several exist", "[loader]") {
  CHECK(errors_of(kTwo + "[expect]\noutcome = \"exited\"\n[[inject]]\nkind = \"freeze\"\nat = \"1s\"\n") ==
        "s.toml:8:1: [expect] needs `process`: the scenario has several processes (api, db)\n"
        "   8 | [expect]\n"
        "     | ^\n"
        "s.toml:10:1: [[inject]] needs `into`: the scenario has several processes (api, db)\n"
        "   10 | [[inject]]\n"
        "      | ^");
}

TEST_CASE("references to unknown injections", "[loader]") {
  const std::string hang =
      kTarget + "[[inject]]\nname = \"db-hang\"\nkind = \"freeze\"\nat = \"1s\"\nduration = \"2s\"\n";
  check_diagnostics({
      {hang + "[[probe]]\ntcp = \"h:1\"\nduring = \"db-hnag\"\n",
       "s.toml:11:10: probe.during: unknown injection `db-hnag`; did you mean `db-hang`?\n"
       "   11 | during = \"db-hnag\"\n"
       "      |          ^"},
      {hang + "[[probe]]\ntcp = \"h:1\"\nduring = { from = \"hang.start\", to = \"target.start\" }\n",
       "s.toml:11:19: probe.during.from: unknown injection `hang` in \"hang.start\"\n"
       "   11 | during = { from = \"hang.start\", to = \"target.start\" }\n"
       "      |                   ^\n"
       "s.toml:11:38: probe.during.to: `target` is a process, it has no `.start`; use `target.ready` or "
       "`target.exit`\n"
       "   11 | during = { from = \"hang.start\", to = \"target.start\" }\n"
       "      |                                      ^"},
      {kTarget + "[[inject]]\nname = \"s\"\nkind = \"signal\"\nat = \"1s\"\n"
                 "[[inject]]\nkind = \"freeze\"\nat = \"s.end\"\n",
       "s.toml:10:6: inject.at: injection `s` has no `duration`, so `s.end` never comes\n"
       "   10 | at = \"s.end\"\n"
       "      |      ^"},
  });
}

TEST_CASE("cycles in `after` and in time references", "[loader]") {
  check_diagnostics({
      {kTwo + "after = [\"api\"]\n[[process]]\nname = \"web\"\ncommand = [\"w\"]\n",
       ""},  // db after api: no cycle
      {"name = \"x\"\n[[process]]\nname = \"a\"\ncommand = [\"a\"]\nafter = [\"b\"]\n"
       "[[process]]\nname = \"b\"\ncommand = [\"b\"]\nafter = [\"a\"]\n",
       "s.toml:9:10: process.after: processes wait for each other in a cycle: a -> b -> a\n"
       "   9 | after = [\"a\"]\n"
       "     |          ^"},
      {kTarget + "after = [\"target\"]\n",
       "s.toml:4:10: process.after: process `target` cannot wait for itself\n"
       "   4 | after = [\"target\"]\n"
       "     |          ^"},
      {kTarget + "[[inject]]\nname = \"x\"\nkind = \"freeze\"\nat = \"y.start\"\nduration = \"1s\"\n"
                 "[[inject]]\nname = \"y\"\nkind = \"freeze\"\nat = \"x.end+1s\"\nduration = \"1s\"\n",
       "s.toml:7:6: inject.at: injections are timed relative to each other in a cycle: x -> y -> x\n"
       "   7 | at = \"y.start\"\n"
       "     |      ^"},
  });
}

TEST_CASE("impossible windows", "[loader]") {
  check_diagnostics({
      {kTarget + "[[probe]]\ntcp = \"h:1\"\nduring = { from = \"ready+5s\", to = \"ready+1s\" }\n",
       "s.toml:6:36: probe.during: the window ends (\"ready+1s\") before it starts (\"ready+5s\")\n"
       "   6 | during = { from = \"ready+5s\", to = \"ready+1s\" }\n"
       "     |                                    ^"},
      // Resolved through an injection: h ends at ready+3s.
      {kTarget + "[[inject]]\nname = \"h\"\nkind = \"freeze\"\nat = \"ready+1s\"\nduration = \"2s\"\n"
                 "[chaos]\nwindow = { from = \"h.end\", to = \"ready+3s\" }\n",
       "s.toml:10:33: chaos.window: the window is empty: \"h.end\" and \"ready+3s\" are the same time\n"
       "   10 | window = { from = \"h.end\", to = \"ready+3s\" }\n"
       "      |                                 ^"},
  });
  CHECK(errors_of(kTarget + "[[probe]]\ntcp = \"h:1\"\nduring = { from = \"ready+5s\", to = \"1s\" }\n")
            .empty());
}

TEST_CASE("duplicate names", "[loader]") {
  check_diagnostics({
      {kTwo + "[[process]]\nname = \"api\"\nshell = \"x\"\n",
       "s.toml:9:8: duplicate process name `api` (first defined on line 2)\n"
       "   9 | name = \"api\"\n"
       "     |        ^"},
      {kTarget + "[[inject]]\nname = \"f\"\nkind = \"freeze\"\nat = \"1s\"\n"
                 "[[inject]]\nname = \"f\"\nkind = \"freeze\"\nat = \"2s\"\n",
       "s.toml:9:8: duplicate injection name `f` (first defined on line 4)\n"
       "   9 | name = \"f\"\n"
       "     |        ^"},
  });
}

TEST_CASE("missing required keys", "[loader]") {
  check_diagnostics({
      // The top level has no line of its own: pointed at the file's start, with what to add.
      {"[target]\ncommand = [\"x\"]\n",
       "s.toml:1:1: missing required key `name` at the top level; add `name = ...` above the first [table] "
       "of the file\n"
       "   1 | [target]\n"
       "     | ^"},
      {"name = \"x\"\n",
       "s.toml:1:1: no process to run: the file has no [target] table and no [[process]] tables; add "
       "[target] "
       "with command = [\"./my-service\"], or a [[process]] table for each process\n"
       "   1 | name = \"x\"\n"
       "     | ^"},
      {"name = \"x\"\n[[process]]\ncwd = \"/\"\n",
       "s.toml:2:1: missing required key `name` in [[process]]\n"
       "   2 | [[process]]\n"
       "     | ^\n"
       "s.toml:2:1: [[process]] needs one of `command` or `shell`\n"
       "   2 | [[process]]\n"
       "     | ^"},
      {kTarget + "shell = \"x\"\n",
       "s.toml:4:9: `command` and `shell` cannot both be given in [target]; choose one of `command` or "
       "`shell`\n"
       "   4 | shell = \"x\"\n"
       "     |         ^"},
      {kTarget + "[[inject]]\nduration = \"1s\"\n",
       "s.toml:4:1: missing required key `at` in [[inject]]\n"
       "   4 | [[inject]]\n"
       "     | ^\n"
       "s.toml:4:1: missing required key `kind` in [[inject]]\n"
       "   4 | [[inject]]\n"
       "     | ^"},
      {kTarget + "[[inject]]\nkind = \"memory\"\nat = \"1s\"\n",
       "s.toml:4:1: [[inject]] of kind \"memory\" needs at least one of `limit` or `high`\n"
       "   4 | [[inject]]\n"
       "     | ^"},
  });
}

TEST_CASE("invalid regular expressions are reported where they are written", "[loader]") {
  check_diagnostics({
      {kTarget + "[expect]\nstderr.not_matches = \"panic(\"\n",
       "s.toml:5:22: expect.stderr.not_matches: invalid regular expression \"panic(\": missing ): panic(\n"
       "   5 | stderr.not_matches = \"panic(\"\n"
       "     |                      ^"},
      // RE2 syntax, checked by RE2: what it cannot run in linear time (lookaround) is a load error.
      {kTarget + "[expect]\nstdout.matches = [\"ok\", \"a(?=b)\"]\n",
       "s.toml:5:25: expect.stdout.matches: invalid regular expression \"a(?=b)\": invalid perl operator: "
       "(?=\n"
       "   5 | stdout.matches = [\"ok\", \"a(?=b)\"]\n"
       "     |                         ^"},
  });
}

TEST_CASE("an output regex asking for a newline is an error: lines are matched one by one", "[loader]") {
  const std::string errors = errors_of(kTarget + "[expect]\nstdout.not_matches = \"panic\\\\ngoroutine\"\n");
  CHECK(errors.rfind(
            "s.toml:5:22: expect.stdout.not_matches: regular expression \"panic\\ngoroutine\" asks for a "
            "newline, but each line is matched on its own",
            0) == 0);
  // An escaped backslash before n is no newline; \Q...\E quotes it.
  CHECK(
      errors_of(kTarget + "[expect]\nstdout.not_matches = [\"a\\\\\\\\n\", \"\\\\Q\\\\n\\\\E\"]\n").empty());
}

TEST_CASE("[target] and [[process]] exclude each other", "[loader]") {
  CHECK(errors_of(kTarget + "[[process]]\nname = \"b\"\ncommand = [\"b\"]\n") ==
        "s.toml:2:1: [target] and [[process]] cannot both be given; name the target in a [[process]] table\n"
        "   2 | [target]\n"
        "     | ^");
}

TEST_CASE("every problem of a file is reported, in file order", "[loader]") {
  const std::string text =
      "name = \"many\"\n"
      "timeout = 30\n"
      "[target]\n"
      "command = [\"x\"]\n"
      "stop_signal = \"SIGNOPE\"\n"
      "[[inject]]\n"
      "kind = \"memory\"\n"
      "limit = \"lots\"\n"
      "at = \"redy+1s\"\n"
      "[expect]\n"
      "graceful = \"yes\"\n";
  CHECK(errors_of(text) ==
        "s.toml:2:11: timeout: expected a duration such as \"250ms\", \"2s\" or \"1m30s\", got the number 30 "
        "(durations need a unit)\n"
        "   2 | timeout = 30\n"
        "     |           ^\n"
        "s.toml:5:15: target.stop_signal: expected a signal such as \"SIGTERM\", \"TERM\" or \"15\", got "
        "\"SIGNOPE\" "
        "(unknown signal)\n"
        "   5 | stop_signal = \"SIGNOPE\"\n"
        "     |               ^\n"
        "s.toml:8:9: inject.limit: expected a size such as \"64MiB\", \"512KiB\", \"100MB\", \"max\" or a "
        "number of "
        "bytes, got \"lots\"\n"
        "   8 | limit = \"lots\"\n"
        "     |         ^\n"
        "s.toml:9:6: inject.at: expected a time such as \"2s\", \"ready+2s\", \"api.ready+1s\" or "
        "\"squeeze.end\", "
        "got \"redy+1s\"\n"
        "   9 | at = \"redy+1s\"\n"
        "     |      ^\n"
        "s.toml:11:12: expect.graceful: expected true or false, got the string \"yes\"\n"
        "   11 | graceful = \"yes\"\n"
        "      |            ^");
}

TEST_CASE("load_scenario throws LoadError carrying every diagnostic", "[loader]") {
  faultline::test::ScratchDir dir;
  const fs::path file = dir.path() / "bad.toml";
  std::ofstream(file) << "name = 1\ntimeout = 2\n[target]\ncommand = [\"x\"]\n";
  try {
    load_scenario(file, faultline::test::fixed_load_options());
    FAIL("no LoadError");
  } catch (const LoadError& e) {
    REQUIRE(e.diagnostics().size() == 2);
    CHECK(e.diagnostics()[0].pos.line == 1);
    CHECK(e.diagnostics()[1].pos.line == 2);
    CHECK(std::string(e.what()) == e.diagnostics()[0].render() + "\n" + e.diagnostics()[1].render());
  }
  CHECK(
      validate_scenario(dir.path() / "missing.toml", faultline::test::fixed_load_options()).at(0).render() ==
      (dir.path() / "missing.toml").string() + ": cannot read the scenario file: No such file or directory");
}

TEST_CASE("the caret keeps tabs so it lines up", "[loader]") {
  Diagnostic d{"f.toml", {2, 3}, "bad", "", "\tx = 1"};
  CHECK(d.render() == "f.toml:2:3: bad\n   2 | \tx = 1\n     | \t ^");
}

TEST_CASE("values too large for their knob are load errors, never wrapped", "[loader][limits]") {
  // 309485009821345068724781056 * 2^40 is exactly 2^128: unchecked, it wrapped to 0 bytes.
  check_diagnostics({
      {kTarget + "limits.memory = \"309485009821345068724781056TiB\"\n",
       "s.toml:4:17: target.limits.memory: expected a size such as \"64MiB\", \"512KiB\", \"100MB\", "
       "\"max\" or a "
       "number of bytes, got \"309485009821345068724781056TiB\" (too large; sizes go up to "
       "9,223,372,036,854,775,807 bytes, \"max\" means no limit)\n"
       "   4 | limits.memory = \"309485009821345068724781056TiB\"\n"
       "     |                 ^"},
      // Unchecked, this wrapped to 183 ms.
      {"timeout = \"851556623219648504817094955098h\"\n" + kTarget,
       "s.toml:1:11: timeout: expected a duration such as \"250ms\", \"2s\" or \"1m30s\", got "
       "\"851556623219648504817094955098h\" (too large; durations go up to 8760h (365 days))\n"
       "   1 | timeout = \"851556623219648504817094955098h\"\n"
       "     |           ^"},
      {kTarget + "limits.pids = 4194305\n",
       "s.toml:4:15: target.limits.pids: expected an integer from 1 to 4194304, got the number 4194305; the "
       "kernel "
       "refuses a pids.max above 4194304 (PID_MAX_LIMIT)\n"
       "   4 | limits.pids = 4194305\n"
       "     |               ^"},
      {kTarget + "limits.nofile = 4294967296\n",
       "s.toml:4:17: target.limits.nofile: expected an integer from 1 to 2147483584, got the number "
       "4294967296; the "
       "kernel refuses an RLIMIT_NOFILE above fs.nr_open (/proc/sys/fs/nr_open, at most 2147483584)\n"
       "   4 | limits.nofile = 4294967296\n"
       "     |                 ^"},
      {kTarget + "limits.cpu_period = \"2s\"\n",
       "s.toml:4:21: target.limits.cpu_period: expected a duration from 1ms to 1s, got \"2s\"; the kernel "
       "takes CPU "
       "periods from 1ms to 1s\n"
       "   4 | limits.cpu_period = \"2s\"\n"
       "     |                     ^"},
      {kTarget + "[[inject]]\nkind = \"cpu\"\nat = \"1s\"\nperiod = \"500us\"\n",
       "s.toml:7:10: inject.period: expected a duration from 1ms to 1s, got \"500us\"; the kernel takes CPU "
       "periods from 1ms to 1s\n"
       "   7 | period = \"500us\"\n"
       "     |          ^"},
      // A quota below the kernel's 1ms per period: raised to 1ms it would throttle nothing.
      {kTarget + "limits.cpu = \"10%\"\nlimits.cpu_period = \"1ms\"\n",
       "s.toml:4:14: target.limits.cpu: \"10%\" of a 1ms period is a quota of 100us, below the kernel's "
       "smallest quota of 1ms per period; use a period of at least 10ms, or a quota of at least 100% at this "
       "period\n"
       "   4 | limits.cpu = \"10%\"\n"
       "     |              ^"},
      {kTarget + "limits.cpu = \"0.05%\"\n",
       "s.toml:4:14: target.limits.cpu: \"0.05%\" of a 100ms period is a quota of 50us, below the kernel's "
       "smallest quota of 1ms per period; use a quota of at least 1% at this period (no period up to the "
       "longest, 1s, makes 0.05% a quota of 1ms)\n"
       "   4 | limits.cpu = \"0.05%\"\n"
       "     |              ^"},
      {kTarget + "[[inject]]\nkind = \"cpu\"\nat = \"1s\"\nquota = \"0.5%\"\n",
       "s.toml:7:9: inject.quota: \"0.5%\" of a 100ms period is a quota of 500us, below the kernel's "
       "smallest "
       "quota of 1ms per period; use a period of at least 200ms, or a quota of at least 1% at this period\n"
       "   7 | quota = \"0.5%\"\n"
       "     |         ^"},
      // The smallest quota suggested is rounded up: "0.33%" of 300ms would be 990us, below 1ms too.
      {kTarget + "limits.cpu = \"0.2%\"\nlimits.cpu_period = \"300ms\"\n",
       "s.toml:4:14: target.limits.cpu: \"0.2%\" of a 300ms period is a quota of 600us, below the kernel's "
       "smallest quota of 1ms per period; use a period of at least 500ms, or a quota of at least 0.34% at "
       "this "
       "period\n"
       "   4 | limits.cpu = \"0.2%\"\n"
       "     |              ^"},
      // A period fault shrinks the target's own quota with it.
      {kTarget + "limits.cpu = \"20%\"\n[[inject]]\nkind = \"cpu\"\nat = \"1s\"\nperiod = \"2ms\"\n",
       "s.toml:8:10: inject.period: \"20%\" of a 2ms period is a quota of 400us, below the kernel's smallest "
       "quota of 1ms per period; use a period of at least 5ms, or a quota of at least 50% at this period\n"
       "   8 | period = \"2ms\"\n"
       "     |          ^"},
      {kTarget + "[[inject]]\nkind = \"pids\"\nat = \"1s\"\nlimit = 5000000\n",
       "s.toml:7:9: inject.limit: expected an integer from 1 to 4194304, got the number 5000000; the kernel "
       "refuses a pids.max above 4194304 (PID_MAX_LIMIT)\n"
       "   7 | limit = 5000000\n"
       "     |         ^"},
  });
  CHECK(errors_of(kTarget +
                  "[chaos]\nwindow = { from = \"1s\", to = \"2s\" }\ncpu.quota = [\"10%\", \"50%\"]\n"
                  "cpu.period = [\"1ms\", \"10ms\"]\n")
            .find("chaos.cpu.quota: \"10%\" of a 1ms period is a quota of 100us") != std::string::npos);
  CHECK(errors_of(kTarget +
                  "[chaos]\nwindow = { from = \"1s\", to = \"2s\" }\ncpu.quota = [\"10%\", \"50%\"]\n"
                  "cpu.period = [\"10ms\", \"20ms\"]\n")
            .empty());
  CHECK(errors_of(kTarget +
                  "[chaos]\nwindow = { from = \"1s\", to = \"2s\" }\npids.limit = [\"1\", \"9999999\"]\n")
            .find("chaos.pids.limit: expected an integer from 1 to 4194304") != std::string::npos);
}

TEST_CASE("times that add up past the longest timeline are load errors", "[loader][limits]") {
  // Unchecked, a.end+1500000h planned at a negative time.
  const std::string a =
      kTarget + "[[inject]]\nname = \"a\"\nkind = \"freeze\"\nat = \"1s\"\nduration = \"2s\"\n";
  CHECK(errors_of(a + "[[inject]]\nkind = \"freeze\"\nat = \"a.end+1500000h\"\n") ==
        "s.toml:11:6: inject.at: expected a time such as \"2s\", \"ready+2s\", \"api.ready+1s\" or "
        "\"squeeze.end\", got \"a.end+1500000h\" (the offset is too large; durations go up to 8760h (365 "
        "days))\n"
        "   11 | at = \"a.end+1500000h\"\n"
        "      |      ^");
  // Each value in range, their sum not.
  const std::string far = kTarget +
                          "[[inject]]\nname = \"a\"\nkind = \"freeze\"\nat = \"ready+5000h\"\n"
                          "duration = \"5000h\"\n";
  CHECK(errors_of(far + "[[inject]]\nkind = \"freeze\"\nat = \"a.start+1h\"\n"
                        "[[probe]]\ntcp = \"h:1\"\nduring = { from = \"a.start\", to = \"a.end\" }\n") ==
        "s.toml:8:12: inject.duration: injection `a` would end more than 8760h (365 days) after `ready`; no "
        "scenario runs that long; times on the timeline go up to 8760h\n"
        "   8 | duration = \"5000h\"\n"
        "     |            ^\n"
        "s.toml:14:35: probe.during.to: \"a.end\" comes more than 8760h (365 days) after the start or "
        "readiness it counts from; no scenario runs that long; times on the timeline go up to 8760h\n"
        "   14 | during = { from = \"a.start\", to = \"a.end\" }\n"
        "      |                                   ^");
}

TEST_CASE("an offset that adds up past the longest timeline is reported at `at`", "[loader][limits]") {
  CHECK(errors_of(kTarget + "[[inject]]\nname = \"a\"\nkind = \"freeze\"\nat = \"ready+8000h\"\n"
                            "[[inject]]\nkind = \"freeze\"\nat = \"a.start+1000h\"\n") ==
        "s.toml:10:6: inject.at: \"a.start+1000h\" comes more than 8760h (365 days) after the start or "
        "readiness it counts from; no scenario runs that long; times on the timeline go up to 8760h\n"
        "   10 | at = \"a.start+1000h\"\n"
        "      |      ^");
}

TEST_CASE("ambiguous size units are load errors that spell out both readings", "[loader][limits]") {
  check_diagnostics({
      {kTarget + "limits.memory = \"64mb\"\n",
       "s.toml:4:17: target.limits.memory: expected a size such as \"64MiB\", \"512KiB\", \"100MB\", "
       "\"max\" or a number of bytes, got \"64mb\" (`mb` is ambiguous: write \"64MB\" (64,000,000 bytes) or "
       "\"64MiB\" (67,108,864 bytes); units are case-sensitive)\n"
       "   4 | limits.memory = \"64mb\"\n"
       "     |                 ^"},
      {kTarget + "limits.memory = \"64Mb\"\nlimits.swap = \"1.5g\"\n",
       "s.toml:4:17: target.limits.memory: expected a size such as \"64MiB\", \"512KiB\", \"100MB\", "
       "\"max\" or a number of bytes, got \"64Mb\" (`Mb` is ambiguous: write \"64MB\" (64,000,000 bytes) or "
       "\"64MiB\" (67,108,864 bytes); units are case-sensitive)\n"
       "   4 | limits.memory = \"64Mb\"\n"
       "     |                 ^\n"
       "s.toml:5:15: target.limits.swap: expected a size such as \"64MiB\", \"512KiB\", \"100MB\", \"max\" "
       "or a number of bytes, got \"1.5g\" (`g` is ambiguous: write \"1.5GB\" (1,500,000,000 bytes) or "
       "\"1.5GiB\" (1,610,612,736 bytes); units are case-sensitive)\n"
       "   5 | limits.swap = \"1.5g\"\n"
       "     |               ^"},
      {kTarget + "[[inject]]\nkind = \"hog\"\nat = \"1s\"\nmemory = \"64m\"\n",
       "s.toml:7:10: inject.memory: expected a size such as \"64MiB\", \"512KiB\", \"100MB\", \"max\" or a "
       "number of bytes, got \"64m\" (`m` is ambiguous: write \"64MB\" (64,000,000 bytes) or \"64MiB\" "
       "(67,108,864 bytes); units are case-sensitive)\n"
       "   7 | memory = \"64m\"\n"
       "     |          ^"},
      {kTarget + "[expect]\nmax_memory = \"4096b\"\n",
       "s.toml:5:14: expect.max_memory: expected a size such as \"64MiB\", \"512KiB\", \"100MB\", \"max\" "
       "or a number of bytes, got \"4096b\" (units are case-sensitive: write \"4096B\" for bytes)\n"
       "   5 | max_memory = \"4096b\"\n"
       "     |              ^"},
  });
}

TEST_CASE("addresses and URLs are checked when the file is loaded", "[loader][address]") {
  const std::string ready = "name = \"x\"\n[target]\ncommand = [\"true\"]\n";
  // Unchecked, ":99999" probed port 34463 and ":abc" failed at run time with the bare word "stoi".
  check_diagnostics({
      {ready + "ready.tcp = \":99999\"\n",
       "s.toml:4:13: target.ready.tcp: expected an IP address and port such as \"127.0.0.1:8080\", got "
       "\":99999\" (port `99999` is not a number from 1 to 65535); write host:port, such as "
       "\"127.0.0.1:8080\"\n"
       "   4 | ready.tcp = \":99999\"\n"
       "     |             ^"},
      {ready + "ready.tcp = \":abc\"\n",
       "s.toml:4:13: target.ready.tcp: expected an IP address and port such as \"127.0.0.1:8080\", got "
       "\":abc\" (port `abc` is not a number from 1 to 65535); write host:port, such as \"127.0.0.1:8080\"\n"
       "   4 | ready.tcp = \":abc\"\n"
       "     |             ^"},
      {ready + "ready.tcp = \"localhost:8080\"\n",
       "s.toml:4:13: target.ready.tcp: expected an IP address and port such as \"127.0.0.1:8080\", got "
       "\"localhost:8080\" (`localhost` is a host name, not an IP address); write "
       "\"127.0.0.1:8080\" (the gate does not resolve names; ready.http and probes do)\n"
       "   4 | ready.tcp = \"localhost:8080\"\n"
       "     |             ^"},
      {ready + "ready.tcp = \"db.internal:5432\"\n",
       "s.toml:4:13: target.ready.tcp: expected an IP address and port such as \"127.0.0.1:8080\", got "
       "\"db.internal:5432\" (`db.internal` is a host name, not an IP address); write the IP address it "
       "stands for, such as \"192.0.2.10:5432\" (the gate does not resolve names; ready.http and probes do)\n"
       "   4 | ready.tcp = \"db.internal:5432\"\n"
       "     |             ^"},
      {ready + "ready.http = \"https://127.0.0.1:8443/healthz\"\n",
       "s.toml:4:14: target.ready.http: expected an http:// URL such as \"http://127.0.0.1:8080/healthz\", "
       "got \"https://127.0.0.1:8443/healthz\" (https is not supported); readiness gates and probes speak "
       "plain HTTP to local services; use an http:// URL\n"
       "   4 | ready.http = \"https://127.0.0.1:8443/healthz\"\n"
       "     |              ^"},
  });
  const std::string probe = kTarget + "[[probe]]\nduring = { from = \"1s\" }\n";
  check_diagnostics({
      {probe + "http = \"http://127.0.0.1:99999/\"\n",
       "s.toml:6:8: probe.http: expected an http:// URL such as \"http://127.0.0.1:8080/healthz\", got "
       "\"http://127.0.0.1:99999/\" (port `99999` is not a number from 1 to 65535); write a URL such as "
       "\"http://127.0.0.1:8080/healthz\"\n"
       "   6 | http = \"http://127.0.0.1:99999/\"\n"
       "     |        ^"},
      {probe + "tcp = \"127.0.0.1\"\nexpect.success = false\n",
       "s.toml:6:7: probe.tcp: expected host:port such as \"127.0.0.1:8080\", got \"127.0.0.1\" (no port); "
       "write host:port, such as \"127.0.0.1:8080\"\n"
       "   6 | tcp = \"127.0.0.1\"\n"
       "     |       ^"},
      // Unchecked, an impossible address failed every attempt at run time, and with
      // `expect.success = false` that read as the expected "down".
      {probe + "tcp = \"256.1.1.1:80\"\nexpect.success = false\n",
       "s.toml:6:7: probe.tcp: expected host:port such as \"127.0.0.1:8080\", got \"256.1.1.1:80\" "
       "(`256.1.1.1` is not an IPv4 address (four numbers from 0 to 255)); write host:port, such as "
       "\"127.0.0.1:8080\"\n"
       "   6 | tcp = \"256.1.1.1:80\"\n"
       "     |       ^"},
      // An http probe judges status and body: `success = false` would be silently ignored.
      {probe + "http = \"http://127.0.0.1:8080/\"\nexpect.success = false\n",
       "s.toml:7:8: probe.expect.success: only applies to tcp and exec probes; for an http probe, say "
       "which answers count: expect.status = [503]\n"
       "   7 | expect.success = false\n"
       "     |        ^"},
      {probe + "tcp = \"http://127.0.0.1:80/\"\n",
       "s.toml:6:7: probe.tcp: expected host:port such as \"127.0.0.1:8080\", got \"http://127.0.0.1:80/\" "
       "(expected host:port, not a URL); write host:port, such as \"127.0.0.1:8080\"\n"
       "   6 | tcp = \"http://127.0.0.1:80/\"\n"
       "     |       ^"},
  });
}

TEST_CASE("addresses are checked after variables are substituted", "[loader][address]") {
  check_diagnostics({
      {"name = \"x\"\n[vars]\nport = \"99999\"\n[target]\ncommand = [\"true\"]\n"
       "ready.tcp = \"127.0.0.1:${port}\"\n",
       "s.toml:6:13: target.ready.tcp: expected an IP address and port such as \"127.0.0.1:8080\", got "
       "\"127.0.0.1:99999\" (from \"127.0.0.1:${port}\") (port `99999` is not a number from 1 to 65535); "
       "write host:port, such as \"127.0.0.1:8080\"\n"
       "   6 | ready.tcp = \"127.0.0.1:${port}\"\n"
       "     |             ^"},
      // auto-port (4242 in these tests, a placeholder in `validate`) gives a valid address.
      {"name = \"x\"\n[vars]\nport = \"auto-port\"\n[target]\ncommand = [\"true\"]\n"
       "ready.http = \"http://127.0.0.1:${port}/healthz\"\n",
       ""},
  });
}

TEST_CASE("a probe window may leave out `to`; a chaos window may not", "[loader]") {
  check_diagnostics({
      {kTarget + "[[probe]]\ntcp = \"h:1\"\nduring = { from = \"ready+1s\" }\n", ""},
      {kTarget + "[chaos]\nwindow = { from = \"1s\" }\n",
       "s.toml:5:10: missing required key `to` in [chaos.window]\n"
       "   5 | window = { from = \"1s\" }\n"
       "     |          ^"},
  });
}

TEST_CASE("`stop` and `<process>.exit` name a process that exists", "[loader][driver]") {
  const std::string two_after_stop =
      "[[process]]\nname = \"api\"\ncommand = [\"a\"]\n[[process]]\nname = \"db\"\ncommand = [\"d\"]\n";
  check_diagnostics({
      {"name = \"x\"\nstop = \"apii.exit\"\n" + two_after_stop,
       "s.toml:2:8: stop: unknown process `apii` in \"apii.exit\"; did you mean `api.exit`?\n"
       "   2 | stop = \"apii.exit\"\n"
       "     |        ^"},
      {"name = \"x\"\nstop = \"ready+5s\"\n" + two_after_stop,
       "s.toml:2:8: stop: expected a process's exit (\"<process>.exit\", optionally \"+offset\"), got "
       "\"ready+5s\"; such as \"db.exit\"; for a fixed time use `duration`\n"
       "   2 | stop = \"ready+5s\"\n"
       "     |        ^"},
      {kTwo + "[[inject]]\ninto = \"db\"\nkind = \"freeze\"\nat = \"ap.exit+1s\"\n",
       "s.toml:11:6: inject.at: unknown process `ap` in \"ap.exit+1s\"; did you mean `api.exit`?\n"
       "   11 | at = \"ap.exit+1s\"\n"
       "      |      ^"},
      {kTwo + "[[inject]]\nname = \"f\"\ninto = \"db\"\nkind = \"freeze\"\nat = \"1s\"\n"
              "[[probe]]\ntcp = \"127.0.0.1:1\"\nduring = { from = \"f.exit\" }\n",
       "s.toml:15:19: probe.during.from: `f` is an injection, it has no `.exit`; use `f.start` or `f.end`\n"
       "   15 | during = { from = \"f.exit\" }\n"
       "      |                   ^"},
  });
}

TEST_CASE("an output check or a list of codes that could not look is an error", "[loader]") {
  // `contains = ""` is found in every output (it would pass without looking), an empty list checks
  // nothing, and `exit_codes = []` allows no code (the check could only fail).
  const auto first_line = [](const std::string& expect) {
    const std::string all = errors_of(kTarget + "[expect]\n" + expect + "\n");
    return all.substr(0, all.find('\n'));
  };
  CHECK(first_line("stdout.contains = \"\"") ==
        "s.toml:5:19: expect.stdout.contains: an empty text is found in every output, so it checks nothing; "
        "give "
        "the text to look for");
  CHECK(first_line("stderr.not_contains = [\"panic\", \"\"]") ==
        "s.toml:5:33: expect.stderr.not_contains: an empty text is found in every output, so it checks "
        "nothing; "
        "give the text to look for");
  CHECK(
      first_line("stdout.matches = \"\"") ==
      "s.toml:5:18: expect.stdout.matches: an empty pattern is found in every output, so it checks nothing; "
      "give the text to look for");
  CHECK(first_line("stdout.not_matches = []") ==
        "s.toml:5:22: expect.stdout.not_matches: the list is empty; it would check nothing; leave the key "
        "out, or "
        "give the text to look for");
  CHECK(first_line("exit_codes = []") ==
        "s.toml:5:14: expect.exit_codes: the list is empty; it would allow no "
        "value at all");
  CHECK(errors_of(kTarget + "[expect]\nstdout.contains = [\"ok\"]\nexit_codes = [0]\n").empty());
  // A pattern that matches an empty text in any line matches every line: `matches` passed on any
  // output.
  CHECK(
      first_line("stdout.matches = [\"ready\", \"drained \\\\d+ requests|\"]") ==
      "s.toml:5:28: expect.stdout.matches: the pattern \"drained \\d+ requests|\" matches an empty text in "
      "any "
      "line, so it matches every line of any output: it checks nothing; drop the empty alternative (a "
      "trailing `|`) or make the optional part required, e.g. `(listening on .*)` for `(listening on .*)?`");
  for (const char* pattern : {"(listening on .*)?", "x*", "^", "a|", "$"})
    CHECK(first_line(std::string("stderr.not_matches = \"") + pattern + "\"")
              .find("matches an empty text in any line") != std::string::npos);
  // An empty or a blank line is a line to look for, not every line.
  CHECK(
      errors_of(kTarget + "[expect]\nstdout.matches = \"^$\"\nstderr.not_matches = \"^\\\\s*$\"\n").empty());
  CHECK(
      errors_of(kTarget + "[expect]\nstdout.matches = [\"^ready$\", \"drained \\\\d+\", \"x+\"]\n").empty());
}

TEST_CASE("a probe attempt or a syscall delay of no time is an error, not a run-time failure", "[loader]") {
  const std::string probe =
      kTarget +
      "[[probe]]\nname = \"p\"\ntcp = \"127.0.0.1:1\"\ntimeout = \"0s\"\nduring = { from = "
      "\"ready\" }\n";
  const std::string all = errors_of(probe);
  CHECK(all.substr(0, all.find('\n')) ==
        "s.toml:7:11: probe.timeout: expected a duration of at least 1ms, got \"0s\"; an attempt needs at "
        "least 1ms "
        "to connect and get an answer");
  const std::string delay = errors_of(kTarget +
                                      "[[inject]]\nkind = \"syscall\"\nsyscalls = [\"write\"]\ndelay = "
                                      "\"0ms\"\nat = \"ready\"\n");
  CHECK(delay.substr(0, delay.find('\n')) ==
        "s.toml:7:9: inject.delay: expected a duration of at least 1ms, got \"0ms\"; a delay under 1ms holds "
        "no "
        "call; leave `delay` out instead");
  CHECK(errors_of(kTarget + "[[inject]]\nkind = \"syscall\"\nsyscalls = [\"write\"]\ndelay = \"1ms\"\nat = "
                            "\"ready\"\n")
            .empty());
}

TEST_CASE("a cpuset names CPUs the kernel's way, and at least one", "[loader]") {
  CHECK(errors_of(kTarget + "[target.limits]\ncpuset = \"0-7:2/4\"\n").empty());
  check_diagnostics({
      {kTarget + "[target.limits]\ncpuset = \"\"\n",
       "s.toml:5:10: target.limits.cpuset: expected CPU numbers and ranges such as \"0\", \"0-1\", "
       "\"0,2-3\" or \"0-7:2/4\", got \"\"; an empty set of CPUs cannot run anything; leave the key out to "
       "keep all\n"
       "   5 | cpuset = \"\"\n"
       "     |          ^"},
      {kTarget + "[target.limits]\ncpuset = \"3-1\"\n",
       "s.toml:5:10: target.limits.cpuset: expected CPU numbers and ranges such as \"0\", \"0-1\", "
       "\"0,2-3\" or \"0-7:2/4\", got \"3-1\"; CPU numbers as `nproc` counts them from 0, ranges low-high, "
       "strides low-high:used/group\n"
       "   5 | cpuset = \"3-1\"\n"
       "     |          ^"},
      {kTarget + "[target.limits]\ncpuset = \"0-7:3/2\"\n",
       "s.toml:5:10: target.limits.cpuset: expected CPU numbers and ranges such as \"0\", \"0-1\", "
       "\"0,2-3\" or \"0-7:2/4\", got \"0-7:3/2\"; CPU numbers as `nproc` counts them from 0, ranges "
       "low-high, "
       "strides low-high:used/group\n"
       "   5 | cpuset = \"0-7:3/2\"\n"
       "     |          ^"},
  });
}

TEST_CASE("max_memory of a process a memory hog crowds is refused: the hog's memory is in the peak",
          "[loader]") {
  const std::string hog = "[[inject]]\nname = \"neighbour\"\nkind = \"hog\"\nat = \"1s\"\n";
  CHECK(errors_of(kTarget + hog + "cpu = \"50%\"\n[expect]\nmax_memory = \"100MiB\"\n").empty());
  check_diagnostics({
      {kTarget + hog + "memory = \"200MiB\"\n[expect]\nmax_memory = \"100MiB\"\n",
       "s.toml:10:1: expect.max_memory: the peak of `target`'s cgroup would include the 200MiB of hog "
       "`neighbour` (line 4), which runs in that cgroup; judge the process's memory in a scenario without "
       "the memory hog, or drop `max_memory`\n"
       "   10 | max_memory = \"100MiB\"\n"
       "      | ^"},
  });
}

TEST_CASE("a hog that holds nothing is refused where it is written", "[loader]") {
  // Accepted, it started, held nothing, and counted as applied.
  const std::string hog = kTarget + "[[inject]]\nname = \"h\"\nkind = \"hog\"\nat = \"0s\"\n";
  check_diagnostics({
      {hog + "memory = \"0B\"\n",
       "s.toml:8:10: inject.memory: a hog of 0B holds no memory, so it crowds nothing; give a size such as "
       "64MiB, or leave `memory` out for a CPU hog\n"
       "   8 | memory = \"0B\"\n"
       "     |          ^"},
      {hog + "cpu = \"0.0001\"\n",
       "s.toml:8:7: inject.cpu: a hog under 1% of a CPU burns next to nothing; give at least \"1%\", or "
       "leave `cpu` out for a memory hog\n"
       "   8 | cpu = \"0.0001\"\n"
       "     |       ^"},
  });
  CHECK(errors_of(hog + "cpu = \"1%\"\nmemory = \"1MiB\"\n").empty());
  // A [chaos] draw could pick them as well: the low end of a range is checked like any choice.
  const std::string chaos =
      kTarget + "[chaos]\nwindow = { from = \"1s\", to = \"2s\" }\nkinds = [\"hog\"]\n[chaos.hog]\n";
  const std::string zero = errors_of(chaos + "memory = [\"0B\", \"64MiB\"]\n");
  CHECK(zero.find("s.toml:8:11: chaos.hog.memory: a hog of 0B holds no memory") != std::string::npos);
  const std::string tiny = errors_of(chaos + "cpu = [\"0.001\", \"0.5\"]\n");
  CHECK(tiny.find("s.toml:8:8: chaos.hog.cpu: a hog under 1% of a CPU") != std::string::npos);
  CHECK(errors_of(chaos + "memory = [\"1MiB\", \"64MiB\"]\ncpu = [\"1%\", \"50%\"]\n").empty());
}

TEST_CASE("a kind written through a variable takes its kind's keys, checked as written out", "[loader]") {
  // Looked up before expansion, no kind matched and every key of the kind was passed over: the
  // signal's `repeat` was dropped and the fault sent once.
  const std::string vars = "name = \"x\"\n[vars]\nk = \"signal\"\n[target]\ncommand = [\"a\"]\n";
  CHECK(errors_of(vars + "[[inject]]\nkind = \"${k}\"\nsignal = \"SIGTERM\"\nat = \"1s\"\n"
                         "repeat = { every = \"200ms\", count = 3 }\n")
            .empty());
  const auto scenario = faultline::test::load_text(
      vars +
      "[[inject]]\nkind = \"${k}\"\nsignal = \"SIGTERM\"\nat = \"1s\"\nrepeat = { every = \"200ms\", "
      "count = 3 }\n");
  REQUIRE(scenario.injections.size() == 1);
  const auto* signal = std::get_if<SignalFault>(&scenario.injections[0].params);
  REQUIRE(signal);
  CHECK(signal->repeat_count == 3);
  CHECK(errors_of(vars + "[[inject]]\nkind = \"${k}\"\nsignl = \"SIGTERM\"\nat = \"1s\"\n") ==
        "s.toml:8:1: unknown key `signl` in [[inject]] of kind \"signal\"; did you mean `signal`?\n"
        "   8 | signl = \"SIGTERM\"\n"
        "     | ^");
  // The kind's own rules apply too: a memory fault needs its limit.
  std::string memory = vars;
  memory.replace(memory.find("\"signal\""), 8, "\"memory\"");
  CHECK(
      errors_of(memory + "[[inject]]\nkind = \"${k}\"\nat = \"1s\"\n")
          .starts_with("s.toml:6:1: [[inject]] of kind \"memory\" needs at least one of `limit` or `high`"));
}

TEST_CASE("a newline spelled by its code in an output regex is refused like \\n", "[loader]") {
  for (const std::string pattern : {"panic\\\\x0aboom", "panic\\\\x0Aboom", "panic\\\\x{A}boom",
                                    "panic\\\\x{0000a}boom", "panic\\\\012boom", "panic\\\\12boom"}) {
    INFO(pattern);
    CHECK(errors_of(kTarget + "[expect]\nstdout.not_matches = \"" + pattern + "\"\n")
              .find("asks for a newline, but each line is matched on its own") != std::string::npos);
  }
  // A class of nothing but a newline is one too; a class that also matches something else is not,
  // nor is one that matches everything but a newline.
  CHECK(errors_of(kTarget + "[expect]\nstdout.not_matches = \"panic[\\\\x0a]boom\"\n")
            .find("asks for a newline") != std::string::npos);
  CHECK(errors_of(kTarget + "[expect]\nstdout.not_matches = [\"error:[^\\\\n]*timeout\", \"a[b\\\\n]c\", "
                            "\"[]\\\\n]\", \"[[:alpha:]\\\\n]\"]\n")
            .empty());
  // Other codes, an escaped backslash before them, and codes inside \Q...\E are no newline.
  CHECK(errors_of(kTarget + "[expect]\nstdout.not_matches = [\"a\\\\x41b\", \"a\\\\0b\", \"\\\\\\\\x0a\", "
                            "\"\\\\Q\\\\x0a\\\\E\", \"\\\\x{7f}\"]\n")
            .empty());
}

TEST_CASE("a duration written non-zero that rounds to no time is an error", "[loader]") {
  const std::string errors =
      errors_of(kTarget + "[[inject]]\nkind = \"freeze\"\nat = \"1s\"\nduration = \"0.0000000004s\"\n");
  CHECK(errors.substr(0, errors.find('\n')) ==
        "s.toml:7:12: inject.duration: \"0.0000000004s\" is below 1ns, the finest duration, and would be "
        "read as 0; "
        "durations are whole nanoseconds");
  CHECK(errors_of(kTarget + "[[inject]]\nkind = \"freeze\"\nat = \"0.000000001s\"\nduration = \"1ms\"\n")
            .empty());
}

TEST_CASE("a repeat with no time between signals, or a fault held for none, is refused", "[loader]") {
  const std::string signal = kTarget + "[[inject]]\nkind = \"signal\"\nsignal = \"SIGUSR1\"\nat = \"1s\"\n";
  const std::string every = errors_of(signal + "repeat = { every = \"100us\", count = 5 }\n");
  CHECK(every.substr(0, every.find('\n')) ==
        "s.toml:8:20: inject.repeat.every: expected a duration of at least 1ms, got \"100us\"; signals sent "
        "closer together reach the target as one: a signal already pending is not queued again");
  CHECK(errors_of(signal + "repeat = { every = \"1ms\", count = 5 }\n").empty());
  const std::string held =
      errors_of(kTarget + "[[inject]]\nkind = \"freeze\"\nat = \"1s\"\nduration = \"0s\"\n");
  CHECK(
      held.substr(0, held.find('\n')) ==
      "s.toml:7:12: inject.duration: expected a duration of at least 1ms, got \"0s\"; a fault reverted as it "
      "is applied never holds; leave `duration` out to hold it to the end");
}

TEST_CASE("checks that every value meets: max_memory = \"max\" and the largest count", "[loader]") {
  CHECK(errors_of(kTarget + "[expect]\nmax_memory = \"max\"\n") ==
        "s.toml:5:14: expect.max_memory: \"max\" holds for every peak, so it checks nothing; give the most "
        "memory the process may use, e.g. max_memory = \"256MiB\", or leave the key out\n"
        "   5 | max_memory = \"max\"\n"
        "     |              ^");
  CHECK(errors_of(kTarget + "[expect]\noom_kills = \"<=999999999999999\"\n").find("holds for every count") !=
        std::string::npos);
  CHECK(errors_of(kTarget + "[expect]\nmax_memory = \"16TiB\"\noom_kills = \"<999999999999999\"\n").empty());
}

TEST_CASE("[chaos] ranges for a kind that `kinds` leaves out are an error: they are never drawn",
          "[loader]") {
  const std::string chaos =
      kTarget + "[chaos]\nfaults = 3\nwindow = { from = \"1s\", to = \"2s\" }\nkinds = [\"freeze\"]\n";
  CHECK(errors_of(chaos + "memory.limit = [\"1MiB\", \"2MiB\"]\n") ==
        "s.toml:8:1: chaos.memory: ranges for kind \"memory\", which `kinds` leaves out, so they would never "
        "be drawn; add \"memory\" to `kinds`, or remove chaos.memory\n"
        "   8 | memory.limit = [\"1MiB\", \"2MiB\"]\n"
        "     | ^");
  // Without `kinds` the ranges name the kinds drawn.
  CHECK(errors_of(kTarget + "[chaos]\nfaults = 3\nwindow = { from = \"1s\", to = \"2s\" }\n"
                            "memory.limit = [\"1MiB\", \"2MiB\"]\n")
            .empty());
}

TEST_CASE("a memory ramp longer than its fault's duration is an error: it could never hold", "[loader]") {
  const std::string ramp = kTarget + "[[inject]]\nkind = \"memory\"\nlimit = \"48MiB\"\nat = \"1s\"\n";
  CHECK(
      errors_of(ramp + "over = \"2s\"\nduration = \"1s\"\n") ==
      "s.toml:8:8: inject.over: the ramp takes 2s, longer than the fault's duration 1s, so it would be "
      "reverted before it reaches its limit; make `over` at most the duration, or the duration at least 2s\n"
      "   8 | over = \"2s\"\n"
      "     |        ^");
  CHECK(errors_of(ramp + "over = \"1s\"\nduration = \"1s\"\n")
            .empty());                                 // its last step comes before the revert
  CHECK(errors_of(ramp + "over = \"2s\"\n").empty());  // held to the end
}

TEST_CASE("an output regex that no line can match is an error, however it is written", "[loader]") {
  // Each asks for a newline or an impossible place without writing one the way a scanner of the
  // text would see: as the matcher compiles it (a line at a time, newlines never matched), RE2
  // finds no string it could match. A `not_matches` of any of them passed whatever the output.
  for (const std::string pattern : {"[\\\\n-\\\\n]", "panic[^\\\\x00-\\\\x09\\\\x0b-\\\\x{10FFFF}]boom",
                                    "[^\\\\S \\\\t\\\\x0c\\\\r]", "$a", "(?i)^abc[\\\\x0a-\\\\x0a]",
                                    "\\\\zpanic", "x$a", "exit code: 0$ done", "a^b", "^(?:ab){2}c\\\\zd"}) {
    INFO(pattern);
    const std::string errors = errors_of(kTarget + "[expect]\nstdout.not_matches = \"" + pattern + "\"\n");
    CHECK(errors.starts_with("s.toml:5:22: expect.stdout.not_matches: regular expression "));
    CHECK(errors.find("can match no line: each line is matched on its own, without its newline") !=
          std::string::npos);
  }
  // ready.log is matched line by line too: a gate no line can open is refused at load.
  CHECK(errors_of("[[process]]\nname = \"a\"\ncommand = [\"a\"]\nready = { log = \"$a\" }\n")
            .find("ready.log: regular expression \"$a\" can match no line") != std::string::npos);
  // A line can match these: an empty line, a line's ends, anything but newline, and word
  // boundaries, which can match mid-line what they cannot at a line's start (`running`).
  CHECK(errors_of(kTarget +
                  "[expect]\nstdout.not_matches = [\"^$\", \"^abc$\", \"a\\\\b\", \"[^\\\\n]x\", "
                  "\"\\\\Aa\\\\z\", \"(?i)^ABC\", \"\\\\Qa\", \"\\\\Bing\\\\b\", \"\\\\b-\", \"\\\\b$\", "
                  "\"\\\\b\", \"x$\", \"x(a|$)\", \"abc|abd\", \"ok\\\\z\"]\n")
            .empty());
}

TEST_CASE("a newline spelled with more hex digits than needed is still a newline", "[loader]") {
  CHECK(errors_of(kTarget + "[expect]\nstdout.not_matches = \"a\\\\x{000000000A}b\"\n")
            .find("asks for a newline") != std::string::npos);
  CHECK(errors_of(kTarget + "[expect]\nstdout.not_matches = \"a\\\\x{0000000041}b\"\n").empty());
}
