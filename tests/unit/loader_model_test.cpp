// A valid, full-featured file loads into the expected model; variables and auto-port.
#include <catch2/catch.hpp>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "scenario/loader.h"

namespace fs = std::filesystem;
using namespace faultline;
using namespace faultline::scenario;
using namespace std::chrono_literals;

namespace {

const fs::path kFixtures = fs::path(FAULTLINE_TEST_SOURCE_DIR) / "tests/unit/fixtures";

class TempScenario {
 public:
  explicit TempScenario(const std::string& toml) {
    std::string pattern = (fs::temp_directory_path() / "faultline-model-XXXXXX").string();
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    dir_ = pattern;
    std::ofstream(file()) << toml;
  }
  ~TempScenario() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  fs::path file() const { return dir_ / "s.toml"; }
  const fs::path& dir() const { return dir_; }

 private:
  fs::path dir_;
};

}  // namespace

TEST_CASE("the full-featured fixture loads into the expected model", "[loader]") {
  ::setenv("FAULTLINE_LOADER_TEST_GREETING", "hello", 1);
  LoadOptions options;
  options.builtin_vars["faultline_dir"] = "/opt/faultline";
  options.allocate_port = [] { return std::uint16_t{4242}; };
  const fs::path file = kFixtures / "full.toml";
  const Scenario s = load_scenario(file, options);
  ::unsetenv("FAULTLINE_LOADER_TEST_GREETING");

  CHECK(s.file == file);
  CHECK(s.name == "api drains in-flight requests on SIGTERM");
  CHECK(s.name_pos.line == 2);
  CHECK(s.name_pos.column == 8);
  CHECK(s.description == "why this scenario exists");
  CHECK(s.tags == std::vector<std::string>{"gate", "shutdown"});
  CHECK(s.timeout == 60s);
  CHECK(s.duration == Duration(10s));

  REQUIRE(s.processes.size() == 2);
  const ProcessSpec& db = s.processes[0];
  CHECK(db.name == "db");
  CHECK(db.command == std::vector<std::string>{"/opt/faultline/faultline-payload", "sleep"});
  CHECK(db.ready.kind == Readiness::Kind::tcp);
  CHECK(db.ready.address == "127.0.0.1:4242");
  CHECK(db.ready.timeout == 10s);
  CHECK(db.stop_signal == SIGTERM);
  CHECK(db.stop_grace == 10s);
  CHECK(db.limits.empty());
  CHECK(db.pos.line == 13);

  const ProcessSpec& api = *s.find_process("api");
  CHECK(api.command == std::vector<std::string>{"./demo-server", "--port", "4242", "literal ${port}"});
  CHECK(api.cwd == (fs::absolute(kFixtures) / "work").lexically_normal());
  CHECK(api.env == std::map<std::string, std::string>{{"GOMAXPROCS", "2"}, {"GREETING", "hello"}});
  CHECK(api.clear_env);
  CHECK(api.user == "nobody");
  CHECK(api.after == std::vector<std::string>{"db"});
  CHECK(api.stop_signal == SIGINT);
  CHECK(api.stop_grace == 90s);
  CHECK(api.ready.kind == Readiness::Kind::log);
  CHECK(api.ready.log_regex == "listening on [0-9]+");
  CHECK(api.ready.timeout == 2s);
  CHECK(api.limits.memory == 256u << 20);
  CHECK(api.limits.memory_high == 200u << 20);
  CHECK(api.limits.swap == 0u);
  CHECK(api.limits.cpu == 0.5);
  CHECK(api.limits.cpu_period == Duration(100ms));
  CHECK(api.limits.cpuset == "0");
  CHECK(api.limits.pids == 64u);
  CHECK(api.limits.nofile == 1024u);

  REQUIRE(s.injections.size() == 7);
  const Injection& squeeze = s.injections[0];
  CHECK(squeeze.name == "squeeze");
  CHECK(squeeze.into == "api");
  CHECK(squeeze.kind == "memory");
  CHECK(squeeze.at.anchor == "ready");
  CHECK(squeeze.at.offset == 2s);
  CHECK(squeeze.at.text == "ready+2s");
  CHECK(squeeze.duration == Duration(10s));
  CHECK(squeeze.pos.line == 44);
  const auto& memory = std::get<MemoryFault>(squeeze.params);
  CHECK(memory.limit == 64u << 20);
  CHECK(memory.over == Duration(5s));
  CHECK_FALSE(memory.high);

  const Injection& cpu = s.injections[1];
  CHECK(cpu.name == "cpu#2");
  CHECK(cpu.at.anchor == "squeeze.end");
  CHECK(cpu.at.offset == 1s);
  CHECK(std::get<CpuFault>(cpu.params).quota == 0.1);

  const Injection& signal = s.injections[2];
  CHECK(signal.name == "signal#3");
  CHECK(signal.into == "db");
  CHECK(signal.at.anchor == "api.ready");
  const auto& sig = std::get<SignalFault>(signal.params);
  CHECK(sig.signal == SIGQUIT);
  CHECK(sig.to == SignalFault::To::all);
  CHECK(sig.repeat_every == Duration(1s));
  CHECK(sig.repeat_count == 3u);

  CHECK(s.injections[3].name == "db-hang");
  CHECK(std::holds_alternative<FreezeFault>(s.injections[3].params));
  const auto& hog = std::get<HogFault>(s.injections[4].params);
  CHECK(hog.memory == 100u << 20);
  CHECK(hog.cpu == 1.0);
  CHECK(s.injections[4].at.anchor == "ready");
  CHECK(s.injections[4].at.offset == 0s);
  CHECK(std::get<FdFault>(s.injections[5].params).nofile == 16u);
  CHECK(s.injections[5].at.anchor.empty());
  CHECK(s.injections[5].at.offset == 1min);
  CHECK(std::get<PidsFault>(s.injections[6].params).limit == 4u);

  REQUIRE(s.expects.size() == 2);
  const Expect& e = s.expects[0];
  CHECK(e.process == "api");
  CHECK(e.outcome == ExpectedOutcome::exited);
  CHECK(e.exit_codes == std::vector<int>{0, 143});
  CHECK(e.graceful == true);
  CHECK_FALSE(e.no_orphans);
  CHECK(e.oom_kills == Comparison{});
  CHECK(e.max_memory == 200u << 20);
  CHECK(e.max_runtime == Duration(30s));
  CHECK(e.stdout_expect.contains == std::vector<std::string>{"drained 3 requests"});
  CHECK(e.stdout_expect.not_contains == std::vector<std::string>{"panic"});
  CHECK(e.stderr_expect.not_matches == std::vector<std::string>{"panic|fatal error"});
  CHECK(e.key_pos.at("outcome").line == 96);
  CHECK(e.key_pos.at("stdout.contains").line == 103);
  CHECK(e.key_pos.at("stdout.contains").column == 8);
  CHECK(e.key_pos.at("stderr.not_matches").line == 105);
  const Expect& e2 = s.expects[1];
  CHECK(e2.process == "db");
  CHECK(e2.outcome == ExpectedOutcome::any);
  CHECK(e2.no_orphans);
  CHECK(e2.stderr_expect.matches == std::vector<std::string>{"^ready$"});
  CHECK(e2.key_pos.at("stderr.matches").line == 111);

  REQUIRE(s.probes.size() == 2);
  const Probe& p = s.probes[0];
  CHECK(p.name == "orders fail fast while the database hangs");
  CHECK(p.kind == Probe::Kind::http);
  CHECK(p.target == "http://127.0.0.1:4242/orders");
  CHECK(p.every == 50ms);
  CHECK(p.timeout == 1s);
  CHECK(p.during.inject == "db-hang");
  CHECK(p.expect_status == std::vector<int>{503});
  CHECK(p.expect_latency_below == Duration(50ms));
  CHECK(p.expect_body_contains == "circuit open");
  CHECK(p.pass_ratio == Comparison{Comparison::Op::ge, 0.9});  // min_pass_ratio, the older spelling
  const Probe& p2 = s.probes[1];
  CHECK(p2.name == "probe#2");
  CHECK(p2.kind == Probe::Kind::tcp);
  CHECK(p2.every == 100ms);
  CHECK(p2.timeout == 2s);
  CHECK(p2.pass_ratio == Comparison{Comparison::Op::ge, 1.0});
  CHECK_FALSE(p2.during.inject);
  CHECK(p2.during.from.anchor == "db-hang.end");
  CHECK(p2.during.from.offset == 2s);
  REQUIRE(p2.during.to);
  CHECK(p2.during.to->text == "db-hang.end+5s");
  CHECK(p2.expect_success == true);

  REQUIRE(s.chaos);
  CHECK(s.chaos->faults == 3u);
  CHECK(s.chaos->window.from.anchor == "ready");
  REQUIRE(s.chaos->window.to);
  CHECK(s.chaos->window.to->offset == 10s);
  CHECK(s.chaos->kinds == std::vector<std::string>{"freeze", "cpu", "memory", "pids", "signal"});
  CHECK(s.chaos->into == std::vector<std::string>{"db", "api"});  // default: every process
  CHECK(s.chaos->ranges.at("cpu").at("quota").values == std::vector<std::string>{"5%", "50%"});
  CHECK(s.chaos->ranges.at("cpu").at("duration").values == std::vector<std::string>{"200ms", "2s"});
  CHECK(s.chaos->ranges.at("memory").at("limit").values == std::vector<std::string>{"64MiB", "256MiB"});
  CHECK(s.chaos->ranges.at("pids").at("limit").values == std::vector<std::string>{"4", "16"});
  CHECK(s.chaos->ranges.at("signal").at("signal").values == std::vector<std::string>{"SIGSTOP", "SIGCONT"});

  CHECK(s.on_timeout.diagnose_signal == SIGQUIT);
  CHECK(s.on_timeout.grace == 5s);
}

TEST_CASE("defaults of a minimal scenario", "[loader]") {
  const Scenario s = load_scenario(kFixtures / "minimal.toml");
  CHECK(s.name == "minimal");
  CHECK(s.timeout == 5min);
  CHECK_FALSE(s.duration);
  REQUIRE(s.processes.size() == 1);
  CHECK(s.processes[0].name == "target");
  CHECK(s.processes[0].shell == "exit 0");
  CHECK(s.processes[0].command.empty());
  CHECK_FALSE(s.processes[0].cwd);
  CHECK(s.processes[0].stop_signal == SIGTERM);
  CHECK(s.processes[0].stop_grace == 10s);
  CHECK(s.processes[0].ready.kind == Readiness::Kind::none);
  CHECK(s.expects.empty());
  CHECK_FALSE(s.chaos);
  CHECK_FALSE(s.on_timeout.diagnose_signal);
  CHECK(s.on_timeout.grace == 3s);
}

TEST_CASE("a single [expect] and injections default to the only process", "[loader]") {
  TempScenario t(
      "name = \"x\"\n[target]\ncommand = [\"a\"]\n[expect]\noutcome = \"oom-killed\"\n"
      "[[inject]]\nkind = \"pids\"\nlimit = 2\nat = \"target.ready\"\n");
  const Scenario s = load_scenario(t.file());
  REQUIRE(s.expects.size() == 1);
  CHECK(s.expects[0].process == "target");
  CHECK(s.expects[0].outcome == ExpectedOutcome::oom_killed);
  CHECK(s.expects[0].no_orphans);
  CHECK(s.expects[0].pos.line == 4);
  REQUIRE(s.injections.size() == 1);
  CHECK(s.injections[0].into == "target");
  CHECK(s.injections[0].name == "pids#1");
}

TEST_CASE("variables: scenario_dir, env, builtins, nesting and the $${ escape", "[loader]") {
  TempScenario t(
      "name = \"${greeting} from ${scenario_dir}\"\n"
      "[vars]\n"
      "greeting = \"hi ${who}\"\n"
      "who = \"${env:FAULTLINE_LOADER_TEST_WHO}\"\n"
      "[target]\n"
      "command = [\"${tool_dir}/x\", \"$${literal}\", \"costs $5\"]\n"
      "cwd = \"sub/../data\"\n");
  ::setenv("FAULTLINE_LOADER_TEST_WHO", "ann", 1);
  LoadOptions options;
  options.builtin_vars["tool_dir"] = "/opt/t";
  const Scenario s = load_scenario(t.file(), options);
  ::unsetenv("FAULTLINE_LOADER_TEST_WHO");
  CHECK(s.name == "hi ann from " + fs::absolute(t.dir()).lexically_normal().string());
  CHECK(s.processes[0].command == std::vector<std::string>{"/opt/t/x", "${literal}", "costs $5"});
  CHECK(s.processes[0].cwd == fs::absolute(t.dir()).lexically_normal() / "data");
}

TEST_CASE("the name across runs keeps auto-port numbers as written and expands the rest", "[loader]") {
  std::uint16_t next = 5000;
  LoadOptions options;
  options.allocate_port = [&] { return next++; };
  SECTION("an auto-port, directly and through another variable") {
    TempScenario t(
        "name = \"${service} on ${port}, proxied at ${proxy_addr}\"\n"
        "[vars]\nservice = \"api-${flavour}\"\nflavour = \"blue\"\nport = \"auto-port\"\n"
        "proxy_port = \"auto-port\"\nproxy_addr = \"127.0.0.1:${proxy_port}\"\n"
        "[target]\ncommand = [\"true\"]\n");
    const Scenario s = load_scenario(t.file(), options);
    CHECK(s.name == "api-blue on 5000, proxied at 127.0.0.1:5001");
    CHECK(s.name_across_runs == "api-blue on ${port}, proxied at 127.0.0.1:${proxy_port}");
    CHECK(s.name_as_written == "${service} on ${port}, proxied at ${proxy_addr}");
  }
  SECTION("no auto-port: the name itself, so two files with other [vars] stay two") {
    TempScenario t(
        "name = \"api-${flavour}\"\n[vars]\nflavour = \"green\"\n[target]\ncommand = [\"true\"]\n");
    const Scenario s = load_scenario(t.file(), options);
    CHECK(s.name == "api-green");
    CHECK(s.name_across_runs == "api-green");
  }
}

TEST_CASE("auto-port allocates one port per variable, the same at every use", "[loader]") {
  TempScenario t(
      "name = \"ports\"\n[vars]\na = \"auto-port\"\nb = \"auto-port\"\n"
      "[target]\ncommand = [\"s\", \"${a}\", \"${b}\", \"${a}\"]\n");
  SECTION("through LoadOptions::allocate_port") {
    std::uint16_t next = 5000;
    LoadOptions options;
    options.allocate_port = [&] { return next++; };
    const Scenario s = load_scenario(t.file(), options);
    CHECK(s.processes[0].command == std::vector<std::string>{"s", "5000", "5001", "5000"});
  }
  SECTION("from the kernel when no allocator is given") {
    const Scenario s = load_scenario(t.file());
    const auto& argv = s.processes[0].command;
    const int a = std::stoi(argv[1]);
    const int b = std::stoi(argv[2]);
    CHECK(a > 0);
    CHECK(a < 65536);
    CHECK(b > 0);
    CHECK(argv[3] == argv[1]);
  }
}

TEST_CASE("a probe window without `to` stays open until the stop phase", "[loader]") {
  TempScenario t(
      "name = \"open window\"\nduration = \"2s\"\n[target]\ncommand = [\"true\"]\n"
      "[[probe]]\ntcp = \"127.0.0.1:9\"\nduring = { from = \"ready+1s\" }\n");
  const Scenario s = load_scenario(t.file());
  REQUIRE(s.probes.size() == 1);
  CHECK(s.probes[0].during.from.text == "ready+1s");
  CHECK_FALSE(s.probes[0].during.to);
}

TEST_CASE("`stop` names a process's exit, with an optional offset, beside or instead of `duration`",
          "[loader][driver]") {
  TempScenario t(
      "name = \"x\"\nduration = \"1h\"\nstop = \"load.exit+500ms\"\n"
      "[[process]]\nname = \"server\"\ncommand = [\"s\"]\n"
      "[[process]]\nname = \"load\"\ncommand = [\"l\"]\n"
      "[[inject]]\ninto = \"server\"\nkind = \"freeze\"\nat = \"load.exit\"\nduration = \"1s\"\n");
  const Scenario s = load_scenario(t.file());
  REQUIRE(s.stop);
  CHECK(s.stop->anchor == "load.exit");
  CHECK(s.stop->offset == 500ms);
  CHECK(s.stop->text == "load.exit+500ms");
  CHECK(s.duration == Duration{1h});
  REQUIRE(s.injections.size() == 1);
  CHECK(s.injections[0].at.anchor == "load.exit");
  CHECK(s.injections[0].at.offset == 0s);
}
