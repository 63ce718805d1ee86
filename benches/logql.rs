//! LogQL against a store shaped like the issue's targets: LMS-style lines
//! over 7 days (`BELFRY_LOGQL_BENCH_LINES`, default 2 million; the issue's
//! figure is 10 million), four services, five levels. Times, each the
//! median of several runs:
//!
//! - `sum by (level) (count_over_time({service="api"}[1h]))` over the 7
//!   days at a 1 h step (target: ≤ 1 s for 10 M lines);
//! - the newest 100 lines of `{service="api"} |= "timeout"` over the 7
//!   days (target: ≤ 100 ms over 1 GB of logs), and of a common word;
//! - a metric query that must read every matching line (`|= "timeout"`);
//! - every line of one request id (each line has its own UUID, as the
//!   LMS's access lines do): as a stream matcher, as a label filter, and
//!   as the search API's filter.
//!
//! `cargo bench --profile measure --bench logql`; it prints the raw
//! NDJSON size the store holds, so the line-search figure can be read
//! against the 1 GB target. The same NDJSON is also written to a file,
//! and where `rg` (ripgrep) is installed, the newest 100 `timeout` lines
//! of the api service are found in it the way one would without Belfry
//! (`rg '"service":"api".*timeout' | tail -100`), for the issue's "≥ 50×
//! faster than `rg` scanning the same raw file".

use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use belfry::logql::{Direction, LogqlEngine, QueryData, QueryLimits, RangeParams};
use belfry::logs::ndjson::parse_ndjson;
use belfry::logs::{LogStore, LogStoreOptions};
use belfry::promql::EngineOptions;
use belfry::selfmetrics::Registry;

/// The allocator the `belfry` binary is built with, set up as it sets
/// it up, so the figures are that server's.
#[path = "../src/allocator.rs"]
mod allocator;

const NS: i64 = 1_000_000_000;
const DAYS: i64 = 7;

/// Line `i`'s request id, a UUID.
fn request_id(i: usize) -> String {
    let a = (i as u64 ^ 0x5851_f42d_4c95_7f2d).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    let b = a.rotate_left(29).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        0x8000 | (b >> 48) & 0x3fff,
        b & 0xffff_ffff_ffff
    )
}

fn body(from: usize, to: usize, total: usize, start_ns: i64, out: &mut String) {
    let services = ["api", "worker", "auth", "grader"];
    let paths = ["/api/courses/", "/api/grades/", "/login", "/api/quiz/submit/"];
    let span = DAYS * 86_400 * NS;
    for i in from..to {
        let mut rng = (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0x2545_f491_4f6c_dd1d;
        rng ^= rng >> 29;
        let ts = start_ns + (span as i128 * i as i128 / total as i128) as i64;
        let ts = ts as f64 / 1e9;
        let service = services[(rng % 4) as usize];
        let path = paths[(rng >> 8) as usize % paths.len()];
        let id = (rng >> 16) % 5000;
        let dur = ((rng >> 32) % 900) as f64 + 3.5;
        let rid = request_id(i);
        match (rng >> 40) % 100 {
            0 => {
                let _ = writeln!(
                    out,
                    r#"{{"ts":{ts},"level":"error","service":"{service}","request_id":"{rid}","path":"{path}{id}","status":504,"duration_ms":{dur},"msg":"upstream timeout after 30s on {path}{id}"}}"#
                );
            }
            1..=4 => {
                let _ = writeln!(
                    out,
                    r#"{{"ts":{ts},"level":"warning","service":"{service}","request_id":"{rid}","path":"{path}{id}","status":429,"msg":"rate limit reached for course {id}"}}"#
                );
            }
            5..=24 => {
                let _ = writeln!(
                    out,
                    r#"{{"ts":{ts},"level":"debug","service":"{service}","request_id":"{rid}","msg":"cache miss for key course:{id}"}}"#
                );
            }
            _ => {
                let _ = writeln!(
                    out,
                    r#"{{"ts":{ts},"level":"info","service":"{service}","request_id":"{rid}","path":"{path}{id}","status":200,"duration_ms":{dur},"msg":"GET {path}{id} 200"}}"#
                );
            }
        }
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut times = Vec::new();
    let mut last = None;
    for _ in 0..runs {
        let t = Instant::now();
        last = Some(f());
        times.push(t.elapsed());
    }
    (median(times), last.expect("at least one run"))
}

/// The newest 100 api lines with `timeout`, found by `rg` scanning the raw
/// file (from the page cache after the first run), against the same LogQL
/// query; prints both and their ratio.
fn rg_last_100(raw: &std::path::Path, engine: &LogqlEngine, range: &RangeParams) {
    let Ok(probe) = std::process::Command::new("rg").arg("--version").output() else {
        eprintln!("logql bench: rg is not installed; the rg comparison is skipped");
        return;
    };
    assert!(probe.status.success());
    let (t_rg, last) = time(3, || {
        let out = std::process::Command::new("rg")
            .args(["--no-filename", r#""service":"api".*timeout"#])
            .arg(raw)
            .output()
            .expect("rg runs");
        let text = String::from_utf8(out.stdout).expect("utf-8");
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(100)..].len()
    });
    let q = r#"{service="api"} |= "timeout""#;
    let (t_belfry, _) = time(7, || engine.query_range(q, range).expect("query"));
    eprintln!(
        "logql bench: newest 100 api timeout lines: rg over the raw file {t_rg:.1?} ({last} lines), \
         LogQL {t_belfry:.1?}: {:.0}x",
        t_rg.as_secs_f64() / t_belfry.as_secs_f64()
    );
}

fn main() {
    allocator::configure();
    let total: usize = std::env::var("BELFRY_LOGQL_BENCH_LINES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2_000_000);
    let dir = tempfile::tempdir().expect("temp dir");
    let opts = LogStoreOptions {
        commit_interval: Duration::from_secs(3600),
        retention_interval: None,
        max_pending_bytes: 2 << 30,
        max_batch_lines: 200_000,
        ..LogStoreOptions::default()
    };
    let registry = Registry::default();
    let store = Arc::new(LogStore::open(dir.path(), opts, &registry).expect("open store"));
    let now_ns = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0);
    let start_ns = (now_ns - DAYS * 86_400 * NS) / (3600 * NS) * (3600 * NS);
    let batch = 100_000;
    let mut raw_bytes = 0u64;
    let loading = Instant::now();
    let mut text = String::new();
    let raw_path = dir.path().join("raw.ndjson");
    let mut raw_file = std::io::BufWriter::new(std::fs::File::create(&raw_path).expect("raw file"));
    for from in (0..total).step_by(batch) {
        text.clear();
        body(from, (from + batch).min(total), total, start_ns, &mut text);
        raw_bytes += text.len() as u64;
        raw_file.write_all(text.as_bytes()).expect("write raw file");
        let (entries, errors) = parse_ndjson(text.as_bytes());
        assert!(errors.is_empty());
        store
            .ingest("bench", entries.into_iter().map(|(_, e)| e).collect())
            .expect("ingest");
        store.flush().expect("commit");
    }
    eprintln!(
        "logql bench: {total} lines, {:.0} MiB of NDJSON over {DAYS} days loaded in {:.0?}",
        raw_bytes as f64 / (1 << 20) as f64,
        loading.elapsed()
    );
    let limits = QueryLimits {
        max_lines_read: u64::MAX / 16,
        max_bytes_read: u64::MAX / 16,
        ..QueryLimits::default()
    };
    let engine = LogqlEngine::new(store.clone(), limits, EngineOptions::default(), &registry);
    let end_ns = start_ns + DAYS * 86_400 * NS;
    let range = |step_ns: i64, limit: usize| RangeParams {
        start_ns,
        end_ns,
        step_ns,
        limit,
        direction: Direction::Backward,
    };

    let q = r#"sum by (level) (count_over_time({service="api"}[1h]))"#;
    let (t, out) = time(5, || {
        engine.query_range(q, &range(3600 * NS, 100)).expect("query")
    });
    let QueryData::Matrix(m) = &out.data else {
        panic!("not a matrix")
    };
    let counted: f64 = m.iter().flat_map(|s| s.points.iter().map(|p| p.1)).sum();
    eprintln!(
        "logql bench: {q} over {DAYS} d at 1h: {t:.1?} ({} series, {counted} lines counted, {} read)",
        m.len(),
        out.stats.lines_read
    );

    for q in [
        r#"{service="api"} |= "timeout""#,
        r#"{service="api"} |= "GET""#,
        r#"{service="api"} |= "quiz/sub""#,
    ] {
        let (t, out) = time(7, || {
            engine.query_range(q, &range(3600 * NS, 100)).expect("query")
        });
        let QueryData::Streams(s) = &out.data else {
            panic!("not streams")
        };
        let n: usize = s.iter().map(|s| s.entries.len()).sum();
        eprintln!(
            "logql bench: newest 100 of {q} over {DAYS} d: {t:.1?} ({n} lines, {} read)",
            out.stats.lines_read
        );
    }

    drop(raw_file);
    rg_last_100(&raw_path, &engine, &range(3600 * NS, 100));

    // One request's lines, from the middle of the week.
    let rid = request_id(total / 2);
    for q in [
        format!(r#"{{request_id="{rid}"}}"#),
        format!(r#"{{service=~".+"}} | request_id="{rid}""#),
    ] {
        let (t, out) = time(7, || {
            engine.query_range(&q, &range(3600 * NS, 100)).expect("query")
        });
        let QueryData::Streams(s) = &out.data else {
            panic!("not streams")
        };
        let n: usize = s.iter().map(|s| s.entries.len()).sum();
        assert_eq!(n, 1, "{q}");
        eprintln!(
            "logql bench: every line of {q} over {DAYS} d: {t:.1?} ({n} lines, {} read)",
            out.stats.lines_read
        );
    }
    let search = belfry::logs::index::SearchQuery {
        text: String::new(),
        start_ns,
        end_ns,
        filters: vec![belfry::logs::index::Filter::RequestId(rid.clone())],
        limit: 100,
        offset: 0,
        buckets: 60,
    };
    let (t, found) = time(7, || {
        store
            .search(&search, &belfry::logs::index::ReadBudget::unlimited())
            .expect("search")
    });
    assert_eq!(found.total, 1);
    eprintln!("logql bench: search API request_id={rid} over {DAYS} d: {t:.1?}");

    let q = r#"sum(count_over_time({service="api"} |= "timeout" [1h]))"#;
    let (t, out) = time(3, || {
        engine.query_range(q, &range(3600 * NS, 100)).expect("query")
    });
    eprintln!(
        "logql bench: {q} over {DAYS} d at 1h: {t:.1?} ({} lines read)",
        out.stats.lines_read
    );
    store.close().expect("close");
}
