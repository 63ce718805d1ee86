//! Scrubbing throughput over LMS-like log lines: mostly clean lines (the
//! common case, which the `RegexSet` pre-filter should make cheap), and a
//! mix where one line in ten carries something to scrub. Also the cost of
//! a user-id token.
//!
//! `cargo bench --bench privacy -- --quick`; criterion reports bytes/s.

use std::hint::black_box;
use std::sync::Arc;

use belfry::config::{PrivacyConfig, Secret};
use belfry::privacy::{ScrubMetrics, Scrubber, UserIdHasher, UserIdKey};
use belfry::selfmetrics::Registry;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const CLEAN: &[&str] = &[
    r#"{"ts":"2024-05-01T10:00:00.123Z","level":"info","service":"lms-api","request_id":"8f1c2a9e-77b4-4c2e-9d2a-1f0e3c5b7a61","method":"GET","path":"/api/v1/courses/1042/modules","status":200,"duration_ms":12.4,"user_id":"u_3fa94c0d1e2b7a88"}"#,
    r#"{"ts":"2024-05-01T10:00:00.456Z","level":"warning","service":"lms-worker","task":"grades.export","course_id":1042,"rows":18234,"duration_ms":2311.9,"message":"export slower than 2s"}"#,
    "2024-05-01 10:00:01,002 INFO [uvicorn.access] 10.0.3.17:51234 - \"POST /api/v1/submissions HTTP/1.1\" 201 Created",
    "2024-05-01T10:00:01.337Z DEBUG sqlalchemy.engine SELECT enrolments.id, enrolments.user_id FROM enrolments WHERE enrolments.course_id = %(course_id_1)s",
    r#"{"ts":"2024-05-01T10:00:02Z","level":"info","service":"lms-api","message":"Élève inscrit au cours « Chimie organique »","course_id":77,"status":200}"#,
];

const DIRTY: &[&str] = &[
    r#"{"ts":"2024-05-01T10:00:03Z","level":"error","service":"lms-api","message":"login failed for jane.doe@uni.example","path":"/api/v1/login","status":401}"#,
    "2024-05-01 10:00:04 ERROR payment declined card=4111 1111 1111 1111 token=sk_live_4eC39HqLyjWDarjtT1zdp7dc",
    "2024-05-01 10:00:05 ERROR could not connect postgres://lms:s3cr3t@db:5432/lms Authorization: Bearer eyJhbGciOi.eyJzdWIi.sig",
];

fn corpus(dirty_every: usize) -> String {
    let mut out = String::new();
    for i in 0..5000 {
        let line = if dirty_every > 0 && i % dirty_every == 0 {
            DIRTY[i / dirty_every % DIRTY.len()]
        } else {
            CLEAN[i % CLEAN.len()]
        };
        out.push_str(line);
        out.push('\n');
    }
    out
}

fn scrub_lines(c: &mut Criterion) {
    let config = PrivacyConfig::default();
    let scrubber = Scrubber::new(
        &config.scrubbers,
        &ScrubMetrics::new(Arc::new(Registry::default())),
    );
    let mut group = c.benchmark_group("scrub");
    for (name, every) in [("clean", 0), ("one_in_ten_dirty", 10)] {
        let text = corpus(every);
        let lines: Vec<&str> = text.lines().collect();
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_function(name, |b| {
            b.iter(|| {
                let mut kept = 0;
                for line in &lines {
                    kept += scrubber.scrub(black_box(line)).len();
                }
                kept
            })
        });
    }
    group.finish();
}

fn user_tokens(c: &mut Criterion) {
    let hasher = UserIdHasher::new(&UserIdKey::from_secret(&Secret::new(
        "a bench key of some length",
    )));
    let ids: Vec<String> = (0..1000).map(|i| format!("{}", 100_000 + i)).collect();
    let mut group = c.benchmark_group("user_token");
    group.throughput(Throughput::Elements(ids.len() as u64));
    group.bench_function("hmac_sha256", |b| {
        b.iter(|| {
            ids.iter()
                .map(|id| hasher.token(black_box(id)).len())
                .sum::<usize>()
        })
    });
    group.finish();
}

criterion_group!(benches, scrub_lines, user_tokens);
criterion_main!(benches);
