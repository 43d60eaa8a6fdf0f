// `kind = "syscall"` injections in scenario files: the model the loader builds, and the names
// checked against this host's syscall and errno tables with positions and did-you-mean hints.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <string>
#include <variant>

#include "scenario/loader.h"
#include "scenario/schema.h"
#include "syscall/rules.h"
#include "tests/support/scenario_text.h"
#include "tests/support/scratch_dir.h"
#include "tests/support/skips.h"

using namespace faultline::scenario;

namespace {

using faultline::test::errors_of;
using faultline::test::host_load_options;
using faultline::test::load_text;

const std::string kHead =
    "name = \"x\"\n[target]\ncommand = [\"true\"]\n[[inject]]\nkind = \"syscall\"\nat = \"0s\"\n";

SyscallFault fault_of(const std::string& toml) {
  const Scenario s = load_text(toml, host_load_options());
  REQUIRE(s.injections.size() == 1);
  REQUIRE(std::holds_alternative<SyscallFault>(s.injections[0].params));
  return std::get<SyscallFault>(s.injections[0].params);
}

}  // namespace

TEST_CASE("a syscall injection's keys build its model", "[loader][syscall]") {
  const SyscallFault f =
      fault_of(kHead +
               "name = \"disk-full\"\nduration = \"2s\"\nsyscalls = [\"write\", \"pwrite64\"]\n"
               "errno = \"ENOSPC\"\npath = \"/var/lib/app/*\"\nevery = 3\ndelay = \"200ms\"\n");
  CHECK(f.syscalls == std::vector<std::string>{"write", "pwrite64"});
  CHECK(f.error == "ENOSPC");
  CHECK_FALSE(f.return_value);
  CHECK(f.path_glob == "/var/lib/app/*");
  CHECK(f.select == SyscallFault::Select::every);
  CHECK(f.n == 3);
  CHECK(f.delay == std::chrono::milliseconds(200));
}

TEST_CASE("a syscall injection's selection and result forms", "[loader][syscall]") {
  using Select = SyscallFault::Select;
  const std::string base = kHead + "syscalls = [\"openat\"]\n";
  CHECK(fault_of(base + "errno = \"EMFILE\"\n").select == Select::every_call);
  {
    const auto f = fault_of(base + "errno = \"EMFILE\"\nnth = 1000\n");
    CHECK((f.select == Select::nth && f.n == 1000));
  }
  {
    const auto f = fault_of(base + "errno = \"EMFILE\"\nafter = 0\n");
    CHECK((f.select == Select::after && f.n == 0));
  }
  {
    const auto f = fault_of(base + "errno = \"EMFILE\"\nprobability = 0.25\noptional = true\n");
    CHECK((f.select == Select::probability && f.probability == 0.25));
  }
  {
    const auto f = fault_of(kHead + "syscalls = [\"write\"]\nreturn = 0\n");
    CHECK((f.return_value == 0 && !f.error));
  }
  {
    const auto f = fault_of(kHead + "syscalls = [\"fsync\"]\ndelay = \"500ms\"\n");
    CHECK((!f.error && !f.return_value && f.delay == std::chrono::milliseconds(500)));
  }
}

TEST_CASE("unknown syscall and errno names are load errors with positions and did-you-mean",
          "[loader][syscall]") {
  CHECK(errors_of(kHead + "syscalls = [\"write\", \"opneat\"]\nerrno = \"ENOSPC\"\n", host_load_options()) ==
        "s.toml:7:22: inject.syscalls: unknown system call `opneat` on this host; did you mean `openat`? "
        "(names as in syscalls(2))\n"
        "   7 | syscalls = [\"write\", \"opneat\"]\n"
        "     |                      ^");
  CHECK(errors_of(kHead + "syscalls = [\"write\"]\nerrno = \"ENOSCP\"\n", host_load_options()) ==
        "s.toml:8:9: inject.errno: unknown errno `ENOSCP`; did you mean `ENOSPC`? (names as in errno(3))\n"
        "   8 | errno = \"ENOSCP\"\n"
        "     |         ^");
  // Nothing close: the hint names examples instead.
  CHECK(errors_of(kHead + "syscalls = [\"zzzzzzzzzzzz\"]\nerrno = \"EIO\"\n", host_load_options()) ==
        "s.toml:7:13: inject.syscalls: unknown system call `zzzzzzzzzzzz` on this host; names as in "
        "syscalls(2), e.g. openat, write, fsync\n"
        "   7 | syscalls = [\"zzzzzzzzzzzz\"]\n"
        "     |             ^");
}

TEST_CASE("without the host's tables the names are left to the run", "[loader][syscall]") {
  CHECK(errors_of(kHead + "syscalls = [\"opneat\"]\nerrno = \"ENOSCP\"\n", LoadOptions{}).empty());
}

TEST_CASE("a syscall injection needs an action and at most one result and one selection",
          "[loader][syscall]") {
  CHECK(errors_of(kHead + "syscalls = [\"write\"]\n", host_load_options()) ==
        "s.toml:4:1: [[inject]] of kind \"syscall\" needs at least one of `errno`, `return` or `delay`\n"
        "   4 | [[inject]]\n"
        "     | ^");
  CHECK(
      errors_of(kHead + "syscalls = [\"write\"]\nerrno = \"EIO\"\nreturn = 0\n", host_load_options()) ==
      "s.toml:9:10: `errno` and `return` cannot both be given in [[inject]] of kind \"syscall\"; choose one "
      "of `errno` or `return`\n"
      "   9 | return = 0\n"
      "     |          ^");
  CHECK(errors_of(kHead + "syscalls = [\"write\"]\nerrno = \"EIO\"\nprobability = 0.5\nafter = 3\n",
                  host_load_options()) ==
        "s.toml:9:15: `after` and `probability` cannot both be given in [[inject]] of kind \"syscall\"; "
        "choose one of `every`, `nth`, `after` or `probability`\n"
        "   9 | probability = 0.5\n"
        "     |               ^");
  CHECK(errors_of(kHead + "errno = \"EIO\"\n", host_load_options()).find("missing required key `syscalls`") !=
        std::string::npos);
  CHECK(errors_of(kHead + "syscalls = [\"write\"]\nerrno = \"EIO\"\nevery = 0\n", host_load_options())
            .find("every") != std::string::npos);
  // An empty glob matches no path. `validate` passed it and only the run refused it, without a
  // position.
  CHECK(errors_of(kHead + "syscalls = [\"openat\"]\nerrno = \"EIO\"\npath = \"\"\n", host_load_options()) ==
        "s.toml:9:8: inject.path: the value is empty; give it a value, or leave the key out\n"
        "   9 | path = \"\"\n"
        "     |        ^");
  const std::string chaos =
      "name = \"x\"\n[target]\ncommand = [\"true\"]\n[chaos]\nwindow = { from = \"1s\", to = \"2s\" }\n"
      "kinds = [\"syscall\"]\n[chaos.syscall]\nsyscalls = [\"openat\"]\npath = [\"/data/*\", \"\"]\n";
  CHECK(errors_of(chaos, host_load_options()) ==
        "s.toml:9:20: chaos.syscall.path: an item is empty; remove the empty item\n"
        "   9 | path = [\"/data/*\", \"\"]\n"
        "     |                    ^");
}

TEST_CASE("the JSON Schema takes a syscall injection and refuses the same mistakes", "[schema][syscall]") {
  if (std::system("/usr/bin/python3 -c 'import json, tomllib, jsonschema' >/dev/null 2>&1") != 0)
    FAULTLINE_SKIP("python3 with tomllib and jsonschema is needed to validate TOML against the schema");
  faultline::test::ScratchDir dir;
  const auto schema = dir.write("schema.json", scenario_json_schema());
  const auto validates = [&](const std::string& name, const std::string& toml) {
    const auto file = dir.write(name, toml);
    const std::string cmd =
        "/usr/bin/python3 -c 'import json,sys,tomllib,jsonschema; "
        "jsonschema.Draft7Validator(json.load(open(sys.argv[1]))).validate(tomllib.load(open(sys.argv[2], "
        "\"rb\")))' " +
        schema + " " + file + " >/dev/null 2>&1";
    return std::system(cmd.c_str()) == 0;
  };
  const std::string write = kHead + "syscalls = [\"write\"]\n";
  CHECK(
      validates("ok.toml", write + "errno = \"ENOSPC\"\nevery = 3\npath = \"/var/*\"\nduration = \"2s\"\n"));
  CHECK(validates("delay.toml", write + "delay = \"200ms\"\n"));
  CHECK(validates("return.toml", write + "return = 0\nnth = 2\noptional = true\n"));
  CHECK_FALSE(validates("nothing.toml", write));
  CHECK_FALSE(validates("both.toml", write + "errno = \"EIO\"\nreturn = 0\n"));
  CHECK_FALSE(validates("two-selections.toml", write + "errno = \"EIO\"\nevery = 2\nnth = 3\n"));
  CHECK_FALSE(validates("no-syscalls.toml", kHead + "errno = \"EIO\"\n"));
  CHECK(validates("fds.toml", write + "errno = \"EIO\"\nfds = \"sockets\"\n"));
  CHECK_FALSE(validates("bad-fds.toml", write + "errno = \"EIO\"\nfds = \"socket\"\n"));
  const std::string named = write + "name = \"d\"\nerrno = \"EIO\"\n[expect]\n";
  CHECK(validates("counts.toml", named + "syscall_failures = { d = \">=1\" }\n"));
  CHECK(validates("exact.toml", named + "syscall_failures = { d = 0 }\n"));
  CHECK_FALSE(validates("bad-count.toml", named + "syscall_failures = { d = \">= 1\" }\n"));
  CHECK_FALSE(validates("not-a-table.toml", named + "syscall_failures = \">=1\"\n"));
}

TEST_CASE("[expect] syscall_failures counts by syscall injection name", "[loader][syscall]") {
  faultline::test::ScratchDir dir;
  const std::string base = kHead + "name = \"disk-full\"\nsyscalls = [\"write\"]\nerrno = \"ENOSPC\"\n";
  const Scenario s =
      load_scenario(dir.write("s.toml", base + "[expect]\nsyscall_failures = { \"disk-full\" = \">=2\" }\n"),
                    host_load_options());
  REQUIRE(s.expects.size() == 1);
  REQUIRE(s.expects[0].syscall_failures.size() == 1);
  CHECK(s.expects[0].syscall_failures.at("disk-full") == Comparison{Comparison::Op::ge, 2});
  CHECK(s.expects[0].key_pos.at("syscall_failures.disk-full").line == 11);
  const Scenario exact = load_scenario(
      dir.write("e.toml", base + "[expect]\nsyscall_failures = { disk-full = 0 }\n"), host_load_options());
  CHECK(exact.expects[0].syscall_failures.at("disk-full") == Comparison{Comparison::Op::eq, 0});
}

TEST_CASE("syscall_failures names must be syscall injections of the table's process", "[loader][syscall]") {
  const std::string base = kHead + "name = \"disk-full\"\nsyscalls = [\"write\"]\nerrno = \"ENOSPC\"\n";
  CHECK(errors_of(base + "[expect]\nsyscall_failures = { disk-ful = \">=1\" }\n", host_load_options()) ==
        "s.toml:11:22: expect.syscall_failures.disk-ful: unknown injection `disk-ful` (syscall injections: "
        "disk-full); did you mean `disk-full`?\n"
        "   11 | syscall_failures = { disk-ful = \">=1\" }\n"
        "      |                      ^");
  CHECK(errors_of(base + "[[inject]]\nname = \"stop\"\nkind = \"signal\"\nat = \"1s\"\n"
                         "[expect]\nsyscall_failures = { stop = 1 }\n",
                  host_load_options()) ==
        "s.toml:15:22: expect.syscall_failures.stop: injection `stop` is of kind \"signal\", not a syscall "
        "injection; syscall_failures counts the calls a kind = \"syscall\" injection hit\n"
        "   15 | syscall_failures = { stop = 1 }\n"
        "      |                      ^");
  CHECK(errors_of(base + "[expect]\nsyscall_failures = { disk-full = \">=x\" }\n", host_load_options())
            .find("s.toml:11:34: expect.syscall_failures.disk-full: expected a count") != std::string::npos);
  CHECK(errors_of(base + "[expect]\nsyscall_failures = 3\n", host_load_options())
            .find("s.toml:11:20: expect.syscall_failures: expected a table of counts by injection name") !=
        std::string::npos);

  const std::string two =
      "name = \"x\"\n[[process]]\nname = \"db\"\ncommand = [\"true\"]\n[[process]]\nname = \"app\"\n"
      "command = [\"true\"]\n[[inject]]\nname = \"disk-full\"\nkind = \"syscall\"\ninto = \"db\"\nat = "
      "\"0s\"\n"
      "syscalls = [\"write\"]\nerrno = \"ENOSPC\"\n[[expect]]\nprocess = \"app\"\n"
      "syscall_failures = { disk-full = 1 }\n";
  CHECK(errors_of(two, host_load_options()) ==
        "s.toml:17:22: expect.syscall_failures.disk-full: injection `disk-full` goes into process `db`, not "
        "`app`; state its count in the [[expect]] table of process `db`\n"
        "   17 | syscall_failures = { disk-full = 1 }\n"
        "      |                      ^");
}

TEST_CASE("fds picks sockets or files; other values are refused with the choices", "[loader][syscall]") {
  CHECK(fault_of(kHead + "syscalls = [\"write\"]\nerrno = \"EIO\"\nfds = \"sockets\"\n").fds ==
        SyscallFault::Fds::sockets);
  CHECK(fault_of(kHead + "syscalls = [\"write\"]\nerrno = \"EIO\"\nfds = \"files\"\n").fds ==
        SyscallFault::Fds::files);
  CHECK(fault_of(kHead + "syscalls = [\"write\"]\nerrno = \"EIO\"\n").fds == SyscallFault::Fds::any);
  CHECK(errors_of(kHead + "syscalls = [\"write\"]\nerrno = \"EIO\"\nfds = \"socket\"\n", host_load_options())
            .find("inject.fds: unknown value \"socket\", expected one of") != std::string::npos);
}

TEST_CASE("path and fds are refused at load on a call they cannot select", "[loader][syscall]") {
  CHECK(errors_of(kHead + "syscalls = [\"openat\", \"write\"]\nerrno = \"EIO\"\npath = \"/data/*\"\n",
                  host_load_options())
            .empty());
  CHECK(
      errors_of(kHead + "syscalls = [\"write\", \"getpid\"]\nerrno = \"EIO\"\npath = \"/data/*\"\n",
                host_load_options()) ==
      "s.toml:7:22: inject.syscalls: `getpid` takes no path or file descriptor, so `path` cannot select its "
      "calls; list it in another [[inject]] without `path`\n"
      "   7 | syscalls = [\"write\", \"getpid\"]\n"
      "     |                      ^");
  CHECK(errors_of(kHead + "syscalls = [\"write\"]\nerrno = \"EIO\"\nfds = \"sockets\"\n", host_load_options())
            .empty());
  CHECK(errors_of(kHead + "syscalls = [\"openat\"]\nerrno = \"EIO\"\nfds = \"files\"\n", host_load_options())
            .starts_with(
                "s.toml:7:13: inject.syscalls: `openat` takes no file descriptor, so `fds` cannot select"));
  // Without the host's tables (a caller that has none) the run checks it instead.
  CHECK(
      errors_of(kHead + "syscalls = [\"getpid\"]\nerrno = \"EIO\"\npath = \"/x\"\n", LoadOptions{}).empty());
}
