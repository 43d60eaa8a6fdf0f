#!/usr/bin/env bash
# Soak: 300 scenario runs with -j 4 in one harness (three short selftest scenarios, 100 times
# each), sampling the harness's open fds and resident memory while it runs. Prints the first,
# last and highest figures; fails when a run cgroup or a process of the harness is left behind,
# or when fewer runs than asked for were reported. Not a timed test: run it by hand.
# Usage: bench/soak.sh BUILD_DIR [repeat (100)] [jobs (4)]
set -uo pipefail
build=$(cd "${1:?usage: soak.sh BUILD_DIR [repeat] [jobs]}" && pwd)
repeat=${2:-100}
jobs=${3:-4}
here=$(cd "$(dirname "$0")/.." && pwd)
scenarios=("$here/scenarios/selftest/report-pass.toml" "$here/scenarios/selftest/inject-skip-exited.toml"
  "$here/scenarios/selftest/inject-signal-repeat.toml")
expected=$((repeat * ${#scenarios[@]}))
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Every process the harness starts inherits this marker (the scenarios keep the environment).
mark="faultline-soak-$$-$RANDOM"
t0=$(date +%s%N)
# `exec`: $! must be the harness itself, not a subshell.
(FAULTLINE_SOAK_MARK=$mark exec "$build/faultline" run --repeat "$repeat" -j "$jobs" --json "$work/report.json" \
  "${scenarios[@]}" >"$work/run.log" 2>&1) &
harness=$!

# One sample every 250 ms: elapsed ms, open fds, VmRSS (KiB), harness threads.
samples="$work/samples"
while [ -r "/proc/$harness/status" ]; do
  fds=$(ls "/proc/$harness/fd" 2>/dev/null | wc -l)
  rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$harness/status" 2>/dev/null)
  threads=$(awk '/^Threads:/ {print $2}' "/proc/$harness/status" 2>/dev/null)
  [ -n "$rss" ] && [ "$fds" -gt 0 ] && echo "$((($(date +%s%N) - t0) / 1000000)) $fds $rss $threads" >>"$samples"
  sleep 0.25
done
wait "$harness"
status=$?
t1=$(date +%s%N)

read -r runs verdicts < <(python3 -c 'import json, sys
r = json.load(open(sys.argv[1]))
print(len(r["scenarios"]), " ".join(f"{k} {v}" for k, v in r["summary"].items()))' "$work/report.json" 2>/dev/null ||
  echo 0 "no report")
echo "soak: $runs scenario runs with -j $jobs in $(((t1 - t0) / 1000000)) ms ($verdicts), harness exit status $status"
awk 'NR == 1 {first = $0} {last = $0; if ($2 > maxfd) maxfd = $2; if ($3 > maxrss) maxrss = $3}
  END {
    split(first, f); split(last, l)
    printf "samples: %d (every 250 ms)\n", NR
    printf "  first (%6d ms): %3d fds, VmRSS %6d KiB, %d threads\n", f[1], f[2], f[3], f[4]
    printf "  last  (%6d ms): %3d fds, VmRSS %6d KiB, %d threads\n", l[1], l[2], l[3], l[4]
    printf "  highest:           %3d fds, VmRSS %6d KiB\n", maxfd, maxrss
  }' "$samples"
# The first and last quarter of the run side by side: flat means the last quarter is not higher.
awk -v n="$(wc -l <"$samples")" '
  NR <= n / 4 {fa += $2; ra += $3; na++}
  NR > 3 * n / 4 {fb += $2; rb += $3; nb++}
  END {
    if (na && nb)
      printf "  mean of the first quarter: %.1f fds, %.0f KiB; of the last quarter: %.1f fds, %.0f KiB\n",
        fa / na, ra / na, fb / nb, rb / nb
  }' "$samples"

failed=0
left=$(find /sys/fs/cgroup -mindepth 2 -maxdepth 6 -type d -name "run-$harness-*" 2>/dev/null)
if [ -n "$left" ]; then
  echo "FAIL: run cgroups left behind:"
  echo "$left"
  failed=1
fi
# Anything the harness started and that outlived it still carries the marker.
strays=$(grep -lsF "$mark" /proc/[0-9]*/environ | cut -d/ -f3 | grep -vx "$$" || true)
if [ -n "$strays" ]; then
  echo "FAIL: processes left behind:"
  ps -o pid,ppid,args -p "$(echo $strays | tr ' ' ,)"
  failed=1
fi
if [ "$runs" -ne "$expected" ]; then
  echo "FAIL: $runs runs reported, $expected expected"
  tail -n 20 "$work/run.log"
  failed=1
fi
[ $failed = 0 ] && echo "nothing left behind"
exit $failed
