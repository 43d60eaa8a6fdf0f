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
#   lean        a minimal static C program doing what any exec that outlives its command must:
#               make the groups faultline makes, set the limit, vfork, move the child in, exec
#               the command, wait, read the OOM and peak counters, remove the groups (built here
#               with cc -static; left out when that fails)
#   lean++      the same launcher built as faultline is linked: C++ with iostreams, libstdc++ and
#               libgcc static, glibc, libm and libseccomp shared (left out when that build fails).
#               The least a program linked like faultline can cost, whatever its own code does
#   baseline    (with a second binary) the same exec with another faultline, e.g. before a change
# Prints the median wall time of each and its ratio to cgexec (or to the script without cgexec).
# faultline has to stay the command's parent (to remove the cgroup and read why the command
# ended), so one exec costs two program starts, faultline's and the command's, as cgexec's does
# (cgexec execs the command in its own place); `lean` is the least such a program can cost.
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
  cleanup() { rmdir $mem $cg/cpu/$group 2>/dev/null || true; rm -rf "$times_file" "${lean_dir:-}"; }
else                                             # pure v2
  mem=$cg/$group
  mkdir $mem
  echo $limit >$mem/memory.max
  limit_file=memory.max
  memroot=$cg
  cleanup() { rmdir $mem 2>/dev/null || true; rm -rf "$times_file" "${lean_dir:-}"; }
fi
trap cleanup EXIT

# The lean launcher: memory group, its limit file, the limit, a second group or '-', command...
lean_dir=$(mktemp -d)
cat >"$lean_dir/lean.c" <<'EOF'
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
static void put(const char *dir, const char *file, const char *value) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", dir, file);
  int fd = open(path, O_WRONLY);
  if (fd >= 0) { if (write(fd, value, strlen(value)) < 0) {} close(fd); }
}
static void drain(const char *dir, const char *file) {
  char path[512], buffer[1024];
  snprintf(path, sizeof path, "%s/%s", dir, file);
  int fd = open(path, O_RDONLY);
  if (fd >= 0) { if (read(fd, buffer, sizeof buffer) < 0) {} close(fd); }
}
int main(int argc, char **argv) {
  if (argc < 6) return 125;
  char mem[256], other[256], pid[32];
  snprintf(mem, sizeof mem, "%s-lean-%d", argv[1], getpid());
  snprintf(other, sizeof other, "%s-lean-%d", argv[4], getpid());
  const int two = strcmp(argv[4], "-") != 0;
  if (mkdir(mem, 0755) != 0) return 125;
  if (two && mkdir(other, 0755) != 0) {
    rmdir(mem);
    return 125;
  }
  put(mem, argv[2], argv[3]);
  pid_t child = vfork();
  if (child == 0) {
    snprintf(pid, sizeof pid, "%d", getpid());
    put(mem, "cgroup.procs", pid);
    if (two) put(other, "cgroup.procs", pid);
    execv(argv[5], argv + 5);
    _exit(127);
  }
  int status = 0;
  waitpid(child, &status, 0);
  drain(mem, two ? "memory.oom_control" : "memory.events");
  drain(mem, two ? "memory.max_usage_in_bytes" : "memory.peak");
  rmdir(mem);
  if (two) rmdir(other);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
EOF
have_lean=0
if cc -O2 -static -o "$lean_dir/lean" "$lean_dir/lean.c" 2>/dev/null; then have_lean=1
else echo "cc -static failed (is libc6-dev installed?): the lean launcher is left out" >&2; fi
{ grep -v '^#define _GNU_SOURCE' "$lean_dir/lean.c"
  cat <<'EOF'
#include <iostream>
// What every program that writes with iostreams pays at its start: the standard streams and the
// classic locale, as faultline does.
static struct Streams { Streams() { std::cerr << std::flush; } } streams;
EOF
} >"$lean_dir/lean++.cpp"
have_leanpp=0
if c++ -O2 -static-libstdc++ -static-libgcc -o "$lean_dir/lean++" "$lean_dir/lean++.cpp" \
     -Wl,--no-as-needed -lseccomp -lm -Wl,--as-needed 2>/dev/null; then have_leanpp=1
else echo "the C++ build of the lean launcher failed (libseccomp-dev?): lean++ is left out" >&2; fi
if [ -d $cg/memory ]; then lean_args=($cg/memory/faultline-bench memory.limit_in_bytes $limit $cg/unified/faultline-bench)
else lean_args=($cg/faultline-bench memory.max $limit -); fi

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
  [ $have_lean = 0 ] || time_one lean "$lean_dir/lean" "${lean_args[@]}" /bin/true
  [ $have_leanpp = 0 ] || time_one lean++ "$lean_dir/lean++" "${lean_args[@]}" /bin/true
  [ -z "$baseline" ] || time_one base-vers "$baseline" --version
done

median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
base=cgexec; [ $have_cgexec = 1 ] || base=script
base_us=$(echo "${samples[$base]}" | median)
printf "%-10s %10s %8s %10s %8s   (wall: median of %d paired rounds; CPU: user+system per run; ratios to %s)\n" \
  tool "wall ms" ratio "CPU ms" ratio "$rounds" "$base"
for name in faultline baseline cgexec script bare version base-vers lean lean++; do
  [ -n "${samples[$name]:-}" ] || continue
  us=$(echo "${samples[$name]}" | median)
  awk -v n=$name -v us="$us" -v b="$base_us" -v c="${cpu[$name]}" -v cb="${cpu[$base]}" -v r="$rounds" \
    'BEGIN {printf "%-10s %10.2f %8.2f %10.2f %8.2f\n", n, us / 1000, us / b, c / r / 1000, (cb > 0 ? c / cb : 0)}'
done
