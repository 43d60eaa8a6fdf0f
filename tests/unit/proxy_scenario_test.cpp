// The [[proxy]] table and the network kinds of [[inject]]: the model the loader builds, and every
// mistake with its whole rendered message.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <string>
#include <variant>

#include "scenario/loader.h"
#include "scenario/schema.h"
#include "tests/support/scenario_text.h"
#include "tests/support/scratch_dir.h"
#include "tests/support/skips.h"

using namespace faultline::scenario;

namespace {

using faultline::test::errors_of;
using faultline::test::load_text;

int run(const std::string& command) {
  const int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// Lines 1-9: a backend and a client, a proxy named `db` in front of the backend.
const std::string kBase =
    "name = \"x\"\n"                                                    // 1
    "vars = { db_port = \"auto-port\", proxy_port = \"auto-port\" }\n"  // 2
    "[[process]]\n"                                                     // 3
    "name = \"backend\"\n"                                              // 4
    "command = [\"b\"]\n"                                               // 5
    "[[proxy]]\n"                                                       // 6
    "name = \"db\"\n"                                                   // 7
    "listen = \"127.0.0.1:${proxy_port}\"\n"                            // 8
    "upstream = \"127.0.0.1:${db_port}\"\n";                            // 9

}  // namespace

TEST_CASE("a proxy and a latency fault load into the model", "[loader][proxy]") {
  const Scenario s = load_text(kBase +
                               "after = [\"backend\"]\n"
                               "[[process]]\nname = \"client\"\ncommand = [\"c\"]\nafter = [\"db\"]\n"
                               "[[inject]]\nname = \"slow\"\nkind = \"latency\"\nproxy = \"db\"\n"
                               "latency = \"300ms\"\njitter = \"50ms\"\ntoxicity = 0.5\nat = \"ready+2s\"\n"
                               "duration = \"5s\"\n");
  REQUIRE(s.proxies.size() == 1);
  const ProxySpec& p = s.proxies[0];
  CHECK(p.name == "db");
  // Both auto-ports were allocated, in the order the variables are defined.
  CHECK(p.listen == "127.0.0.1:4243");
  CHECK(p.upstream == "127.0.0.1:4242");
  CHECK(p.after == std::vector<std::string>{"backend"});
  CHECK(p.pos.line == 6);
  CHECK(s.find_process("client")->after == std::vector<std::string>{"db"});
  REQUIRE(s.injections.size() == 1);
  const Injection& inj = s.injections[0];
  CHECK(inj.kind == "latency");
  CHECK(inj.proxy == "db");
  CHECK(inj.into.empty());  // two processes, yet no `into` is asked for
  const auto& n = std::get<NetworkFault>(inj.params);
  CHECK(n.latency == std::chrono::milliseconds(300));
  CHECK(n.jitter == std::chrono::milliseconds(50));
  CHECK(n.toxicity == 0.5);
  CHECK(n.direction == NetworkFault::Direction::downstream);  // the default
}

TEST_CASE("two proxies on one port load when their addresses can both be bound", "[loader][proxy]") {
  // The IPv4 wildcard does not take the port on IPv6 addresses: both binds succeed.
  const std::string two =
      "name = \"x\"\nvars = { port = \"auto-port\" }\n"
      "[[proxy]]\nname = \"v4\"\nlisten = \"0.0.0.0:${port}\"\nupstream = \"127.0.0.1:2\"\n"
      "[[proxy]]\nname = \"v6\"\nlisten = \"[::1]:${port}\"\nupstream = \"127.0.0.1:2\"\n"
      "[target]\ncommand = [\"t\"]\n";
  const Scenario s = load_text(two);
  REQUIRE(s.proxies.size() == 2);
  // Nor does the IPv4 wildcard's proxy dial itself through an upstream on ::1.
  std::string across = two;
  across.replace(across.find("\"127.0.0.1:2\""), 13, "\"[::1]:${port}\"");
  CHECK(load_text(across).proxies[0].upstream.rfind("[::1]:", 0) == 0);
  CHECK(s.proxies[1].listen == "[::1]:" + s.proxies[0].listen.substr(s.proxies[0].listen.find(':') + 1));
  // `::` takes it on both families.
  std::string dual = two;
  dual.replace(dual.find("0.0.0.0"), 7, "[::]");
  CHECK(errors_of(dual).find("takes the port of") != std::string::npos);
}

TEST_CASE("each network kind keeps its own values", "[loader][proxy]") {
  const Scenario s =
      load_text(kBase +
                "[[inject]]\nkind = \"bandwidth\"\nproxy = \"db\"\nrate = \"64KiB\"\n"
                "direction = \"both\"\nat = \"1s\"\n"
                "[[inject]]\nkind = \"timeout\"\nproxy = \"db\"\nat = \"1s\"\n"
                "[[inject]]\nkind = \"reset\"\nproxy = \"db\"\nafter = \"200ms\"\n"
                "direction = \"upstream\"\nat = \"1s\"\n"
                "[[inject]]\nkind = \"slow_close\"\nproxy = \"db\"\nafter = \"1s\"\nat = \"1s\"\n"
                "[[inject]]\nkind = \"slicer\"\nproxy = \"db\"\nslice_average = 10\n"
                "slice_variation = 3\nslice_delay = \"5ms\"\nat = \"1s\"\n"
                "[[inject]]\nkind = \"limit_data\"\nproxy = \"db\"\nlimit = \"1KiB\"\nat = \"1s\"\n"
                "[[inject]]\nkind = \"down\"\nproxy = \"db\"\nat = \"1s\"\nduration = \"2s\"\n");
  REQUIRE(s.injections.size() == 7);
  const auto fault = [&](std::size_t i) { return std::get<NetworkFault>(s.injections[i].params); };
  CHECK(s.injections[0].name == "bandwidth#1");
  CHECK(fault(0).rate == 64 * 1024);
  CHECK(fault(0).direction == NetworkFault::Direction::both);
  CHECK(fault(1).after == faultline::Duration{0});  // a black hole
  CHECK(fault(2).after == std::chrono::milliseconds(200));
  CHECK(fault(2).direction == NetworkFault::Direction::upstream);
  CHECK(fault(3).after == std::chrono::seconds(1));
  CHECK(fault(4).slice_average == 10);
  CHECK(fault(4).slice_variation == 3);
  CHECK(fault(4).slice_delay == std::chrono::milliseconds(5));
  CHECK(fault(5).limit == 1024);
  CHECK(s.injections[6].kind == "down");
  CHECK(s.injections[6].proxy == "db");
}

TEST_CASE("a connect that lands on a proxy is found however either address is written", "[loader][proxy]") {
  const auto probe = [](const std::string& address) {
    return "[[probe]]\nname = \"db up\"\ntcp = \"" + address + "\"\nduring = { from = \"1s\" }\n";
  };
  // Linux sends a connect to 0.0.0.0 to 127.0.0.1: such a probe passed with nothing behind it.
  for (const char* address :
       {"localhost:${proxy_port}", "[::ffff:127.0.0.1]:${proxy_port}", "0.0.0.0:${proxy_port}"}) {
    INFO(address);
    CHECK(errors_of(kBase + probe(address)).find("reaches proxy `db`") != std::string::npos);
  }
  // Another port, or another address of a proxy bound to one address, reaches no proxy.
  CHECK(errors_of(kBase + probe("127.0.0.1:${db_port}")).empty());
  CHECK(errors_of(kBase + probe("127.0.0.2:${proxy_port}")).empty());
  // A proxy on the wildcard address takes connects to every address of the host.
  const std::string wildcard =
      "name = \"x\"\nvars = { p = \"auto-port\", q = \"auto-port\" }\n[[process]]\nname = \"backend\"\n"
      "command = [\"b\"]\n[[proxy]]\nname = \"db\"\nlisten = \"0.0.0.0:${q}\"\nupstream = "
      "\"127.0.0.1:${p}\"\n";
  CHECK(errors_of(wildcard + probe("127.0.0.1:${q}")).find("reaches proxy `db`") != std::string::npos);
  // A readiness gate on the proxy is ready at once; a proxy dialing its own listener loops.
  CHECK(
      errors_of(kBase +
                "[[process]]\nname = \"late\"\ncommand = [\"l\"]\nready.tcp = \"127.0.0.1:${proxy_port}\"\n")
          .find("ready.tcp: \"127.0.0.1:4243\" reaches proxy `db`") != std::string::npos);
  CHECK(errors_of(kBase +
                  "[[process]]\nname = \"late\"\ncommand = [\"l\"]\nready.tcp = \"0.0.0.0:${proxy_port}\"\n")
            .find("ready.tcp: \"0.0.0.0:4243\" reaches proxy `db`") != std::string::npos);
  CHECK(errors_of("name = \"x\"\nvars = { p = \"auto-port\" }\n[target]\ncommand = [\"t\"]\n[[proxy]]\nname "
                  "= \"db\"\n"
                  "listen = \"127.0.0.1:${p}\"\nupstream = \"localhost:${p}\"\n")
            .find("proxy.upstream: \"localhost:4242\" reaches the proxy's own `listen`") !=
        std::string::npos);
}

TEST_CASE("proxy mistakes point at the key with a hint", "[loader][proxy]") {
  struct Case {
    std::string toml;
    std::string diagnostics;
  };
  const std::vector<Case> cases = {
      {kBase + "[[inject]]\nkind = \"latency\"\nproxy = \"dbb\"\nlatency = \"1s\"\nat = \"1s\"\n",
       "s.toml:12:9: inject.proxy: unknown proxy `dbb` (proxies: db); did you mean `db`?\n"
       "   12 | proxy = \"dbb\"\n"
       "      |         ^"},
      {"name = \"x\"\n[target]\ncommand = [\"t\"]\n"
       "[[inject]]\nkind = \"reset\"\nproxy = \"db\"\nat = \"1s\"\n",
       "s.toml:6:9: inject.proxy: unknown proxy `db` (the scenario has no [[proxy]]); add a [[proxy]] table "
       "named `db` in front of the server to hurt\n"
       "   6 | proxy = \"db\"\n"
       "     |         ^"},
      {kBase + "[[inject]]\nkind = \"latency\"\nproxy = \"db\"\ninto = \"backend\"\nlatency = \"1s\"\nat = "
               "\"1s\"\n",
       "s.toml:13:1: inject.into: a \"latency\" fault hits the connections of a proxy, not a process; remove "
       "`into`; `proxy` names the [[proxy]] it hits\n"
       "   13 | into = \"backend\"\n"
       "      | ^"},
      {kBase + "[[inject]]\nkind = \"latency\"\nproxy = \"db\"\nlatency = \"999ns\"\nat = \"1s\"\n",
       "s.toml:13:11: inject.latency: expected a duration of at least 1us, got \"999ns\"; the proxy holds data "
       "in whole microseconds: a shorter delay would hold none\n"
       "   13 | latency = \"999ns\"\n"
       "      |           ^"},
      {kBase + "[[inject]]\nkind = \"latency\"\nlatency = \"1s\"\nat = \"1s\"\n",
       "s.toml:10:1: missing required key `proxy` in [[inject]] of kind \"latency\"\n"
       "   10 | [[inject]]\n"
       "      | ^"},
      {kBase + "[[inject]]\nkind = \"down\"\nproxy = \"db\"\ndirection = \"both\"\nat = \"1s\"\n",
       "s.toml:13:1: key `direction` does not apply to [[inject]] of kind \"down\"; it belongs to kind "
       "latency "
       "and bandwidth and timeout and reset and slow_close and slicer and limit_data\n"
       "   13 | direction = \"both\"\n"
       "      | ^"},
      {kBase + "[[inject]]\nkind = \"latency\"\nproxy = \"db\"\nlatency = \"1s\"\ndirection = \"sideways\"\n"
               "at = \"1s\"\n",
       "s.toml:14:13: inject.direction: unknown value \"sideways\", expected one of upstream, downstream, "
       "both\n"
       "   14 | direction = \"sideways\"\n"
       "      |             ^"},
      {kBase + "after = [\"client\"]\n",
       "s.toml:10:10: proxy.after: unknown process `client` (processes: backend)\n"
       "   10 | after = [\"client\"]\n"
       "      |          ^"},
      {kBase + "after = [\"backend\"]\n[[process]]\nname = \"db\"\ncommand = [\"d\"]\n",
       "s.toml:7:8: proxy.name: `db` is also a process name (line 11); `after` names both, so give the proxy "
       "a "
       "name of its own, e.g. `db-proxy`\n"
       "   7 | name = \"db\"\n"
       "     |        ^"},
      {kBase + "[[proxy]]\nname = \"db\"\nlisten = \"127.0.0.1:1\"\nupstream = \"127.0.0.1:2\"\n",
       "s.toml:11:8: duplicate proxy name `db` (first defined on line 6)\n"
       "   11 | name = \"db\"\n"
       "      |        ^"},
      {kBase +
           "[[proxy]]\nname = \"db2\"\nlisten = \"127.0.0.1:${proxy_port}\"\nupstream = \"127.0.0.1:2\"\n",
       "s.toml:12:10: proxy.listen: \"127.0.0.1:4243\" is also where proxy `db` listens (line 6); give each "
       "proxy its own port, e.g. an auto-port variable\n"
       "   12 | listen = \"127.0.0.1:${proxy_port}\"\n"
       "      |          ^"},
      // Written differently, the same port still: the wildcard takes it on every address.
      {kBase + "[[proxy]]\nname = \"db2\"\nlisten = \"0.0.0.0:${proxy_port}\"\nupstream = \"127.0.0.1:2\"\n",
       "s.toml:12:10: proxy.listen: \"0.0.0.0:4243\" takes the port of \"127.0.0.1:4243\", where proxy `db` "
       "listens (line 6); give each proxy its own port, e.g. an auto-port variable\n"
       "   12 | listen = \"0.0.0.0:${proxy_port}\"\n"
       "      |          ^"},
      {kBase + "after = [\"backend\"]\n"
               "[[process]]\nname = \"client\"\ncommand = [\"c\"]\nafter = [\"db\"]\n"
               "[[proxy]]\nname = \"loop\"\nlisten = \"127.0.0.1:1\"\nupstream = \"127.0.0.1:2\"\n"
               "after = [\"client2\"]\n"
               "[[process]]\nname = \"client2\"\ncommand = [\"c\"]\nafter = [\"loop\"]\n",
       "s.toml:19:10: proxy.after: processes and proxies wait for each other in a cycle: client2 -> loop -> "
       "client2\n"
       "   19 | after = [\"client2\"]\n"
       "      |          ^"},
      // A tcp probe of the proxy's own listener passes with nothing behind it.
      {kBase + "[[probe]]\nname = \"db up\"\ntcp = \"127.0.0.1:${proxy_port}\"\nduring = { from = \"1s\" }\n",
       "s.toml:12:7: probe.tcp: \"127.0.0.1:4243\" reaches proxy `db` (listening on \"127.0.0.1:4243\"): the "
       "proxy accepts every connect before it dials its upstream, so this probe would pass with nothing "
       "behind it; probe the upstream "
       "(\"127.0.0.1:4242\") directly, or use an `http` probe through the proxy, which needs an answer\n"
       "   12 | tcp = \"127.0.0.1:${proxy_port}\"\n"
       "      |       ^"},
      {"name = \"x\"\n[[proxy]]\nname = \"db\"\nlisten = \"localhost:80\"\nupstream = \"127.0.0.1:2\"\n"
       "[target]\ncommand = [\"t\"]\n",
       "s.toml:4:10: proxy.listen: expected an IP address and port such as \"127.0.0.1:8080\", got "
       "\"localhost:80\" (`localhost` is a host name, not an IP address); write "
       "\"127.0.0.1:80\" (the proxy listens on an address of this machine)\n"
       "   4 | listen = \"localhost:80\"\n"
       "     |          ^"},
  };
  for (const auto& [toml, diagnostics] : cases) {
    INFO("scenario file:\n" << toml);
    CHECK(errors_of(toml) == diagnostics);
  }
}

TEST_CASE("the JSON Schema takes the proxy table and each network kind's own keys", "[schema][proxy]") {
  if (run("/usr/bin/python3 -c 'import json,tomllib,jsonschema' >/dev/null 2>&1") != 0)
    FAULTLINE_SKIP("python3-jsonschema is not installed");
  faultline::test::ScratchDir dir;
  const auto schema = dir.path() / "schema.json";
  std::ofstream(schema) << scenario_json_schema();
  const auto validates = [&](const std::string& name, const std::string& toml) {
    const std::string file = dir.write(name, toml);
    return run("/usr/bin/python3 -c 'import json,sys,tomllib,jsonschema; "
               "jsonschema.Draft7Validator(json.load(open(sys.argv[1]))).validate(tomllib.load("
               "open(sys.argv["
               "2], \"rb\")))' " +
               schema.string() + " " + file + " >/dev/null 2>&1") == 0;
  };
  const std::string proxy = kBase + "[[inject]]\nproxy = \"db\"\nat = \"1s\"\n";
  CHECK(validates("latency.toml", proxy + "kind = \"latency\"\nlatency = \"1s\"\ntoxicity = 0.5\n"));
  CHECK(validates("down.toml", proxy + "kind = \"down\"\n"));
  CHECK(validates("slicer.toml", proxy + "kind = \"slicer\"\nslice_average = 8\ndirection = \"both\"\n"));
  CHECK_FALSE(validates("no-latency.toml", proxy + "kind = \"latency\"\n"));
  CHECK_FALSE(validates("rate-on-latency.toml", proxy + "kind = \"latency\"\nlatency = \"1s\"\nrate = 5\n"));
  CHECK_FALSE(validates("direction-on-down.toml", proxy + "kind = \"down\"\ndirection = \"both\"\n"));
  CHECK_FALSE(validates("no-proxy.toml", kBase + "[[inject]]\nkind = \"reset\"\nat = \"1s\"\n"));
  CHECK_FALSE(validates("no-upstream.toml",
                        "name = \"x\"\n[target]\ncommand = [\"t\"]\n[[proxy]]\n"
                        "name = \"db\"\nlisten = \"127.0.0.1:1\"\n"));
}
