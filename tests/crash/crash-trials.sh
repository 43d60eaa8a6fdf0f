#!/usr/bin/env bash
# Crash trials: SIGKILL the harness at random moments of a `run -j 2` (start-up, readiness, an
# active injection, the stop phase), then start faultline again (`cleanup` or a trivial run)
# and check that nothing of the killed run is left: no process carrying the trial's marker
# (argv or environment) and no cgroup of the run (run-<harness pid>-*) in any hierarchy.
#
# usage: crash-trials.sh FAULTLINE [TRIALS (24)] [SEED (random, printed)]
# Needs root (real cgroups). Exit 0: every trial clean; 1: something was left; 77: cannot run.
set -uo pipefail

faultline=${1:?usage: crash-trials.sh FAULTLINE [TRIALS] [SEED]}
trials=${2:-24}
seed=${3:-$(( $(date +%s) % 100000 ))}
here=$(cd "$(dirname "$0")" && pwd)
phases=(start-up readiness injection stop)

if [ "$(id -u)" != 0 ]; then
  echo "SKIPPED: crash trials need root to create cgroups"
  # Where every capability is promised (CI, the README test command), a skip is a failure.
  if [ "${CI:-}" = true ] || [ "${FAULTLINE_REQUIRE_ALL:-}" = 1 ]; then exit 1; fi
  exit 77
fi
[ -x "$faultline" ] || { echo "no faultline executable at $faultline" >&2; exit 1; }

RANDOM=$seed
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "crash trials: $trials trials, seed $seed (rerun with: $0 $faultline $trials $seed)"

random_ms() {  # low high -> a number of milliseconds in [low, high]
  echo $(( $1 + RANDOM % ($2 - $1 + 1) ))
}

sleep_ms() { sleep "$(printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)))"; }

# Waits (generously) until the command succeeds; fails when the harness died first or time ran out.
wait_for() {  # pid description command...
  local pid=$1 what=$2
  shift 2
  for _ in $(seq 1 400); do
    "$@" && return 0
    kill -0 "$pid" 2>/dev/null || { echo "  the harness exited before $what"; return 1; }
    sleep 0.05
  done
  echo "  $what did not happen within 20s"
  return 1
}

run_cgroups() {  # harness pid -> every cgroup directory of its runs, in any hierarchy
  find /sys/fs/cgroup -mindepth 2 -maxdepth 6 -type d -name "run-$1-*" 2>/dev/null
}

some_cgroup_frozen() {  # harness pid: true while the freeze injection holds (v1 freezer or v2)
  # Globs, not find: the freeze lasts a second and a loaded host makes a tree walk slow.
  local f
  for f in /sys/fs/cgroup/{,*/,*/*/}faultline/run-"$1"-*/*/{freezer.state,cgroup.events}; do
    grep -qsx -e FROZEN -e 'frozen 1' "$f" && return 0
  done
  return 1
}

marked_processes() {  # marker file -> pids whose argv or environment carries the marker
  # The marker is read from a file so that grep's own argv does not carry it.
  grep -lsaFf "$1" /proc/[0-9]*/cmdline /proc/[0-9]*/environ 2>/dev/null | cut -d/ -f3 | sort -u |
    grep -vx -e "$$" -e "$BASHPID" || true
}

failures=0
for trial in $(seq 1 "$trials"); do
  phase=${phases[$(( (trial - 1) % ${#phases[@]} ))]}
  mark="faultline-crash-trial-$seed-$trial-$RANDOM"
  dir="$work/trial-$trial"
  mkdir -p "$dir"
  printf '%s\n' "$mark" >"$work/mark"
  started=$(date +%s%N)
  # `exec`: $! must be the harness itself, not a subshell that would die in its place.
  (FAULTLINE_TRIAL_MARK=$mark FAULTLINE_TRIAL_DIR=$dir exec "$faultline" run -j 2 "$here/phases.toml" \
    "$here/pair.toml" >"$dir/harness.log" 2>&1) &
  harness=$!
  reached=0
  case $phase in
    start-up) delay=$(random_ms 0 150) reached=1 ;;
    readiness)
      delay=$(random_ms 0 600)
      wait_for "$harness" "the target started" test -e "$dir/phases.started" && reached=1
      ;;
    injection)
      delay=$(random_ms 0 700)
      wait_for "$harness" "the freeze took effect" some_cgroup_frozen "$harness" && reached=1
      ;;
    stop)
      delay=$(random_ms 0 2000)
      wait_for "$harness" "the stop phase began" test -e "$dir/phases.term" && reached=1
      ;;
  esac
  sleep_ms "$delay"
  # Past start-up the run's cgroups must exist, or the leftover check below would prove nothing.
  before=$(run_cgroups "$harness" | wc -l)
  kill -KILL "$harness" 2>/dev/null
  wait "$harness" 2>/dev/null

  # The next start of faultline: half the trials run `cleanup`, half a trivial scenario (every
  # start removes the runs of dead harnesses).
  if [ $((trial % 2)) = 0 ]; then
    next="cleanup"
    "$faultline" cleanup >"$dir/next.log" 2>&1
  else
    next="run (trivial)"
    "$faultline" run "$here/next-start.toml" >"$dir/next.log" 2>&1
  fi
  next_status=$?

  # The next start waits for the cgroups it kills to empty; zombies show no argv or environment.
  # Allow a moment for SIGKILL, which is delivered asynchronously, but not long enough for
  # another faultline start on this host to clean up in the next start's place.
  left_pids=""
  for _ in $(seq 1 10); do
    left_pids=$(marked_processes "$work/mark")
    [ -z "$left_pids" ] && break
    sleep 0.1
  done
  left_cgroups=$(run_cgroups "$harness")

  problems=()
  [ $reached = 1 ] || problems+=("phase not reached")
  [ "$phase" = start-up ] || [ "$before" -gt 0 ] || problems+=("no cgroup of run-$harness-* seen")
  [ $next_status = 0 ] || problems+=("\`faultline $next\` exited $next_status")
  [ -z "$left_pids" ] || problems+=("processes left")
  [ -z "$left_cgroups" ] || problems+=("cgroups left")
  verdict=ok
  [ ${#problems[@]} = 0 ] || verdict="FAIL ($(IFS=';'; echo "${problems[*]}" | sed 's/;/; /g'))"
  printf 'trial %2d/%d  phase %-10s killed %4d ms into it (%2d cgroups)  next start: %-13s %5d ms  %s\n' \
    "$trial" "$trials" "$phase" "$delay" "$before" "$next" $((($(date +%s%N) - started) / 1000000)) "$verdict"
  if [ "$verdict" != ok ]; then
    failures=$((failures + 1))
    for pid in $left_pids; do
      echo "    left: pid $pid $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)"
      kill -KILL "$pid" 2>/dev/null
    done
    [ -z "$left_cgroups" ] || echo "$left_cgroups" | sed 's/^/    left: cgroup /'
    sed 's/^/    harness: /' "$dir/harness.log" | tail -n 5
    sed 's/^/    next: /' "$dir/next.log" | tail -n 5
  fi
done

echo "crash trials: $trials trials, $failures failed (seed $seed)"
[ $failures = 0 ]
