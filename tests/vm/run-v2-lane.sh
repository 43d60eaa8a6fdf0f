#!/usr/bin/env bash
# The cgroup v2 lane: boots Debian's 6.1 kernel in QEMU with only cgroup2 mounted and runs the
# integration and e2e test binaries there, so the v2 backend is tested on a real v2 kernel even
# when the host is hybrid or v1. Skips in the guest must be declared in tests/expected-skips.txt
# (environments v2 and vm); any other skip, or a declared one that did not happen, fails the lane.
#
# usage: run-v2-lane.sh INTEGRATION_TESTS E2E_TESTS FAULTLINE FAULTLINE_PAYLOAD SOURCE_DIR
#
# Environment (all optional):
#   FAULTLINE_VM_CACHE    where the kernel is kept (default ${XDG_CACHE_HOME:-$HOME/.cache}/faultline/vm)
#   FAULTLINE_VM_KERNEL   use this vmlinuz instead of downloading one
#   FAULTLINE_VM_ACCEL    kvm or tcg (default: kvm when /dev/kvm really works, else tcg)
#   FAULTLINE_VM_TIMEOUT  wall-clock limit for the guest in seconds (default 1200)
#   FAULTLINE_VM_LOG      console log file (default: vm-cgroup-v2.log beside INTEGRATION_TESTS)
#   FAULTLINE_VM_KEEP     set to 1 to keep the initramfs work directory for inspection
set -euo pipefail

readonly MARKER=FAULTLINE-VM
# The tags whose test cases the lane counts in its summary (syscall faults and the TCP proxy).
# The toxic parsing and scheduling tests ([toxics]) are unit tests: they do not run in the guest.
readonly counted_tags=syscall,proxy

say() { echo "run-v2-lane: $*"; }
fail() {
  echo "run-v2-lane: error: $*" >&2
  exit 1
}

if [ $# -ne 5 ]; then
  echo "usage: $0 INTEGRATION_TESTS E2E_TESTS FAULTLINE FAULTLINE_PAYLOAD SOURCE_DIR" >&2
  exit 2
fi

absolute() { readlink -f -- "$1"; }
integration_bin=$(absolute "$1")
e2e_bin=$(absolute "$2")
faultline_bin=$(absolute "$3")
payload_bin=$(absolute "$4")
source_dir=$(absolute "$5")
for bin in "$integration_bin" "$e2e_bin" "$faultline_bin" "$payload_bin"; do
  [ -x "$bin" ] || fail "$bin is not an executable file"
done
[ -d "$source_dir" ] || fail "source directory $source_dir does not exist"

# ---- host tools ---------------------------------------------------------------------------------
need() {  # need COMMAND DEBIAN_PACKAGE
  command -v "$1" >/dev/null 2>&1 || fail "$1 not found: install the Debian package $2 (apt-get install $2)"
}
need qemu-system-x86_64 qemu-system-x86
need cpio cpio
need gzip gzip
need ldd libc-bin
need timeout coreutils
busybox=/bin/busybox
[ -x "$busybox" ] || fail "$busybox not found: install the Debian package busybox-static"
# The guest has no libc of its own for busybox: it must be the static build.
if ldd "$busybox" >/dev/null 2>&1; then
  fail "$busybox is dynamically linked: install busybox-static (it replaces busybox)"
fi

# ---- kernel -------------------------------------------------------------------------------------
cache_dir=${FAULTLINE_VM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/faultline/vm}

find_kernel() {
  if [ -n "${FAULTLINE_VM_KERNEL:-}" ]; then
    [ -r "$FAULTLINE_VM_KERNEL" ] || fail "FAULTLINE_VM_KERNEL=$FAULTLINE_VM_KERNEL is not readable"
    echo "$FAULTLINE_VM_KERNEL"
    return
  fi
  need apt-cache apt
  need dpkg-deb dpkg
  local package
  package=$(apt-cache depends linux-image-amd64 2>/dev/null |
    awk '$1 == "Depends:" && $2 ~ /^linux-image-6\.1\.0-.*-amd64$/ { print $2; exit }') || true
  if [ -z "$package" ]; then
    # Offline or no package lists: any 6.1 kernel fetched earlier still does the job.
    local cached
    cached=$(ls -1d "$cache_dir"/linux-image-6.1.0-*-amd64/boot/vmlinuz-* 2>/dev/null | sort -V | tail -n 1)
    [ -n "$cached" ] || fail "apt-cache depends linux-image-amd64 names no linux-image-6.1.0-*-amd64 package \
(run apt-get update, or set FAULTLINE_VM_KERNEL to a vmlinuz)"
    echo "$cached"
    return
  fi
  local dest="$cache_dir/$package"
  local kernel
  kernel=$(ls -1 "$dest"/boot/vmlinuz-* 2>/dev/null | head -n 1) || true
  if [ -z "$kernel" ]; then
    say "downloading $package into $cache_dir" >&2
    mkdir -p "$cache_dir"
    local staging
    staging=$(mktemp -d "$cache_dir/.download.XXXXXX")
    (cd "$staging" && apt-get download "$package" >&2) || {
      rm -rf "$staging"
      fail "apt-get download $package failed"
    }
    # Only the kernel image is needed: everything the guest uses (cgroups, 8250 serial,
    # initramfs) is built in, so the 400 MB of modules stay in the .deb.
    mkdir -p "$staging/tree"
    dpkg-deb --fsys-tarfile "$staging"/"$package"_*.deb | tar -x -C "$staging/tree" --wildcards './boot/vmlinuz-*' ||
      {
        rm -rf "$staging"
        fail "extracting the kernel from $package failed"
      }
    rm -rf "$dest"
    mv "$staging/tree" "$dest"
    rm -rf "$staging"
    kernel=$(ls -1 "$dest"/boot/vmlinuz-* | head -n 1)
  fi
  echo "$kernel"
}
kernel=$(find_kernel)
say "kernel: $kernel"

# ---- initramfs ----------------------------------------------------------------------------------
work_dir=$(mktemp -d "${TMPDIR:-/tmp}/faultline-vm.XXXXXX")
cleanup() {
  if [ "${FAULTLINE_VM_KEEP:-0}" = 1 ]; then say "kept $work_dir"; else rm -rf "$work_dir"; fi
}
trap cleanup EXIT
root="$work_dir/root"
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,run,root,etc}

cp "$busybox" "$root/bin/busybox"
while read -r applet; do
  [ -e "$root/$applet" ] || ln -s /bin/busybox "$root/$applet"
done < <("$busybox" --list-full)

# Copies a host file to the same absolute path in the guest (through symlinks: the guest tree
# is plain directories, so /lib and /usr/lib may both appear).
copy_same_path() {
  local target="$root$1"
  mkdir -p "$(dirname "$target")"
  rm -f "$target"  # never write through a busybox applet link
  cp -L "$1" "$target"
}

copy_binary() {
  copy_same_path "$1"
  # Debug info makes the initramfs several times larger and slower to unpack under TCG.
  if command -v strip >/dev/null 2>&1; then strip --strip-debug "$root$1" 2>/dev/null || true; fi
  local lib
  # ldd lines: "libx.so => /path (addr)", "/lib64/ld-linux-x86-64.so.2 (addr)", "linux-vdso.so.1 (addr)".
  while read -r lib; do
    [ -f "$root$lib" ] || copy_same_path "$lib"
  done < <(ldd "$1" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }')
}
for bin in "$integration_bin" "$e2e_bin" "$faultline_bin" "$payload_bin"; do
  copy_binary "$bin"
done
# Scenarios reach helper programs as ${faultline_dir}/NAME (the demo services): bring along every
# executable that sits beside faultline.
for bin in "$(dirname "$faultline_bin")"/*; do
  if [ -f "$bin" ] && [ -x "$bin" ] && [ ! -e "$root$bin" ]; then copy_binary "$bin"; fi
done
# The static target of the syscall fault tests: the integration binary names it at its build path.
syscall_target="$(dirname "$integration_bin")/faultline-syscall-target"
if [ -x "$syscall_target" ]; then copy_binary "$syscall_target"; fi
# Debian programs the tests run as real targets, when the host has them (a test skips on a host
# without them, and must then be declared). The guest mirrors a Debian system where it matters:
# /bin/sh is dash and cat is coreutils' (dynamically linked, with a child per command), not
# busybox's applets, which run some commands inside the shell and word errors differently.
for tool in sqlite3 dash cat; do
  if tool_path=$(command -v "$tool" 2>/dev/null) && [ -x "$tool_path" ]; then
    copy_binary "$tool_path"
    # The busybox applet link must not shadow it where the tests look (PATH order, or /bin/sh).
    for dir in /bin /usr/bin; do
      if [ -L "$root$dir/$tool" ]; then rm -f "$root$dir/$tool" && ln -s "$(readlink -f "$tool_path")" "$root$dir/$tool"; fi
    done
  fi
done
if [ -x "$root/usr/bin/dash" ]; then
  rm -f "$root/bin/sh" && ln -s /usr/bin/dash "$root/bin/sh"
fi
# The scenario files the e2e tests run: the shipped ones and the small suite of the CI examples.
for dir in scenarios tests/ci-examples/scenarios; do
  if [ -d "$source_dir/$dir" ]; then
    mkdir -p "$root$source_dir/$(dirname "$dir")"
    cp -a "$source_dir/$dir" "$root$source_dir/$(dirname "$dir")/"
  fi
done
# The skips the guest may make (environments v2 and vm); the test binaries read it there.
expected_skips="$source_dir/tests/expected-skips.txt"
[ -f "$expected_skips" ] || fail "$expected_skips is missing"
mkdir -p "$root$source_dir/tests"
cp "$expected_skips" "$root$expected_skips"

printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"

quote() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; }

{
  cat <<'EOF'
#!/bin/busybox sh
# PID 1 of the v2 lane guest: set up a pure cgroup v2 system, run the test binaries, power off.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
# A build tree under /tmp was copied into the initramfs at its host path: keep it visible.
# (The initramfs root is itself a writable tmpfs.)
[ -z "$(ls -A /tmp)" ] && mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
echo "FAULTLINE-VM-BOOTED $(uname -r)"

setup_failed() {
  echo "FAULTLINE-VM-SETUP-FAILED $*"
  poweroff -f
}
# The mount options systemd uses on pure v2 hosts.
mount -t cgroup2 -o nsdelegate,memory_recursiveprot cgroup2 /sys/fs/cgroup || setup_failed "mount cgroup2"
for controller in cpuset cpu io memory pids; do
  echo "+$controller" >/sys/fs/cgroup/cgroup.subtree_control || setup_failed "enable +$controller"
done
echo "FAULTLINE-VM-INFO cgroup.controllers: $(cat /sys/fs/cgroup/cgroup.controllers)"
echo "FAULTLINE-VM-INFO cgroup.subtree_control: $(cat /sys/fs/cgroup/cgroup.subtree_control)"
ip link set lo up || setup_failed "ip link set lo up"
# The open-files limits systemd gives a service on Debian (DefaultLimitNOFILE=1024:524288), not
# the kernel's 1024:4096 for init: a process may raise its soft limit as on a real host.
ulimit -H -n 524288 && ulimit -S -n 1024 || echo "FAULTLINE-VM-INFO could not set the open-files limits"
echo "FAULTLINE-VM-INFO open files: soft $(ulimit -S -n), hard $(ulimit -H -n)"
# What the syscall fault tests need: the lane fails if the kernel offers it and they skipped.
echo "FAULTLINE-VM-INFO seccomp actions_avail: $(cat /proc/sys/kernel/seccomp/actions_avail 2>/dev/null)"
echo "FAULTLINE-VM-INFO /bin/sh: $(readlink /bin/sh)"
# Only emergencies on the console from here on: OOM-killer reports would otherwise land in the
# middle of test output lines. They are in the dmesg dump printed after a failure.
echo 1 >/proc/sys/kernel/printk
cd /root

any_failed=0
# What every process is doing, for a test binary that hangs: its state, where it sleeps in the
# kernel and its kernel stack, then the end of the kernel log. Kernel threads are left out.
dump_processes() {
  for dir in /proc/[0-9]*; do
    command=$(tr '\0' ' ' <"$dir/cmdline" 2>/dev/null | cut -c1-120)
    [ -n "$command" ] || continue  # a kernel thread, or gone
    echo "  pid ${dir#/proc/}: $(sed -n 's/^State:[[:space:]]*//p' "$dir/status" 2>/dev/null), wchan $(cat "$dir/wchan" 2>/dev/null), cgroup $(cut -d: -f3 "$dir/cgroup" 2>/dev/null): $command"
    sed 's/^/      /' "$dir/stack" 2>/dev/null
  done
  echo "  the kernel log, last 40 lines:"
  dmesg | tail -n 40 | sed 's/^/    /'
}
# Runs a test binary with a deadline of its own, well inside the lane's: one that hangs is shown
# (dump_processes), then it and everything it started are killed (kill -1 spares PID 1, this
# shell, and the watchdog itself), so the lane says where and the next binary still runs. The binary runs
# in the foreground with the signal dispositions of every other lane (a background job of this
# shell would ignore SIGINT and SIGQUIT); the watchdog beside it is the background job.
run() {
  name=$1
  limit=$2
  shift 2
  echo "FAULTLINE-VM-BEGIN $name"
  (
    sleep "$limit"
    echo "FAULTLINE-VM-HUNG $name still running after ${limit}s; every process:"
    dump_processes
    kill -KILL -1
  ) &
  watchdog=$!
  "$@" </dev/null 2>&1
  code=$?
  kill "$watchdog" 2>/dev/null
  echo "FAULTLINE-VM-RESULT $name $code"
  [ "$code" = 0 ] || any_failed=1
}
EOF
  echo "export FAULTLINE_BIN=$(quote "$faultline_bin")"
  echo "export FAULTLINE_PAYLOAD=$(quote "$payload_bin")"
  echo "export FAULTLINE_SOURCE_DIR=$(quote "$source_dir")"
  # Every capability is promised here: a skip not declared for v2 or vm fails the binary.
  echo "export FAULTLINE_REQUIRE_ALL=1 FAULTLINE_TEST_ENVIRONMENT=vm"
  # Per-tag counts after each binary's totals: the lane shows that these tests ran in the guest.
  echo "export FAULTLINE_COUNT_TAGS=$counted_tags"
  # Each test case's time as it ends: the console log shows how far the guest got, and where the
  # time went, when the lane runs into its timeout.
  # Deadlines with room over what each takes in a passing lane (integration about 90s, e2e about
  # 450s), inside the lane's own timeout together.
  echo "run integration 400 $(quote "$integration_bin") --durations yes"
  echo "run e2e 700 $(quote "$e2e_bin") --durations yes"
  cat <<'EOF'
if [ "$any_failed" = 1 ]; then
  echo "FAULTLINE-VM-DMESG (the kernel log since /init started, last 60 lines)"
  dmesg | sed -n '/Run \/init as init process/,$p' | tail -n 60
fi
echo "FAULTLINE-VM-DONE"
poweroff -f
EOF
} >"$root/init"
chmod 755 "$root/init"

initrd="$work_dir/initrd.gz"
(cd "$root" && find . -print0 | cpio --null -o -H newc --quiet | gzip -1) >"$initrd"
say "initramfs: $(du -h "$initrd" | cut -f1) compressed"

# ---- boot ---------------------------------------------------------------------------------------
# A usable /dev/kvm is not proven by opening it, nor by QEMU creating a KVM machine: in some
# sandboxes the firmware runs but the kernel hangs right after decompressing. So boot this kernel
# with a two-line init under KVM once per host boot and remember the answer.
kvm_usable() {
  [ -r /dev/kvm ] && [ -w /dev/kvm ] || return 1
  local boot_id verdict_file probe_dir
  boot_id=$(cat /proc/sys/kernel/random/boot_id 2>/dev/null || echo unknown)
  verdict_file="$cache_dir/kvm-probe.$boot_id"
  if [ ! -f "$verdict_file" ]; then
    probe_dir="$work_dir/kvm-probe"
    mkdir -p "$probe_dir/root/bin"
    cp "$busybox" "$probe_dir/root/bin/busybox"
    printf '#!/bin/busybox sh\n/bin/busybox echo %s-KVM-PROBE-OK\n/bin/busybox poweroff -f\n' "$MARKER" \
      >"$probe_dir/root/init"
    chmod 755 "$probe_dir/root/init"
    (cd "$probe_dir/root" && find . -print0 | cpio --null -o -H newc --quiet | gzip -1) >"$probe_dir/initrd.gz"
    timeout -k 5 30 qemu-system-x86_64 -accel kvm -cpu host -m 256 -nographic -no-reboot \
      -kernel "$kernel" -initrd "$probe_dir/initrd.gz" -append "console=ttyS0 quiet panic=-1" \
      </dev/null >"$probe_dir/console" 2>&1 || true
    mkdir -p "$cache_dir"
    if grep -a -q "$MARKER-KVM-PROBE-OK" "$probe_dir/console"; then
      echo kvm >"$verdict_file"
    else
      echo tcg >"$verdict_file"
    fi
    say "KVM probe: $(cat "$verdict_file") (remembered in $verdict_file until the host reboots)"
  fi
  [ "$(cat "$verdict_file")" = kvm ]
}
accel=${FAULTLINE_VM_ACCEL:-}
if [ -z "$accel" ]; then
  if kvm_usable; then accel=kvm; else accel=tcg; fi
fi
case "$accel" in
  kvm) accel_args=(-accel kvm -cpu host) ;;
  tcg) accel_args=(-accel tcg) ;;
  *) fail "FAULTLINE_VM_ACCEL must be kvm or tcg, not $accel" ;;
esac

vm_timeout=${FAULTLINE_VM_TIMEOUT:-1200}
log=${FAULTLINE_VM_LOG:-$(dirname "$integration_bin")/vm-cgroup-v2.log}
say "booting under $accel (timeout ${vm_timeout}s), console log: $log"
start=$(date +%s)
set +e
timeout -k 10 "$vm_timeout" qemu-system-x86_64 "${accel_args[@]}" -m 2048 -smp 2 -nographic -no-reboot \
  -kernel "$kernel" -initrd "$initrd" -append "console=ttyS0 quiet panic=-1" </dev/null 2>&1 |
  sed -u -e 's/\r$//' -e 's/\x1b\[[0-9;?]*[A-Za-z]//g' -e 's/\x1bc//g' | tee "$log"
qemu_status=${PIPESTATUS[0]}
set -e
elapsed=$(($(date +%s) - start))
say "guest ran for ${elapsed}s under $accel; qemu exit status $qemu_status"

# ---- verdict ------------------------------------------------------------------------------------
result_of() {  # prints the exit code the guest reported for $1, or nothing
  { grep -a -o "$MARKER-RESULT $1 [0-9]*" "$log" || true; } | tail -n 1 | awk '{ print $3 }'
}
timed_out=0
if [ "$qemu_status" = 124 ] || [ "$qemu_status" = 137 ]; then timed_out=1; fi
if ! grep -a -q "$MARKER-BOOTED" "$log"; then
  [ "$timed_out" = 1 ] && fail "the guest did not reach /init within ${vm_timeout}s (see the console output above)"
  fail "the guest never reached /init: kernel panic or QEMU failure (qemu exit status $qemu_status; see the console output above)"
fi
if setup=$(grep -a "$MARKER-SETUP-FAILED" "$log"); then
  fail "guest setup failed: ${setup#*SETUP-FAILED }"
fi
[ "$timed_out" = 1 ] && say "FAIL: the guest did not power off within ${vm_timeout}s (a hung test? FAULTLINE_VM_TIMEOUT raises the limit)"
verdict=$timed_out
if panic=$(grep -a -m 1 -o "Kernel panic.*" "$log"); then
  say "FAIL: the guest kernel panicked: $panic"
  verdict=1
fi
output_of() {  # the console lines of test binary $1, between its BEGIN and RESULT markers
  awk -v begin="$MARKER-BEGIN $1" -v result="$MARKER-RESULT $1 " \
    'index($0, begin) == 1 { on = 1; next } index($0, result) == 1 { on = 0 } on' "$log"
}
# Per counted tag, the test cases of both binaries: "passed failed skipped".
declare -A tag_totals=()
for tag in ${counted_tags//,/ }; do tag_totals[$tag]="0 0 0"; done
for name in integration e2e; do
  code=$(result_of "$name")
  if grep -a -q "^$MARKER-HUNG $name " "$log"; then
    say "FAIL: $name hung in the guest and was killed; what each process was doing is in $log (after $MARKER-HUNG)"
    verdict=1
  elif [ -z "$code" ]; then
    say "FAIL: $name printed no result marker (crashed the guest, hung, or the guest panicked)"
    verdict=1
  elif [ "$code" != 0 ]; then
    say "FAIL: $name exited with $code in the guest"
    verdict=1
  else
    say "ok: $name exited with 0 in the guest"
  fi
  # The counts the binary printed in the guest; every skip must be one declared for v2 or vm.
  [ -n "$code" ] || continue
  out=$(output_of "$name")
  counts=$(printf '%s\n' "$out" | grep -a -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' | tail -n 1) || true
  if [ -z "$counts" ]; then
    say "FAIL: $name printed no closing 'N passed, N failed, N skipped' line"
    verdict=1
    continue
  fi
  say "$name in the guest: $counts"
  for tag in ${counted_tags//,/ }; do
    line=$(printf '%s\n' "$out" | grep -a -E "^tag \[$tag\]: [0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$" |
      tail -n 1) || true
    if [ -z "$line" ]; then
      say "FAIL: $name printed no per-tag count for [$tag] (FAULTLINE_COUNT_TAGS)"
      verdict=1
      continue
    fi
    read -r p f k <<<"$(printf '%s\n' "$line" | sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed, ([0-9]+) skipped$/\1 \2 \3/')"
    read -r tp tf tk <<<"${tag_totals[$tag]}"
    tag_totals[$tag]="$((tp + p)) $((tf + f)) $((tk + k))"
  done
  printf '%s\n' "$out" | grep -a -E '^  (SKIPPED \(|DECLARED SKIP DID NOT HAPPEN|FAILED TEST CASE)' |
    sed "s/^/run-v2-lane:   /" || true
  unexpected=$(printf '%s\n' "$out" | grep -a -c -E '^  SKIPPED \(unexpected\)') || true
  stale=$(printf '%s\n' "$out" | grep -a -c -E '^  DECLARED SKIP DID NOT HAPPEN') || true
  if [ "$unexpected" != 0 ] || [ "$stale" != 0 ]; then
    say "FAIL: $name: $unexpected skip(s) not declared for v2/vm and $stale declared skip(s) that did not \
happen (tests/expected-skips.txt)"
    verdict=1
  fi
done
# What ran of the syscall fault and proxy tests, over both binaries.
for tag in ${counted_tags//,/ }; do
  read -r tp tf tk <<<"${tag_totals[$tag]}"
  say "[$tag] test cases in the guest: $((tp + tf + tk)): $tp passed, $tf failed, $tk skipped"
done
# A skip fails where the environment promises the capability: this kernel offers seccomp user
# notification, so every syscall fault test must have run in full.
seccomp_actions=$({ grep -a -o "$MARKER-INFO seccomp actions_avail: .*" "$log" || true; } | tail -n 1)
read -r tp tf tk <<<"${tag_totals[syscall]}"
if printf '%s\n' "$seccomp_actions" | grep -q -w user_notif; then
  if [ "$tk" != 0 ] || [ "$((tp + tf))" = 0 ]; then
    say "FAIL: the guest kernel supports seccomp user notification, yet $tk [syscall] test case(s) skipped \
and $((tp + tf)) ran"
    verdict=1
  fi
elif [ -n "$seccomp_actions" ]; then
  say "note: the guest kernel has no seccomp user notification (${seccomp_actions#*: })"
fi
# The proxy needs nothing the guest lacks but haproxy (its scenario is a declared skip): the
# proxy's own tests must have run there.
read -r tp tf tk <<<"${tag_totals[proxy]}"
if [ "$tp" = 0 ]; then
  say "FAIL: no [proxy] test case passed in the guest ($tf failed, $tk skipped)"
  verdict=1
fi
# A failing lane ends with what failed, so that a log cut to its tail still shows it: each failed
# test case and the first lines of Catch2's account of each failed assertion.
if [ "$verdict" != 0 ]; then
  for name in integration e2e; do
    [ -n "$(result_of "$name")" ] || continue  # without its marker the output runs to the log's end
    out=$(output_of "$name")
    printf '%s\n' "$out" | grep -a -E '^  FAILED TEST CASE: ' | sed "s/^  /run-v2-lane: $name: /" || true
    printf '%s\n' "$out" | grep -a --no-group-separator -A 8 -E ': FAILED:$' | head -n 60 |
      sed "s/^/run-v2-lane: | /" || true
  done
fi
exit "$verdict"
