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
lint() { "$taplo" lint --no-auto-config --colors never --schema "file://$schema" "$1" >"$work/out" 2>&1; }

mismatches=0 checked=0
while IFS= read -r -d '' file; do
  checked=$((checked + 1))
  if lint "$file"; then
    echo "ok    accepted: ${file#"$source_dir"/}"
  else
    echo "FAIL  rejected a shipped scenario: ${file#"$source_dir"/}"
    sed 's/^/      /' "$work/out"
    mismatches=$((mismatches + 1))
  fi
done < <(find "$source_dir/scenarios" -name '*.toml' -print0 | sort -z)

while IFS= read -r -d '' file; do
  checked=$((checked + 1))
  if lint "$file"; then
    echo "FAIL  accepted a known-bad file: ${file#"$source_dir"/} ($(head -1 "$file"))"
    mismatches=$((mismatches + 1))
  elif ! grep -q 'schema validation failed' "$work/out"; then
    # Rejected, but not by the schema (a TOML syntax error, an unreadable schema, ...).
    echo "FAIL  rejected for another reason than the schema: ${file#"$source_dir"/}"
    sed 's/^/      /' "$work/out"
    mismatches=$((mismatches + 1))
  else
    echo "ok    rejected: ${file#"$source_dir"/}: $(grep -m1 '^error:' "$work/out")"
  fi
  # The loader, which the schema is generated from, must reject it too.
  if "$faultline" validate "$file" >/dev/null 2>&1; then
    echo "FAIL  faultline validate accepted a known-bad file: ${file#"$source_dir"/}"
    mismatches=$((mismatches + 1))
  fi
done < <(find "$source_dir/tests/schema/bad" -name '*.toml' -print0 | sort -z)

if ((checked == 0)); then
  echo "FAIL: no file was checked"
  exit 1
fi
echo "$((checked - mismatches)) passed, $mismatches failed"
((mismatches == 0))
