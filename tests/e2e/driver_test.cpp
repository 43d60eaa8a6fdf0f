// Driver-led scenarios: `stop = "<proc>.exit"` begins the stop phase when the load driver
// exits, and `<proc>.exit` anchors injections. Scenario files are written per test and run by
// the faultline CLI; order is asserted through the report's timeline (events are recorded in
// the order they happen), times only with generous bounds.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/support/command.h"
#include "tests/support/skips.h"
#include "tests/support/test_env.h"

using namespace faultline::test;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

std::optional<std::string> skip_reason() {
  if (::geteuid() != 0) return "not root: scenarios need to create cgroups";
  if (faultline_path().empty()) return "FAULTLINE_BIN not set";
  return std::nullopt;
}

#define E2E_PRECONDITIONS() \
  if (auto why_ = skip_reason()) FAULTLINE_SKIP(*why_)

// A service that runs until SIGTERM, then says so and exits 0; SIGUSR1 is logged. Ready once it
// printed "up". The shell runs traps between the short sleeps.
const std::string kService = R"(
[[process]]
name = "service"
shell = "trap 'echo got-usr1' USR1; trap 'echo stopping; exit 0' TERM; echo up; while :; do sleep 0.05; done"
stop_signal = "SIGTERM"
stop_grace = "20s"
[process.ready]
log = "^up$"
timeout = "30s"
)";

// A load driver that works for a moment after the service is ready, then exits with `code`.
std::string driver(int code) {
  return "\n[[process]]\nname = \"driver\"\nshell = \"sleep 0.2; echo driver-done; exit " +
         std::to_string(code) + "\"\nafter = [\"service\"]\n";
}

std::string service_stops_cleanly(const std::string& also_printed = {}) {
  return "\n[[expect]]\nprocess = \"service\"\noutcome = \"exited\"\nexit_codes = [0]\ngraceful = true\n"
         "stdout.contains = [\"stopping\"" +
         (also_printed.empty() ? "" : ", \"" + also_printed + "\"") + "]\n";
}

struct Run {
  CommandOutput cmd;
  json scenario;
};

Run run_toml(const std::string& toml) {
  const fs::path dir = fs::temp_directory_path() / ("faultline-driver-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const fs::path file = dir / "driver.toml", report = dir / "report.json";
  std::ofstream(file) << toml;
  Run r;
  r.cmd = run_shell(quote(faultline_path()) + " run " + quote(file.string()) + " --json " +
                    quote(report.string()));
  INFO("stdout: " << r.cmd.out << "\nstderr: " << r.cmd.err);
  REQUIRE(fs::exists(report));
  const json parsed = json::parse(read_file(report.string()));
  fs::remove_all(dir);
  REQUIRE(parsed.at("scenarios").size() == 1);
  r.scenario = parsed.at("scenarios")[0];
  return r;
}

// Position of the first `event` of `process` in the timeline (recorded in the order things
// happened), or -1.
long index_of(const json& scenario, const std::string& event, const std::string& process = {}) {
  const json& timeline = scenario.at("timeline");
  for (std::size_t i = 0; i < timeline.size(); ++i)
    if (timeline[i].at("event") == event && (process.empty() || timeline[i].value("process", "") == process))
      return static_cast<long>(i);
  return -1;
}

bool has_event(const json& scenario, const std::string& event) { return index_of(scenario, event) >= 0; }

std::string dump(const json& scenario) {
  return scenario.at("timeline").dump(1) + "\n" + scenario.at("reason").dump();
}

}  // namespace

TEST_CASE("driver e2e: the stop phase begins right after the driver exits", "[driver]") {
  E2E_PRECONDITIONS();
  const Run r = run_toml("name = \"driver-led\"\ntimeout = \"30s\"\nstop = \"driver.exit\"\n" + kService +
                         driver(0) + service_stops_cleanly());
  INFO(dump(r.scenario));
  CHECK(r.cmd.status == 0);
  CHECK(r.scenario.at("result") == "pass");
  const long driver_exit = index_of(r.scenario, "process.exit", "driver");
  const long stop_begin = index_of(r.scenario, "stop.begin");
  const long service_term = index_of(r.scenario, "stop.signal", "service");
  const long service_exit = index_of(r.scenario, "process.exit", "service");
  REQUIRE(driver_exit >= 0);
  CHECK(driver_exit < stop_begin);
  CHECK(stop_begin < service_term);
  CHECK(service_term < service_exit);
  // The driver had finished by itself: it is not signalled, and nothing waits for the timeout.
  CHECK(index_of(r.scenario, "stop.signal", "driver") == -1);
  CHECK_FALSE(has_event(r.scenario, "timeout"));
  CHECK(r.scenario.at("duration_ms").get<double>() < 25000);
}

TEST_CASE("driver e2e: a driver that exits early stops the service early, before `duration`", "[driver]") {
  E2E_PRECONDITIONS();
  // Both given: the first to come begins the stop phase. The driver, failing after 0.2s, comes
  // long before the hour of `duration`; any exit counts, a failing one too.
  const Run r = run_toml(
      "name = \"driver-fails-early\"\ntimeout = \"2h\"\nduration = \"1h\"\nstop = \"driver.exit\"\n" +
      kService + driver(3) + service_stops_cleanly() +
      "\n[[expect]]\nprocess = \"driver\"\noutcome = \"exited\"\nexit_codes = [3]\n");
  INFO(dump(r.scenario));
  CHECK(r.cmd.status == 0);
  CHECK(r.scenario.at("result") == "pass");
  CHECK(index_of(r.scenario, "process.exit", "driver") < index_of(r.scenario, "stop.signal", "service"));
  // Generous: far below the hour either fallback would have taken.
  CHECK(r.scenario.at("duration_ms").get<double>() < 600000);
}

TEST_CASE("driver e2e: without `stop`, the driver's exit does not stop the service", "[driver]") {
  E2E_PRECONDITIONS();
  // The behaviour `stop` changes: here `duration` (after ready) is what stops the service, so
  // the stop phase comes after the driver exited and after `duration`, with no stop.begin event.
  const Run r = run_toml("name = \"duration-led\"\ntimeout = \"120s\"\nduration = \"1500ms\"\n" + kService +
                         driver(0) + service_stops_cleanly());
  INFO(dump(r.scenario));
  CHECK(r.scenario.at("result") == "pass");
  CHECK_FALSE(has_event(r.scenario, "stop.begin"));
  CHECK(index_of(r.scenario, "process.exit", "driver") < index_of(r.scenario, "stop.signal", "service"));
  CHECK(r.scenario.at("duration_ms").get<double>() >= 1500);
}

TEST_CASE("driver e2e: an injection anchored at the driver's exit fires before the stop phase", "[driver]") {
  E2E_PRECONDITIONS();
  // The stop phase comes 1s after the exit; the signal, due at the exit, comes first.
  const Run r = run_toml("name = \"inject-at-exit\"\ntimeout = \"120s\"\nstop = \"driver.exit+1s\"\n" +
                         kService + driver(0) +
                         "\n[[inject]]\nname = \"poke\"\ninto = \"service\"\nkind = \"signal\"\nsignal = "
                         "\"SIGUSR1\"\nat = \"driver.exit\"\n" +
                         service_stops_cleanly("got-usr1"));
  INFO(dump(r.scenario));
  CHECK(r.cmd.status == 0);
  CHECK(r.scenario.at("result") == "pass");
  const long driver_exit = index_of(r.scenario, "process.exit", "driver");
  const long apply = index_of(r.scenario, "inject.apply");
  REQUIRE(driver_exit >= 0);
  CHECK(driver_exit < apply);
  CHECK(apply < index_of(r.scenario, "stop.begin"));
  CHECK(index_of(r.scenario, "stop.begin") < index_of(r.scenario, "stop.signal", "service"));
  CHECK_FALSE(has_event(r.scenario, "inject.skip"));
}

TEST_CASE("driver e2e: probe windows end at the driver's exit and short of an injection's end",
          "[driver][checks]") {
  E2E_PRECONDITIONS();
  // `to = "driver.exit"` closes the first window when the driver exits, a second before the stop
  // phase (1s later); `to = "poke.end-1s"` closes the other window 1s before the revert of a 3s
  // freeze of a bystander process, so that window closes before the revert is recorded.
  const Run r =
      run_toml("name = \"windows\"\ntimeout = \"60s\"\nstop = \"driver.exit+1s\"\n" + kService +
               "\n[[process]]\nname = \"bystander\"\nshell = \"while :; do sleep 0.05; done\"\n" +
               "\n[[process]]\nname = \"driver\"\nshell = \"sleep 5; exit 0\"\nafter = [\"service\"]\n"
               "\n[[inject]]\nname = \"poke\"\ninto = \"bystander\"\nkind = \"freeze\"\nat = "
               "\"ready\"\nduration = \"3s\"\n"
               "\n[[probe]]\nname = \"until-exit\"\nexec = [\"true\"]\nevery = \"100ms\"\n"
               "during = { from = \"ready\", to = \"driver.exit\" }\n"
               "\n[[probe]]\nname = \"short-of-revert\"\nexec = [\"true\"]\nevery = \"100ms\"\n"
               "during = { from = \"poke.start\", to = \"poke.end-1s\" }\n" +
               service_stops_cleanly());
  INFO(dump(r.scenario));
  CHECK(r.scenario.at("result") == "pass");
  const json& timeline = r.scenario.at("timeline");
  const auto closed = [&](const std::string& probe) {
    for (std::size_t i = 0; i < timeline.size(); ++i)
      if (timeline[i].at("event") == "probe.window.close" &&
          timeline[i].value("detail", "").starts_with(probe + " (window end"))
        return static_cast<long>(i);
    return -1L;
  };
  const long driver_exit = index_of(r.scenario, "process.exit", "driver");
  REQUIRE(closed("until-exit") >= 0);
  CHECK(driver_exit < closed("until-exit"));
  CHECK(closed("until-exit") < index_of(r.scenario, "stop.begin"));
  REQUIRE(closed("short-of-revert") >= 0);
  CHECK(index_of(r.scenario, "inject.apply") < closed("short-of-revert"));
  CHECK(closed("short-of-revert") < index_of(r.scenario, "inject.revert"));
}

TEST_CASE("driver e2e: a driver that never exits runs into the timeout: one failure that names it",
          "[driver]") {
  E2E_PRECONDITIONS();
  // Must fail: nothing but the driver's exit would stop the service, and the driver loops.
  const Run r =
      run_toml("name = \"driver-never-exits\"\ntimeout = \"3s\"\nstop = \"driver.exit\"\n" + kService +
               "\n[[process]]\nname = \"driver\"\nshell = \"while :; do sleep 0.05; done\"\n"
               "after = [\"service\"]\n" +
               service_stops_cleanly());
  INFO(dump(r.scenario) << "\n" << r.scenario.at("failures").dump(1));
  CHECK(r.cmd.status != 0);
  CHECK(r.scenario.at("result") == "fail");
  CHECK_FALSE(has_event(r.scenario, "stop.begin"));
  // One cause: the driver's timeout; the service's timeout and broken checks fold under it.
  const json& failures = r.scenario.at("failures");
  REQUIRE(failures.size() == 1);
  CHECK(failures[0].at("check") == "timeout");
  CHECK(failures[0].at("process") == "driver");
  CHECK(failures[0].at("message") ==
        "timed out after 3s; it never exited, so `stop = \"driver.exit\"` never began the stop phase");
  const auto consequences = failures[0].at("consequences").get<std::vector<std::string>>();
  REQUIRE_FALSE(consequences.empty());
  CHECK(consequences[0] == "timeout [service]: timed out after 3s");
  CHECK(
      r.scenario.at("reason").get<std::string>().starts_with("timeout: timed out after 3s; it never exited"));
  CHECK(r.cmd.out.find("therefore timeout [service]: timed out after 3s") != std::string::npos);
}

TEST_CASE("driver e2e: `duration` beside `stop` cuts a driver that runs too long short, and says so",
          "[driver]") {
  E2E_PRECONDITIONS();
  const Run r = run_toml(
      "name = \"duration-ceiling\"\ntimeout = \"120s\"\nduration = \"1s\"\nstop = \"driver.exit\"\n" +
      kService +
      "\n[[process]]\nname = \"driver\"\nshell = \"trap 'exit 0' TERM; while :; do sleep 0.05; done\"\n"
      "after = [\"service\"]\n" +
      service_stops_cleanly());
  INFO(dump(r.scenario));
  CHECK(r.scenario.at("result") == "pass");
  const long begin = index_of(r.scenario, "stop.begin");
  REQUIRE(begin >= 0);
  CHECK(r.scenario.at("timeline")[begin].at("detail") ==
        "`duration` 1s ran out before `driver` exited (stop = \"driver.exit\")");
  // Reverse start order: the driver is asked to stop first, then the service.
  CHECK(begin < index_of(r.scenario, "stop.signal", "driver"));
  CHECK(index_of(r.scenario, "stop.signal", "driver") < index_of(r.scenario, "stop.signal", "service"));
  CHECK_FALSE(has_event(r.scenario, "timeout"));
}

TEST_CASE("driver e2e: `plan` shows the stop phase at the driver's exit, without the driver", "[driver]") {
  if (faultline_path().empty() || source_dir().empty())
    FAULTLINE_SKIP("FAULTLINE_BIN / FAULTLINE_SOURCE_DIR not set");
  const CommandOutput plan = run_shell(quote(faultline_path()) + " plan " +
                                       quote(source_dir() + "/scenarios/examples/driver-led-stop.toml"));
  INFO(plan.out << plan.err);
  CHECK(plan.status == 0);
  CHECK(plan.out.find("duration none, stop client.exit\n") != std::string::npos);
  CHECK(plan.out.find("  client.exit         stop phase when client exits: SIGTERM backend (grace 5s)\n") !=
        std::string::npos);
  CHECK(plan.out.find("no duration") == std::string::npos);

  // With an offset and a `duration` ceiling, the line says both.
  const fs::path dir = fs::temp_directory_path() / ("faultline-driver-plan-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "s.toml") << "name = \"x\"\nduration = \"1h\"\nstop = \"driver.exit+2s\"\n" + kService +
                                       driver(0);
  const CommandOutput both = run_shell(quote(faultline_path()) + " plan " + quote((dir / "s.toml").string()));
  fs::remove_all(dir);
  INFO(both.out << both.err);
  CHECK(both.status == 0);
  CHECK(both.out.find("duration 1h, stop driver.exit+2s\n") != std::string::npos);
  CHECK(
      both.out.find("  driver.exit+2s      stop phase 2s after driver exits or at ready+1h, whichever comes "
                    "first: SIGTERM service (grace 20s)\n") != std::string::npos);
}
