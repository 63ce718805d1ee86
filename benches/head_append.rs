//! Head append throughput with the WAL: batches of 1000 samples committed
//! (and fsynced) at a time, spread over 100k active series, as a scrape of
//! many targets would write them, by labels and by the refs the first
//! appends returned (as a scrape loop does). Run with
//! `cargo bench --bench head_append -- --quick`.

use std::hint::black_box;

use belfry::model::{Labels, now_millis};
use belfry::selfmetrics::Registry;
use belfry::tsdb::{Storage, Tsdb, TsdbOptions};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const SERIES: usize = 100_000;
const BATCH: usize = 1000;

fn series_labels() -> Vec<Labels> {
    (0..SERIES)
        .map(|i| {
            Labels::from_pairs(&[
                ("__name__", &format!("bench_metric_{}", i % 50)),
                ("instance", &format!("host-{}:9100", i / 1000)),
                ("job", "node"),
                ("series", &i.to_string()),
            ])
        })
        .collect()
}

fn head_append(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = Tsdb::open(dir.path(), TsdbOptions::default(), &Registry::new()).expect("open tsdb");
    let labels = series_labels();
    let base = now_millis() - 30 * 60 * 1000;
    // Create every series first, so the benchmark measures steady-state appends.
    let mut refs = Vec::with_capacity(SERIES);
    for chunk in labels.chunks(BATCH) {
        let mut app = db.appender();
        for l in chunk {
            refs.push(app.append(l, base, 0.0).expect("append"));
        }
        app.commit().expect("commit");
    }
    let mut next = SERIES; // sample counter: series = n % SERIES, round = n / SERIES
    let mut group = c.benchmark_group("head_append");
    group.throughput(Throughput::Elements(BATCH as u64));
    group.bench_function("commit_1000_samples_100k_series_wal_fsync", |b| {
        b.iter(|| {
            let mut app = db.appender();
            for _ in 0..BATCH {
                let (i, round) = (next % SERIES, next / SERIES);
                let t = base + round as i64 * 15_000;
                app.append(&labels[i], t, round as f64).expect("append");
                next += 1;
            }
            black_box(app.commit().expect("commit"));
        })
    });
    group.bench_function("commit_1000_samples_100k_series_wal_fsync_by_ref", |b| {
        b.iter(|| {
            let mut app = db.appender();
            for _ in 0..BATCH {
                let (i, round) = (next % SERIES, next / SERIES);
                let t = base + round as i64 * 15_000;
                app.append_ref(refs[i], t, round as f64).expect("append");
                next += 1;
            }
            black_box(app.commit().expect("commit"));
        })
    });
    group.finish();
    db.close().expect("close");
}

criterion_group!(benches, head_append);
criterion_main!(benches);
