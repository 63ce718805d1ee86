//! The Belfry half of `benches/compare-prometheus.sh`: the same work the
//! script gives promtool, done through Belfry's public storage API, with
//! figures printed as `key: value` lines for the script to read.
//!
//! `write --series FILE --metrics N --scrapes M [--dir D]`
//!   Appends N label sets (read from FILE, one JSON object per line, as
//!   `promtool tsdb bench write` reads them) for M scrapes 30 s apart through
//!   `Tsdb`'s `Appender` with the WAL on, batched as promtool batches: shards
//!   of 1000 series, each committing once per scrape, shards spread over one
//!   thread per core, scrapes in rounds of 100 (every shard restarts its
//!   counter value each round, as promtool's do; the first scrape of a round
//!   appends by labels and keeps the series refs, the others append by ref,
//!   as promtool's do). Prints `samples/sec`.
//!
//! `disk --openmetrics FILE --dir D`
//!   Backfills FILE into a fresh data dir as `belfry import` does, runs the
//!   compactor over everything (as if the data were old enough), closes the
//!   store and prints what is on disk; the script measures the dir itself.
//!
//! A `harness = false` bench so `cargo bench --bench tsdb_compare -- ...`
//! builds it with the release profile; cargo's trailing `--bench` flag is
//! accepted and ignored.

use std::collections::HashSet;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use belfry::ingest::{ImportOptions, IngestMetrics, import_file};
use belfry::model::{Label, Labels, now_millis};
use belfry::selfmetrics::Registry;
use belfry::tsdb::wal::{SyncPolicy, WalOptions};
use belfry::tsdb::{AppendError, SeriesRef, Storage, Tsdb, TsdbOptions};
use clap::{Parser, Subcommand};

/// promtool's scrape interval in its write benchmark.
const SCRAPE_INTERVAL_MS: i64 = 30_000;
/// Series per shard, one commit per shard per scrape (promtool's batch).
const SHARD_SERIES: usize = 1000;
/// Scrapes a shard runs before all shards regroup (promtool's round).
const ROUND_SCRAPES: usize = 100;
/// promtool's first value and per-scrape increment.
const FIRST_VALUE: f64 = 123_456_789.0;
const VALUE_STEP: f64 = 1000.0;

#[derive(Parser)]
#[command(about = "Belfry's side of benches/compare-prometheus.sh")]
struct Cli {
    /// None under `cargo test`, which runs every bench target once as a
    /// smoke test: this program only measures when the script asks it to.
    #[command(subcommand)]
    command: Option<Command>,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, global = true, hide = true)]
    bench: bool,
}

#[derive(Subcommand)]
enum Command {
    /// Append throughput with the WAL, as `promtool tsdb bench write`.
    Write {
        /// Label sets, one JSON object per line.
        #[arg(long)]
        series: PathBuf,
        /// How many distinct label sets to use.
        #[arg(long, default_value_t = 10_000)]
        metrics: usize,
        /// Scrapes to simulate (run in rounds of 100, as promtool does).
        #[arg(long, default_value_t = 3000)]
        scrapes: usize,
        /// Data dir (emptied first); a temp dir when absent.
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Bytes on disk after backfill and compaction.
    Disk {
        /// OpenMetrics (or Prometheus text) file whose samples have timestamps.
        #[arg(long)]
        openmetrics: PathBuf,
        /// Data dir (emptied first).
        #[arg(long)]
        dir: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let Some(command) = cli.command else {
        println!("tsdb_compare: no command given (benches/compare-prometheus.sh runs `write` and `disk`)");
        return ExitCode::SUCCESS;
    };
    let result = match command {
        Command::Write {
            series,
            metrics,
            scrapes,
            dir,
        } => write(&series, metrics, scrapes, dir),
        Command::Disk { openmetrics, dir } => disk(&openmetrics, &dir),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("tsdb_compare: {err}");
            ExitCode::FAILURE
        }
    }
}

fn write(series: &Path, metrics: usize, scrapes: usize, dir: Option<PathBuf>) -> Result<(), String> {
    let label_sets = stage("readData", || read_label_sets(series, metrics))?;
    if label_sets.is_empty() {
        return Err(format!("{} holds no label sets", series.display()));
    }
    let temp;
    let dir = match dir {
        Some(dir) => dir,
        None => {
            temp = tempfile::tempdir().map_err(|e| format!("cannot create a temp dir: {e}"))?;
            temp.path().join("storage")
        }
    };
    fresh_dir(&dir)?;
    let registry = Registry::new();
    // The WAL as `belfry serve` runs it by default (`storage.wal.sync: 1s`):
    // every commit is written to the OS before it returns, so a process
    // crash loses nothing, and fsynced once a second. promtool's WAL, like
    // Prometheus's, fsyncs only when a segment is full.
    let opts = TsdbOptions {
        wal: WalOptions {
            sync: SyncPolicy::Interval(Duration::from_secs(1)),
            ..WalOptions::default()
        },
        ..TsdbOptions::default()
    };
    let tsdb = Tsdb::open(&dir, opts, &registry)
        .map_err(|e| format!("cannot open the store in {}: {e}", dir.display()))?;

    let rounds = scrapes.div_ceil(ROUND_SCRAPES);
    // Recent timestamps, so retention and the head window see live data.
    let base = now_millis() - (rounds * ROUND_SCRAPES) as i64 * SCRAPE_INTERVAL_MS;
    let shards: Vec<&[Labels]> = label_sets.chunks(SHARD_SERIES).collect();
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let total = AtomicU64::new(0);
    let failure = std::sync::Mutex::new(None::<String>);

    let cpu_before = process_cpu_seconds();
    let elapsed = stage("ingestScrapes", || {
        let start = Instant::now();
        for round in 0..rounds {
            let round_base = base + (round * ROUND_SCRAPES) as i64 * SCRAPE_INTERVAL_MS;
            let next = AtomicUsize::new(0);
            std::thread::scope(|s| {
                for _ in 0..workers {
                    s.spawn(|| {
                        while let Some(shard) = shards.get(next.fetch_add(1, Ordering::Relaxed)) {
                            match ingest_shard(tsdb.as_ref(), shard, round_base) {
                                Ok(n) => {
                                    total.fetch_add(n, Ordering::Relaxed);
                                }
                                Err(err) => {
                                    failure.lock().unwrap().get_or_insert(err);
                                    return;
                                }
                            }
                        }
                    });
                }
            });
            if let Some(err) = failure.lock().unwrap().take() {
                return Err(err);
            }
        }
        Ok(start.elapsed())
    })?;
    let total = total.into_inner();
    println!("total samples: {total}");
    println!("samples/sec: {:.0}", total as f64 / elapsed.as_secs_f64());
    // CPU per sample is steadier than wall-clock rate on a shared machine.
    if let (Some(before), Some(after)) = (cpu_before, process_cpu_seconds()) {
        println!("cpu ns/sample: {:.1}", (after - before) * 1e9 / total as f64);
    }
    println!("workers: {workers}");
    stage("stopStorage", || {
        tsdb.close().map_err(|e| format!("cannot close the store: {e}"))
    })?;
    Ok(())
}

/// One shard's round: `ROUND_SCRAPES` scrapes, one commit each. As
/// promtool's shard does: the first scrape appends by labels and keeps each
/// series' ref, later ones append by ref (by labels again if a ref is
/// refused, which only retention could cause here).
fn ingest_shard(storage: &dyn Storage, shard: &[Labels], round_base: i64) -> Result<u64, String> {
    let mut value = FIRST_VALUE;
    let mut t = round_base;
    let mut appended = 0u64;
    let mut refs: Vec<Option<SeriesRef>> = vec![None; shard.len()];
    for _ in 0..ROUND_SCRAPES {
        t += SCRAPE_INTERVAL_MS;
        value += VALUE_STEP;
        let mut app = storage.appender();
        for (labels, r) in shard.iter().zip(refs.iter_mut()) {
            let by_ref = match *r {
                Some(known) => app.append_ref(known, t, value),
                None => Err(AppendError::UnknownSeriesRef),
            };
            match by_ref {
                Ok(()) => {}
                Err(AppendError::UnknownSeriesRef) => {
                    let fresh = app
                        .append(labels, t, value)
                        .map_err(|e| format!("append of {labels:?} at {t} refused: {e}"))?;
                    *r = Some(fresh);
                }
                Err(e) => return Err(format!("append of {labels:?} at {t} refused: {e}")),
            }
        }
        let report = app.commit().map_err(|e| format!("commit failed: {e}"))?;
        appended += report.samples_appended as u64;
    }
    Ok(appended)
}

/// The first `limit` distinct label sets of a file of JSON objects, one per
/// line, each mapping label names to values.
fn read_label_sets(path: &Path, limit: usize) -> Result<Vec<Labels>, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(limit);
    for (n, line) in std::io::BufReader::new(file).lines().enumerate() {
        if out.len() == limit {
            break;
        }
        let line = line.map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        let map: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&line)
            .map_err(|e| format!("{}:{}: not a JSON object of labels: {e}", path.display(), n + 1))?;
        let mut labels = Vec::with_capacity(map.len());
        for (name, value) in map {
            let serde_json::Value::String(value) = value else {
                return Err(format!(
                    "{}:{}: label {name} is not a string",
                    path.display(),
                    n + 1
                ));
            };
            labels.push(Label::new(name, value));
        }
        let labels = Labels::new(labels);
        if seen.insert(labels.clone()) {
            out.push(labels);
        }
    }
    Ok(out)
}

fn disk(file: &Path, dir: &Path) -> Result<(), String> {
    fresh_dir(dir)?;
    let registry = Registry::new();
    // No background thread: compaction runs below, once, over everything.
    let opts = TsdbOptions {
        background: false,
        ..TsdbOptions::default()
    };
    let horizon_ms = i64::try_from(opts.compaction_horizon.as_millis()).unwrap_or(i64::MAX);
    let tsdb = Tsdb::open(dir, opts, &registry)
        .map_err(|e| format!("cannot open the store in {}: {e}", dir.display()))?;
    let metrics = IngestMetrics::new(&registry);
    let report = stage("import", || {
        import_file(file, None, tsdb.as_ref(), &ImportOptions::default(), &metrics)
            .map_err(|e| format!("import of {} failed: {e}", file.display()))
    })?;
    let before = tsdb.disk_bytes();
    let stats = tsdb.stats(0);
    // "Now" far enough past the newest sample that every chunk is due
    // (the state the data reaches on its own two horizons later).
    let now = stats
        .max_time
        .saturating_add(horizon_ms.saturating_mul(2))
        .saturating_add(1);
    let compaction = stage("compact", || {
        tsdb.compact_now(now)
            .map_err(|e| format!("compaction failed: {e}"))
    })?;
    println!("samples read: {}", report.samples_read);
    println!("samples written: {}", report.samples_written);
    println!("series: {}", report.series);
    println!("bytes on disk after import: {before}");
    println!(
        "compaction: {} chunks -> {}, chunk bytes {} -> {}",
        compaction.chunks_replaced,
        compaction.chunks_written,
        compaction.bytes_before,
        compaction.bytes_after
    );
    stage("close", || {
        tsdb.close().map_err(|e| format!("cannot close the store: {e}"))
    })?;
    println!("bytes on disk after close: {}", dir_bytes(dir)?);
    Ok(())
}

fn fresh_dir(dir: &Path) -> Result<(), String> {
    if dir.exists() {
        std::fs::remove_dir_all(dir).map_err(|e| format!("cannot empty {}: {e}", dir.display()))?;
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))
}

/// Bytes of the files under `dir`, as `du -sb` counts them (apparent sizes).
fn dir_bytes(dir: &Path) -> Result<u64, String> {
    let mut total = 0;
    let entries = std::fs::read_dir(dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
        let meta = entry
            .metadata()
            .map_err(|e| format!("cannot stat {}: {e}", entry.path().display()))?;
        total += if meta.is_dir() {
            dir_bytes(&entry.path())?
        } else {
            meta.len()
        };
    }
    Ok(total)
}

/// Runs one stage, printing its duration as promtool does.
/// User plus system CPU time of this process so far, from
/// `/proc/self/stat` (Linux only; `None` elsewhere). Clock ticks are
/// assumed to be the usual 100 per second.
fn process_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name, which may hold spaces.
    let rest = &stat[stat.rfind(')')? + 2..];
    let mut fields = rest.split(' ').skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some((utime + stime) as f64 / 100.0)
}

fn stage<T>(name: &str, f: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
    let start = Instant::now();
    let out = f()?;
    let took: Duration = start.elapsed();
    eprintln!(">> completed stage={name} duration={took:?}");
    Ok(out)
}
