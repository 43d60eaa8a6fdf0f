#!/usr/bin/env bash
# What `faultline exec --memory 64MiB -- /bin/true` costs next to the other ways of running a
# command under a memory limit, all measured in the same run, interleaved (one of each per round)
# so that machine load hits them alike:
#   faultline   faultline exec --memory 64MiB -- /bin/true
#   cgexec      cgexec -g memory,cpu:<pre-made group> /bin/true  (Debian: apt-get install cgroup-tools;
#               skipped when absent)
#   script      a shell script: mkdir, set the limit, move itself in, exec true, rmdir
#   bare        /bin/true
# Prints the median wall time of each and its ratio to cgexec (or to the script without cgexec).
# usage: bench/exec_vs_cgexec.sh [ROUNDS] [FAULTLINE]   (as root; default 40 rounds, build/faultline)
set -euo pipefail
rounds=${1:-40}
faultline=${2:-$(dirname "$0")/../build/faultline}
[ -x "$faultline" ] || { echo "no faultline binary at $faultline (build it first)" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "run as root (the comparison makes cgroups directly)" >&2; exit 2; }

cg=/sys/fs/cgroup
group=faultline-bench-$$
limit=$((64 * 1024 * 1024))
if [ -d $cg/memory ]; then                       # v1 or hybrid
  mem=$cg/memory/$group
  mkdir $mem $cg/cpu/$group
  echo $limit >$mem/memory.limit_in_bytes
  limit_file=memory.limit_in_bytes
  memroot=$cg/memory
  cleanup() { rmdir $mem $cg/cpu/$group 2>/dev/null || true; }
else                                             # pure v2
  mem=$cg/$group
  mkdir $mem
  echo $limit >$mem/memory.max
  limit_file=memory.max
  memroot=$cg
  cleanup() { rmdir $mem 2>/dev/null || true; }
fi
trap cleanup EXIT

have_cgexec=0
if command -v cgexec >/dev/null; then have_cgexec=1; else
  echo "cgexec not found: apt-get install cgroup-tools to include it; comparing against the script" >&2
fi

script='d='$memroot'/faultline-bench-script-$$; mkdir $d; echo '$limit' >$d/'$limit_file'
sh -c "echo \$\$ >$d/cgroup.procs; exec /bin/true"; rmdir $d'

declare -A samples
time_one() {  # name command...
  local name=$1; shift
  local t0 t1
  # EPOCHREALTIME, not $(date): a subshell per sample would dwarf /bin/true.
  t0=${EPOCHREALTIME/./}; "$@" >/dev/null; t1=${EPOCHREALTIME/./}
  samples[$name]+="$((t1 - t0)) "
}

for ((i = 0; i < rounds; i++)); do
  time_one faultline "$faultline" exec --memory 64MiB -- /bin/true
  [ $have_cgexec = 1 ] && time_one cgexec cgexec -g memory,cpu:$group /bin/true
  time_one script sh -c "$script"
  time_one bare /bin/true
done

median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
base=cgexec; [ $have_cgexec = 1 ] || base=script
base_us=$(echo "${samples[$base]}" | median)
printf "%-10s %10s %8s   (median of %d paired rounds, ratio to %s)\n" tool "ms" ratio "$rounds" "$base"
for name in faultline cgexec script bare; do
  [ -n "${samples[$name]:-}" ] || continue
  us=$(echo "${samples[$name]}" | median)
  awk -v n=$name -v us="$us" -v b="$base_us" 'BEGIN {printf "%-10s %10.2f %8.2f\n", n, us / 1000, us / b}'
done
