#!/usr/bin/env bash
# Side-by-side performance comparison of Belfry against Debian's Prometheus,
# on the same generated data and the same machine, in one run:
#
#   write  append throughput with the WAL on: `promtool tsdb bench write`
#          against `cargo bench --bench tsdb_compare -- write` on the same
#          label sets, scrapes and batching (one commit per scrape per
#          shard of 1000 series, shards in parallel).
#   disk   bytes per sample on disk: one OpenMetrics file with timestamps
#          imported by `promtool tsdb create-blocks-from openmetrics` and
#          compacted by `prometheus` (du -sb of the block dirs) and by `tsdb_compare disk` (what `belfry import`
#          does, then the compactor, then close; du -sb of the data dir, WAL
#          included).
#   rss    resident memory per active series: `prometheus` and `belfry serve`
#          each scrape a static body of 100k+ series every 5 s, alone, until
#          the target has served the same number of scrapes; VmRSS then,
#          minus VmRSS of the same server run as long with no targets.
#
# Prometheus comes from Debian's `prometheus` package: `apt-get download` +
# `dpkg -x` into the work dir (no install), unless /usr/bin/prometheus and
# /usr/bin/promtool exist already (use --download to ignore them) or
# PROMETHEUS_BIN_DIR names a directory holding both.
#
# Performance is reported, not asserted: the script exits non-zero only when
# something fails to run. Usage: benches/compare-prometheus.sh --help
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
GEN="$ROOT/benches/compare/gen.py"
SERVE="$ROOT/benches/compare/serve_static.py"

phases="write,disk,rss"
side="both"
download=0
keep=0
record=""
write_series=100000
write_scrapes=300
write_repeat=3
disk_series=2000
disk_hours=24
rss_series=120000
rss_scrapes=6
rss_interval=5

usage() {
    cat <<EOF
usage: benches/compare-prometheus.sh [options]
  --phases LIST        which measurements, comma-separated (default: $phases)
  --side S             both | prometheus | belfry (default: $side)
  --download           fetch Debian's prometheus even if /usr/bin has it
  --keep               keep the work dir (printed at the end)
  --record FILE        also write the results as markdown to FILE
  --write-series N     series for the append benchmark (default: $write_series)
  --write-scrapes M    scrapes for the append benchmark (default: $write_scrapes;
                       promtool runs them in rounds of 100, so use a multiple)
  --write-repeat R     runs of each side, median reported (default: $write_repeat)
  --disk-series N      series in the OpenMetrics file (default: $disk_series)
  --disk-hours H       hours of 15 s samples per series (default: $disk_hours)
  --rss-series N       series in the scraped body (default: $rss_series)
  --rss-scrapes K      scrapes before reading RSS (default: $rss_scrapes)
Environment: CARGO_TARGET_DIR (cargo's), PROMETHEUS_BIN_DIR (skip the download).
EOF
}

command_line="benches/compare-prometheus.sh $*"
while [ $# -gt 0 ]; do
    case "$1" in
    --phases) phases="$2"; shift 2 ;;
    --side) side="$2"; shift 2 ;;
    --download) download=1; shift ;;
    --keep) keep=1; shift ;;
    --record) record="$2"; shift 2 ;;
    --write-series) write_series="$2"; shift 2 ;;
    --write-scrapes) write_scrapes="$2"; shift 2 ;;
    --write-repeat) write_repeat="$2"; shift 2 ;;
    --disk-series) disk_series="$2"; shift 2 ;;
    --disk-hours) disk_hours="$2"; shift 2 ;;
    --rss-series) rss_series="$2"; shift 2 ;;
    --rss-scrapes) rss_scrapes="$2"; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "compare-prometheus: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done
case "$side" in both | prometheus | belfry) ;; *)
    echo "compare-prometheus: --side must be both, prometheus or belfry, not '$side'" >&2; exit 2 ;;
esac
has_phase() { [[ ",$phases," == *",$1,"* ]]; }
run_prom() { [ "$side" != belfry ]; }
run_belfry() { [ "$side" != prometheus ]; }

die() { echo "compare-prometheus: $*" >&2; exit 1; }
log() { echo "== $*" >&2; }
need() { command -v "$1" >/dev/null || die "needs '$1' on PATH"; }
need python3
need curl

WORK="$(mktemp -d "${TMPDIR:-/tmp}/belfry-compare.XXXXXX")"
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    if [ "$keep" = 1 ]; then
        echo "compare-prometheus: work dir kept: $WORK" >&2
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT

# --- the programs -----------------------------------------------------------

PROM_BIN=""
if run_prom || has_phase rss; then
    if [ -n "${PROMETHEUS_BIN_DIR:-}" ]; then
        PROM_BIN="$PROMETHEUS_BIN_DIR"
    elif [ "$download" = 0 ] && [ -x /usr/bin/promtool ] && [ -x /usr/bin/prometheus ]; then
        PROM_BIN=/usr/bin
    else
        need apt-get
        need dpkg
        log "fetching Debian's prometheus package"
        mkdir -p "$WORK/deb"
        # apt's sandbox user may not write into a private temp dir.
        chmod 777 "$WORK/deb"
        (cd "$WORK/deb" && apt-get download prometheus >&2) ||
            die "apt-get download prometheus failed (run apt-get update, or set PROMETHEUS_BIN_DIR)"
        dpkg -x "$WORK"/deb/prometheus_*.deb "$WORK/deb/root"
        PROM_BIN="$WORK/deb/root/usr/bin"
    fi
    [ -x "$PROM_BIN/promtool" ] && [ -x "$PROM_BIN/prometheus" ] ||
        die "no promtool and prometheus in $PROM_BIN"
    prom_version="$("$PROM_BIN/prometheus" --version 2>&1 | head -1 | awk '{print $3}')"
    log "prometheus $prom_version from $PROM_BIN"
fi
run_prom || PROM_BIN=""

TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
BELFRY="$TARGET_DIR/release/belfry"
if run_belfry; then
    need cargo
    log "building belfry (release) and the tsdb_compare bench"
    if has_phase rss; then
        (cd "$ROOT" && cargo build --release --bin belfry) || die "cargo build --release failed"
    fi
    if has_phase write || has_phase disk; then
        (cd "$ROOT" && cargo bench --bench tsdb_compare --no-run) || die "cargo bench --no-run failed"
    fi
fi
tsdb_compare() {
    (cd "$ROOT" && cargo bench --quiet --bench tsdb_compare -- "$@")
}

# Prints one field of `KEY: VALUE` output lines.
field() { sed -n "s/^ *> *$1: *//p; s/^$1: *//p" | tail -1; }

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# True while fewer than $1 seconds have passed since $2 (a `date +%s.%N`).
within() {
    python3 -c 'import sys, time; sys.exit(0 if time.time() - float(sys.argv[2]) < float(sys.argv[1]) else 1)' "$1" "$2"
}

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

median() {
    [ $# -gt 0 ] || return 0
    python3 -c 'import statistics, sys; print(round(statistics.median(map(float, sys.argv[1:]))))' "$@"
}

ratio() { python3 -c "import sys; a,b=float(sys.argv[1]),float(sys.argv[2]); print(f'{a/b:.2f}' if b else 'n/a')" "$1" "$2"; }

# promtool writes 2 h blocks; Prometheus's compactor merges those into
# longer ones (2 h -> 6 h -> 18 h ...) as soon as it opens them. Runs
# `prometheus` on the block dir until its compaction count has stood still
# for 10 s, then stops it; the merged blocks are what Prometheus keeps.
compact_prom_blocks() {
    local dir="$1" port pid start last="" still=0 count
    port="$(free_port)"
    printf 'global: {}\n' >"$WORK/compact.yml"
    "$PROM_BIN/prometheus" --config.file="$WORK/compact.yml" --storage.tsdb.path="$dir" \
        --storage.tsdb.retention.time=3650d --web.listen-address="127.0.0.1:$port" \
        --log.level=warn >"$WORK/compact.log" 2>&1 &
    pid=$!
    PIDS+=("$pid")
    start=$(date +%s.%N)
    while [ "$still" -lt 10 ]; do
        sleep 1
        kill -0 "$pid" 2>/dev/null || die "prometheus exited while compacting: $(tail -5 "$WORK/compact.log")"
        within 300 "$start" || die "prometheus did not finish compacting within 300 s"
        count="$(curl -fsS "http://127.0.0.1:$port/metrics" 2>/dev/null |
            awk '/^prometheus_tsdb_compactions_total /{print $2}')" || count=""
        if [ -n "$count" ] && [ "$count" != 0 ] && [ "$count" = "$last" ]; then
            still=$((still + 1))
        else
            still=0
        fi
        last="$count"
    done
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    log "prometheus compacted the blocks ($last compactions)"
}

declare -A R

# --- 1. append throughput with the WAL ----------------------------------------

if has_phase write; then
    log "write: $write_series series x $write_scrapes scrapes"
    python3 "$GEN" series-json --count "$write_series" >"$WORK/series.json"
    # Alternate the two, $write_repeat runs each, and keep the medians: the
    # machine is shared, and one run can land on a busy moment.
    prom_rates=() belfry_rates=()
    for run in $(seq "$write_repeat"); do
        # Each run writes some 300 MB; flush the previous run's dirty pages
        # first, so neither side pays for the other's writeback.
        sync
        if run_prom; then
            out="$("$PROM_BIN/promtool" tsdb bench write --out "$WORK/promtool-bench" \
                --metrics "$write_series" --scrapes "$write_scrapes" "$WORK/series.json" 2>&1)" ||
                die "promtool tsdb bench write failed: $out"
            prom_rates+=("$(echo "$out" | field 'samples\/sec' | python3 -c 'import sys; print(round(float(sys.stdin.read())))')")
            R[write_prom_total]="$(echo "$out" | field 'total samples')"
            rm -rf "$WORK/promtool-bench"
            log "promtool run $run: ${prom_rates[-1]} samples/s (${R[write_prom_total]} samples)"
        fi
        sync
        if run_belfry; then
            out="$(tsdb_compare write --series "$WORK/series.json" --metrics "$write_series" \
                --scrapes "$write_scrapes" --dir "$WORK/belfry-write")" || die "tsdb_compare write failed"
            belfry_rates+=("$(echo "$out" | field 'samples\/sec')")
            R[write_belfry_total]="$(echo "$out" | field 'total samples')"
            rm -rf "$WORK/belfry-write"
            log "belfry run $run: ${belfry_rates[-1]} samples/s (${R[write_belfry_total]} samples)"
        fi
    done
    R[write_prom]="$(median "${prom_rates[@]}")"
    R[write_belfry]="$(median "${belfry_rates[@]}")"
    R[write_prom_runs]="${prom_rates[*]}"
    R[write_belfry_runs]="${belfry_rates[*]}"
fi

# --- 2. bytes per sample after compaction -------------------------------------

if has_phase disk; then
    log "disk: $disk_series series x ${disk_hours}h at 15s"
    python3 "$GEN" openmetrics --count "$disk_series" --hours "$disk_hours" >"$WORK/samples.om"
    if run_prom; then
        "$PROM_BIN/promtool" tsdb create-blocks-from openmetrics -q "$WORK/samples.om" "$WORK/prom-blocks" >&2 ||
            die "promtool tsdb create-blocks-from openmetrics failed"
        compact_prom_blocks "$WORK/prom-blocks"
        R[disk_prom_bytes]="$(du -sb --total "$WORK"/prom-blocks/01*/ | tail -1 | cut -f1)"
        R[disk_prom_index]="$(du -sb --total "$WORK"/prom-blocks/01*/index | tail -1 | cut -f1)"
        R[disk_prom_samples]="$(python3 -c '
import json, sys
print(sum(json.load(open(p))["stats"]["numSamples"] for p in sys.argv[1:]))' "$WORK"/prom-blocks/01*/meta.json)"
        R[disk_prom_blocks]="$(ls -d "$WORK"/prom-blocks/01*/ | wc -l)"
        R[disk_prom]="$(python3 -c "print(f'{${R[disk_prom_bytes]}/${R[disk_prom_samples]}:.3f}')")"
        log "prometheus: ${R[disk_prom_bytes]} bytes in ${R[disk_prom_blocks]} blocks" \
            "(index ${R[disk_prom_index]}), ${R[disk_prom_samples]} samples"
        rm -rf "$WORK/prom-blocks"
    fi
    if run_belfry; then
        out="$(tsdb_compare disk --openmetrics "$WORK/samples.om" --dir "$WORK/belfry-disk")" ||
            die "tsdb_compare disk failed"
        echo "$out" >&2
        R[disk_belfry_samples]="$(echo "$out" | field 'samples written')"
        R[disk_belfry_bytes]="$(du -sb "$WORK/belfry-disk" | cut -f1)"
        R[disk_belfry_wal]="$(du -sb "$WORK/belfry-disk/wal" 2>/dev/null | cut -f1 || echo 0)"
        # redb files can be sparse: also say what the blocks take.
        R[disk_belfry_alloc]="$(du -s --block-size=1 "$WORK/belfry-disk" | cut -f1)"
        R[disk_belfry]="$(python3 -c "print(f'{${R[disk_belfry_bytes]}/${R[disk_belfry_samples]}:.3f}')")"
        log "belfry: ${R[disk_belfry_bytes]} bytes (WAL ${R[disk_belfry_wal]}, allocated ${R[disk_belfry_alloc]})," \
            "${R[disk_belfry_samples]} samples"
        rm -rf "$WORK/belfry-disk"
    fi
    rm -f "$WORK/samples.om"
fi

# --- 3. RSS per active series -------------------------------------------------

# Runs one server until the static target has served $rss_scrapes scrapes
# (or, for a baseline, for $2 seconds), then sets RSS_KIB and RSS_SECS.
# Not run in a subshell, so `die` ends the script and cleanup sees the pid.
#   $1: prometheus | belfry   $2: loaded | <seconds>   $3: work subdir
measure_rss() {
    local kind="$1" mode="$2" dir="$WORK/$3" port pid start served deadline
    mkdir -p "$dir"
    port="$(free_port)"
    if [ "$mode" = loaded ]; then
        cat >"$dir/config.yml" <<EOF
global:
  scrape_interval: ${rss_interval}s
  scrape_timeout: ${rss_interval}s
scrape_configs:
  - job_name: static
    static_configs:
      - targets: ["127.0.0.1:$TARGET_PORT"]
EOF
    else
        cat >"$dir/config.yml" <<EOF
global:
  scrape_interval: ${rss_interval}s
  scrape_timeout: ${rss_interval}s
scrape_configs: []
EOF
    fi
    if [ "$kind" = prometheus ]; then
        "$PROM_BIN/prometheus" --config.file="$dir/config.yml" --storage.tsdb.path="$dir/data" \
            --web.listen-address="127.0.0.1:$port" --log.level=warn >"$dir/log" 2>&1 &
    else
        "$BELFRY" serve --config "$dir/config.yml" --data-dir "$dir/data" \
            --listen "127.0.0.1:$port" >"$dir/log" 2>&1 &
    fi
    pid=$!
    PIDS+=("$pid")
    start=$(date +%s.%N)
    local before
    before="$(wc -l <"$WORK/target.log")"
    if [ "$mode" = loaded ]; then
        deadline=$((rss_scrapes * rss_interval + 90))
        while :; do
            served=$(($(wc -l <"$WORK/target.log") - before))
            [ "$served" -ge "$rss_scrapes" ] && break
            kill -0 "$pid" 2>/dev/null || die "$kind exited early: $(tail -5 "$dir/log")"
            within "$deadline" "$start" ||
                die "$kind did not scrape $rss_scrapes times within ${deadline}s: $(tail -5 "$dir/log")"
            sleep 0.2
        done
        # Let the last scrape's samples reach the head.
        sleep 2
    else
        while :; do
            kill -0 "$pid" 2>/dev/null || die "$kind exited early: $(tail -5 "$dir/log")"
            within "$mode" "$start" || break
            sleep 0.2
        done
    fi
    RSS_KIB="$(rss_kib "$pid")"
    RSS_SECS="$(python3 -c "import sys; print(f'{float(sys.argv[1]) - float(sys.argv[2]):.1f}')" "$(date +%s.%N)" "$start")"
    kill "$pid"
    wait "$pid" 2>/dev/null || true
}

if has_phase rss; then
    log "rss: $rss_series series, scrape every ${rss_interval}s, RSS after $rss_scrapes scrapes"
    python3 "$GEN" exposition --count "$rss_series" >"$WORK/exposition.txt"
    TARGET_PORT="$(free_port)"
    python3 "$SERVE" "$WORK/exposition.txt" "$TARGET_PORT" >"$WORK/target.log" 2>&1 &
    PIDS+=("$!")
    for _ in $(seq 50); do
        curl -fsS -o /dev/null "http://127.0.0.1:$TARGET_PORT/metrics" 2>/dev/null && break
        sleep 0.1
    done
    curl -fsS -o /dev/null "http://127.0.0.1:$TARGET_PORT/metrics" || die "static target did not start"
    # Report series (up, scrape_duration_seconds, ...) are per target, so
    # the active series are the body's.
    for kind in prometheus belfry; do
        if [ "$kind" = prometheus ] && ! run_prom; then continue; fi
        if [ "$kind" = belfry ] && ! run_belfry; then continue; fi
        measure_rss "$kind" loaded "rss-$kind"
        loaded=$RSS_KIB secs=$RSS_SECS
        measure_rss "$kind" "$secs" "rss-$kind-base"
        base=$RSS_KIB
        R[rss_${kind}_loaded]=$loaded
        R[rss_${kind}_base]=$base
        R[rss_${kind}_secs]=$secs
        R[rss_${kind}]="$(python3 -c "print(round(($loaded - $base) * 1024 / $rss_series))")"
        log "$kind: loaded ${loaded} KiB after ${secs}s, baseline ${base} KiB -> ${R[rss_${kind}]} B/series"
        rm -rf "$WORK/rss-$kind" "$WORK/rss-$kind-base"
    done
fi

# --- the table ----------------------------------------------------------------

row() { # name unit prom belfry target-op target
    local name="$1" p="${3:-}" b="${4:-}" r="n/a"
    if [ -n "$p" ] && [ -n "$b" ]; then r="$(ratio "$b" "$p")"; fi
    printf '| %-38s | %14s | %14s | %6s | %-8s |\n' "$name ($2)" "${p:--}" "${b:--}" "$r" "$5"
}
table() {
    printf '| %-38s | %14s | %14s | %6s | %-8s |\n' "measure" "prometheus" "belfry" "ratio" "target"
    printf '|%s|%s|%s|%s|%s|\n' "----------------------------------------" "---------------:" "---------------:" "-------:" "----------"
    if has_phase write; then row "append with WAL" "samples/s" "${R[write_prom]:-}" "${R[write_belfry]:-}" ">= 2.00"; fi
    if has_phase disk; then row "disk after compaction" "bytes/sample" "${R[disk_prom]:-}" "${R[disk_belfry]:-}" "<= 0.50"; fi
    if has_phase rss; then row "RSS per active series" "bytes" "${R[rss_prometheus]:-}" "${R[rss_belfry]:-}" "<= 0.50"; fi
}
details() {
    if has_phase write; then
        echo "- append: $write_series series x $write_scrapes scrapes, median of $write_repeat runs;" \
            "samples per run: promtool ${R[write_prom_total]:--}, belfry ${R[write_belfry_total]:--};" \
            "runs: promtool ${R[write_prom_runs]:--}, belfry ${R[write_belfry_runs]:--}"
    fi
    if has_phase disk; then
        echo "- disk: $disk_series series x ${disk_hours}h at 15s; prometheus ${R[disk_prom_bytes]:--} bytes" \
            "in ${R[disk_prom_blocks]:--} blocks (index ${R[disk_prom_index]:--}) for ${R[disk_prom_samples]:--} samples;" \
            "belfry ${R[disk_belfry_bytes]:--} bytes (WAL ${R[disk_belfry_wal]:--}; allocated ${R[disk_belfry_alloc]:--})" \
            "for ${R[disk_belfry_samples]:--} samples"
    fi
    if has_phase rss; then
        echo "- rss: $rss_series series, ${rss_interval}s interval, after $rss_scrapes scrapes;" \
            "prometheus ${R[rss_prometheus_loaded]:--} KiB loaded / ${R[rss_prometheus_base]:--} KiB baseline" \
            "(${R[rss_prometheus_secs]:--}s); belfry ${R[rss_belfry_loaded]:--} KiB / ${R[rss_belfry_base]:--} KiB" \
            "(${R[rss_belfry_secs]:--}s)"
    fi
}

echo
echo "ratio = belfry / prometheus ${prom_version:+(prometheus $prom_version)}"
table
details

if [ -n "$record" ]; then
    {
        echo "# Belfry vs Prometheus: last full run"
        echo
        echo "Recorded by \`$command_line\` on $(date -u +%Y-%m-%dT%H:%MZ)," \
            "$(nproc) cores ($(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)), belfry" \
            "$(cd "$ROOT" && git rev-parse --short HEAD), prometheus ${prom_version:-n/a}."
        echo
        table
        echo
        details
    } >"$record"
    log "results written to $record"
fi
