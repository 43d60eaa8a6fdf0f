// Writing scenarios as a new author meets it: validate's messages, plan's timeline, a
// two-process scenario, and readiness gates that never open.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/support/command.h"
#include "tests/support/report_lookup.h"
#include "tests/support/scratch_dir.h"
#include "tests/support/test_env.h"

using namespace faultline::test;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

json run_json(const std::string& scenario_file, CommandOutput* cmd_out = nullptr) {
  const std::string json_path =
      (fs::temp_directory_path() / ("faultline-authoring-" + std::to_string(::getpid()) + ".json")).string();
  const auto cmd =
      run_shell(faultline_cmd() + " run " + quote(scenario_file) + " --json " + quote(json_path));
  INFO("stdout: " << cmd.out << "\nstderr: " << cmd.err);
  REQUIRE(fs::exists(json_path));
  auto report = json::parse(read_file(json_path));
  fs::remove(json_path);
  if (cmd_out) *cmd_out = cmd;
  REQUIRE(report["scenarios"].size() == 1);
  return report["scenarios"][0];
}

// Any process whose command line contains `token`, alive or zombie.
bool process_with_argument(const std::string& token) {
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string cmdline = read_file(entry.path() / "cmdline");
    std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
    if (cmdline.find(token) != std::string::npos) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("validate reports every error of every file with its position, line and caret", "[authoring]") {
  ScratchDir dir;
  const auto first = dir.write("first.toml", R"(name = "first"
timeout = 5

[target]
command = ["true"]

[expect]
gracefull = true
)");
  const auto second = dir.write("second.toml", R"(name = "second"

[[process]]
name = "api"
command = ["true"]
after = ["dbb"]

[[process]]
name = "db"
command = ["true"]

[process.ready]
http = "http://127.0.0.1:${prot}/healthz"
)");
  const auto out = run_shell(faultline_cmd() + " validate " + quote(dir.path().string()));
  CHECK(out.status == 2);
  CHECK(out.out.empty());
  CHECK(out.err ==
        first +
            ":2:11: timeout: expected a duration such as \"250ms\", \"2s\" or \"1m30s\", got the number 5 "
            "(durations need a unit)\n"
            "   2 | timeout = 5\n"
            "     |           ^\n" +
            first +
            ":8:1: unknown key `gracefull` in [expect]; did you mean `graceful`?\n"
            "   8 | gracefull = true\n"
            "     | ^\n" +
            second +
            ":6:10: process.after: unknown process `dbb` (processes: api, db); did you mean `db`?\n"
            "   6 | after = [\"dbb\"]\n"
            "     |          ^\n" +
            second +
            ":13:8: process.ready.http: undefined variable `prot`\n"
            "   13 | http = \"http://127.0.0.1:${prot}/healthz\"\n"
            "      |        ^\n"
            "4 error(s) in 2 of 2 file(s)\n");
}

TEST_CASE("plan prints the resolved timeline and starts nothing", "[authoring]") {
  ScratchDir dir;
  const auto file = dir.write("plan.toml", R"(name = "plan fixture"
timeout = "60s"
duration = "10s"

[vars]
port = "41235"

[[process]]
name = "db"
shell = "touch ${scenario_dir}/db-started"

[process.ready]
log = "listening"

[[process]]
name = "api"
after = ["db"]
command = ["./api", "--port", "${port}"]
stop_grace = "5s"

[process.ready]
exec = ["touch", "${scenario_dir}/gate-ran"]

[process.limits]
memory = "256MiB"

[[inject]]
name = "squeeze"
into = "api"
at = "ready+2s"
kind = "memory"
limit = "64MiB"
duration = "10s"

[[inject]]
name = "hang"
into = "db"
kind = "freeze"
at = "squeeze.end+1s"
duration = "2s"

[[inject]]
into = "db"
kind = "signal"
signal = "SIGSTOP"
at = "db.ready+500ms"

[[probe]]
name = "orders"
http = "http://127.0.0.1:${port}/orders"
during = "squeeze"
expect.status = [200, 503]

[[expect]]
process = "api"
outcome = "exited"
exit_codes = [0]
graceful = true

[[expect]]
process = "db"
)");
  const auto out = run_shell(faultline_cmd() + " plan " + quote(file) + " --seed 7");
  INFO(out.err);
  CHECK(out.status == 0);
  CHECK(out.err.empty());
  CHECK(out.out ==
        "scenario: plan fixture  (" + file +
            ")   timeout 1m, duration 10s\n"
            "seed: 7\n"
            "processes (start order):\n"
            "  db    sh -c 'touch " +
            dir.path().string() + "/db-started'\n" + std::string(8 + 28, ' ') +
            "  ready: log /listening/ (timeout 10s)\n"
            "  api   after db  ./api --port 41235  ready: exec touch " +
            dir.path().string() +
            "/gate-ran (exit 0) (timeout 10s)\n"
            "        limits: memory 256MiB\n"
            "timeline:\n"
            "  t=0                 start db\n"
            "  db.ready            start api\n"
            "  db.ready+500ms      inject signal#3 (signal SIGSTOP to main into db)\n"
            "  ready               all processes ready\n"
            "  ready+2s            inject squeeze (memory limit 64MiB into api) for 10s, until ready+12s\n"
            "  ready+10s           stop phase: SIGTERM api (grace 5s), then SIGTERM db (grace 10s)\n"
            "  ready+13s           inject hang (freeze into db) for 2s, until ready+15s\n"
            "  t=1m                timeout: everything still running is killed\n"
            "probes:\n"
            "  orders: http http://127.0.0.1:41235/orders every 100ms (timeout 2s), during squeeze (ready+2s "
            ".. ready+12s)\n"
            "    expect: status in [200, 503]; pass_ratio >=1\n"
            "expectations:\n"
            "  api: outcome exited, exit_codes [0], graceful, no orphans\n"
            "  db: exit code 0, or a death by faultline's signal N or 128+N after it (default), no orphans\n"
            "nothing was started (auto-port numbers are drawn again by `faultline run`)\n");
  CHECK_FALSE(fs::exists(dir.path() / "db-started"));
  CHECK_FALSE(fs::exists(dir.path() / "gate-ran"));
}

TEST_CASE("plan of an invalid file prints the diagnostics and exits 2", "[authoring]") {
  ScratchDir dir;
  const auto file = dir.write("bad.toml",
                              "name = \"bad\"\n\n[target]\ncommand = [\"true\"]\n\n[[inject]]\nkind = "
                              "\"freeze\"\nat = \"nope.end\"\n");
  const auto out = run_shell(faultline_cmd() + " plan " + quote(file));
  CHECK(out.status == 2);
  CHECK(out.out.empty());
  CHECK(out.err == file +
                       ":8:6: inject.at: unknown injection `nope` in \"nope.end\"\n"
                       "   8 | at = \"nope.end\"\n"
                       "     |      ^\n");
}

TEST_CASE("the two-process example passes: HTTP backend on an auto port, client after it", "[authoring]") {
  const auto scenario = run_json(source_dir() + "/scenarios/examples/two-process-http.toml");
  CHECK(scenario["result"] == "pass");
  CHECK(scenario["reason"] == "");
  const auto& backend = process_named(scenario, "backend");
  const auto& client = process_named(scenario, "client");
  CHECK(backend["outcome"] == "exited");
  CHECK(backend["exit_code"] == 0);
  CHECK(backend["graceful"] == true);
  CHECK(client["exit_code"] == 0);
  CHECK(client["stdout_tail"] == "20/20 ok\n");
  // The client started only once the backend answered /healthz.
  double backend_ready = -1, client_start = -1;
  for (const auto& e : scenario["timeline"]) {
    if (e["event"] == "process.ready" && e["process"] == "backend") backend_ready = e["t_ms"];
    if (e["event"] == "process.start" && e["process"] == "client") client_start = e["t_ms"];
  }
  CHECK(backend_ready >= 0);
  CHECK(client_start >= backend_ready);
}

TEST_CASE("a readiness gate that never opens ends the scenario as an error naming the process",
          "[authoring]") {
  ScratchDir dir;
  SECTION("http: nothing listens") {
    const auto file = dir.write("http.toml", R"(name = "http gate never opens"
timeout = "20s"

[[process]]
name = "api"
command = ["sleep", "30"]

[process.ready]
http = "http://127.0.0.1:9/healthz"
timeout = "500ms"

[[process]]
name = "client"
after = ["api"]
command = ["true"]
)");
    CommandOutput cmd;
    const auto scenario = run_json(file, &cmd);
    CHECK(cmd.status == 1);
    CHECK(scenario["result"] == "error");
    CHECK(scenario["reason"] ==
          "process `api` was not ready within 500ms: ready.http http://127.0.0.1:9/healthz never answered "
          "with a "
          "2xx status (last attempt: connect 127.0.0.1:9: Connection refused)");
    CHECK(process_named(scenario, "client")["outcome"] == "failed-to-start");
  }
  SECTION("exec: the command keeps failing") {
    const auto file = dir.write("exec.toml", R"(name = "exec gate never opens"
timeout = "20s"

[target]
command = ["sleep", "30"]

[target.ready]
exec = ["sh", "-c", "echo not yet >&2; exit 3"]
timeout = "700ms"
)");
    const auto scenario = run_json(file);
    CHECK(scenario["result"] == "error");
    CHECK(scenario["reason"] ==
          "process `target` was not ready within 700ms: ready.exec `sh -c echo not yet >&2; exit 3` never "
          "exited "
          "with code 0 (last attempt: exited with code 3: not yet)");
  }
  SECTION("exec: the command hangs, and is killed with its cgroup") {
    const std::string token = "61." + std::to_string(::getpid());
    const auto file = dir.write("hang.toml", R"(name = "exec gate hangs"
timeout = "20s"

[target]
command = ["sleep", "30"]

[target.ready]
exec = ["sleep", ")" + token + R"("]
timeout = "400ms"
)");
    const auto scenario = run_json(file);
    CHECK(scenario["result"] == "error");
    CHECK(scenario["reason"] == "process `target` was not ready within 400ms: ready.exec `sleep " + token +
                                    "` never exited with code 0 (the first attempt was still running)");
    CHECK_FALSE(process_with_argument("sleep " + token));
  }
}

TEST_CASE("an exec readiness gate is retried until it succeeds", "[authoring]") {
  ScratchDir dir;
  const auto file = dir.write("retry.toml", R"(name = "exec gate opens on the third attempt"
timeout = "20s"

# Outlives the third attempt however slowly the attempts run (a loaded machine, an emulated one).
[target]
shell = "until [ $(cat '${scenario_dir}/attempts' 2>/dev/null | wc -l) -ge 3 ]; do sleep 0.05; done; sleep 1; echo done"

[target.ready]
exec = ["sh", "-c", "echo x >> '${scenario_dir}/attempts'; test $(wc -l < '${scenario_dir}/attempts') -ge 3"]
timeout = "5s"

[expect]
outcome = "exited"
exit_codes = [0]
stdout.contains = "done"
)");
  const auto scenario = run_json(file);
  INFO(scenario.dump(1));
  CHECK(scenario["result"] == "pass");
  bool ready_seen = false;
  for (const auto& e : scenario["timeline"])
    if (e["event"] == "process.ready") ready_seen = true;
  CHECK(ready_seen);
  CHECK(read_file((dir.path() / "attempts").string()) == "x\nx\nx\n");
}
