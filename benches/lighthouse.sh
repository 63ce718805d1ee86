#!/usr/bin/env bash
# Lighthouse's performance and accessibility scores for the overview and a
# dashboard, in Debian's Chromium (never a downloaded browser), against a
# Belfry started here on a free port with a fresh data directory.
#
#   benches/lighthouse.sh [BELFRY_BINARY] [-- extra `belfry serve` arguments]
#
# `-- --demo` measures the pages on the demo's data (the figures the README
# gives).
#
# BELFRY_BINARY defaults to target/release/belfry. Lighthouse 12.2.3 (the
# last for Node 20) is installed once into benches/lighthouse/. Lighthouse
# emulates a mid-range phone on a slow 4G link, so the scores measure the
# pages' weight and layout, not the loopback.
set -euo pipefail
cd "$(dirname "$0")/.."

binary="${1:-target/release/belfry}"
shift || true
[ "${1:-}" = "--" ] && shift
[ -x "$binary" ] || { echo "lighthouse.sh: no Belfry binary at $binary (cargo build --release)" >&2; exit 1; }
chrome="${CHROME_PATH:-/usr/bin/chromium}"
[ -x "$chrome" ] || { echo "lighthouse.sh: no Chromium at $chrome (apt-get install chromium)" >&2; exit 1; }

tool_dir=benches/lighthouse
if [ ! -x "$tool_dir/node_modules/.bin/lighthouse" ]; then
  mkdir -p "$tool_dir"
  (cd "$tool_dir" && npm install --no-save --no-audit --no-fund --loglevel=error -E lighthouse@12.2.3 >/dev/null)
fi

# The log and reports beside the data directory, not in it: the demo
# takes only an empty directory.
work="$(mktemp -d)"
data="$work/data"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
"$binary" serve --data-dir "$data" --listen "127.0.0.1:$port" "$@" >"$work/belfry.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$work"' EXIT
# `-- --demo` writes a day of history before it is ready: up to 2 min.
for _ in $(seq 600); do
  curl -sf "http://127.0.0.1:$port/-/ready" >/dev/null && break
  sleep 0.2
done
curl -sf "http://127.0.0.1:$port/-/ready" >/dev/null \
  || { echo "lighthouse.sh: belfry did not become ready; its log:" >&2; cat "$work/belfry.log" >&2; exit 1; }

flags="--headless --no-sandbox --disable-gpu --disable-background-networking --disable-component-update --disable-sync --no-first-run"
printf '%-32s %12s %14s\n' page performance accessibility
for page in / /d/lms-api-performance; do
  out="$work/report.json"
  CHROME_PATH="$chrome" "$tool_dir/node_modules/.bin/lighthouse" "http://127.0.0.1:$port$page" \
    --only-categories=performance,accessibility --chrome-flags="$flags" \
    --output=json --output-path="$out" --quiet
  python3 - "$out" "$page" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
score = lambda c: round(report["categories"][c]["score"] * 100)
print(f"{sys.argv[2]:<32} {score('performance'):>12} {score('accessibility'):>14}")
PY
done
