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
  const Run r = run_toml("name = \"driver-led\"\ntimeout = \"120s\"\nstop = \"driver.exit\"\n" + kService +
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
  CHECK(r.scenario.at("duration_ms").get<double>() < 100000);
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
}
