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
#   ages   the data dir right after a backfill of 1 h, 4 h and 24 h of the
#          same kind of data: `promtool tsdb create-blocks-from openmetrics`
#          (du -sb of the blocks it writes) against `belfry import` (du -sb of
#          the whole data dir), bytes per sample on each side.
#   live   both servers scrape the same targets (a node exporter, when
#          Debian's prometheus-node-exporter is installed, and synthetic
#          hosts whose values move every 15 s) for 30 minutes, side by side;
#          every 5 minutes du -sb of each whole data dir (WAL included) and
#          each server's appended-samples counter. The worst ratio counts.
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

phases="write,disk,ages,rss,live"
side="both"
download=0
keep=0
record=""
write_series=100000
write_scrapes=300
write_repeat=3
disk_series=2000
disk_hours=24
age_hours="1,4,24"
age_series=3010
live_series=10000
live_minutes=30
live_every=300
profile=release
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
  --ages LIST          backfill lengths in hours for 'ages' (default: $age_hours)
  --age-series N       series in each backfill (default: $age_series)
  --live-series N      synthetic series scraped in 'live' (default: $live_series)
  --live-minutes M     length of the live run (default: $live_minutes)
  --live-every S       seconds between data-dir samples (default: $live_every)
  --profile P          cargo profile for belfry (default: $profile; 'measure'
                       builds faster with thin LTO)
  --rss-series N       series in the scraped body (default: $rss_series)
  --rss-scrapes K      scrapes before reading RSS (default: $rss_scrapes)
Environment: CARGO_TARGET_DIR (cargo's), PROMETHEUS_BIN_DIR (skip the download),
BELFRY_BIN (a belfry binary to use instead of building one).
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
    --ages) age_hours="$2"; shift 2 ;;
    --age-series) age_series="$2"; shift 2 ;;
    --live-series) live_series="$2"; shift 2 ;;
    --live-minutes) live_minutes="$2"; shift 2 ;;
    --live-every) live_every="$2"; shift 2 ;;
    --profile) profile="$2"; shift 2 ;;
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
if run_prom || has_phase rss || has_phase live; then
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
profile_dir="$profile"
[ "$profile" = dev ] && profile_dir=debug
BELFRY="${BELFRY_BIN:-$TARGET_DIR/$profile_dir/belfry}"
if run_belfry; then
    need cargo
    log "building belfry ($profile) and the tsdb_compare bench"
    if [ -z "${BELFRY_BIN:-}" ] && { has_phase rss || has_phase ages || has_phase live; }; then
        (cd "$ROOT" && cargo build --profile "$profile" --bin belfry) || die "cargo build --profile $profile failed"
    fi
    if has_phase write || has_phase disk; then
        (cd "$ROOT" && cargo bench --profile "$profile" --bench tsdb_compare --no-run) || die "cargo bench --no-run failed"
    fi
fi
tsdb_compare() {
    (cd "$ROOT" && cargo bench --profile "$profile" --quiet --bench tsdb_compare -- "$@")
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

# --- 2b. bytes per sample right after a backfill, by age ---------------------

# The whole data dir's apparent size after each side's backfill tool, with
# nothing run afterwards: what a user has right after importing that much
# history (Prometheus compacts 2 h blocks only once a server opens them).
if has_phase ages; then
    for hours in ${age_hours//,/ }; do
        log "ages: $age_series series x ${hours}h at 15s"
        python3 "$GEN" openmetrics --count "$age_series" --hours "$hours" >"$WORK/age.om"
        samples=$((age_series * hours * 240))
        R[age_${hours}_samples]=$samples
        if run_prom; then
            "$PROM_BIN/promtool" tsdb create-blocks-from openmetrics -q "$WORK/age.om" "$WORK/age-prom" >&2 ||
                die "promtool tsdb create-blocks-from openmetrics failed"
            R[age_${hours}_prom_bytes]="$(du -sb "$WORK/age-prom" | cut -f1)"
            R[age_${hours}_prom]="$(python3 -c "print(f'{${R[age_${hours}_prom_bytes]}/$samples:.3f}')")"
            log "prometheus: ${R[age_${hours}_prom_bytes]} bytes (${R[age_${hours}_prom]} B/sample)"
            rm -rf "$WORK/age-prom"
        fi
        if run_belfry; then
            "$BELFRY" --data-dir "$WORK/age-belfry" import "$WORK/age.om" >&2 || die "belfry import failed"
            R[age_${hours}_belfry_bytes]="$(du -sb "$WORK/age-belfry" | cut -f1)"
            R[age_${hours}_belfry_wal]="$(du -sb "$WORK/age-belfry/metrics/wal" 2>/dev/null | cut -f1 || echo 0)"
            R[age_${hours}_belfry]="$(python3 -c "print(f'{${R[age_${hours}_belfry_bytes]}/$samples:.3f}')")"
            log "belfry: ${R[age_${hours}_belfry_bytes]} bytes, WAL ${R[age_${hours}_belfry_wal]} (${R[age_${hours}_belfry]} B/sample)"
            rm -rf "$WORK/age-belfry"
        fi
        rm -f "$WORK/age.om"
    done
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

# --- 4. a live scrape, side by side -------------------------------------------

# Sums a counter family's samples in a /metrics body.
metric_sum() {
    curl -fsS "$1" 2>/dev/null | awk -v n="$2" '$1 == n || index($1, n "{") == 1 {s += $NF} END {printf "%d\n", s}'
}

if has_phase live; then
    log "live: $live_series synthetic series (+ node exporter) for ${live_minutes} min, sampled every ${live_every}s"
    targets=()
    HOSTS_PORT="$(free_port)"
    python3 "$ROOT/benches/compare/serve_hosts.py" --count "$live_series" --port "$HOSTS_PORT" \
        --minutes "$((live_minutes + 5))" >"$WORK/hosts.log" 2>&1 &
    PIDS+=("$!")
    targets+=("127.0.0.1:$HOSTS_PORT")
    if command -v prometheus-node-exporter >/dev/null; then
        NODE_PORT="$(free_port)"
        prometheus-node-exporter --web.listen-address="127.0.0.1:$NODE_PORT" >"$WORK/node.log" 2>&1 &
        PIDS+=("$!")
        targets+=("127.0.0.1:$NODE_PORT")
    else
        log "no prometheus-node-exporter on PATH: synthetic hosts only"
    fi
    for t in "${targets[@]}"; do
        for _ in $(seq 300); do
            curl -fsS -o /dev/null "http://$t/metrics" 2>/dev/null && break
            sleep 0.2
        done
        curl -fsS -o /dev/null "http://$t/metrics" || die "live target $t did not start"
    done
    target_list="$(printf '"%s",' "${targets[@]}")"
    cat >"$WORK/live.yml" <<YML
global:
  scrape_interval: 15s
  scrape_timeout: 10s
scrape_configs:
  - job_name: live
    static_configs:
      - targets: [${target_list%,}]
YML
    live_kinds=()
    if run_prom; then
        PROM_LIVE_PORT="$(free_port)"
        "$PROM_BIN/prometheus" --config.file="$WORK/live.yml" --storage.tsdb.path="$WORK/live-prom" \
            --web.listen-address="127.0.0.1:$PROM_LIVE_PORT" --log.level=warn >"$WORK/live-prom.log" 2>&1 &
        PIDS+=("$!")
        PROM_LIVE_PID=$!
        live_kinds+=(prometheus)
    fi
    if run_belfry; then
        BELFRY_LIVE_PORT="$(free_port)"
        "$BELFRY" serve --config "$WORK/live.yml" --data-dir "$WORK/live-belfry" \
            --listen "127.0.0.1:$BELFRY_LIVE_PORT" >"$WORK/live-belfry.log" 2>&1 &
        PIDS+=("$!")
        BELFRY_LIVE_PID=$!
        live_kinds+=(belfry)
    fi
    start=$(date +%s)
    worst=""
    LIVE_ROWS=()
    elapsed=0
    while [ "$elapsed" -lt "$((live_minutes * 60))" ]; do
        sleep "$live_every"
        elapsed=$(($(date +%s) - start))
        pb="" bb="" ps="" bs=""
        if run_prom; then
            kill -0 "$PROM_LIVE_PID" 2>/dev/null || die "prometheus exited: $(tail -5 "$WORK/live-prom.log")"
            pb="$(du -sb "$WORK/live-prom" | cut -f1)"
            ps="$(metric_sum "http://127.0.0.1:$PROM_LIVE_PORT/metrics" prometheus_tsdb_head_samples_appended_total)"
        fi
        if run_belfry; then
            kill -0 "$BELFRY_LIVE_PID" 2>/dev/null || die "belfry exited: $(tail -5 "$WORK/live-belfry.log")"
            bb="$(du -sb "$WORK/live-belfry" | cut -f1)"
            bs="$(metric_sum "http://127.0.0.1:$BELFRY_LIVE_PORT/metrics" belfry_tsdb_appended_samples_total)"
        fi
        r="n/a"
        if [ -n "$pb" ] && [ -n "$bb" ]; then
            r="$(ratio "$bb" "$pb")"
            if [ -z "$worst" ] || python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) > float(sys.argv[2]) else 1)" "$r" "$worst"; then
                worst="$r"
                R[live_prom_bytes]=$pb R[live_belfry_bytes]=$bb R[live_at]=$elapsed
                R[live_prom]="$(python3 -c "print(f'{$pb/max($ps,1):.3f}')")"
                R[live_belfry]="$(python3 -c "print(f'{$bb/max($bs,1):.3f}')")"
            fi
        fi
        LIVE_ROWS+=("$(printf '| %5d | %12s | %12s | %12s | %12s | %6s |' "$elapsed" "${pb:--}" "${ps:--}" "${bb:--}" "${bs:--}" "$r")")
        log "live ${elapsed}s: prometheus ${pb:--} bytes / ${ps:--} samples, belfry ${bb:--} bytes / ${bs:--} samples, ratio $r"
    done
    R[live_worst]="$worst"
    for kind in "${live_kinds[@]}"; do
        if [ "$kind" = prometheus ]; then pid=$PROM_LIVE_PID; else pid=$BELFRY_LIVE_PID; fi
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$WORK/live-prom" "$WORK/live-belfry"
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
    if has_phase ages; then
        for hours in ${age_hours//,/ }; do
            row "disk after ${hours} h backfill" "bytes/sample" "${R[age_${hours}_prom]:-}" "${R[age_${hours}_belfry]:-}" "<= 0.50"
        done
    fi
    if has_phase rss; then row "RSS per active series" "bytes" "${R[rss_prometheus]:-}" "${R[rss_belfry]:-}" "<= 0.50"; fi
    if has_phase live; then row "disk while scraping, worst" "bytes/sample" "${R[live_prom]:-}" "${R[live_belfry]:-}" "<= 0.50"; fi
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
    if has_phase ages; then
        for hours in ${age_hours//,/ }; do
            echo "- ${hours} h backfill: $age_series series at 15s, ${R[age_${hours}_samples]:--} samples;" \
                "prometheus ${R[age_${hours}_prom_bytes]:--} bytes (promtool's blocks);" \
                "belfry ${R[age_${hours}_belfry_bytes]:--} bytes (data dir after \`belfry import\`, WAL ${R[age_${hours}_belfry_wal]:--})"
        done
    fi
    if has_phase rss; then
        echo "- rss: $rss_series series, ${rss_interval}s interval, after $rss_scrapes scrapes;" \
            "prometheus ${R[rss_prometheus_loaded]:--} KiB loaded / ${R[rss_prometheus_base]:--} KiB baseline" \
            "(${R[rss_prometheus_secs]:--}s); belfry ${R[rss_belfry_loaded]:--} KiB / ${R[rss_belfry_base]:--} KiB" \
            "(${R[rss_belfry_secs]:--}s)"
    fi
    if has_phase live; then
        echo "- live: both servers scrape $live_series synthetic series${NODE_PORT:+ and a node exporter} every 15 s" \
            "for $live_minutes min; whole data dirs every ${live_every}s; the worst ratio" \
            "(${R[live_worst]:--}) at ${R[live_at]:--}s: prometheus ${R[live_prom_bytes]:--} bytes," \
            "belfry ${R[live_belfry_bytes]:--} bytes (bytes/sample divides by each side's appended-samples counter):"
        echo
        echo "| s | prometheus bytes | prometheus samples | belfry bytes | belfry samples | ratio |"
        echo "|---:|---:|---:|---:|---:|---:|"
        printf '%s\n' "${LIVE_ROWS[@]}"
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
