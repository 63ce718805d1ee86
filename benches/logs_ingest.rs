//! Logs ingest throughput: NDJSON body → parse → schema mapping → WAL
//! (written and fsynced) → tantivy index (added and committed), on one
//! core's worth of work per batch. Throughput is bytes of NDJSON.
//!
//! `cargo bench --bench logs_ingest -- --quick`. Before criterion's runs it
//! ingests a larger corpus once into a fresh store and prints MiB per wall
//! second and per CPU second (the per-core figure: the committer and
//! tantivy's indexing thread run beside the ingesting thread), and the
//! data directory's size against the raw NDJSON and against `zstd -3` of
//! it (`LOGS_INGEST_ONCE_LINES` sets the corpus size, 200,000 lines).

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

/// The allocator the `belfry` binary is built with, set up as it sets
/// it up, so the figures are that server's.
#[path = "../src/allocator.rs"]
mod allocator;

#[path = "support/rng.rs"]
mod rng;
use rng::Rng;

/// RFC 3339 with milliseconds, as python-json-logger and structlog write.
fn rfc3339_ms(ns: i64) -> String {
    let secs = ns.div_euclid(1_000_000_000);
    let ms = ns.rem_euclid(1_000_000_000) / 1_000_000;
    let t = chrono::DateTime::from_timestamp(secs, 0).unwrap_or_default();
    format!("{}.{ms:03}Z", t.format("%Y-%m-%dT%H:%M:%S"))
}

/// An LMS's structured logs with the fields of the observability guide
/// (§7: timestamp, level, service, request id, user id, path, status,
/// duration, error details): mostly access lines, application events,
/// slow-query and rate-limit warnings, errors with tracebacks and a few
/// critical lines; UUID request ids, 20,000 users, 5,000 courses,
/// log-normal durations and Poisson arrivals (about 1,000 lines a second).
fn body(lines: usize, start_secs: f64) -> String {
    const SERVICES: &[&str] = &[
        "lms-api",
        "lms-api",
        "lms-api",
        "lms-worker",
        "lms-auth",
        "lms-grader",
    ];
    const HOSTS: &[&str] = &["web-1", "web-2", "web-3", "worker-1"];
    const ROUTES: &[(&str, &str)] = &[
        ("GET", "/api/v1/courses/{}"),
        ("GET", "/api/v1/courses/{}/modules"),
        ("GET", "/api/v1/courses/{}/announcements"),
        ("GET", "/api/v1/assignments/{}"),
        ("POST", "/api/v1/assignments/{}/submissions"),
        ("POST", "/api/v1/quiz/{}/submit"),
        ("GET", "/api/v1/grades/{}"),
        ("GET", "/api/v1/users/me"),
        ("POST", "/login"),
        ("GET", "/static/js/app.{}.js"),
    ];
    const EXCEPTIONS: &[&str] = &[
        "ValueError: invalid rubric for assignment",
        "KeyError: 'criteria'",
        "psycopg2.errors.DeadlockDetected: deadlock detected",
        "TimeoutError: upstream storage did not answer within 30s",
        "PermissionError: user is not enrolled in course",
    ];
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mut ns = (start_secs * 1e9) as i64;
    let mut out = String::with_capacity(lines * 400);
    for _ in 0..lines {
        // Exponential gaps, mean 1 ms.
        ns += (-(1.0 - rng.unit()).ln() * 1e6) as i64;
        let ts = rfc3339_ms(ns);
        let service = rng.pick(SERVICES);
        let host = rng.pick(HOSTS);
        let (method, route) = ROUTES[rng.below(ROUTES.len() as u64) as usize];
        let course = rng.below(5000) + 1;
        let path = route.replace("{}", &course.to_string());
        let user = 100_000 + rng.below(20_000);
        let (a, b) = (rng.next(), rng.next());
        let request_id = format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            0x8000 | (b >> 48) & 0x3fff,
            b & 0xffff_ffff_ffff
        );
        // Log-normal around 20 ms.
        let normal = (-2.0 * (1.0 - rng.unit()).ln()).sqrt() * (std::f64::consts::TAU * rng.unit()).cos();
        let dur = ((3.0 + normal).exp() * 10.0).round() / 10.0;
        let common = format!(
            r#""timestamp":"{ts}","service":"{service}","host":"{host}","request_id":"{request_id}","user_id":"{user}""#
        );
        let roll = rng.below(1000);
        let _ = match roll {
            0..=719 => {
                let status = [200, 200, 200, 200, 200, 201, 204, 304, 302, 404][rng.below(10) as usize];
                writeln!(
                    out,
                    r#"{{{common},"level":"INFO","logger":"uvicorn.access","method":"{method}","path":"{path}","status":{status},"duration_ms":{dur},"message":"{method} {path} {status}"}}"#
                )
            }
            720..=819 => {
                let (logger, msg) = match rng.below(5) {
                    0 => ("lms.enrolment", format!("user enrolled in course {course}")),
                    1 => (
                        "lms.submissions",
                        format!(
                            "submission received for assignment {course}, {} files",
                            rng.below(4) + 1
                        ),
                    ),
                    2 => (
                        "lms.grading",
                        format!("quiz {course} graded: score {}/20", rng.below(21)),
                    ),
                    3 => (
                        "celery.worker",
                        format!(
                            "task grades.export[{request_id}] succeeded in {:.3}s",
                            dur / 100.0
                        ),
                    ),
                    _ => ("lms.auth", "login succeeded".to_string()),
                };
                writeln!(
                    out,
                    r#"{{{common},"level":"INFO","logger":"{logger}","path":"{path}","course_id":{course},"duration_ms":{dur},"message":"{msg}"}}"#
                )
            }
            820..=949 => {
                let msg = match rng.below(3) {
                    0 => format!("slow query on enrolments took {} ms", 500 + rng.below(4000)),
                    1 => format!("rate limit reached for {path}"),
                    _ => format!(
                        "retrying task grades.recompute for course {course} (attempt {})",
                        rng.below(3) + 1
                    ),
                };
                writeln!(
                    out,
                    r#"{{{common},"level":"WARNING","logger":"lms.api","method":"{method}","path":"{path}","status":429,"duration_ms":{dur},"course_id":{course},"message":"{msg}"}}"#
                )
            }
            950..=995 => {
                let exc = rng.pick(EXCEPTIONS);
                let line = 100 + rng.below(300);
                writeln!(
                    out,
                    r#"{{{common},"level":"ERROR","logger":"lms.api.views","method":"{method}","path":"{path}","status":500,"duration_ms":{dur},"message":"unhandled exception in {method} {path}","error":"Traceback (most recent call last):\n  File \"/srv/lms/api/views.py\", line {line}, in dispatch\n    return handler(request, course_id={course})\n  File \"/srv/lms/grading/service.py\", line 88, in compute\n    rubric = load_rubric(assignment)\n{exc}"}}"#
                )
            }
            _ => writeln!(
                out,
                r#"{{{common},"level":"CRITICAL","logger":"lms.db","path":"{path}","status":503,"duration_ms":{dur},"message":"database connection pool exhausted ({} waiting)","error":"sqlalchemy.exc.TimeoutError: QueuePool limit of size 20 overflow 10 reached"}}"#,
                20 + rng.below(80)
            ),
        };
    }
    out
}

/// CPU seconds this process has used (user + system), from /proc.
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the command's closing parenthesis; utime and stime
    // are the 14th and 15th of the whole line, in clock ticks (100 Hz).
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

fn now_secs() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

fn open_store(dir: &std::path::Path, privacy: &Privacy) -> LogStore {
    let opts = LogStoreOptions {
        privacy: Some(privacy.clone()),
        // Commits only when the bench asks.
        commit_interval: Duration::from_secs(3600),
        retention_interval: None,
        max_pending_bytes: 1 << 30,
        ..LogStoreOptions::default()
    };
    LogStore::open(dir, opts, &Registry::default()).expect("open store")
}

/// Ingests `text` once into a fresh store in requests of `batch` lines,
/// committing every `commit_every` lines as the committer would, and
/// prints throughput per wall second and per CPU second and the data
/// directory's size against the raw text and its zstd -3 compression.
fn ingest_once(privacy: &Privacy, text: &str, batch: usize, commit_every: usize) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = open_store(dir.path(), privacy);
    let lines: Vec<&str> = text.lines().collect();
    let cpu = cpu_seconds();
    let wall = std::time::Instant::now();
    let mut since_commit = 0;
    for chunk in lines.chunks(batch) {
        let body = chunk.join("\n");
        let (entries, errors) = parse_ndjson(body.as_bytes());
        assert!(errors.is_empty());
        let entries = entries.into_iter().map(|(_, e)| e).collect();
        let report = store.ingest("bench", entries).expect("ingest");
        assert_eq!(report.accepted, chunk.len());
        since_commit += chunk.len();
        if since_commit >= commit_every {
            store.flush().expect("commit");
            since_commit = 0;
        }
    }
    store.close().expect("close");
    let wall = wall.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu;
    let mib = text.len() as f64 / (1 << 20) as f64;
    let data = belfry::logs::index::dir_bytes(dir.path());
    let index = belfry::logs::index::dir_bytes(&dir.path().join("index"));
    let zstd3 = zstd::encode_all(text.as_bytes(), 3).expect("zstd").len() as f64;
    eprintln!(
        "logs_ingest: {} lines, {} bytes once: {:.1} MiB/s wall, {:.1} MiB per CPU second ({:.2} CPU s over {:.2} s)",
        lines.len(),
        text.len(),
        mib / wall,
        mib / cpu.max(0.01),
        cpu,
        wall
    );
    eprintln!(
        "logs_ingest: data dir {data} bytes (index {index}) = {:.3} of raw, {:.2} of zstd -3 ({} bytes, {:.3} of raw)",
        data as f64 / text.len() as f64,
        data as f64 / zstd3,
        zstd3,
        zstd3 / text.len() as f64
    );
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
    print_field_usage(&dir.path().join("index"));
}

/// Bytes per field of each index component over every day, so a change
/// of the schema shows where it saved.
fn print_field_usage(root: &std::path::Path) {
    let mut by_field = std::collections::BTreeMap::<(&str, String), u64>::new();
    for day in std::fs::read_dir(root).expect("index dir").flatten() {
        let index = tantivy::Index::open_in_dir(day.path()).expect("open day");
        let usage = index
            .reader()
            .expect("reader")
            .searcher()
            .space_usage()
            .expect("space usage");
        for seg in usage.segments() {
            for (kind, per_field) in [
                ("term", seg.termdict()),
                ("idx", seg.postings()),
                ("pos", seg.positions()),
                ("fast", seg.fast_fields()),
            ] {
                for f in per_field.fields() {
                    let bytes: u64 = f
                        .sub_num_bytes()
                        .iter()
                        .flatten()
                        .map(|b| b.get_bytes())
                        .sum::<u64>()
                        + f.column_num_bytes().map_or(0, |b| b.get_bytes());
                    *by_field.entry((kind, f.field_name().to_string())).or_default() += bytes;
                }
            }
        }
    }
    let line: Vec<String> = by_field
        .iter()
        .filter(|(_, b)| **b > 0)
        .map(|((kind, field), b)| format!("{kind}/{field} {b}"))
        .collect();
    eprintln!("logs_ingest: index bytes by field: {}", line.join(", "));
}

fn bench(c: &mut Criterion) {
    allocator::configure();
    let dir = tempfile::tempdir().expect("temp dir");
    // The default scrubbers and user-id tokens, as a server runs them.
    let privacy = Privacy::open(&PrivacyConfig::default(), dir.path(), Registry::new()).expect("privacy");
    // Size and single-pass speed: 200,000 distinct lines in requests of
    // 1,000, committed every 20,000 (`logs.commit.max_records`' default).
    let once = std::env::var("LOGS_INGEST_ONCE_LINES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000);
    ingest_once(&privacy, &body(once, now_secs() - 3600.0), 1000, 20_000);

    let store = open_store(&dir.path().join("store"), &privacy);
    let lines = 20_000;
    let text = body(lines, now_secs() - 600.0);
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
        })
    });
    group.finish();
    store.close().expect("close");
}

criterion_group!(benches, bench);
criterion_main!(benches);
