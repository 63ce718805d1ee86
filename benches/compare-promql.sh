#!/usr/bin/env bash
# Side-by-side PromQL speed: the four range queries of issue 3 (60 s step,
# over all but the first hour of the data) against Debian's `prometheus` and
# `belfry serve`, on the same data: `benches/promql.rs --write-openmetrics`
# writes 20,000 node-exporter-like series (15 s interval) as OpenMetrics,
# `promtool tsdb create-blocks-from openmetrics` loads it for Prometheus and
# `belfry import` for Belfry. Each query is sent once to warm up, then
# --repeat times to each server in turn over HTTP; the median wall time of
# the request is reported, with the ratio belfry/prometheus (target <= 0.5).
#
# Performance is reported, not asserted: the script fails only when
# something does not run. The full 24 h set is about 115M samples and an
# 11 GB file; --hours shrinks it.
#
# usage: benches/compare-promql.sh [--hours H] [--repeat N] [--keep]
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
hours=24
repeat=5
keep=0
while [ $# -gt 0 ]; do
    case "$1" in
        --hours) hours="$2"; shift 2 ;;
        --repeat) repeat="$2"; shift 2 ;;
        --keep) keep=1; shift ;;
        -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done

for tool in prometheus promtool curl python3; do
    command -v "$tool" >/dev/null || { echo "$tool is required (apt-get install prometheus curl python3)" >&2; exit 1; }
done

work="$(mktemp -d)"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
    if [ "$keep" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
echo "building belfry (release)..." >&2
(cd "$ROOT" && cargo build --release --bin belfry -q)
# A private copy: a target dir shared with other checkouts may relink it.
cp "$CARGO_TARGET_DIR/release/belfry" "$work/belfry-bin"
belfry="$work/belfry-bin"

echo "writing ${hours}h of data..." >&2
start_ms=$(cd "$ROOT" && cargo bench -q --bench promql -- --write-openmetrics "$work/data.om" --hours "$hours" | tail -1)
end_ms=$((start_ms + hours * 3600000 - 60000))
from_ms=$((start_ms + 3600000))

echo "loading prometheus..." >&2
promtool tsdb create-blocks-from openmetrics "$work/data.om" "$work/prom" >/dev/null
echo "loading belfry..." >&2
"$belfry" import "$work/data.om" --data-dir "$work/belfry" >/dev/null
rm -f "$work/data.om"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
prom_port=$(free_port)
printf 'global:\n  scrape_interval: 1m\nscrape_configs: []\n' > "$work/prometheus.yml"
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/prom" \
    --web.listen-address="127.0.0.1:$prom_port" --storage.tsdb.retention.time=100y \
    --log.level=warn >"$work/prometheus.log" 2>&1 &
pids+=($!)
belfry_port=$(free_port)
printf 'scrape_configs: []\n' > "$work/belfry.yml"
BELFRY_LOG=warn "$belfry" serve --config "$work/belfry.yml" --data-dir "$work/belfry" \
    --listen "127.0.0.1:$belfry_port" >"$work/belfry.log" 2>&1 &
pids+=($!)

wait_ready() {
    for _ in $(seq 1 600); do
        curl -fs "http://127.0.0.1:$1/-/ready" >/dev/null 2>&1 && return 0
        sleep 0.2
    done
    echo "server on port $1 did not become ready" >&2
    exit 1
}
wait_ready "$prom_port"
wait_ready "$belfry_port"

# One timed request; prints seconds, fails unless the answer is a success.
timed() {
    local port=$1 query=$2 out
    out=$(curl -s -o "$work/answer.json" -w '%{time_total}' --get "http://127.0.0.1:$port/api/v1/query_range" \
        --data-urlencode "query=$query" --data-urlencode "start=$((from_ms / 1000))" \
        --data-urlencode "end=$((end_ms / 1000))" --data-urlencode "step=60")
    python3 - "$work/answer.json" <<'EOF' || { echo "query failed on port $port: $query" >&2; exit 1; }
import json, sys
a = json.load(open(sys.argv[1]))
sys.exit(0 if a.get("status") == "success" and a["data"]["result"] else 1)
EOF
    echo "$out"
}

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

queries=(
    'sum by (cluster) (rate(node_cpu_seconds_total[5m]))'
    'max_over_time(node_cpu_seconds_total[1h])'
    'count({job="node"})'
    'histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))'
)
steps=$(( (end_ms - from_ms) / 60000 + 1 ))
echo
echo "${hours}h of 20,000 series at 15 s; range queries of $steps steps (60 s); median of $repeat"
printf '%-92s %12s %12s %7s\n' query prometheus_s belfry_s ratio
for q in "${queries[@]}"; do
    timed "$prom_port" "$q" >/dev/null
    timed "$belfry_port" "$q" >/dev/null
    p_times=(); b_times=()
    for _ in $(seq 1 "$repeat"); do
        p_times+=("$(timed "$prom_port" "$q")")
        b_times+=("$(timed "$belfry_port" "$q")")
    done
    p=$(printf '%s\n' "${p_times[@]}" | median)
    b=$(printf '%s\n' "${b_times[@]}" | median)
    ratio=$(python3 -c "print(f'{$b / $p:.2f}')")
    printf '%-92s %12.3f %12.3f %7s\n' "$q" "$p" "$b" "$ratio"
done
