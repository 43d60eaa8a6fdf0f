// The cgroup backends on this host's real cgroups. Run as root; elsewhere every test prints why
// it is skipped. On a hybrid host each test also runs against the legacy v1 code path (the same
// v1 hierarchies without the unified mount), so the freezer.state / signal-loop fallbacks are
// exercised on real cgroups too.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "cgroup/backend.h"
#include "cgroup/cgroup_files.h"
#include "cgroup/layout.h"
#include "cgroup/mountinfo.h"
#include "cgroup/proc_stat.h"
#include "cgroup/v1_backend.h"
#include "tests/support/skips.h"

using namespace faultline;
using namespace faultline::cgroup;
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

const fs::path kMountRoot = "/sys/fs/cgroup";

std::optional<std::string> skip_reason() {
  if (::geteuid() != 0) return "not root: the cgroup integration tests need to create cgroups";
  if (!fs::exists(kMountRoot)) return kMountRoot.string() + " does not exist";
  try {
    open_backend();
  } catch (const HostRefusal& e) {  // any other failure is a defect: the test fails on it
    return std::string("this host cannot create cgroups: ") + e.what();
  }
  return std::nullopt;
}

// The host's backend (variant 0) or, on a hybrid host, the legacy v1 path (variant 1).
std::unique_ptr<Backend> backend_for(int variant, std::string* label) {
  if (auto why = skip_reason()) {
    faultline::test::record_skip(*why);
    return nullptr;
  }
  auto host = open_backend();
  if (variant == 0) {
    *label = std::string("host backend (") + to_string(host->mode()) + ")";
    return host;
  }
  if (host->mode() != Mode::hybrid) return nullptr;  // legacy emulation only makes sense on hybrid
  std::string why;
  auto cgroups =
      classify_host(parse_cgroup_mounts(cgroup::read_file("/proc/self/mountinfo")), kMountRoot, false, &why);
  REQUIRE(cgroups);
  cgroups->unified.reset();
  auto legacy = std::make_unique<V1Backend>(*cgroups, "/faultline", cgroup::read_file("/proc/self/cgroup"));
  legacy->ensure_parent();
  *label = "legacy v1 path (hybrid host without its unified mount)";
  return legacy;
}

#define WITH_BACKEND(backend)                    \
  int variant_ = GENERATE(0, 1);                 \
  std::string label_;                            \
  auto backend = backend_for(variant_, &label_); \
  if (!backend) return;                          \
  INFO(label_)

// A forked child: reaped (and killed first if still running) when the test leaves its scope.
class Child {
 public:
  explicit Child(pid_t pid) : pid_(pid) {}
  Child(const Child&) = delete;
  ~Child() {
    if (pid_ > 0 && !status_) {
      ::kill(pid_, SIGKILL);
      wait();
    }
  }
  pid_t pid() const { return pid_; }
  int wait() {
    if (!status_) {
      int status = 0;
      while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
      }
      status_ = status;
    }
    return *status_;
  }

 private:
  pid_t pid_;
  std::optional<int> status_;
};

// Runs `body` in a forked child, so it may drop privileges without touching the test, and
// returns the text it returned.
std::string output_of_child(const std::function<std::string()>& body) {
  int pipe_fds[2];
  REQUIRE(::pipe(pipe_fds) == 0);
  std::fflush(nullptr);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(pipe_fds[0]);
    const std::string text = body();
    if (::write(pipe_fds[1], text.data(), text.size()) < 0) ::_exit(1);
    ::_exit(0);
  }
  REQUIRE(pid > 0);
  Child child(pid);
  ::close(pipe_fds[1]);
  std::string text;
  char buffer[4096];
  for (ssize_t n; (n = ::read(pipe_fds[0], buffer, sizeof buffer)) > 0;) text.append(buffer, n);
  ::close(pipe_fds[0]);
  child.wait();
  return text;
}

// Forks; the child joins `cgroup` by writing "0" to every attach fd, then runs `body` and exits
// with its result. Returns once the child is in every hierarchy (it reports so on a pipe).
std::unique_ptr<Child> spawn_in(const Cgroup& cgroup, const std::function<int()>& body) {
  auto fds = cgroup.open_attach_fds();
  int ready[2];
  REQUIRE(::pipe2(ready, O_CLOEXEC) == 0);
  std::fflush(nullptr);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(ready[0]);
    for (const auto& fd : fds) {
      if (::write(fd.get(), "0", 1) != 1) ::_exit(120);
    }
    if (::write(ready[1], "1", 1) != 1) ::_exit(121);
    ::close(ready[1]);
    ::_exit(body());
  }
  REQUIRE(pid > 0);
  auto child = std::make_unique<Child>(pid);
  ::close(ready[1]);
  char byte = 0;
  auto n = ::read(ready[0], &byte, 1);
  ::close(ready[0]);
  REQUIRE(n == 1);  // else the child could not attach (exit 120)
  return child;
}

std::unique_ptr<Child> spawn_exec(const Cgroup& cgroup, std::vector<const char*> argv) {
  argv.push_back(nullptr);
  return spawn_in(cgroup, [&] {
    ::execv(argv[0], const_cast<char* const*>(argv.data()));
    return 127;
  });
}

bool process_gone_or_zombie(pid_t pid) {
  auto stat = read_file_if_exists("/proc/" + std::to_string(pid) + "/stat");
  return !stat || parse_stat_state(*stat) == std::optional<char>('Z');
}

// Directories named `run_name` under a `faultline` parent anywhere in the cgroup mounts.
std::vector<fs::path> run_dirs(const std::string& run_name) {
  std::vector<fs::path> found;
  for (const auto& candidate : {kMountRoot / "faultline" / run_name}) {
    if (fs::exists(candidate)) found.push_back(candidate);
  }
  for (const auto& hierarchy : fs::directory_iterator(kMountRoot)) {
    auto candidate = hierarchy.path() / "faultline" / run_name;
    std::error_code ec;
    if (hierarchy.is_directory(ec) && fs::exists(candidate, ec)) found.push_back(candidate);
  }
  return found;
}

bool contains(const std::vector<pid_t>& pids, pid_t pid) {
  return std::find(pids.begin(), pids.end(), pid) != pids.end();
}
bool contains(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

}  // namespace

TEST_CASE("cgroup: the host mode is detected and the doctor can create cgroups", "[cgroup]") {
  if (auto why = skip_reason()) FAULTLINE_SKIP(*why);
  auto backend = open_backend();
  auto report = diagnose_host();
  std::printf("cgroup mode: %s, parent %s\n", to_string(backend->mode()), report.parent.c_str());
  CHECK(report.mode == backend->mode());
  CHECK(report.writable);
  for (const auto& controller : report.controllers) {
    std::printf("  %-8s %s: %s\n", controller.name.c_str(), controller.usable ? "usable" : "UNUSABLE",
                controller.detail.c_str());
  }
  std::set<std::string> usable;
  for (const auto& c : report.controllers) {
    if (c.usable) usable.insert(c.name);
  }
  CHECK(usable.count("memory"));
  CHECK(usable.count("cpu"));
  CHECK(usable.count("pids"));
  CHECK(usable.count("kill"));
  if (backend->mode() == Mode::v2) {
    CHECK(report.problems.empty());
  } else {
    CHECK(contains(report.problems,
                   "memory_high needs cgroup v2 (memory.high); this host's memory controller is cgroup v1"));
  }
}

TEST_CASE("cgroup: a child attached before exec runs inside the run's child cgroup", "[cgroup]") {
  WITH_BACKEND(backend);
  auto run_name = next_run_name();
  auto run = backend->create_run(run_name);
  auto child = run->create_child("sleeper");
  auto sleeper = spawn_exec(*child, {"/bin/sleep", "30"});
  CHECK(child->pids() == std::vector<pid_t>{sleeper->pid()});
  CHECK(run->pids() == std::vector<pid_t>{sleeper->pid()});  // recursive
  CHECK(run->populated());
  CHECK(child->populated());

  auto proc_cgroup = read_file("/proc/" + std::to_string(sleeper->pid()) + "/cgroup");
  auto paths = parse_proc_cgroup(proc_cgroup);
  auto suffix = "faultline/" + run_name + "/sleeper";
  auto in_child = [&](const std::string& key) {
    return paths.count(key) && paths.at(key).size() >= suffix.size() &&
           paths.at(key).compare(paths.at(key).size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  INFO(proc_cgroup);
  if (backend->mode() == Mode::v2 || backend->mode() == Mode::hybrid) CHECK(in_child(""));
  if (backend->mode() != Mode::v2) {
    for (const char* controller : {"memory", "pids", "freezer", "cpuset"}) {
      bool joined = std::any_of(paths.begin(), paths.end(), [&](const auto& entry) {
        std::string list = "," + entry.first + ",";
        return list.find(std::string(",") + controller + ",") != std::string::npos && in_child(entry.first);
      });
      CHECK(joined);
    }
  }

  run->kill_all();
  int status = sleeper->wait();
  CHECK(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGKILL);
  CHECK_FALSE(run->populated());
  CHECK(run->pids().empty());
}

TEST_CASE("cgroup: the backend holds a process in any run's cgroup, and none that moved out", "[cgroup]") {
  WITH_BACKEND(backend);
  auto run = backend->create_run(next_run_name());
  auto child = run->create_child("sleeper");
  auto sleeper = spawn_exec(*child, {"/bin/sleep", "30"});
  CHECK(backend->holds_process(sleeper->pid()));
  CHECK_FALSE(backend->holds_process(::getpid()));  // the test is in no cgroup of faultline
  // Into the root of every hierarchy, as a daemon that escapes would write itself.
  for (const auto& procs : {"/sys/fs/cgroup/cgroup.procs", "/sys/fs/cgroup/unified/cgroup.procs",
                            "/sys/fs/cgroup/memory/cgroup.procs", "/sys/fs/cgroup/cpu/cgroup.procs",
                            "/sys/fs/cgroup/cpuset/cgroup.procs", "/sys/fs/cgroup/pids/cgroup.procs",
                            "/sys/fs/cgroup/freezer/cgroup.procs", "/sys/fs/cgroup/cpuacct/cgroup.procs"})
    if (std::ofstream out(procs); out) out << sleeper->pid() << std::flush;
  CHECK_FALSE(backend->holds_process(sleeper->pid()));
  ::kill(sleeper->pid(), SIGKILL);
  sleeper->wait();
  CHECK_FALSE(backend->holds_process(sleeper->pid()));
  run->destroy();
}

TEST_CASE("cgroup: a member that left one hierarchy is named with it; one in all of them is not",
          "[cgroup]") {
  WITH_BACKEND(backend);
  auto run = backend->create_run(next_run_name());
  auto child = run->create_child("mover");
  auto stays = spawn_exec(*child, {"/bin/sleep", "30"});
  auto moves = spawn_exec(*child, {"/bin/sleep", "30"});
  CHECK(child->partly_left().empty());
  const fs::path memory_root = "/sys/fs/cgroup/memory";
  if (backend->mode() != Mode::v2 && fs::exists(memory_root / "cgroup.procs")) {
    std::ofstream(memory_root / "cgroup.procs") << moves->pid() << std::flush;
    const auto left = child->partly_left();
    REQUIRE(left.size() == 1);
    CHECK(left[0].pid == moves->pid());
    CHECK(left[0].left.string().starts_with(memory_root.string() + "/"));
    CHECK(contains(child->pids(), moves->pid()));  // still a member in the other hierarchies
  }
  // An exited member is no mover, while it waits to be reaped too.
  ::kill(moves->pid(), SIGKILL);
  while (!process_gone_or_zombie(moves->pid())) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  CHECK(child->partly_left().empty());
  moves->wait();
  ::kill(stays->pid(), SIGKILL);
  stays->wait();
  run->destroy();
}

TEST_CASE("cgroup: limits are written and read back", "[cgroup]") {
  WITH_BACKEND(backend);
  auto run = backend->create_run(next_run_name());
  auto cg = run->create_child("limited");

  REQUIRE_FALSE(cg->unsupported(Knob::memory_max));
  cg->set_memory_max(64ull << 20);
  CHECK(cg->memory_max() == 64ull << 20);
  cg->set_memory_max(kUnlimited);
  CHECK(cg->memory_max() == kUnlimited);

  if (backend->mode() == Mode::v2) {
    REQUIRE_FALSE(cg->unsupported(Knob::memory_high));
    cg->set_memory_high(48ull << 20);
    CHECK(cg->memory_high() == 48ull << 20);
  } else {
    CHECK(cg->unsupported(Knob::memory_high) ==
          std::optional<std::string>(
              "memory_high needs cgroup v2 (memory.high); this host's memory controller is cgroup v1"));
    CHECK_THROWS_WITH(cg->set_memory_high(48ull << 20),
                      "cannot set memory_high: memory_high needs cgroup v2 (memory.high); this host's memory "
                      "controller is cgroup v1");
  }

  if (!cg->unsupported(Knob::swap_max)) {
    // Raising and lowering in both orders: the v1 backend must keep memsw >= limit throughout.
    cg->set_swap_max(0);
    cg->set_memory_max(32ull << 20);
    CHECK(cg->memory_max() == 32ull << 20);
    cg->set_memory_max(128ull << 20);
    CHECK(cg->memory_max() == 128ull << 20);
    cg->set_swap_max(16ull << 20);
    cg->set_memory_max(16ull << 20);
    CHECK(cg->memory_max() == 16ull << 20);
  } else {
    std::printf("swap_max unsupported here: %s\n", cg->unsupported(Knob::swap_max)->c_str());
  }

  REQUIRE_FALSE(cg->unsupported(Knob::cpu_max));
  cg->set_cpu_max(CpuMax{0.5, 100ms});
  auto cpu = cg->cpu_max();
  CHECK(cpu.cpus == Approx(0.5));
  CHECK(cpu.period == Duration(100ms));
  cg->set_cpu_max(CpuMax{1.25, 50ms});
  CHECK(cg->cpu_max().cpus == Approx(1.25));
  CHECK(cg->cpu_max().period == Duration(50ms));
  cg->set_cpu_max(CpuMax{INFINITY, 100ms});
  CHECK(std::isinf(cg->cpu_max().cpus));

  if (!cg->unsupported(Knob::cpuset)) {
    cg->set_cpuset("0");
    CHECK(cg->cpuset() == "0");
  }

  REQUIRE_FALSE(cg->unsupported(Knob::pids_max));
  cg->set_pids_max(10);
  CHECK(cg->pids_max() == 10);
  cg->set_pids_max(kUnlimited);
  CHECK(cg->pids_max() == kUnlimited);

  CHECK_FALSE(cg->unsupported(Knob::kill));
}

TEST_CASE("cgroup: a 32MiB memory limit OOM-kills a 200MiB allocation", "[cgroup]") {
  WITH_BACKEND(backend);
  auto run = backend->create_run(next_run_name());
  auto cg = run->create_child("hog");
  cg->set_memory_max(32ull << 20);
  if (!cg->unsupported(Knob::swap_max)) cg->set_swap_max(0);  // else it would swap, not die
  auto hog = spawn_in(*cg, [] {
    const std::size_t size = 200ull << 20;
    void* memory = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (memory == MAP_FAILED) return 3;
    std::memset(memory, 1, size);
    return 0;
  });
  int status = hog->wait();
  REQUIRE(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGKILL);
  auto stats = cg->stats();
  CHECK(stats.oom_kills >= 1);
  CHECK(stats.oom_kills_counted);
  CHECK(stats.oom_events >= 1);
  REQUIRE(stats.memory_peak);
  CHECK(*stats.memory_peak <= (32ull << 20));
  CHECK(*stats.memory_peak >= (16ull << 20));
  CHECK(run->stats().oom_kills >= 1);  // counted for the whole run too
}

TEST_CASE("cgroup: a 10% cpu limit throttles a busy loop", "[cgroup]") {
  WITH_BACKEND(backend);
  auto run = backend->create_run(next_run_name());
  auto cg = run->create_child("spin");
  cg->set_cpu_max(CpuMax{0.1, 100ms});
  auto spinner = spawn_in(*cg, [] {
    auto end = Clock::now() + 1s;
    volatile std::uint64_t n = 0;
    while (Clock::now() < end) n = n + 1;
    return 0;
  });
  int status = spinner->wait();
  CHECK(WIFEXITED(status));
  auto stats = cg->stats();
  REQUIRE(stats.cpu_throttled_periods);
  REQUIRE(stats.cpu_throttled_usec);
  REQUIRE(stats.cpu_usage_usec);
  REQUIRE(stats.cpu_periods);
  CHECK(*stats.cpu_periods >= 5);
  CHECK(*stats.cpu_throttled_periods > 0);
  CHECK(*stats.cpu_throttled_usec > 0);
  // 1s of wall time at 10%: about 100ms of CPU; far below what an unthrottled loop burns.
  CHECK(*stats.cpu_usage_usec > 20'000);
  CHECK(*stats.cpu_usage_usec < 400'000);
}

TEST_CASE("cgroup: pids_max 4 makes forks fail", "[cgroup]") {
  WITH_BACKEND(backend);
  auto run = backend->create_run(next_run_name());
  auto cg = run->create_child("forker");
  cg->set_pids_max(4);
  auto forker = spawn_in(*cg, [] {
    int forked = 0;
    for (int i = 0; i < 10; ++i) {
      pid_t pid = ::fork();
      if (pid == 0) {
        ::pause();
        ::_exit(0);
      }
      if (pid > 0) ++forked;
    }
    return forked;
  });
  int status = forker->wait();
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 3);  // itself + 3 children = 4
  auto stats = cg->stats();
  CHECK(stats.pids_max_events >= 1);
  CHECK(stats.pids_max_events_counted);
  REQUIRE(stats.pids_current);
  CHECK(*stats.pids_current == 3);  // the paused children, reparented but still inside
  run->kill_all();
  CHECK(run->pids().empty());
}

TEST_CASE("cgroup: freeze stops the members and thaw resumes them", "[cgroup]") {
  WITH_BACKEND(backend);
  auto run = backend->create_run(next_run_name());
  auto cg = run->create_child("counter");
  REQUIRE_FALSE(cg->unsupported(Knob::freeze));
  auto* counter = static_cast<std::atomic<std::uint64_t>*>(::mmap(nullptr, sizeof(std::atomic<std::uint64_t>),
                                                                  PROT_READ | PROT_WRITE,
                                                                  MAP_SHARED | MAP_ANONYMOUS, -1, 0));
  REQUIRE(counter != MAP_FAILED);
  counter->store(0);
  auto worker = spawn_in(*cg, [counter] {
    for (;;) counter->fetch_add(1);
    return 0;
  });
  auto deadline = Clock::now() + 5s;
  while (counter->load() == 0 && Clock::now() < deadline) std::this_thread::sleep_for(1ms);
  REQUIRE(counter->load() > 0);

  run->freeze();  // the whole subtree
  auto frozen_at = counter->load();
  std::this_thread::sleep_for(200ms);
  CHECK(counter->load() == frozen_at);
  auto stat = read_file("/proc/" + std::to_string(worker->pid()) + "/stat");
  std::printf("%s: frozen member state %c\n", label_.c_str(), parse_stat_state(stat).value_or('?'));
  CHECK(parse_stat_state(stat) != std::optional<char>('R'));

  run->thaw();
  std::this_thread::sleep_for(100ms);
  CHECK(counter->load() > frozen_at);

  // A frozen cgroup can still be killed.
  run->freeze();
  run->kill_all();
  int status = worker->wait();
  CHECK(WIFSIGNALED(status));
  ::munmap(counter, sizeof(std::atomic<std::uint64_t>));
}

// Without cgroup.kill the kill freezes, signals and thaws; a member that froze a v1 freezer
// cgroup of its own below the run's stays frozen when the run's thaws, and ignores SIGKILL.
TEST_CASE("cgroup: kill_all kills a member that froze a v1 freezer cgroup of its own", "[cgroup]") {
  WITH_BACKEND(backend);
  auto run = backend->create_run(next_run_name());
  auto cg = run->create_child("self-freezer");
  auto worker = spawn_in(*cg, [] {
    for (;;) ::pause();
    return 0;
  });
  std::string freezer_path;  // the worker's v1 freezer cgroup
  std::istringstream lines(read_file("/proc/" + std::to_string(worker->pid()) + "/cgroup"));
  for (std::string line; std::getline(lines, line);) {
    const auto first = line.find(':'), second = line.find(':', first + 1);
    if (first == std::string::npos || second == std::string::npos) continue;
    std::string controllers = "," + line.substr(first + 1, second - first - 1) + ",";
    if (controllers.find(",freezer,") != std::string::npos) freezer_path = line.substr(second + 1);
  }
  if (freezer_path.find("/run-") == std::string::npos) {
    // Only legacy v1 keeps a freezer cgroup for the kill; the host's backend kills with
    // cgroup.kill (and freezes with cgroup.freeze) where the kernel has it.
    REQUIRE(variant_ == 0);
    std::printf("%s: the run has no v1 freezer cgroup (freezer at %s)\n", label_.c_str(),
                freezer_path.c_str());
    return;
  }
  const fs::path own = kMountRoot / "freezer" / fs::path(freezer_path).relative_path() / "frozen-by-itself";
  REQUIRE(fs::create_directory(own));
  // Whatever the test says, the worker is thawed before it is reaped (a frozen one never is).
  struct ThawOnExit {
    fs::path state;
    ~ThawOnExit() { try_write_file(state, "THAWED"); }
  } thaw_on_exit{own / "freezer.state"};
  write_file(own / "cgroup.procs", std::to_string(worker->pid()));
  write_file(own / "freezer.state", "FROZEN");
  auto deadline = Clock::now() + 5s;
  while (trim(read_file(own / "freezer.state")) != "FROZEN" && Clock::now() < deadline)
    std::this_thread::sleep_for(5ms);
  REQUIRE(trim(read_file(own / "freezer.state")) == "FROZEN");

  run->kill_all();
  const auto stat_file = "/proc/" + std::to_string(worker->pid()) + "/stat";
  deadline = Clock::now() + 10s;
  while (parse_stat_state(read_file(stat_file)) != std::optional<char>('Z') && Clock::now() < deadline)
    std::this_thread::sleep_for(5ms);
  REQUIRE(parse_stat_state(read_file(stat_file)) == std::optional<char>('Z'));  // dead, not frozen
  CHECK(WIFSIGNALED(worker->wait()));
  run->destroy();
  CHECK_FALSE(fs::exists(own));
}

TEST_CASE("cgroup: kill_all kills a setsid double-forked grandchild and a fork storm", "[cgroup]") {
  WITH_BACKEND(backend);
  auto run = backend->create_run(next_run_name());
  auto cg = run->create_child("daemon");
  int pipe_fds[2];
  REQUIRE(::pipe(pipe_fds) == 0);
  auto parent = spawn_in(*cg, [&] {
    ::close(pipe_fds[0]);
    pid_t first = ::fork();
    if (first == 0) {
      ::setsid();
      pid_t grandchild = ::fork();
      if (grandchild == 0) {
        pid_t self = ::getpid();
        if (::write(pipe_fds[1], &self, sizeof self) != sizeof self) ::_exit(1);
        for (;;) ::pause();
      }
      ::_exit(0);
    }
    ::waitpid(first, nullptr, 0);
    for (;;) ::pause();
    return 0;
  });
  ::close(pipe_fds[1]);
  pid_t grandchild = 0;
  REQUIRE(::read(pipe_fds[0], &grandchild, sizeof grandchild) == sizeof grandchild);
  ::close(pipe_fds[0]);
  CHECK(contains(run->pids(), grandchild));
  CHECK(::getsid(grandchild) != ::getsid(0));  // its own session, out of our reach

  std::unique_ptr<Child> storm;
  std::unique_ptr<Cgroup> storm_cg;
  if (!run->unsupported(Knob::pids_max)) {
    // Every member keeps forking; pids.max keeps the storm from hurting the host.
    storm_cg = run->create_child("storm");
    storm_cg->set_pids_max(64);
    storm = spawn_in(*storm_cg, [] {
      for (;;) ::fork();
      return 0;
    });
    auto deadline = Clock::now() + 5s;
    while (storm_cg->pids().size() < 32 && Clock::now() < deadline) std::this_thread::sleep_for(1ms);
    CHECK(storm_cg->pids().size() >= 32);
  }

  auto start = Clock::now();
  run->kill_all();
  std::printf("%s: kill_all took %.1f ms\n", label_.c_str(),
              std::chrono::duration<double, std::milli>(Clock::now() - start).count());
  CHECK(run->pids().empty());
  CHECK_FALSE(run->populated());
  CHECK(process_gone_or_zombie(grandchild));
  int status = parent->wait();
  CHECK(WIFSIGNALED(status));
  if (storm) CHECK(WIFSIGNALED(storm->wait()));
}

TEST_CASE("cgroup: destroy removes the run in every hierarchy, children first", "[cgroup]") {
  WITH_BACKEND(backend);
  auto run_name = next_run_name();
  auto run = backend->create_run(run_name);
  auto child = run->create_child("api");
  auto nested = child->create_child("worker");
  auto sleeper = spawn_exec(*nested, {"/bin/sleep", "30"});
  auto dirs = run_dirs(run_name);
  std::size_t expected = backend->mode() == Mode::v2 ? 1 : 2;  // at least memory + one more on v1
  CHECK(dirs.size() >= expected);
  if (backend->mode() == Mode::hybrid) CHECK(dirs.size() == 7);  // six v1 hierarchies + unified

  // A directory nobody told the backend about (another tool's, or a process's own nesting).
  for (const auto& dir : dirs) REQUIRE(::mkdir((dir / "api" / "unknown").c_str(), 0755) == 0);

  run->destroy();  // while the children's handles still exist
  CHECK(run_dirs(run_name).empty());
  CHECK(WIFSIGNALED(sleeper->wait()));
  run->destroy();  // idempotent
  nested->destroy();
  child->destroy();
  CHECK((fs::exists(kMountRoot / "faultline") || fs::exists(kMountRoot / "memory" / "faultline")));
}

TEST_CASE("cgroup: remove_stale_runs removes a dead owner's run and keeps a live one", "[cgroup]") {
  WITH_BACKEND(backend);
  auto dead_name = format_run_name(RunName{RunOwner{0x3fffffff, 1, std::nullopt}, 0});  // beyond any pid_max
  auto live_name = next_run_name();
  auto dead = backend->create_run(dead_name);
  auto live = backend->create_run(live_name);
  auto odd = backend->create_run("run-not-a-run-name");
  auto dead_child = dead->create_child("leftover");
  auto orphan = spawn_exec(*dead_child, {"/bin/sleep", "30"});

  auto runs = backend->list_runs();
  CHECK(contains(runs, dead_name));
  CHECK(contains(runs, live_name));
  CHECK(contains(runs, "run-not-a-run-name"));

  auto removed = backend->remove_stale_runs().removed;
  CHECK(contains(removed, dead_name));
  CHECK_FALSE(contains(removed, live_name));
  CHECK_FALSE(contains(removed, "run-not-a-run-name"));
  CHECK(WIFSIGNALED(orphan->wait()));
  CHECK(run_dirs(dead_name).empty());
  CHECK_FALSE(run_dirs(live_name).empty());
  runs = backend->list_runs();
  CHECK_FALSE(contains(runs, dead_name));
  CHECK(contains(runs, live_name));
  CHECK(contains(runs, "run-not-a-run-name"));
}

TEST_CASE("cgroup: the scan at each start reaps dead owners' runs from one hierarchy, leaf or full",
          "[cgroup]") {
  using StaleScan = Backend::StaleScan;
  WITH_BACKEND(backend);
  // Leaf runs exist only in the hierarchies their limits need (pids here, not memory): the one
  // hierarchy the start-up scan reads must be one every run has.
  auto leaf_name = format_run_name(RunName{RunOwner{0x3fffffff, 3, std::nullopt}, 0});  // beyond any pid_max
  auto full_name = format_run_name(RunName{RunOwner{0x3fffffff, 3, std::nullopt}, 1});
  auto half_name = format_run_name(RunName{RunOwner{0x3fffffff, 3, std::nullopt}, 2});
  auto live_name = next_run_name();
  auto leaf = backend->create_leaf_run(leaf_name, {Knob::pids_max});
  auto full = backend->create_run(full_name);
  auto live = backend->create_leaf_run(live_name, {Knob::memory_max});
  auto orphan = spawn_exec(*leaf, {"/bin/sleep", "30"});
  // A harness that died while removing a run: the directory created first is removed last
  // (CgroupTree::destroy), so it is the one still there.
  auto half = backend->create_run(half_name);
  const auto half_dirs = run_dirs(half_name);
  const fs::path kept =
      backend->mode() == Mode::hybrid ? kMountRoot / "unified" / "faultline" / half_name : half_dirs.front();
  for (const auto& dir : half_dirs)
    if (dir != kept) ::rmdir(dir.c_str());
  REQUIRE(run_dirs(half_name) == std::vector<fs::path>{kept});

  const auto removed = backend->remove_stale_runs(StaleScan::at_start).removed;
  CHECK(contains(removed, leaf_name));
  CHECK(contains(removed, full_name));
  CHECK(contains(removed, half_name));
  CHECK_FALSE(contains(removed, live_name));
  CHECK(WIFSIGNALED(orphan->wait()));
  CHECK(run_dirs(leaf_name).empty());
  CHECK(run_dirs(full_name).empty());
  CHECK(run_dirs(half_name).empty());
  CHECK_FALSE(run_dirs(live_name).empty());
}

TEST_CASE("cgroup: destroy removes a run's first directory last", "[cgroup]") {
  WITH_BACKEND(backend);
  auto name = next_run_name();
  auto run = backend->create_run(name);
  const auto dirs = run_dirs(name);
  // v2 has one hierarchy, and legacy v1 scans them all at start: no order to keep there.
  if (backend->mode() != Mode::hybrid) return;
  // The unified directory, made first, must outlive the others, so that the next start's
  // one-hierarchy scan still sees a run whose removal was cut short.
  const fs::path first = kMountRoot / "unified" / "faultline" / name;
  int inotify = ::inotify_init1(IN_CLOEXEC);
  REQUIRE(inotify >= 0);
  std::map<int, fs::path> watched;
  for (const auto& dir : dirs)
    watched[::inotify_add_watch(inotify, dir.parent_path().c_str(), IN_DELETE)] = dir;
  run->destroy();
  std::vector<std::string> order;
  alignas(inotify_event) char buf[16384];
  for (ssize_t n = ::read(inotify, buf, sizeof buf); n > 0;) {
    for (char* p = buf; p < buf + n;) {
      auto* ev = reinterpret_cast<inotify_event*>(p);
      if (ev->len && std::string(ev->name) == name) order.push_back((watched[ev->wd]).string());
      p += sizeof(inotify_event) + ev->len;
    }
    pollfd pfd{inotify, POLLIN, 0};
    if (::poll(&pfd, 1, 0) <= 0) break;
    n = ::read(inotify, buf, sizeof buf);
  }
  ::close(inotify);
  INFO("removal order: " << [&] {
    std::string t;
    for (const auto& o : order) t += o + " ";
    return t;
  }());
  REQUIRE(order.size() == dirs.size());
  CHECK(order.back() == first.string());
}

TEST_CASE("cgroup: wait_until_empty returns promptly after the last process exits", "[cgroup]") {
  WITH_BACKEND(backend);
  auto run = backend->create_run(next_run_name());
  auto cg = run->create_child("short");
  auto sleeper = spawn_exec(*cg, {"/bin/sleep", "0.3"});
  CHECK_FALSE(run->wait_until_empty(50ms));  // still sleeping
  auto start = Clock::now();
  CHECK(run->wait_until_empty(10s));  // before the zombie is reaped
  auto waited = Clock::now() - start;
  std::printf("%s: empty %.1f ms after the wait began\n", label_.c_str(),
              std::chrono::duration<double, std::milli>(waited).count());
  CHECK(waited < 1s);
  CHECK(WIFEXITED(sleeper->wait()));
  CHECK(run->wait_until_empty(0ms));
}

TEST_CASE("cgroup: open_backend explains what is missing to an unprivileged user", "[cgroup]") {
  if (auto why = skip_reason()) FAULTLINE_SKIP(*why);
  const std::string message = output_of_child([] {
    std::string refusal = "no error";
    if (::setgid(65534) == 0 && ::setuid(65534) == 0) {
      try {
        open_backend();
      } catch (const HostRefusal& e) {
        // The refusal is read from the errno of the failing call: what tests may skip on.
        refusal = e.code() == EACCES ? e.what() : "errno " + std::to_string(e.code()) + ": " + e.what();
      } catch (const std::exception& e) {
        refusal = std::string("not a HostRefusal: ") + e.what();
      }
    }
    return refusal;
  });
  INFO(message);
  CHECK(message.rfind("cannot create throwaway cgroups under ", 0) == 0);
  CHECK(message.find(": Permission denied. Fix: run faultline as root; ") != std::string::npos);
  CHECK(message.size() > 40);
  std::string tail = "or point --cgroup-root at a cgroup you may write to";
  CHECK(message.compare(message.size() - tail.size(), tail.size(), tail) == 0);
}

TEST_CASE("cgroup: a non-root harness in a delegated v2 cgroup moves into a leaf and nests its runs",
          "[cgroup]") {
  if (auto why = skip_reason()) FAULTLINE_SKIP(*why);
  if (open_backend()->mode() != Mode::v2) {
    FAULTLINE_SKIP(std::string("delegation of a v2 subtree needs a pure cgroup v2 host; this one is ") +
                   to_string(open_backend()->mode()));
  }
  // What `systemd-run --user --scope -p Delegate=yes` hands a user: a cgroup it owns, holding it.
  auto delegated = kMountRoot / ("faultline-delegation-test-" + std::to_string(::getpid()));
  REQUIRE(::mkdir(delegated.c_str(), 0755) == 0);
  for (const char* file : {"", "cgroup.procs", "cgroup.subtree_control", "cgroup.threads"}) {
    REQUIRE(::chown((delegated / file).c_str(), 65534, 65534) == 0);
  }
  const std::string report = output_of_child([&] {
    std::string found;
    try {
      write_file(delegated / "cgroup.procs", "0");
      if (::setgid(65534) != 0 || ::setuid(65534) != 0) throw std::runtime_error("setuid failed");
      auto backend = open_backend();
      auto run = backend->create_run(next_run_name());
      auto child = run->create_child("p");
      found = child->describe() + "\n" + parse_proc_cgroup(cgroup::read_file("/proc/self/cgroup")).at("") +
              "\n" + child->unsupported(Knob::memory_max).value_or("memory ok") + "\n";
      run->destroy();
    } catch (const std::exception& e) {
      found = std::string("error: ") + e.what();
    }
    return found;
  });
  for (const char* leftover : {"faultline", "supervisor", ""}) ::rmdir((delegated / leftover).c_str());
  CHECK_FALSE(fs::exists(delegated));

  INFO(report);
  auto lines = split_words(report);
  REQUIRE(lines.size() >= 4);
  auto run_prefix = (delegated / "faultline" / "run-").string();
  CHECK(lines[0].rfind(run_prefix, 0) == 0);
  CHECK(lines[1] == "/" + delegated.filename().string() + "/supervisor");
  CHECK(report.find("\nmemory ok\n") != std::string::npos);
}

TEST_CASE("cgroup: a leaf run exists only where its limits and the kill need it, and is still reaped",
          "[cgroup]") {
  WITH_BACKEND(backend);
  auto dead_name = format_run_name(RunName{RunOwner{0x3fffffff, 2, std::nullopt}, 0});  // beyond any pid_max
  auto leaf = backend->create_leaf_run(dead_name, {Knob::memory_max});
  const auto dirs = run_dirs(dead_name);
  if (backend->mode() == Mode::v2) {
    CHECK(dirs.size() == 1);
  } else {
    // memory, plus the unified mount on hybrid (cgroup.kill) or the freezer on legacy v1.
    CHECK(dirs.size() == 2);
    for (const char* unneeded : {"cpu", "cpuacct", "cpuset", "pids"})
      CHECK_FALSE(fs::exists(kMountRoot / unneeded / "faultline" / dead_name));
  }
  CHECK(fs::exists(kMountRoot / (backend->mode() == Mode::v2 ? "" : "memory") / "faultline" / dead_name));
  leaf->set_memory_max(64 << 20);
  CHECK(leaf->memory_max() == (64u << 20));
  const auto stats = leaf->stats();
  CHECK(stats.memory_current.has_value());
  CHECK(stats.oom_kills_counted);
  if (backend->mode() != Mode::v2) {
    CHECK_FALSE(stats.cpu_throttled_periods.has_value());  // no cpu dir
    // No pids directory: no pids.events to read, so its count of 0 is no count at all.
    CHECK_FALSE(stats.pids_max_events_counted);
  }

  // A process that leaves its session behind is still found and killed through the leaf.
  auto orphan = spawn_in(*leaf, [] {
    ::setsid();
    for (;;) ::pause();
    return 0;
  });
  CHECK(contains(leaf->pids(), orphan->pid()));
  CHECK(leaf->populated());
  // Its owner is gone: a later harness reaps it like any run.
  CHECK(contains(backend->remove_stale_runs().removed, dead_name));
  CHECK(WIFSIGNALED(orphan->wait()));
  CHECK(run_dirs(dead_name).empty());
}
