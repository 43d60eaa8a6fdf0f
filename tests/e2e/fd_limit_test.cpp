// faultline raises its own open-files soft limit (a proxied connection costs it about six
// descriptors) and gives every target back the limit faultline was started with.
#include <sys/resource.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>

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
