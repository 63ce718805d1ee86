#!/usr/bin/env bash
# Rule-evaluation speed, Belfry against Debian's Prometheus, in one run
# (issue 4: 1,000 recording and alerting rules over 10k series; target:
# Belfry >= 2x Prometheus's rules per second).
#
# `benches/compare/rules_bench.py serve` serves 10,000 LMS-like series
# (HTTP requests and latency histograms, node CPU/memory/disk, job queues)
# whose counters advance with wall time; `rules_bench.py rules` writes one
# rule file of 1,000 rules in 10 groups of 100 (half recording: rates, sums
# by, error ratios, p99 from histograms, CPU and memory ratios; half
# alerting: the same with thresholds, `for`, labels and templated
# annotations; a share of them fire). `prometheus` and `belfry serve`
# (release build) each run alone with the same config (scrape and
# evaluation every --interval), first Prometheus, then Belfry: after
# --warmup seconds, each server's /metrics is read --reads times, one
# interval apart, and the per-group last evaluation durations
# (`prometheus_rule_group_last_duration_seconds`,
# `belfry_rule_group_last_duration_seconds`, both labelled
# rule_group="FILE;GROUP") are summed per read. Rules per second is
# 1,000 / the median of those sums; the ratio is belfry / prometheus.
# Belfry runs twice: as it runs by default (independent rules of a group
# evaluated concurrently, up to one per core) and with
# BELFRY_RULES_MAX_CONCURRENT_EVALS=1 (each group strictly in order, as
# Prometheus 2.42 evaluates), so both figures are shown.
#
# Prometheus comes from /usr/bin, PROMETHEUS_BIN_DIR, or Debian's package
# (`apt-get download prometheus` + `dpkg -x`). Performance is reported, not
# asserted: the script fails only when something does not run.
#
# usage: benches/compare-rules.sh [--interval S] [--warmup S] [--reads N]
#                                 [--side both|prometheus|belfry] [--keep]
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
HELPER="$ROOT/benches/compare/rules_bench.py"
interval=10
warmup=70
reads=5
side=both
keep=0
while [ $# -gt 0 ]; do
    case "$1" in
        --interval) interval="$2"; shift 2 ;;
        --warmup) warmup="$2"; shift 2 ;;
        --reads) reads="$2"; shift 2 ;;
        --side) side="$2"; shift 2 ;;
        --keep) keep=1; shift ;;
        -h|--help) sed -n '2,27p' "$0"; exit 0 ;;
        *) echo "compare-rules: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done
case "$side" in both | prometheus | belfry) ;; *)
    echo "compare-rules: --side must be both, prometheus or belfry" >&2; exit 2 ;;
esac

die() { echo "compare-rules: $*" >&2; exit 1; }
log() { echo "== $*" >&2; }
for tool in python3 curl; do command -v "$tool" >/dev/null || die "needs $tool on PATH"; done

WORK="$(mktemp -d "${TMPDIR:-/tmp}/belfry-rules.XXXXXX")"
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
    if [ "$keep" = 1 ]; then echo "compare-rules: work dir kept: $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

# --- the programs -------------------------------------------------------------
PROM=""
if [ "$side" != belfry ]; then
    if [ -n "${PROMETHEUS_BIN_DIR:-}" ]; then
        PROM="$PROMETHEUS_BIN_DIR/prometheus"
    elif [ -x /usr/bin/prometheus ]; then
        PROM=/usr/bin/prometheus
    else
        command -v apt-get >/dev/null && command -v dpkg >/dev/null || die "no prometheus and no apt-get/dpkg"
        log "fetching Debian's prometheus package"
        mkdir -p "$WORK/deb" && chmod 777 "$WORK/deb"
        (cd "$WORK/deb" && apt-get download prometheus >&2) || die "apt-get download prometheus failed"
        dpkg -x "$WORK"/deb/prometheus_*.deb "$WORK/deb/root"
        PROM="$WORK/deb/root/usr/bin/prometheus"
    fi
    [ -x "$PROM" ] || die "no prometheus at $PROM"
    log "prometheus $("$PROM" --version 2>&1 | head -1 | awk '{print $3}')"
fi
BELFRY=""
if [ "$side" != prometheus ]; then
    export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
    log "building belfry (release)"
    (cd "$ROOT" && cargo build --release --bin belfry -q) || die "cargo build --release failed"
    # A private copy: a target dir shared with other checkouts may relink it.
    cp "$CARGO_TARGET_DIR/release/belfry" "$WORK/belfry-bin"
    BELFRY="$WORK/belfry-bin"
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_ready() {
    for _ in $(seq 1 300); do
        curl -fs "http://127.0.0.1:$1/-/ready" >/dev/null 2>&1 && return 0
        sleep 0.2
    done
    die "server on port $1 did not become ready (see $WORK/*.log)"
}

# --- inputs -------------------------------------------------------------------
python3 "$HELPER" rules "$WORK/rules.yml"
target_port=$(free_port)
python3 "$HELPER" serve "$target_port" >"$WORK/target.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 100); do grep -q serving "$WORK/target.log" 2>/dev/null && break; sleep 0.1; done
grep -q serving "$WORK/target.log" || die "the target did not start: $(cat "$WORK/target.log")"

config() {
    cat <<EOF
global:
  scrape_interval: ${interval}s
  evaluation_interval: ${interval}s
rule_files: ['$WORK/rules.yml']
scrape_configs:
  - job_name: lms
    static_configs:
      - targets: ['127.0.0.1:$target_port']
EOF
}
config >"$WORK/config.yml"

# Sum of the per-group last durations on /metrics (seconds), and how many
# groups have reported one.
group_sum() {
    curl -fs "http://127.0.0.1:$1/metrics" | python3 -c '
import re, sys
metric = sys.argv[1]
total, groups = 0.0, 0
for line in sys.stdin:
    m = re.match(metric + r"\{([^}]*)\} (\S+)$", line.strip())
    if m and "rule_group=" in m.group(1):
        total += float(m.group(2)); groups += 1
print(f"{total} {groups}")' "$2"
}

# Runs one server alone and prints the median per-round evaluation time.
measure() {
    local name=$1 metric=$2 port=$3 pid=$4
    wait_ready "$port"
    log "$name: warming up ${warmup}s (scrapes and evaluations every ${interval}s)"
    sleep "$warmup"
    local sums=()
    for i in $(seq 1 "$reads"); do
        read -r total groups < <(group_sum "$port" "$metric")
        [ "$groups" -ge 10 ] || die "$name reports $groups rule groups, want 10 (see $WORK/$name.log)"
        sums+=("$total")
        log "$name read $i: $total s over $groups groups"
        [ "$i" -lt "$reads" ] && sleep "$interval"
    done
    local rss; rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status")
    curl -fs --get "http://127.0.0.1:$port/api/v1/query" --data-urlencode 'query=count(ALERTS{alertstate="firing"})' \
        >"$WORK/$name-alerts.json" || true
    local firing; firing=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["data"]["result"]; print(r[0]["value"][1] if r else 0)' "$WORK/$name-alerts.json" 2>/dev/null || echo "?")
    python3 -c 'import statistics, sys; print(statistics.median(map(float, sys.argv[1:])))' "${sums[@]}" >"$WORK/$name.median"
    echo "$rss $firing" >"$WORK/$name.extra"
}

if [ -n "$PROM" ]; then
    port=$(free_port)
    "$PROM" --config.file="$WORK/config.yml" --storage.tsdb.path="$WORK/prom" \
        --web.listen-address="127.0.0.1:$port" --log.level=warn >"$WORK/prometheus.log" 2>&1 &
    pid=$!
    PIDS+=("$pid")
    measure prometheus prometheus_rule_group_last_duration_seconds "$port" "$pid"
    kill "$pid"; wait "$pid" 2>/dev/null || true
fi
run_belfry() {
    local name=$1 concurrency=$2 port pid
    port=$(free_port)
    BELFRY_LOG=warn BELFRY_RULES_MAX_CONCURRENT_EVALS="$concurrency" "$BELFRY" serve \
        --config "$WORK/config.yml" --data-dir "$WORK/$name" \
        --listen "127.0.0.1:$port" >"$WORK/$name.log" 2>&1 &
    pid=$!
    PIDS+=("$pid")
    measure "$name" belfry_rule_group_last_duration_seconds "$port" "$pid"
    kill "$pid"; wait "$pid" 2>/dev/null || true
}
if [ -n "$BELFRY" ]; then
    run_belfry belfry "$(nproc | awk '{print ($1 > 4) ? 4 : $1}')"
    run_belfry belfry-seq 1
fi

echo
echo "1,000 rules (10 groups of 100; 500 recording, 500 alerting) over 10,000 series;"
echo "scrape and evaluation every ${interval}s; median of $reads reads after ${warmup}s"
printf '%-12s %14s %12s %10s %10s\n' server round_s rules_per_s firing rss_mib
# belfry: default (concurrent independent rules); belfry-seq: one rule at a time.
for name in prometheus belfry belfry-seq; do
    [ -f "$WORK/$name.median" ] || continue
    read -r rss firing <"$WORK/$name.extra"
    python3 -c 'import sys; t=float(sys.argv[2]); print(f"{sys.argv[1]:<12} {t:14.4f} {1000/t:12.0f} {sys.argv[3]:>10} {int(sys.argv[4])/1024:10.1f}")' \
        "$name" "$(cat "$WORK/$name.median")" "$firing" "$rss"
done
for name in belfry belfry-seq; do
    if [ -f "$WORK/prometheus.median" ] && [ -f "$WORK/$name.median" ]; then
        python3 -c 'import sys; p,b=float(sys.argv[2]),float(sys.argv[3]); print(f"ratio {sys.argv[1]}/prometheus (rules/s): {p/b:.2f} (target >= 2.00)")' \
            "$name" "$(cat "$WORK/prometheus.median")" "$(cat "$WORK/$name.median")"
    fi
done
