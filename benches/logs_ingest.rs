//! Logs ingest throughput: NDJSON body → parse → schema mapping → WAL
//! (written and fsynced) → tantivy index (added and committed), on one
//! core's worth of work per batch. Throughput is bytes of NDJSON.
//!
//! `cargo bench --bench logs_ingest -- --quick`; it also prints the index's
//! size on disk against the raw NDJSON it holds.

use std::fmt::Write as _;
use std::hint::black_box;
use std::time::Duration;

use belfry::config::PrivacyConfig;
use belfry::logs::ndjson::parse_ndjson;
use belfry::logs::schema::{MappingOptions, map_entry};
use belfry::logs::{LogStore, LogStoreOptions};
use belfry::privacy::Privacy;
use belfry::selfmetrics::Registry;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

/// Lines shaped like an LMS's structured logs: mostly info access lines,
/// some warnings and errors with tracebacks, a few varying fields.
fn body(lines: usize, start_secs: f64) -> String {
    let paths = [
        "/api/courses/",
        "/api/grades/",
        "/login",
        "/api/assignments/",
        "/api/quiz/submit/",
    ];
    let services = ["api", "worker", "auth", "grader"];
    let mut out = String::new();
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    for i in 0..lines {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let ts = start_secs + i as f64 * 0.001;
        let service = services[(rng % 4) as usize];
        let path = paths[(rng >> 8) as usize % paths.len()];
        let id = (rng >> 16) % 5000;
        let user = (rng >> 24) % 20000;
        let dur = ((rng >> 32) % 900) as f64 + 3.5;
        match rng % 20 {
            0 => {
                let _ = writeln!(
                    out,
                    r#"{{"ts":{ts},"level":"ERROR","service":"{service}","request_id":"req-{rng:x}","user_id":"u{user}","path":"{path}{id}","status":500,"duration_ms":{dur},"msg":"unhandled exception while rendering {path}{id}","error":"Traceback (most recent call last):\n  File \"app/views.py\", line 212, in render\n    grade = compute(submission)\nValueError: invalid rubric {id}"}}"#
                );
            }
            1 | 2 => {
                let _ = writeln!(
                    out,
                    r#"{{"ts":{ts},"level":"WARNING","service":"{service}","request_id":"req-{rng:x}","path":"{path}{id}","status":429,"duration_ms":{dur},"msg":"rate limit reached for user u{user}","course_id":{id}}}"#
                );
            }
            _ => {
                let _ = writeln!(
                    out,
                    r#"{{"ts":{ts},"level":"INFO","service":"{service}","request_id":"req-{rng:x}","user_id":"u{user}","path":"{path}{id}","status":200,"duration_ms":{dur},"msg":"GET {path}{id} 200","course_id":{id},"client":"web"}}"#
                );
            }
        }
    }
    out
}

fn now_secs() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    // The default scrubbers and user-id tokens, as a server runs them.
    let privacy = Privacy::open(&PrivacyConfig::default(), dir.path(), Registry::new()).expect("privacy");
    let opts = LogStoreOptions {
        privacy: Some(privacy.clone()),
        // Commits only when the bench asks, once per batch.
        commit_interval: Duration::from_secs(3600),
        retention_interval: None,
        max_pending_bytes: 1 << 30,
        ..LogStoreOptions::default()
    };
    let store = LogStore::open(dir.path(), opts, &Registry::default()).expect("open store");
    let lines = 20_000;
    let text = body(lines, now_secs() - 600.0);
    let mut raw_bytes = 0u64;
    let mut group = c.benchmark_group("logs_ingest");
    group.throughput(Throughput::Bytes(text.len() as u64));
    group.sample_size(10);
    // The share of the work before the store: parsing and the schema.
    let map_opts = MappingOptions {
        max_line_bytes: 64 << 10,
        now_ns: 0,
        privacy: Some(&privacy),
    };
    group.bench_function("ndjson_parse_and_map_20k_lines", |b| {
        b.iter(|| {
            let (entries, _) = parse_ndjson(black_box(text.as_bytes()));
            for (_, e) in entries {
                black_box(map_entry(e, &map_opts));
            }
        })
    });
    group.bench_function("ndjson_wal_index_20k_lines", |b| {
        b.iter(|| {
            let (entries, errors) = parse_ndjson(black_box(text.as_bytes()));
            assert!(errors.is_empty());
            let entries = entries.into_iter().map(|(_, e)| e).collect();
            let report = store.ingest("bench", entries).expect("ingest");
            assert_eq!(report.accepted, lines);
            store.flush().expect("commit");
            raw_bytes += text.len() as u64;
        })
    });
    group.finish();
    store.close().expect("close");
    let index = belfry::logs::index::dir_bytes(&dir.path().join("index"));
    let mut by_kind = std::collections::BTreeMap::<String, u64>::new();
    for day in std::fs::read_dir(dir.path().join("index"))
        .expect("index dir")
        .flatten()
    {
        for f in std::fs::read_dir(day.path()).expect("day dir").flatten() {
            let name = f.file_name().to_string_lossy().to_string();
            let kind = name.rsplit('.').next().unwrap_or_default().to_string();
            *by_kind.entry(kind).or_default() += f.metadata().map(|m| m.len()).unwrap_or(0);
        }
    }
    eprintln!("logs_ingest: index bytes by file kind: {by_kind:?}");
    eprintln!(
        "logs_ingest: {raw_bytes} bytes of NDJSON ingested, index {index} bytes on disk ({:.3} of raw)",
        index as f64 / raw_bytes.max(1) as f64
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
