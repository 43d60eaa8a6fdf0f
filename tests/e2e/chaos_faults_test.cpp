// [chaos] drawing syscall and network faults, as users see it: `plan --seed N` lists the drawn
// fault and `run --seed N` applies it; the JSON report shows that it hit (syscall_faults counts,
// the proxy's toxics_touched).
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>

#include "tests/support/bundled_scenario.h"
#include "tests/support/command.h"
#include "tests/support/skips.h"
#include "tests/support/test_env.h"

using namespace faultline::test;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

std::string scenario_path(const std::string& rel) { return source_dir() + "/scenarios/" + rel; }

json run_scenario(const std::string& rel, const std::string& seed, CommandOutput& cmd) {
  return run_bundled_scenario(rel, cmd, {.extra_args = "--seed " + seed, .check_report_schema = false});
}

std::string plan(const std::string& rel, const std::string& seed) {
  const auto r =
      run_shell(quote(faultline_path()) + " plan " + quote(scenario_path(rel)) + " --seed " + seed);
  INFO(r.out << r.err);
  REQUIRE(r.status == 0);
  return r.out;
}

// The timeline line of `plan` that applies chaos#1.
std::string drawn_line(const std::string& plan_text) {
  const auto at = plan_text.find("inject chaos#1 (");
  REQUIRE(at != std::string::npos);
  return plan_text.substr(at, plan_text.find('\n', at) - at);
}

}  // namespace

TEST_CASE("chaos: a drawn syscall fault is planned, applied and fires", "[e2e][chaos][syscall]") {
  if (auto why = bundled_scenario_skip_reason()) FAULTLINE_SKIP(*why);
  const std::string rel = "selftest/chaos-syscall.toml";
  const std::string line = drawn_line(plan(rel, "4242"));
  INFO(line);
  CHECK(line.find("write") != std::string::npos);
  CHECK((line.find("ENOSPC") != std::string::npos || line.find("EIO") != std::string::npos));
  CHECK(drawn_line(plan(rel, "4242")) == line);  // same seed, same draw

  CommandOutput cmd;
  const json s = run_scenario(rel, "4242", cmd);
  INFO("stdout: " << cmd.out << "\nreport: " << s.dump(1));
  CHECK(cmd.status == 0);
  CHECK(s.at("result") == "pass");
  const json* counted = nullptr;
  for (const auto& c : s.at("syscall_faults"))
    if (c.at("inject") == "chaos#1") counted = &c;
  REQUIRE(counted);
  CHECK(counted->at("hit").get<int>() >= 1);
  for (const auto& e : s.at("timeline"))
    if (e.at("event") == "syscall.fail") {
      CHECK(e.at("inject") == "chaos#1");
      const std::string detail = e.at("detail");
      CHECK(detail.find(" write ") != std::string::npos);
      CHECK(detail.find("/tmp/faultline-chaos-syscall-") != std::string::npos);
      // The errno the plan showed is the one the calls got.
      CHECK(line.find(detail.substr(detail.rfind("-> ") + 3)) != std::string::npos);
    }
}

TEST_CASE("chaos: a drawn latency fault is planned, applied on the proxy and touches connections",
          "[e2e][chaos][proxy]") {
  if (auto why = bundled_scenario_skip_reason()) FAULTLINE_SKIP(*why);
  const std::string rel = "selftest/chaos-network.toml";
  const std::string line = drawn_line(plan(rel, "7"));
  INFO(line);
  CHECK(line.find("latency") != std::string::npos);
  CHECK(line.find("on proxy backend-proxy)") != std::string::npos);

  CommandOutput cmd;
  const json s = run_scenario(rel, "7", cmd);
  INFO("stdout: " << cmd.out << "\nreport: " << s.dump(1));
  CHECK(cmd.status == 0);
  CHECK(s.at("result") == "pass");
  bool applied = false;
  for (const auto& e : s.at("timeline"))
    applied = applied || (e.at("event") == "inject.apply" && e.value("inject", "") == "chaos#1");
  CHECK(applied);
  REQUIRE(s.at("proxies").size() == 1);
  const json& px = s.at("proxies")[0];
  CHECK(px.at("name") == "backend-proxy");
  CHECK(px.at("toxics_touched").at("chaos#1").get<int>() >= 1);
}
