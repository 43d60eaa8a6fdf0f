// Checks a JSON report against docs/report.schema.json with python3-jsonschema, as a CI
// consumer of the report would.
#pragma once

#include <cstdlib>
#include <string>

#include "tests/support/command.h"
#include "tests/support/test_env.h"

namespace faultline::test {

// The schema's own errors, then the report's ("path: message" a line); "" when both are valid.
inline std::string report_schema_errors(const std::string& report) {
  const std::string script =
      "import json, sys, jsonschema\n"
      "schema = json.load(open(sys.argv[1]))\n"
      "jsonschema.Draft202012Validator.check_schema(schema)\n"
      "errors = list(jsonschema.Draft202012Validator(schema).iter_errors(json.load(open(sys.argv[2]))))\n"
      "for e in errors: print('/'.join(map(str, e.absolute_path)) + ': ' + e.message)\n"
      "sys.exit(1 if errors else 0)\n";
  const auto r = run_shell("/usr/bin/python3 -c " + quote(script) + " " +
                           quote(source_dir() + "/docs/report.schema.json") + " " + quote(report));
  return r.status == 0 ? "" : r.out + r.err;
}

// False in the cgroup v2 guest of tests/vm, which holds no Python: tests that check a report's
// schema in passing keep their other checks there (every host run checks the schema).
inline bool report_schema_checkable() {
  const char* environment = std::getenv("FAULTLINE_TEST_ENVIRONMENT");
  return environment == nullptr || std::string(environment) != "vm";
}

}  // namespace faultline::test
