#!/usr/bin/env bash
# Builds the .deb from a build folder, unpacks it into a throwaway root and runs example
# scenarios with the installed executable, so the package is checked as users get it:
# the helpers must be found under libexec (not in the build folder), the man page and bash
# completion must be there, and Depends must name the runtime libraries.
#   check-deb.sh BUILD_DIR
set -euo pipefail
build=$(cd "${1:?usage: check-deb.sh BUILD_DIR}" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "check-deb: $*" >&2; exit 1; }

echo "== cpack -G DEB"
cpack -G DEB --config "$build/CPackConfig.cmake" -B "$work/out" >"$work/cpack.log" 2>&1 ||
  { cat "$work/cpack.log" >&2; fail "cpack failed (log above)"; }
deb=$(ls "$work"/out/faultline_*.deb 2>/dev/null | head -n1)
[ -n "$deb" ] || fail "cpack made no faultline_*.deb in $work/out"
echo "built $(basename "$deb")"

depends=$(dpkg-deb -f "$deb" Depends)
echo "Depends: $depends"
# With FAULTLINE_STATIC_LIBS (the default) the executable carries libstdc++, libgcc and RE2.
if grep -q '^FAULTLINE_STATIC_LIBS:BOOL=OFF' "$build/CMakeCache.txt"; then
  runtime_libs=(libc6 libstdc++6 libre2-9)
else
  runtime_libs=(libc6)
fi
for lib in "${runtime_libs[@]}"; do
  [[ $depends == *"$lib"* ]] || fail "Depends lacks $lib (dpkg-shlibdeps should find it): $depends"
done

root="$work/root"
dpkg-deb -x "$deb" "$root"
for f in usr/bin/faultline usr/libexec/faultline/faultline-payload usr/libexec/faultline/faultline-demo-backend \
  usr/libexec/faultline/faultline-demo-client usr/libexec/faultline/faultline-demo-frontend \
  usr/libexec/faultline/faultline usr/share/man/man1/faultline.1.gz \
  usr/share/bash-completion/completions/faultline usr/share/doc/faultline/scenarios.md \
  usr/share/doc/faultline/examples/freeze-1s.toml; do
  [ -e "$root/$f" ] || fail "package lacks /$f"
done
if [ ${#runtime_libs[@]} = 1 ]; then
  needed=$(LC_ALL=C readelf -d "$root/usr/bin/faultline" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')
  echo "faultline loads: $needed"
  for lib in libstdc++ libgcc_s libre2 libtomlplusplus; do
    [[ $needed != *"$lib"* ]] || fail "the installed faultline loads $lib at every start: $needed"
  done
fi
[ "$(readlink -f "$root/usr/libexec/faultline/faultline")" = "$(readlink -f "$root/usr/bin/faultline")" ] ||
  fail "/usr/libexec/faultline/faultline does not lead to /usr/bin/faultline"
zcat "$root/usr/share/man/man1/faultline.1.gz" | grep -q '^\.SS exec' || fail "the man page lacks the exec command"

echo "== bash completion"
completion=$(bash -c 'source "$1"; COMP_WORDS=(faultline ex); COMP_CWORD=1; _faultline; echo "${COMPREPLY[*]}"
  COMP_WORDS=(faultline exec --kill); COMP_CWORD=2; _faultline; echo "${COMPREPLY[*]}"' _ \
  "$root/usr/share/bash-completion/completions/faultline")
echo "$completion"
[ "$(sed -n 1p <<<"$completion")" = "exec" ] || fail "completing 'faultline ex' did not give exec"
[ "$(sed -n 2p <<<"$completion")" = "--kill-after" ] || fail "completing 'faultline exec --kill' did not give --kill-after"

echo "== installed faultline runs the installed examples"
installed="$root/usr/bin/faultline"
"$installed" --version
# freeze-1s runs the payload from ${faultline_dir}; memory-squeeze also runs ${faultline_dir}/faultline
# as its helper on cgroup v1.
"$installed" run "$root/usr/share/doc/faultline/examples/freeze-1s.toml" \
  "$root/usr/share/doc/faultline/examples/memory-squeeze.toml" --json "$work/report.json" ||
  fail "the installed faultline failed the installed examples (exit $?)"
grep -q "$root/usr/libexec/faultline/faultline-payload" "$work/report.json" ||
  fail "the report does not show the payload run from the installed helper folder"
echo "check-deb: package OK"
