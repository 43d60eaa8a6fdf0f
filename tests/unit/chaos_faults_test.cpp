// [chaos] drawing syscall and network faults from scenario files: the ranges the loader accepts
// (host syscall and errno names, proxies to hit) with positions and hints, and the draws made
// from them: the same seed draws the same faults, every value inside its range.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <variant>

#include "scenario/chaos.h"
#include "scenario/loader.h"
#include "scenario/schema.h"
#include "syscall/rules.h"
#include "tests/support/scenario_text.h"

using namespace faultline;
using namespace faultline::scenario;

namespace {

using faultline::test::errors_of;
using faultline::test::host_load_options;
using faultline::test::load_text;

const std::string kHead =
    "name = \"nightly\"\n"                                                        // 1
    "[[process]]\nname = \"api\"\ncommand = [\"true\"]\n"                         // 2-4
    "[[process]]\nname = \"db\"\ncommand = [\"true\"]\n"                          // 5-7
    "[[proxy]]\nname = \"db-proxy\"\nlisten = \"127.0.0.1:7001\"\n"               // 8-10
    "upstream = \"127.0.0.1:7002\"\n"                                             // 11
    "[[proxy]]\nname = \"api-proxy\"\nlisten = \"127.0.0.1:7003\"\n"              // 12-14
    "upstream = \"127.0.0.1:7004\"\n"                                             // 15
    "[chaos]\nfaults = 20\nwindow = { from = \"ready\", to = \"ready+10s\" }\n";  // 16-18

const std::string kNoProxy =
    "name = \"nightly\"\n[target]\ncommand = [\"true\"]\n"           // 1-3
    "[chaos]\nwindow = { from = \"ready\", to = \"ready+10s\" }\n";  // 4-5

std::string describe_drawn(const Injection& i) {
  std::string d = i.name + " " + i.kind + " into " + i.into + " proxy " + i.proxy + " at " + i.at.text;
  if (i.duration) d += " for " + format_duration(*i.duration);
  if (auto* s = std::get_if<SyscallFault>(&i.params)) {
    for (const auto& name : s->syscalls) d += " " + name;
    if (s->error) d += " -> " + *s->error;
    if (s->return_value) d += " = " + std::to_string(*s->return_value);
    d += " n " + std::to_string(s->n) + " p " + std::to_string(s->probability);
    d += " delay " + format_duration(s->delay);
  }
  if (auto* n = std::get_if<NetworkFault>(&i.params)) {
    d += std::string(" ") + to_string(n->direction) + " toxicity " + std::to_string(n->toxicity);
    d += " latency " + format_duration(n->latency) + " jitter " + format_duration(n->jitter);
    d += " rate " + std::to_string(n->rate) + " limit " + std::to_string(n->limit);
    d += " after " + format_duration(n->after);
  }
  return d;
}

std::vector<std::string> draws(const Scenario& s, std::uint64_t seed) {
  std::vector<std::string> out;
  for (const auto& i : draw_chaos(s, seed)) out.push_back(describe_drawn(i));
  return out;
}

}  // namespace

TEST_CASE("chaos draws syscall faults from the listed calls and errnos, always optional",
          "[chaos][syscall]") {
  const Scenario s = load_text(kHead +
                                   "kinds = [\"syscall\"]\n"
                                   "syscall.syscalls = [\"write\", \"fsync\"]\n"
                                   "syscall.errno = [\"EIO\", \"ENOSPC\"]\n"
                                   "syscall.every = [2, 5]\n"
                                   "syscall.duration = [\"200ms\", \"2s\"]\n",
                               host_load_options());
  std::set<std::string> calls, errnos, into;
  for (std::uint64_t seed = 0; seed < 50; ++seed) {
    for (const auto& i : draw_chaos(s, seed)) {
      INFO(describe_drawn(i));
      REQUIRE(std::holds_alternative<SyscallFault>(i.params));
      const auto& f = std::get<SyscallFault>(i.params);
      CHECK(i.kind == "syscall");
      CHECK(i.proxy.empty());
      CHECK((i.into == "api" || i.into == "db"));
      REQUIRE(f.syscalls.size() == 1);  // one call drawn per fault
      CHECK((f.syscalls[0] == "write" || f.syscalls[0] == "fsync"));
      REQUIRE(f.error);
      CHECK((*f.error == "EIO" || *f.error == "ENOSPC"));
      CHECK_FALSE(f.return_value);
      CHECK(f.select == SyscallFault::Select::every);
      CHECK(f.n >= 2);
      CHECK(f.n <= 5);
      CHECK(i.optional);
      REQUIRE(i.duration);
      CHECK(*i.duration >= std::chrono::milliseconds(200));
      CHECK(*i.duration <= std::chrono::seconds(2));
      CHECK(i.at.anchor == "ready");
      CHECK(i.at.offset < std::chrono::seconds(10));
      calls.insert(f.syscalls[0]);
      errnos.insert(*f.error);
      into.insert(i.into);
    }
  }
  // Over 1000 draws every choice comes up.
  CHECK(calls.size() == 2);
  CHECK(errnos.size() == 2);
  CHECK(into.size() == 2);
}

TEST_CASE("chaos syscall draws: probability, return and delay ranges, defaults", "[chaos][syscall]") {
  SECTION("a probability range and a return range") {
    const Scenario s = load_text(kHead +
                                     "kinds = [\"syscall\"]\n"
                                     "syscall.syscalls = [\"read\"]\n"
                                     "syscall.return = [0, 3]\n"
                                     "syscall.probability = [0.05, 0.2]\n",
                                 host_load_options());
    for (std::uint64_t seed = 0; seed < 20; ++seed) {
      for (const auto& i : draw_chaos(s, seed)) {
        INFO(describe_drawn(i));
        const auto& f = std::get<SyscallFault>(i.params);
        CHECK_FALSE(f.error);  // `return` given: no default errno
        REQUIRE(f.return_value);
        CHECK(*f.return_value >= 0);
        CHECK(*f.return_value <= 3);
        CHECK(f.select == SyscallFault::Select::probability);
        CHECK(f.probability >= 0.05);
        CHECK(f.probability <= 0.2);
      }
    }
  }
  SECTION("a delay alone delays the call and lets it run") {
    const Scenario s = load_text(kHead + "kinds = [\"syscall\"]\nsyscall.delay = [\"100ms\", \"500ms\"]\n",
                                 host_load_options());
    for (const auto& i : draw_chaos(s, 7)) {
      INFO(describe_drawn(i));
      const auto& f = std::get<SyscallFault>(i.params);
      CHECK_FALSE(f.error);
      CHECK(f.delay >= std::chrono::milliseconds(100));
      CHECK(f.delay <= std::chrono::milliseconds(500));
    }
  }
  SECTION("no ranges: write or fsync fail with EIO or ENOSPC") {
    const Scenario s = load_text(kHead + "kinds = [\"syscall\"]\n", host_load_options());
    for (const auto& i : draw_chaos(s, 3)) {
      INFO(describe_drawn(i));
      const auto& f = std::get<SyscallFault>(i.params);
      REQUIRE(f.syscalls.size() == 1);
      CHECK((f.syscalls[0] == "write" || f.syscalls[0] == "fsync"));
      CHECK((f.error == "EIO" || f.error == "ENOSPC"));
      CHECK(i.optional);
      CHECK(i.duration);
    }
  }
}

TEST_CASE("chaos draws network faults on the listed proxies, every value inside its range",
          "[chaos][proxy]") {
  const Scenario s =
      load_text(kHead +
                    "kinds = [\"latency\", \"bandwidth\", \"limit_data\", \"down\", \"reset\"]\n"
                    "proxies = [\"db-proxy\"]\n"
                    "latency.latency = [\"100ms\", \"900ms\"]\n"
                    "latency.jitter = [\"0s\", \"50ms\"]\n"
                    "latency.toxicity = [0.25, 0.75]\n"
                    "latency.direction = [\"upstream\", \"both\"]\n"
                    "bandwidth.rate = [\"16KiB\", \"64KiB\"]\n"
                    "limit_data.limit = [1000, 5000]\n"
                    "down.duration = [\"1s\", \"2s\"]\n",
                host_load_options());
  std::set<std::string> kinds;
  for (std::uint64_t seed = 0; seed < 50; ++seed) {
    for (const auto& i : draw_chaos(s, seed)) {
      INFO(describe_drawn(i));
      REQUIRE(std::holds_alternative<NetworkFault>(i.params));
      const auto& n = std::get<NetworkFault>(i.params);
      kinds.insert(i.kind);
      CHECK(i.proxy == "db-proxy");  // never api-proxy: not listed
      CHECK(i.into.empty());
      REQUIRE(i.duration);  // every drawn network fault ends within the run
      if (i.kind == "latency") {
        CHECK(n.latency >= std::chrono::milliseconds(100));
        CHECK(n.latency <= std::chrono::milliseconds(900));
        CHECK(n.jitter <= std::chrono::milliseconds(50));
        CHECK(n.toxicity >= 0.25);
        CHECK(n.toxicity <= 0.75);
        CHECK(n.direction != NetworkFault::Direction::downstream);
      } else if (i.kind == "bandwidth") {
        CHECK(n.rate >= 16 * 1024);
        CHECK(n.rate <= 64 * 1024);
        CHECK(n.rate % 1024 == 0);
      } else if (i.kind == "limit_data") {
        CHECK(n.limit >= 1000);  // bytes, not rounded down to a KiB below the range
        CHECK(n.limit <= 5000);
      } else if (i.kind == "down") {
        CHECK(*i.duration >= std::chrono::seconds(1));
        CHECK(*i.duration <= std::chrono::seconds(2));
      }
    }
  }
  CHECK(kinds.size() == 5);
}

TEST_CASE("chaos network faults hit every proxy when none are listed", "[chaos][proxy]") {
  const Scenario s = load_text(kHead + "kinds = [\"timeout\"]\n", host_load_options());
  std::set<std::string> hit;
  for (const auto& i : draw_chaos(s, 11)) hit.insert(i.proxy);
  CHECK(hit == std::set<std::string>{"api-proxy", "db-proxy"});
}

TEST_CASE("chaos draws of syscall and network faults replay with the same seed", "[chaos]") {
  const Scenario s = load_text(kHead +
                                   "kinds = [\"syscall\", \"latency\", \"slicer\", \"cpu\"]\n"
                                   "syscall.syscalls = [\"write\", \"fsync\", \"openat\"]\n"
                                   "syscall.errno = [\"EIO\", \"ENOSPC\", \"EMFILE\"]\n"
                                   "syscall.nth = [1, 100]\n"
                                   "latency.latency = [\"10ms\", \"2s\"]\n",
                               host_load_options());
  CHECK(draws(s, 42) == draws(s, 42));
  CHECK(draws(load_text(kHead + "kinds = [\"syscall\", \"latency\", \"slicer\", \"cpu\"]\n"
                                "syscall.syscalls = [\"write\", \"fsync\", \"openat\"]\n"
                                "syscall.errno = [\"EIO\", \"ENOSPC\", \"EMFILE\"]\n"
                                "syscall.nth = [1, 100]\n"
                                "latency.latency = [\"10ms\", \"2s\"]\n",
                        host_load_options()),
              42) == draws(s, 42));  // a fresh load draws the same
  CHECK(draws(s, 42) != draws(s, 43));
  CHECK(draws(s, 42).size() == 20);
}

TEST_CASE("chaos syscall names are checked like an injection's, with positions", "[chaos][syscall]") {
  const std::string e = errors_of(kHead +
                                      "syscall.syscalls = [\"write\", \"fsnyc\"]\n"  // 19
                                      "syscall.errno = [\"EIO\", \"ENOSAPC\"]\n",
                                  host_load_options());  // 20
  CHECK(e.find("s.toml:19:30: chaos.syscall.syscalls: unknown system call `fsnyc` on this host; did you "
               "mean `fsync`?") != std::string::npos);
  CHECK(e.find("s.toml:20:25: chaos.syscall.errno: unknown errno `ENOSAPC`; did you mean `ENOSPC`?") !=
        std::string::npos);
}

TEST_CASE("chaos syscall ranges: errno and return, or two selections, exclude each other",
          "[chaos][syscall]") {
  const std::string e = errors_of(kHead +
                                      "[chaos.syscall]\n"    // 19
                                      "errno = [\"EIO\"]\n"  // 20
                                      "return = [0]\n"       // 21
                                      "every = [2, 4]\n"     // 22
                                      "nth = [3]\n"          // 23
                                      "optional = [true]\n",
                                  host_load_options());  // 24
  CHECK(e.find("s.toml:21:10: `errno` and `return` cannot both be given") != std::string::npos);
  CHECK(e.find("s.toml:23:7: `every` and `nth` cannot both be given") != std::string::npos);
  // Drawn syscall faults are always optional: not a key to draw.
  CHECK(e.find("s.toml:24:1: unknown key `optional`") != std::string::npos);
}

TEST_CASE("chaos network kinds need a [[proxy]], and proxies name existing ones", "[chaos][proxy]") {
  SECTION("in kinds") {
    const std::string e = errors_of(kNoProxy + "kinds = [\"cpu\", \"latency\"]\n", host_load_options());  // 6
    CHECK(e.find("s.toml:6:17: chaos.kinds: \"latency\" is a network fault, and the scenario has no "
                 "[[proxy]] for it to hit; add a [[proxy]]") != std::string::npos);
  }
  SECTION("as a table of ranges") {
    const std::string e =
        errors_of(kNoProxy + "down.duration = [\"1s\", \"2s\"]\n", host_load_options());  // 6
    CHECK(e.find("s.toml:6:1: chaos.down: \"down\" is a network fault, and the scenario has no [[proxy]]") !=
          std::string::npos);
  }
  SECTION("an unknown proxy") {
    const std::string e =
        errors_of(kHead + "kinds = [\"reset\"]\nproxies = [\"db-proxi\"]\n", host_load_options());  // 20
    CHECK(e.find("s.toml:20:12: chaos.proxies: unknown proxy `db-proxi` (proxies: db-proxy, api-proxy); did "
                 "you mean `db-proxy`?") != std::string::npos);
  }
  SECTION("process kinds alone need no proxy") {
    CHECK(errors_of(kNoProxy + "kinds = [\"cpu\"]\n", host_load_options()).empty());
  }
}

TEST_CASE("the JSON Schema's [chaos] takes syscall and network ranges and proxies", "[chaos][schema]") {
  const auto schema = nlohmann::json::parse(scenario_json_schema());
  const auto& chaos = schema.at("properties").at("chaos").at("properties");
  CHECK(chaos.contains("proxies"));
  for (const char* kind :
       {"syscall", "latency", "bandwidth", "timeout", "reset", "slow_close", "slicer", "limit_data", "down"})
    CHECK(chaos.contains(kind));
  const auto& syscall = chaos.at("syscall").at("properties");
  CHECK(syscall.at("syscalls").at("items").at("type") == "string");  // a list of names to draw from
  CHECK(syscall.at("errno").at("type") == "array");
  CHECK_FALSE(syscall.contains("optional"));  // drawn syscall faults are always optional
  CHECK_FALSE(chaos.at("latency").at("properties").contains("proxy"));  // chaos.proxies picks it
  CHECK(chaos.at("latency").at("properties").contains("toxicity"));
  CHECK(chaos.at("kinds").at("items").at("enum").size() == 16);
}

TEST_CASE("a chaos range that ends below its start is a load error at its end", "[chaos]") {
  const std::string e = errors_of(kHead +
                                      "latency.latency = [\"2s\", \"1s\"]\n"      // 19
                                      "syscall.every = [5, 2]\n"                  // 20
                                      "latency.toxicity = [0.8, 0.2]\n"           // 21
                                      "bandwidth.rate = [\"1MiB\", \"64KiB\"]\n"  // 22
                                      "cpu.quota = [\"5%\", \"50%\"]\n",
                                  host_load_options());  // 23: in order
  CHECK(e.find("s.toml:19:26: chaos.latency.latency: the range ends (\"1s\") below where it starts (\"2s\"); "
               "write [low, high], e.g. [\"1s\", \"2s\"]") != std::string::npos);
  CHECK(e.find("s.toml:20:21: chaos.syscall.every: the range ends (\"2\") below") != std::string::npos);
  CHECK(e.find("s.toml:21:26: chaos.latency.toxicity: the range ends") != std::string::npos);
  CHECK(e.find("s.toml:22:27: chaos.bandwidth.rate: the range ends") != std::string::npos);
  CHECK(e.find("chaos.cpu") == std::string::npos);
}
