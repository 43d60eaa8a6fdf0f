// faultline raises its own open-files soft limit (a proxied connection costs it about six
// descriptors) and gives every target back the limit faultline was started with.
#include <linux/capability.h>
#include <sys/resource.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>

#include "common/proc_status.h"
#include "tests/support/command.h"
#include "tests/support/scratch_dir.h"
#include "tests/support/skips.h"
#include "tests/support/test_env.h"

using namespace faultline::test;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

std::optional<std::string> skip_reason() {
  if (::geteuid() != 0) return "not root: scenarios need to create cgroups";
  if (faultline_path().empty() || payload_path().empty()) return "FAULTLINE_BIN / FAULTLINE_PAYLOAD not set";
  rlimit limit{};
  ::getrlimit(RLIMIT_NOFILE, &limit);
  if (limit.rlim_max != RLIM_INFINITY && limit.rlim_max < 4096)
    return "the hard open-files limit is below 4096: there is nothing to raise to";
  return std::nullopt;
}

}  // namespace

TEST_CASE("a target starts with the open-files limit faultline was given, not the harness's own",
          "[fd-limit][e2e]") {
  if (auto why = skip_reason()) FAULTLINE_SKIP(*why);
  const auto given =
      run_shell("ulimit -Sn 256 && " + quote(faultline_path()) + " exec -- sh -c 'ulimit -Sn'");
  INFO(given.err);
  CHECK(given.status == 0);
  CHECK(given.out == "256\n");
  // A limit the command asks for still wins.
  const auto asked =
      run_shell("ulimit -Sn 256 && " + quote(faultline_path()) + " exec --nofile 77 -- sh -c 'ulimit -Sn'");
  CHECK(asked.out == "77\n");
}

TEST_CASE("the harness holds more proxied connections than the soft limit it was started with",
          "[fd-limit][proxy][e2e]") {
  if (auto why = skip_reason()) FAULTLINE_SKIP(*why);
  ScratchDir dir;
  const fs::path scenario = dir.path() / "many-connections.toml";
  const fs::path report = dir.path() / "report.json";
  // 60 connections cost the proxy about 360 descriptors, far past a soft limit of 64.
  std::ofstream(scenario) << R"(name = "sixty connections through a proxy started under a soft limit of 64"
timeout = "30s"
stop = "client.exit"

[vars]
upstream_port = "auto-port"
proxy_port = "auto-port"

[[process]]
name = "upstream"
command = ["${faultline_dir}/faultline-demo-backend", "--port", "${upstream_port}"]
ready = { http = "http://127.0.0.1:${upstream_port}/healthz" }
# Targets start with faultline's own soft limit of 64: the upstream needs room for 60 connections.
limits = { nofile = 1024 }

[[proxy]]
name = "many"
listen = "127.0.0.1:${proxy_port}"
upstream = "127.0.0.1:${upstream_port}"
after = ["upstream"]

[[process]]
name = "client"
command = [")" + payload_path() + R"(", "connect", "${proxy_port}", "60", "--hold", "2s"]
after = ["many"]

[[expect]]
process = "client"
exit_codes = [0]
stdout.contains = ["connected 60 of 60"]
)";
  const auto run = run_shell("ulimit -Sn 64 && " + quote(faultline_path()) + " run " +
                             quote(scenario.string()) + " --json " + quote(report.string()));
  INFO(run.out << run.err);
  REQUIRE(fs::exists(report));
  const json scenario_result = json::parse(read_file(report)).at("scenarios").at(0);
  CHECK(scenario_result.at("result") == "pass");
  const json& proxy = scenario_result.at("proxies").at(0);
  CHECK(proxy.at("accepted") == 60);
  CHECK(proxy.at("reset") == 0);
}

// Without CAP_SYS_RESOURCE (most containers) a windowed fd fault lowers only the soft limit, and
// a program may raise it back, as Go's runtime does at start. One that did so and exited before
// the fault's end is gone when the end looks: the run must still not pass.
TEST_CASE("a program that raised its way out of a soft-only fd fault and exited before its end fails the run",
          "[fd-limit][e2e]") {
  if (auto why = skip_reason()) FAULTLINE_SKIP(*why);
  if (::access("/usr/bin/python3", X_OK) != 0) FAULTLINE_SKIP("no python3 here (it plays Go's runtime)");
  if (::access("/usr/bin/setpriv", X_OK) != 0) FAULTLINE_SKIP("no setpriv here (util-linux)");
  ScratchDir dir;
  const fs::path scenario = dir.path() / "dodged.toml";
  std::ofstream(scenario) << R"(name = "a program raises its soft open-files limit under a fault and exits"
timeout = "30s"

[target]
shell = """sleep 1.5
python3 -c 'import resource as r; s, h = r.getrlimit(r.RLIMIT_NOFILE); r.setrlimit(r.RLIMIT_NOFILE, (h, h)); print("soft", r.getrlimit(r.RLIMIT_NOFILE)[0]); import time; time.sleep(0.3)'
sleep 3"""

[[inject]]
name = "few-fds"
kind = "fd"
nofile = 16
at = "0.5s"
duration = "3s"   # ends after python has exited

[expect]
exit_codes = [0]
stdout.contains = ["soft 16\n"]  # the program could not get past the fault
)";
  const auto run_it = [&](const std::string& prefix, const std::string& name) {
    const fs::path report = dir.path() / (name + ".json");
    const auto run = run_shell(prefix + quote(faultline_path()) + " run " + quote(scenario.string()) +
                               " --json " + quote(report.string()));
    INFO(run.out << run.err);
    REQUIRE(fs::exists(report));
    return json::parse(read_file(report)).at("scenarios").at(0);
  };
  // With CAP_SYS_RESOURCE both limits move: the program cannot get past 16, and the run passes.
  if (faultline::has_effective_capability(CAP_SYS_RESOURCE)) {
    const json held = run_it("", "held");
    INFO(held.dump(2));
    CHECK(held.at("result") == "pass");
  }
  // Without it (dropped from the bounding set, as a container does), only the soft limit moves.
  const json dodged = run_it("setpriv --bounding-set -sys_resource ", "dodged");
  INFO(dodged.dump(2));
  CHECK(dodged.at("result") != "pass");
  CHECK_THAT(dodged.dump(),
             Catch::Contains("(started while the fault was on) raised its soft RLIMIT_NOFILE from 16 to ") &&
                 Catch::Contains("it never held"));
}
