// Output checks as users write them: a real target, a real run, the JSON report.
#include <catch2/catch.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "tests/support/bundled_scenario.h"
#include "tests/support/command.h"
#include "tests/support/test_env.h"

using namespace faultline::test;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

const json* failure(const json& scenario, const std::string& check) {
  for (const auto& f : scenario["failures"])
    if (f["check"] == check) return &f;
  return nullptr;
}

}  // namespace

TEST_CASE("run: a panic that scrolled out of the output tail still fails not_contains, at its line") {
  CommandOutput cmd;
  const json s = run_bundled_scenario("selftest/failing/panic-scrolled-out.toml", cmd);
  INFO(s.dump(2).substr(0, 4000));
  CHECK(cmd.status == 1);
  CHECK(s["result"] == "fail");
  const json& p = s["processes"][0];
  // The precondition of the test: the report's tail no longer holds the panic.
  CHECK(p["stdout_bytes"].get<std::uint64_t>() > 1024 * 1024);
  CHECK(p["stdout_tail"].get<std::string>().find("panic") == std::string::npos);

  const json* literal = failure(s, "expect.stdout.not_contains");
  REQUIRE(literal);
  CHECK((*literal)["actual"] == "line 1 (byte 10): worker 3: panic: nil map");
  CHECK((*literal)["message"] == "stdout contains \"panic\" at line 1: worker 3: panic: nil map");
  const json* regex = failure(s, "expect.stdout.not_matches");
  REQUIRE(regex);
  CHECK((*regex)["actual"] == "line 1 (byte 0): worker 3: panic: nil map");
  CHECK_FALSE(failure(s, "expect.stdout.contains"));
  CHECK(s["failures"].size() == 2);
}
