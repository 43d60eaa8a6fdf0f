#!/usr/bin/env bash
# Fuzzes the scenario loader for a bounded time, seeded with every shipped scenario and the saved
# findings; fails when libFuzzer reports a crash, a leak, a sanitizer error or a timeout.
#
# usage: run-fuzz.sh LOADER_FUZZER SECONDS [RUNS] [extra libFuzzer flags...]
#   SECONDS: -max_total_time; RUNS: stop after this many executions (default: no limit).
# The working corpus and any crash input are kept in the fuzzer's folder (fuzz-corpus/, crash-*).
set -euo pipefail

fuzzer=$(cd "$(dirname "${1:?usage: run-fuzz.sh LOADER_FUZZER SECONDS [RUNS]}")" && pwd)/$(basename "$1")
seconds=${2:?usage: run-fuzz.sh LOADER_FUZZER SECONDS [RUNS]}
runs=${3:--1}
shift $(($# < 3 ? $# : 3))
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=$(dirname "$fuzzer")

shopt -s nullglob
findings=("$here"/regressions/*.bin)
# 1. The saved findings must still load cleanly (each was a crash once).
if [ ${#findings[@]} -gt 0 ]; then
  "$fuzzer" -runs=1 "${findings[@]}" >"$out/fuzz-regressions.log" 2>&1 ||
    { cat "$out/fuzz-regressions.log"; exit 1; }
  echo "${#findings[@]} saved finding(s) replayed without a crash"
fi

# 2. Seeds: every shipped scenario and test fixture, flattened into one folder.
seeds="$out/fuzz-seeds"
rm -rf "$seeds" && mkdir -p "$seeds" "$out/fuzz-corpus"
while IFS= read -r file; do
  rel=${file#"$root"/}
  cp "$file" "$seeds/${rel//\//_}"
done < <(find "$root/scenarios" "$root/tests" -name '*.toml' -not -path '*/regressions/*' -not -path "$out/*")
[ ${#findings[@]} -eq 0 ] || cp "${findings[@]}" "$seeds/"
echo "fuzzing the scenario loader for ${seconds}s with $(ls "$seeds" | wc -l) seeds"

# 3. Fuzz. New inputs go to fuzz-corpus (the first folder), seeds are read only. A small ASan
# quarantine and no malloc fill double the executions per second; use-after-free within the
# last 8 MiB of frees is still caught.
cd "$out"
export ASAN_OPTIONS=${ASAN_OPTIONS:-quarantine_size_mb=8:max_malloc_fill_size=0:malloc_context_size=5}
exec "$fuzzer" -max_total_time="$seconds" -runs="$runs" -timeout=10 -rss_limit_mb=2048 -max_len=4096 \
  -dict="$here/scenario.dict" -print_final_stats=1 "$@" fuzz-corpus "$seeds"
