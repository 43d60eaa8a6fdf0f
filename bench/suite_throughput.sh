#!/usr/bin/env bash
# Throughput of many short scenarios with -j on this machine: the same 8 one-second scenarios
# run serially and with -j 4, side by side in one run; prints both times and their ratio.
# Usage: bench/suite_throughput.sh BUILD_DIR [runs]
set -euo pipefail
build=${1:?usage: suite_throughput.sh BUILD_DIR [runs]}
runs=${2:-3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for i in 1 2 3 4 5 6 7 8; do
  cat >"$work/one-second-$i.toml" <<TOML
name = "one second $i"
[target]
command = ["\${faultline_dir}/faultline-payload", "spin", "1s"]
TOML
done

measure() {  # -j value -> best wall time in ms over $runs runs
  local best=
  for _ in $(seq "$runs"); do
    local t0 t1 ms
    t0=$(date +%s%N)
    "$build/faultline" run "$work" -j "$1" >/dev/null
    t1=$(date +%s%N)
    ms=$(((t1 - t0) / 1000000))
    if [ -z "$best" ] || [ "$ms" -lt "$best" ]; then best=$ms; fi
  done
  echo "$best"
}

serial=$(measure 1)
parallel=$(measure 4)
echo "8 one-second scenarios (busy, 1s each), best of $runs:"
echo "  -j 1: ${serial} ms"
echo "  -j 4: ${parallel} ms"
awk -v s="$serial" -v p="$parallel" 'BEGIN { printf "  -j 4 takes %.2f of the serial time (%.1fx faster)\n", p / s, s / p }'
