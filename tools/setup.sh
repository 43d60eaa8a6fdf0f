#!/usr/bin/env bash
# One entry point for a fresh Debian 12 machine (as root):
#   tools/setup.sh examples   install what is missing, build, run the bundled example scenarios
#   tools/setup.sh test       install what is missing, build (plain and ASan+UBSan), run every test
#   tools/setup.sh build      install what is missing and build (used by the CI examples in docs/ci)
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
mode=${1:-}
jobs=$(nproc)

build_packages=(build-essential cmake ninja-build pkg-config libboost1.81-dev libcli11-dev libtomlplusplus-dev
  nlohmann-json3-dev catch2 libbenchmark-dev libre2-dev libseccomp-dev)
# The man page is generated from `faultline --help`; the .deb's Depends come from dpkg-shlibdeps
# (which CPack runs on the files `file` reports as ELF).
build_packages+=(help2man dpkg-dev file)
# What the bundled example scenarios run besides our own binaries: a real reverse proxy, Python,
# sqlite3, Go (go-emfile.toml builds a static Go test binary) and a real database (redis).
example_packages=(haproxy python3 sqlite3 golang-go redis-server redis-tools)
# Test tools: the cgroup v2 lane boots a Debian kernel under QEMU (tests/vm); Python checks the
# report schema and the CI examples.
# Chromium renders the HTML report; Taplo (from npm) checks the generated schema; haproxy is
# the real reverse proxy of the circuit-breaking scenarios.
test_packages=(qemu-system-x86 busybox-static cpio python3 python3-yaml python3-jsonschema libxml2-utils
  chromium haproxy)
# cgexec (cgroup-tools) is the baseline bench/exec_vs_cgexec.sh measures `faultline exec` against.
test_packages+=(cgroup-tools)
# strace is the baseline bench/syscall_fault_bench.cpp measures syscall faults against.
test_packages+=(strace)
# socat is the relay bench/proxy_bench.cpp reports beside the proxy's throughput.
test_packages+=(socat)
# Go builds the static test binary of the go-emfile scenarios; fiu-run (libfiu's LD_PRELOAD
# injector) is shown not to reach it (tests/e2e/go_emfile_test.cpp).
test_packages+=(golang-go fiu-utils)
# pgrep finds the processes of a background stage of the test command (not in a minimal image).
test_packages+=(procps)
# clang 14 and its runtime (libFuzzer, ASan, UBSan) build the scenario loader's fuzz target.
test_packages+=(clang-14 libclang-rt-14-dev)
# Node.js from another source (e.g. NodeSource, which bundles npm) conflicts with Debian's npm
# package: only install Debian's when there is no npm at all.
command -v npm >/dev/null 2>&1 || test_packages+=(nodejs npm)

install_missing() {
  local missing=()
  for p in "$@"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p"); done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

configure() {  # build-dir [cmake args...]
  local dir=$1
  shift
  cmake -S "$here" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
}
configure_and_build() {  # build-dir [cmake args...]
  configure "$@"
  cmake --build "$1" -j "$jobs"
}

# The sanitizer build instruments the harness and the tests of its modules. It is a unity build:
# its time goes into instantiating the same templates (Asio, JSON, Catch2) in every file, which a
# batch of files does once (0.65x the time on 2 cores). The plain build compiles one file at a
# time, as users build it, so a file that misses an include still fails to compile there.
build_sanitizer_harness() {
  cmake -S "$here" -B "$here/build-asan" -G Ninja -DFAULTLINE_SANITIZE=ON -DFAULTLINE_WERROR=ON \
    -DFAULTLINE_BUILD_BENCH=OFF -DCMAKE_UNITY_BUILD=ON \
    -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g1" >/dev/null
  cmake --build "$here/build-asan" -j "$jobs" --target faultline faultline-payload integration-tests \
    faultline-demo-backend faultline-demo-client faultline-demo-frontend
}

# Runs a command as the instrumented build's tests run: against its harness, from its build tree.
sanitizer_env=(ASAN_OPTIONS=abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1
  FAULTLINE_BIN="$here/build-asan/faultline" FAULTLINE_PAYLOAD="$here/build-asan/faultline-payload"
  FAULTLINE_SOURCE_DIR="$here")
in_sanitizer_env() { (export "${sanitizer_env[@]}" && cd "$here/build-asan" && "$@"); }

# What no cgroup test waits for is built while the instrumented integration and e2e tests run
# (they mostly wait too): the unit tests of both builds and the scenario loader's libFuzzer
# target (clang, ASan+UBSan, its own small project). Each is tried whatever became of the one
# before, so that one failure does not hide what the others would say.
build_unit_tests_and_fuzzer() {
  local rc=0
  cmake --build "$here/build" -j "$jobs" || { echo "the plain build's unit tests did not build" >&2; rc=1; }
  cmake --build "$here/build-asan" -j "$jobs" --target unit-tests ||
    { echo "the sanitizer build's unit tests did not build" >&2; rc=1; }
  { cmake -S "$here/tests/fuzz" -B "$here/build-fuzz" -G Ninja -DCMAKE_CXX_COMPILER=clang++-14 >/dev/null &&
    cmake --build "$here/build-fuzz" -j "$jobs"; } || { echo "the loader's fuzzer did not build" >&2; rc=1; }
  return $rc
}

fuzz_scenario_loader() {
  "$here/tests/fuzz/run-fuzz.sh" "$here/build-fuzz/loader-fuzzer" 60
}

# Stage headings carry the time since the command started, so a CI log shows where it goes.
stage() { printf '== [%dm%02ds] %s\n' $((SECONDS / 60)) $((SECONDS % 60)) "$*"; }

# A test step prints its output and keeps it in a log. A failed step's name and log are kept for
# the summary at the end: a CI page that shows only a log's last lines then still shows what
# failed, not just the last step's output.
failed_steps=()
step() {  # NAME LOG COMMAND...
  local name=$1 log=$2 rc=0 tee_pid _
  shift 2
  # Not a pipe into tee: the step would also wait for any process it left behind holding the
  # pipe. tee ends once every writer closed it; it gets a few seconds to write the log's end.
  "$@" > >(tee "$log") 2>&1 || rc=$?
  tee_pid=$!
  for _ in $(seq 50); do kill -0 "$tee_pid" 2>/dev/null || break; sleep 0.1; done
  [ "$rc" = 0 ] && return 0
  failed_steps+=("$name|$log")
  return 1
}
summarize_failures() {
  [ ${#failed_steps[@]} -gt 0 ] || return 0
  local entry name log
  stage "what failed (each step's whole output is above, and in its log)"
  for entry in "${failed_steps[@]}"; do
    name=${entry%%|*}
    log=${entry#*|}
    echo "--- $name ($log)"
    # Catch2 names the test case a few lines above FAILED:; the VM lane says FAIL: or HUNG.
    if ! grep -a -q -E 'FAILED:|FAIL:|HUNG|left behind|did not build|error:|ERROR:|SKIPPED \(unexpected\)|DECLARED SKIP DID NOT' "$log"; then
      tail -n 40 "$log"
      continue
    fi
    # head may end before grep does (SIGPIPE): not a failure of the summary.
    grep -a -E -B 10 -A 14 'FAILED:|FAIL:|HUNG|left behind|did not build|error:|ERROR:|SKIPPED \(unexpected\)|DECLARED SKIP DID NOT' \
      "$log" | head -n 150 || true
  done
}

# One stage at a time runs in the background, at nice 19 and in its own process group, its
# output kept in a log that is printed when it is waited for.
background_pid=
background_log=
start_in_background() {  # LOG FUNCTION
  background_log=$1
  set -m
  (
    renice -n 19 -p "$BASHPID" >/dev/null
    "$2"
  ) >"$background_log" 2>&1 &
  background_pid=$!
  set +m
}
# The process and every process below it, parents before their children. ninja starts each
# compiler in a process group of its own, so the background stage's group does not hold them.
process_tree() {  # PID
  local child
  echo "$1"
  for child in $(pgrep -P "$1"); do process_tree "$child"; done
}
# Back to normal priority (once nothing waits beside it, nice 19 would only slow it down under
# load), then waits for it and prints its output; returns its exit status, and a failure is kept
# for the summary as step NAME. With LINES, a stage that passed prints only its last LINES lines
# (the fuzzer's log has a line per new input; all of it stays in the log). Parents are reniced
# before their children, so what they start from then on starts at 0; a second pass catches a
# child started in between.
finish_background() {  # NAME [LINES]
  local name=$1 lines=${2:-} rc=0 _
  for _ in 1 2; do
    # shellcheck disable=SC2046
    renice -n 0 -p $(process_tree "$background_pid") >/dev/null 2>&1 || true
  done
  wait "$background_pid" || rc=$?
  if [ $rc = 0 ] && [ -n "$lines" ]; then
    echo "($name: its last lines; all of them are in $background_log)"
    tail -n "$lines" "$background_log"
  else
    cat "$background_log"
  fi
  [ $rc = 0 ] || failed_steps+=("$name|$background_log")
  background_pid=
  return $rc
}
trap '[ -z "$background_pid" ] || kill -- "-$background_pid" 2>/dev/null || true' EXIT

case "$mode" in
  build)
    install_missing "${build_packages[@]}"
    configure_and_build "$here/build" -DFAULTLINE_BUILD_BENCH=OFF
    ;;
  examples)
    install_missing "${build_packages[@]}" "${example_packages[@]}"
    configure_and_build "$here/build" -DFAULTLINE_BUILD_BENCH=OFF
    "$here/build/faultline" doctor
    exec "$here/build/faultline" run "$here/scenarios/examples" --json "$here/build/examples-report.json"
    ;;
  test)
    # Everything this command installs is promised to the tests: a skip not declared in
    # tests/expected-skips.txt for this host's cgroup mode fails its test binary (tests/README.md).
    export FAULTLINE_REQUIRE_ALL=1
    # The tests run the bundled examples too, so what they run is installed as well.
    install_missing "${build_packages[@]}" "${example_packages[@]}" "${test_packages[@]}"
    stage "plain build (-O2, file by file, warnings as errors), all but its unit tests"
    # -O2: g++ 12 gives false -Wrestrict errors inside std::string at -O3 (GCC bug 105329).
    configure "$here/build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG" -DFAULTLINE_WERROR=ON
    # Compiling is most of the command's CPU and the tests mostly wait, so what comes first is
    # only what the v2 lane and the host's light tests need; the unit tests (a fifth of this
    # build's CPU) and the benchmarks are compiled beside the instrumented cgroup tests below.
    cmake --build "$here/build" -j "$jobs" --target faultline faultline-payload faultline-cli-docs \
      integration-tests e2e-tests fuzz-regressions
    status=0
    # The tests mostly wait (timelines, grace periods, an emulated guest): the v2 lane uses
    # under half a core. The CPU it leaves idle builds the next stage, at nice 19, so the tests'
    # latency bounds meet no more load than without it.
    start_in_background "$here/build/sanitizer-build.log" build_sanitizer_harness
    stage "plain build: the cgroup v2 VM lane, then the host's light tests"
    # The VM lane first and alone: an emulated guest sharing the CPU with the host's tests on a
    # loaded machine got so little of it that a bundled example's latency bounds failed there.
    # It runs the integration and e2e tests against this build's harness, on cgroup v2; on this
    # host they run once, below, against the instrumented harness.
    step "the cgroup v2 VM lane" "$here/build/vm-lane.log" \
      ctest --test-dir "$here/build" --output-on-failure -R '^vm-cgroup-v2$' || status=1
    # The light tests run beside the host's tests, which take turns on the host's cgroups
    # (RESOURCE_LOCK host_cgroups in tests/CMakeLists.txt).
    step "the host's light tests" "$here/build/light-tests.log" \
      ctest --test-dir "$here/build" --output-on-failure -j "$jobs" -E '^(unit|integration|e2e|vm-cgroup-v2)$' ||
      status=1
    stage "sanitizer build (ASan+UBSan), built beside the tests above"
    if ! finish_background "the sanitizer build"; then
      echo "the sanitizer build failed: its tests do not run" >&2
      summarize_failures
      exit 1
    fi
    start_in_background "$here/build/unit-tests-build.log" build_unit_tests_and_fuzzer
    stage "sanitizer build (ASan+UBSan): integration and e2e tests; unit tests and fuzzer built beside them"
    # Leak checks stay at each binary's default: on for faultline and the tests, off for the
    # demo programs the scenarios run (scenarios/services/common/command_line.cpp).
    # Every test, the v1 squeezes included: their charge comes from an exec'd helper whose
    # charge is not its own resident memory, so a sanitizer-sized binary is never the OOM
    # killer's choice over the target (see injectors/memory_injector.h). The e2e test binary is
    # the plain build's: it only drives the instrumented executable. What the tests leave for
    # people to look at stays in the build tree. Each step runs whatever the one before said, so
    # that one failure does not hide another's.
    step "integration tests (ASan+UBSan)" "$here/build-asan/integration-tests.log" \
      in_sanitizer_env "$here/build-asan/tests/integration-tests" || status=1
    step "e2e tests (against the ASan+UBSan harness)" "$here/build-asan/e2e-tests.log" \
      in_sanitizer_env "$here/build/tests/e2e-tests" || status=1
    step "no throwaway cgroups left" "$here/build/leftovers.log" "$here/tests/check-no-leftovers.sh" || status=1
    stage "unit tests (plain and ASan+UBSan), beside 60 s of fuzzing the scenario loader"
    finish_background "building the unit tests and the fuzzer" || status=1
    fuzzing=
    if [ -x "$here/build-fuzz/loader-fuzzer" ]; then
      start_in_background "$here/build/fuzz.log" fuzz_scenario_loader
      fuzzing=1
    fi
    # A unit test binary that did not build fails the step above; the other still runs.
    if [ -x "$here/build/tests/unit-tests" ]; then
      step "unit tests" "$here/build/unit-tests.log" \
        ctest --test-dir "$here/build" --output-on-failure -R '^unit$' || status=1
    fi
    if [ -x "$here/build-asan/tests/unit-tests" ]; then
      step "unit tests (ASan+UBSan)" "$here/build-asan/unit-tests.log" \
        in_sanitizer_env "$here/build-asan/tests/unit-tests" || status=1
    fi
    if [ -n "$fuzzing" ]; then finish_background "fuzzing the scenario loader" 12 || status=1; fi
    summarize_failures
    stage "done: exit status $status"
    exit $status
    ;;
  *)
    echo "usage: tools/setup.sh examples|test|build" >&2
    exit 2
    ;;
esac
