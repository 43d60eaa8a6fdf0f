#!/usr/bin/env bash
# Lints every shipped scenario with the real Taplo CLI against the JSON Schema that
# `faultline schema` prints (all must pass), and the known-bad files in tests/schema/bad/
# (each must fail). Exit 0: as expected; 1: a mismatch; 77: Node.js/npm missing (skipped, except
# under CI=true or FAULTLINE_REQUIRE_ALL=1, where that is 1 too).
#
# usage: taplo-check.sh FAULTLINE_BIN SOURCE_DIR
# Taplo comes from npm (@taplo/cli, pinned below) and is installed once into a cache folder:
# $FAULTLINE_TAPLO_CACHE, else $XDG_CACHE_HOME/faultline, else ~/.cache/faultline.
# FAULTLINE_TAPLO=/path/to/taplo uses an installed taplo instead.
set -euo pipefail

TAPLO_VERSION=0.7.0   # npm @taplo/cli 0.7.0 ships taplo 0.9.0

faultline=${1:?usage: taplo-check.sh FAULTLINE_BIN SOURCE_DIR}
source_dir=${2:?usage: taplo-check.sh FAULTLINE_BIN SOURCE_DIR}

taplo=${FAULTLINE_TAPLO:-}
if [[ -z $taplo ]]; then
  for tool in node npm; do
    if ! command -v "$tool" >/dev/null 2>&1; then
      echo "SKIP: $tool is not installed (apt-get install nodejs npm); taplo cannot be installed"
      # Where every capability is promised, a skip is a failure (tests/README.md).
      if [[ ${CI:-} == true || ${FAULTLINE_REQUIRE_ALL:-} == 1 ]]; then
        echo "FAIL: skips are not allowed here (CI=true or FAULTLINE_REQUIRE_ALL=1)"
        exit 1
      fi
      exit 77
    fi
  done
  cache=${FAULTLINE_TAPLO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/faultline}/taplo-cli-$TAPLO_VERSION
  taplo=$cache/node_modules/.bin/taplo
  if [[ ! -x $taplo ]]; then
    echo "installing @taplo/cli@$TAPLO_VERSION into $cache"
    mkdir -p "$cache"
    if ! npm install --prefix "$cache" --no-audit --no-fund --loglevel=error "@taplo/cli@$TAPLO_VERSION"; then
      echo "FAIL: npm install @taplo/cli@$TAPLO_VERSION failed (is the npm registry reachable?)"
      exit 1
    fi
  fi
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/faultline-taplo.XXXXXX")
trap 'rm -rf "$work"' EXIT
schema=$work/faultline.schema.json
"$faultline" schema >"$schema"

# Only the schema given here: no .taplo.toml from the tree, no schema catalogs from the network.
# One taplo run per group of files: each run compiles the whole schema, which takes seconds, so a
# run per file made this the slowest test of the suite. taplo names every file it rejects on a
# line `invalid file error=<why> path="<file>"`, which is what each file's verdict is read from.
lint_all() {  # output-file files...
  local out=$1
  shift
  "$taplo" lint --no-auto-config --colors never --schema "file://$schema" "$@" >"$out" 2>&1
}
# Why taplo rejected FILE ("" when it did not), from a run's output.
rejection() {  # output-file file
  grep -F "path=\"$2\"" "$1" | grep -m1 -o 'invalid file error=[^"]*' | sed -e 's/^invalid file error=//' -e 's/ path=$//' || true
}
# taplo must have linted exactly the files it was given: a file it skipped was never checked.
expect_count() {  # output-file count
  if ! grep -q "found files total=$2 " "$1"; then
    echo "FAIL: taplo did not lint the $2 files it was given:"
    sed 's/^/      /' "$1"
    mismatches=$((mismatches + 1))
  fi
}
# What a run's output says about FILE: each error with its location in the file.
show_for() {  # output-file file
  grep -F -B1 "$2:" "$1" | grep -v '^--$' | sed 's/^/      /'
}

mismatches=0 checked=0
mapfile -d '' shipped < <(find "$source_dir/scenarios" -name '*.toml' -print0 | sort -z)
mapfile -d '' bad < <(find "$source_dir/tests/schema/bad" -name '*.toml' -print0 | sort -z)

if ((${#shipped[@]} > 0)); then
  shipped_status=0
  lint_all "$work/shipped.out" "${shipped[@]}" || shipped_status=$?
  expect_count "$work/shipped.out" "${#shipped[@]}"
  rejected=0
  for file in "${shipped[@]}"; do
    checked=$((checked + 1))
    why=$(rejection "$work/shipped.out" "$file")
    if [[ -z $why ]]; then
      echo "ok    accepted: ${file#"$source_dir"/}"
    else
      echo "FAIL  rejected a shipped scenario (${why}): ${file#"$source_dir"/}"
      show_for "$work/shipped.out" "$file"
      mismatches=$((mismatches + 1)) rejected=$((rejected + 1))
    fi
  done
  # A failed run that names no file (a schema taplo cannot read, a crash) fails every file.
  if ((shipped_status != 0 && rejected == 0)); then
    echo "FAIL  taplo failed (exit $shipped_status) without naming a file:"
    sed 's/^/      /' "$work/shipped.out"
    mismatches=$((mismatches + 1))
  fi
fi

if ((${#bad[@]} > 0)); then
  lint_all "$work/bad.out" "${bad[@]}" || true
  expect_count "$work/bad.out" "${#bad[@]}"
  for file in "${bad[@]}"; do
    checked=$((checked + 1))
    why=$(rejection "$work/bad.out" "$file")
    if [[ -z $why ]]; then
      echo "FAIL  accepted a known-bad file: ${file#"$source_dir"/} ($(head -1 "$file"))"
      mismatches=$((mismatches + 1))
    elif [[ $why != "schema validation failed" ]]; then
      # Rejected, but not by the schema (a TOML syntax error, an unreadable schema, ...).
      echo "FAIL  rejected for another reason than the schema (${why}): ${file#"$source_dir"/}"
      show_for "$work/bad.out" "$file"
      mismatches=$((mismatches + 1))
    else
      echo "ok    rejected: ${file#"$source_dir"/}: $(grep -F -B1 "$file:" "$work/bad.out" | grep -m1 '^error:' || true)"
    fi
    # The loader, which the schema is generated from, must reject it too.
    if "$faultline" validate "$file" >/dev/null 2>&1; then
      echo "FAIL  faultline validate accepted a known-bad file: ${file#"$source_dir"/}"
      mismatches=$((mismatches + 1))
    fi
  done
fi

if ((checked == 0)); then
  echo "FAIL: no file was checked"
  exit 1
fi
echo "$((checked - mismatches)) passed, $mismatches failed"
((mismatches == 0))
