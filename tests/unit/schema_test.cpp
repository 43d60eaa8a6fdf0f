// The JSON Schema generated from the format description.
#include "scenario/schema.h"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>

#include "scenario/spec.h"
#include "tests/support/scratch_dir.h"
#include "tests/support/skips.h"

namespace fs = std::filesystem;
using namespace faultline::scenario;

namespace {

const fs::path kFixtures = fs::path(FAULTLINE_TEST_SOURCE_DIR) / "tests/unit/fixtures";

int run(const std::string& command) {
  const int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

bool python_has(const std::string& modules) {
  return run("/usr/bin/python3 -c 'import " + modules + "' >/dev/null 2>&1") == 0;
}

}  // namespace

TEST_CASE("the schema is valid JSON and lists every top-level key", "[schema]") {
  if (!python_has("json")) FAULTLINE_SKIP("python3 is not available to parse the schema");
  faultline::test::ScratchDir dir;
  const fs::path schema = dir.path() / "schema.json";
  const fs::path keys = dir.path() / "keys.txt";
  std::ofstream(schema) << scenario_json_schema();
  REQUIRE(run("/usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); "
              "assert d[\"$schema\"] == \"http://json-schema.org/draft-07/schema#\"; "
              "open(sys.argv[2], \"w\").write(\"\\n\".join(d[\"properties\"]))' " +
              schema.string() + " " + keys.string()) == 0);
  std::ifstream in(keys);
  std::vector<std::string> listed;
  for (std::string line; std::getline(in, line);) listed.push_back(line);
  std::vector<std::string> described;
  for (const auto& key : spec::scenario_spec().keys) described.emplace_back(key.name);
  CHECK(listed == described);
  for (const char* key : {"name", "timeout", "duration", "vars", "target", "process", "inject", "expect",
                          "probe", "chaos", "on_timeout"})
    CHECK(std::find(listed.begin(), listed.end(), key) != listed.end());
}

TEST_CASE("the duration pattern rejects bare numbers", "[schema]") {
  const std::regex duration(kDurationPattern, std::regex::ECMAScript);
  for (const char* ok : {"250ms", "2s", "1m30s", "1h", "1.5s", "100us", "${timeout}"})
    CHECK(std::regex_match(ok, duration));
  for (const char* bad : {"5", "1.5", "", "2 s", "s", "-1s", "5x"})
    CHECK_FALSE(std::regex_match(bad, duration));

  const std::regex size(kSizePattern, std::regex::ECMAScript);
  for (const char* ok : {"64MiB", "1GiB", "100MB", "0B", "max", "4096", "1.5GiB"})
    CHECK(std::regex_match(ok, size));
  for (const char* bad : {"lots", "-1MiB", "64 MiB", "MiB", "64mb", "64Mb", "64m", "1k", "2kib", "4096b"})
    CHECK_FALSE(std::regex_match(bad, size));
}

TEST_CASE("the address patterns take the shapes the loader takes", "[schema]") {
  const std::regex host_port(kHostPortPattern, std::regex::ECMAScript);
  for (const char* ok : {"127.0.0.1:8080", "[::1]:80", "localhost:5432", "127.0.0.1:${port}"})
    CHECK(std::regex_match(ok, host_port));
  for (const char* bad : {"127.0.0.1", ":8080", "127.0.0.1:abc", "http://127.0.0.1:80/", "::1:80"})
    CHECK_FALSE(std::regex_match(bad, host_port));
  const std::regex url(kHttpUrlPattern, std::regex::ECMAScript);
  for (const char* ok :
       {"http://127.0.0.1:8080/healthz", "http://localhost", "http://[::1]:9000?x", "${base}/orders"})
    CHECK(std::regex_match(ok, url));
  for (const char* bad : {"https://127.0.0.1/", "127.0.0.1:8080", "http://127.0.0.1:abc/", "http://user@h/"})
    CHECK_FALSE(std::regex_match(bad, url));
}

TEST_CASE("the example scenarios validate against the schema, and mistakes do not", "[schema]") {
  if (!python_has("json, tomllib, jsonschema"))
    FAULTLINE_SKIP("python3 with tomllib and jsonschema is needed to validate TOML against the schema");
  faultline::test::ScratchDir dir;
  const fs::path schema = dir.path() / "schema.json";
  std::ofstream(schema) << scenario_json_schema();
  const auto validates = [&](const fs::path& toml) {
    return run("/usr/bin/python3 -c 'import json,sys,tomllib,jsonschema; "
               "jsonschema.Draft7Validator(json.load(open(sys.argv[1]))).validate(tomllib.load(open(sys.argv["
               "2], \"rb\")))' " +
               schema.string() + " " + toml.string() + " >/dev/null 2>&1") == 0;
  };
  CHECK(validates(kFixtures / "full.toml"));
  CHECK(validates(kFixtures / "minimal.toml"));
  const std::vector<std::string> mistakes = {
      "name = \"x\"\ntimeout = 5\n[target]\ncommand = [\"a\"]\n",                 // bare number
      "name = \"x\"\ntimeout = \"5\"\n[target]\ncommand = [\"a\"]\n",             // no unit
      "name = \"x\"\n[target]\ncommand = [\"a\"]\n[expect]\ngraceful_ = true\n",  // unknown key
      "name = \"x\"\n[target]\ncommand = [\"a\"]\nshell = \"a\"\n",               // both
      "[target]\ncommand = [\"a\"]\n",                                            // no name
      "name = \"x\"\n[target]\ncommand = [\"a\"]\n[[inject]]\nkind = \"freeze\"\nat = \"1s\"\nlimit = 3\n",
      "name = \"x\"\n[target]\ncommand = [\"a\"]\n[[inject]]\nkind = \"pids\"\nat = \"1s\"\nlimit = "
      "\"4MiB\"\n",
      "name = \"x\"\n[target]\ncommand = [\"a\"]\n[expect]\noutcome = \"exitd\"\n",
      "name = \"x\"\n[target]\ncommand = [\"a\"]\nlimits.memory = \"64mb\"\n",     // ambiguous unit
      "name = \"x\"\n[target]\ncommand = [\"a\"]\nready.http = \"https://h/\"\n",  // https
      "name = \"x\"\n[target]\ncommand = [\"a\"]\nready.tcp = \"127.0.0.1\"\n",    // no port
      "name = \"x\"\n[target]\ncommand = [\"a\"]\nlimits.pids = 4194305\n",        // past PID_MAX_LIMIT
      "name = \"x\"\n[target]\ncommand = [\"a\"]\n[chaos]\nwindow = { from = \"1s\" }\n",  // chaos needs `to`
      "name = \"x\"\nstop = \"ready+5s\"\n[target]\ncommand = [\"a\"]\n",  // `stop` is a process's exit
      "name = \"x\"\nstop = \"load.exit-1s\"\n[target]\ncommand = [\"a\"]\n",
      "name = \"x\"\n[target]\ncommand = [\"a\"]\n[expect]\noom_kills = \">= 1\"\n",   // spaced
      "name = \"x\"\n[target]\ncommand = [\"a\"]\n[expect]\noom_kills = \">=1.5\"\n",  // not whole
      "name = \"x\"\n[target]\ncommand = [\"a\"]\n[expect]\npids_max_events = -1\n",
      "name = \"x\"\n[target]\ncommand = [\"a\"]\n[[inject]]\nkind = \"freeze\"\nat = \"ready-1s\"\n",
      "name = \"\"\n[target]\ncommand = [\"a\"]\n",                  // empty text
      "name = \"x\"\n[target]\nshell = \"\"\n",                      // runs nothing, passes
      "name = \"x\"\n[target]\ncommand = [\"\", \"-v\"]\n",          // no program
      "name = \"x\"\ntags = [\"\"]\n[target]\ncommand = [\"a\"]\n",  // empty item
  };
  // The new shapes: counts with comparisons, `stop` at an exit, `-` after `<inject>.end`.
  const fs::path shapes =
      dir.write("shapes.toml",
                "name = \"x\"\nstop = \"load.exit+500ms\"\n[[process]]\nname = \"load\"\n"
                "command = [\"a\"]\n[[inject]]\nname = \"sq\"\nkind = \"freeze\"\nat = \"load.exit\"\n"
                "duration = \"2s\"\n[[probe]]\ntcp = \"h:1\"\nduring = { from = \"sq.start\", to = "
                "\"sq.end-300ms\" }\n[expect]\noom_kills = \">=1\"\npids_max_events = 0\n");
  CHECK(validates(shapes));
  const fs::path open_window =
      dir.write("open-window.toml",
                "name = \"x\"\n[target]\ncommand = [\"a\"]\n[[probe]]\ntcp = \"h:1\"\n"
                "during = { from = \"1s\" }\n");
  CHECK(validates(open_window));
  // An argument may be empty, as in the loader.
  CHECK(
      validates(dir.write("empty-argument.toml", "name = \"x\"\n[target]\ncommand = [\"printf\", \"\"]\n")));
  for (std::size_t i = 0; i < mistakes.size(); ++i) {
    const fs::path file = dir.write("bad" + std::to_string(i) + ".toml", mistakes[i]);
    INFO(mistakes[i]);
    CHECK_FALSE(validates(file));
  }
}
