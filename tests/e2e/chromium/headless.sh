#!/bin/sh
# Runs Debian's chromium headless on one page with a throwaway profile, no network services
# and no sandbox (the tests run as root), e.g.
#   headless.sh --dump-dom file:///tmp/report.html
#   headless.sh --screenshot=/tmp/shot.png --window-size=1280,2000 file:///tmp/report.html
# Exit status 127 when chromium is not installed.
set -eu
browser=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$browser" ]; then
  echo "chromium is not installed (apt-get install chromium)" >&2
  exit 127
fi
profile=$(mktemp -d "${TMPDIR:-/tmp}/faultline-chromium-XXXXXX")
trap 'rm -rf "$profile"' EXIT
# Chromium logs D-Bus noise on stderr in containers; the caller gets stdout (the DOM) and status.
timeout 120 "$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --user-data-dir="$profile" "$@" 2>"$profile/stderr" || {
  status=$?
  cat "$profile/stderr" >&2
  exit "$status"
}
