#!/usr/bin/env bash
# What `faultline exec --memory 64MiB -- /bin/true` costs next to the other ways of running a
# command under a memory limit, all measured in the same run, interleaved (one of each per round)
# so that machine load hits them alike:
#   faultline   faultline exec --memory 64MiB -- /bin/true
#   cgexec      cgexec -g memory,cpu:<pre-made group> /bin/true  (Debian: apt-get install cgroup-tools;
#               skipped when absent)
#   script      a shell script: mkdir, set the limit, move itself in, exec true, rmdir
#   bare        /bin/true
#   version     faultline --version: the executable's own start, before any cgroup work
#   baseline    (with a second binary) the same exec with another faultline, e.g. before a change
# Prints the median wall time of each and its ratio to cgexec (or to the script without cgexec),
# and the floor: faultline has to stay the command's parent (to remove the cgroup and read why
# the command ended), so one exec costs two program starts, faultline's and the command's, as
# cgexec's does (cgexec execs the command in its own place); the floor is 2 x bare.
# usage: bench/exec_vs_cgexec.sh [ROUNDS] [FAULTLINE] [BASELINE_FAULTLINE]
#        (as root; default 40 rounds, build/faultline)
set -euo pipefail
rounds=${1:-40}
faultline=${2:-$(dirname "$0")/../build/faultline}
baseline=${3:-}
[ -x "$faultline" ] || { echo "no faultline binary at $faultline (build it first)" >&2; exit 2; }
[ -z "$baseline" ] || [ -x "$baseline" ] || { echo "no baseline binary at $baseline" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "run as root (the comparison makes cgroups directly)" >&2; exit 2; }

cg=/sys/fs/cgroup
times_file=$(mktemp)
group=faultline-bench-$$
limit=$((64 * 1024 * 1024))
if [ -d $cg/memory ]; then                       # v1 or hybrid
  mem=$cg/memory/$group
  mkdir $mem $cg/cpu/$group
  echo $limit >$mem/memory.limit_in_bytes
  limit_file=memory.limit_in_bytes
  memroot=$cg/memory
  cleanup() { rmdir $mem $cg/cpu/$group 2>/dev/null || true; rm -f "$times_file"; }
else                                             # pure v2
  mem=$cg/$group
  mkdir $mem
  echo $limit >$mem/memory.max
  limit_file=memory.max
  memroot=$cg
  cleanup() { rmdir $mem 2>/dev/null || true; rm -f "$times_file"; }
fi
trap cleanup EXIT

have_cgexec=0
if command -v cgexec >/dev/null; then have_cgexec=1; else
  echo "cgexec not found: apt-get install cgroup-tools to include it; comparing against the script" >&2
fi

script='d='$memroot'/faultline-bench-script-$$; mkdir $d; echo '$limit' >$d/'$limit_file'
sh -c "echo \$\$ >$d/cgroup.procs; exec /bin/true"; rmdir $d'

# CPU time (user + system) of the finished children so far, in microseconds, into $children_us,
# from the shell's own `times` (no subshell: a subshell's `times` would count only its own
# children). Unlike wall time it hardly moves with the machine's load.
to_us() {  # 1m2.345s -> microseconds, added to $children_us (no subshell: it would count too)
  local min=${1%%m*} sec=${1#*m}
  sec=${sec%s}
  children_us=$(( children_us + (min * 60 + ${sec%.*}) * 1000000 + 10#${sec#*.} * 1000 ))
}
children_cpu() {
  local user sys
  times >"$times_file"
  { read -r _; read -r user sys; } <"$times_file"
  children_us=0; to_us "$user"; to_us "$sys"
}

declare -A samples cpu
time_one() {  # name command...
  local name=$1; shift
  local t0 t1 c0 c1
  children_cpu; c0=$children_us
  # EPOCHREALTIME, not $(date): a subshell per sample would dwarf /bin/true.
  t0=${EPOCHREALTIME/./}; "$@" >/dev/null; t1=${EPOCHREALTIME/./}
  children_cpu; c1=$children_us
  samples[$name]+="$((t1 - t0)) "
  cpu[$name]=$(( ${cpu[$name]:-0} + c1 - c0 ))
}

for ((i = 0; i < rounds; i++)); do
  time_one faultline "$faultline" exec --memory 64MiB -- /bin/true
  [ -z "$baseline" ] || time_one baseline "$baseline" exec --memory 64MiB -- /bin/true
  [ $have_cgexec = 1 ] && time_one cgexec cgexec -g memory,cpu:$group /bin/true
  time_one script sh -c "$script"
  time_one bare /bin/true
  time_one version "$faultline" --version
  [ -z "$baseline" ] || time_one base-vers "$baseline" --version
done

median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
base=cgexec; [ $have_cgexec = 1 ] || base=script
base_us=$(echo "${samples[$base]}" | median)
printf "%-10s %10s %8s %10s %8s   (wall: median of %d paired rounds; CPU: user+system per run; ratios to %s)\n" \
  tool "wall ms" ratio "CPU ms" ratio "$rounds" "$base"
for name in faultline baseline cgexec script bare version base-vers; do
  [ -n "${samples[$name]:-}" ] || continue
  us=$(echo "${samples[$name]}" | median)
  awk -v n=$name -v us="$us" -v b="$base_us" -v c="${cpu[$name]}" -v cb="${cpu[$base]}" -v r="$rounds" \
    'BEGIN {printf "%-10s %10.2f %8.2f %10.2f %8.2f\n", n, us / 1000, us / b, c / r / 1000, (cb > 0 ? c / cb : 0)}'
done
bare_us=$(echo "${samples[bare]}" | median)
awk -v f="$bare_us" -v b="$base_us" -v c="${cpu[bare]}" -v cb="${cpu[$base]}" \
  'BEGIN {printf "%-10s %10.2f %8.2f %10.2f %8.2f   (two program starts: what any exec that outlives its command pays)\n", "floor", 2 * f / 1000, 2 * f / b, 2 * c / '"$rounds"' / 1000, (cb > 0 ? 2 * c / cb : 0)}'
