//! Tests of the real engine: the shared suite (quiet and with a busy
//! background thread), restarts after close and after a crash, persistence,
//! retention, compaction and backfill across restarts.

use std::sync::Arc;
use std::time::Duration;

use crate::model::{Labels, MatchOp, Matcher, now_millis};
use crate::selfmetrics::Registry;

use super::suite::{Harness, base_time, select_all};
use super::{AppendError, Storage, Tsdb, TsdbOptions};

fn quiet() -> TsdbOptions {
    TsdbOptions {
        background: false,
        ..TsdbOptions::default()
    }
}

fn open(dir: &std::path::Path, opts: TsdbOptions) -> Arc<Tsdb> {
    Tsdb::open(dir, opts, &Registry::new()).unwrap()
}

mod quiet_suite {
    use super::*;

    fn harness() -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let db = open(dir.path(), quiet());
        Harness::with_guard(db, Box::new(dir))
    }

    crate::storage_suite!(harness);
}

/// The suite again with the persister running every few milliseconds, so
/// queries and appends race chunks moving from the head to redb.
mod busy_suite {
    use super::*;

    fn harness() -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let opts = TsdbOptions {
            persist_interval: Duration::from_millis(3),
            ..TsdbOptions::default()
        };
        let db = open(dir.path(), opts);
        Harness::with_guard(db, Box::new(dir))
    }

    crate::storage_suite!(harness);
}

fn name_is(v: &str) -> Matcher {
    Matcher::new(MatchOp::Equal, "__name__", v).unwrap()
}

fn series(i: usize) -> Labels {
    Labels::from_pairs(&[("__name__", "m"), ("i", &i.to_string())])
}

/// Writes `steps` samples to each of `n` series in batches of 50 steps.
fn write(db: &dyn Storage, n: usize, from: i64, steps: i64) -> Vec<(Labels, Vec<(i64, f64)>)> {
    let mut expected: Vec<(Labels, Vec<(i64, f64)>)> = (0..n).map(|i| (series(i), Vec::new())).collect();
    let mut step = 0;
    while step < steps {
        let mut app = db.appender();
        for s in step..(step + 50).min(steps) {
            let t = from + s * 15_000;
            for (i, (lbl, exp)) in expected.iter_mut().enumerate() {
                let v = (s as f64) * 1.5 + i as f64;
                app.append(lbl, t, v).unwrap();
                exp.push((t, v));
            }
        }
        app.commit().unwrap();
        step += 50;
    }
    expected.sort_by(|a, b| a.0.cmp(&b.0));
    expected
}

#[test]
fn reopen_after_close_sees_every_sample() {
    let dir = tempfile::tempdir().unwrap();
    let b = base_time() - 20 * 60 * 1000;
    let expected = {
        let db = open(dir.path(), quiet());
        let e = write(&*db, 10, b, 300);
        db.close().unwrap();
        assert!(matches!(db.appender().commit(), Err(super::StorageError::Closed)));
        let mut app = db.appender();
        app.append(&series(0), b + 300 * 15_000, 1.0).unwrap();
        assert!(matches!(app.commit(), Err(super::StorageError::Closed)));
        e
    };
    let db = open(dir.path(), quiet());
    assert_eq!(select_all(&*db, &[name_is("m")], i64::MIN, i64::MAX), expected);
    // Everything was persisted on close: nothing is left in the head.
    let stats = db.stats(5);
    assert_eq!(stats.num_series, 10);
    assert_eq!(stats.min_time, b);
    // Appends continue after the last persisted sample and not before it.
    let mut app = db.appender();
    assert_eq!(
        app.append(&series(1), b + 299 * 15_000, 0.0),
        Err(AppendError::TooOld)
    );
    app.append(&series(1), b + 300 * 15_000, 1.0).unwrap();
    assert_eq!(app.commit().unwrap().samples_appended, 1);
}

#[test]
fn reopen_after_crash_sees_every_committed_sample() {
    let dir = tempfile::tempdir().unwrap();
    let b = base_time() - 20 * 60 * 1000;
    let expected = {
        let db = open(dir.path(), quiet());
        let mut e = write(&*db, 8, b, 200);
        // Part of it reaches redb, the rest only the WAL.
        assert!(db.persist_now().unwrap() > 0);
        let more = write(&*db, 12, b + 200 * 15_000, 30);
        for (lbl, samples) in more {
            match e.iter_mut().find(|x| x.0 == lbl) {
                Some(x) => x.1.extend(samples),
                None => e.push((lbl, samples)),
            }
        }
        e.sort_by(|a, b| a.0.cmp(&b.0));
        // Dropped without close: what a kill -9 leaves behind.
        drop(db);
        e
    };
    let db = open(dir.path(), quiet());
    assert_eq!(select_all(&*db, &[name_is("m")], i64::MIN, i64::MAX), expected);
    // The replayed head still validates: same timestamp, other value.
    let mut app = db.appender();
    assert_eq!(
        app.append(&series(9), b + 229 * 15_000, -1.0),
        Err(AppendError::Duplicate)
    );
    app.rollback();
    // And a second crash after persisting the replayed data loses nothing.
    db.persist_now().unwrap();
    drop(db);
    let db = open(dir.path(), quiet());
    assert_eq!(select_all(&*db, &[name_is("m")], i64::MIN, i64::MAX), expected);
}

/// Bytes of the files under `dir`.
fn dir_bytes(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                dir_bytes(&e.path())
            } else {
                e.metadata().unwrap().len()
            }
        })
        .sum()
}

/// Scrape-like appends (one commit per step) into small segments, with
/// persisting in between: the checkpoints drop what redb holds, keep
/// the unpersisted samples of series whose rows are written, and a crash
/// at the end loses nothing.
#[test]
fn checkpoints_drop_persisted_samples_and_keep_the_rest_across_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let opts = || TsdbOptions {
        background: false,
        wal: crate::tsdb::wal::WalOptions {
            segment_size: 16 * 1024,
            ..Default::default()
        },
        ..TsdbOptions::default()
    };
    let b = base_time() - 210 * 15_000;
    let mut expected: Vec<(Labels, Vec<(i64, f64)>)> = (0..20).map(|i| (series(i), Vec::new())).collect();
    let wal_dir = dir.path().join("wal");
    let mut wal_after_persist = Vec::new();
    {
        let db = open(dir.path(), opts());
        for step in 0..200i64 {
            let mut app = db.appender();
            let t = b + step * 15_000;
            // Series start 3 steps apart, so their chunks fill at
            // different times and some rows are written while other
            // series still hold every sample in memory.
            for (i, (lbl, exp)) in expected
                .iter_mut()
                .enumerate()
                .filter(|(i, _)| step >= *i as i64 * 3)
            {
                let v = (step * (i as i64 + 1)) as f64 / 4.0;
                app.append(lbl, t, v).unwrap();
                exp.push((t, v));
            }
            app.commit().unwrap();
            if step % 30 == 29 {
                db.persist_now().unwrap();
                wal_after_persist.push(dir_bytes(&wal_dir));
            }
        }
        // Each series has one persisted chunk (120 samples) and the rest
        // in memory, spread over segments the checkpoints compacted.
        drop(db);
    }
    let db = open(dir.path(), opts());
    assert_same_samples(&select_all(&*db, &[name_is("m")], i64::MIN, i64::MAX), &expected);
    // Once the first chunks reached redb the log shrank instead of
    // holding all 190 steps.
    // Series fill their chunks at different moments; each one's
    // persisted samples go without waiting for the last series.
    let peak = *wal_after_persist.iter().max().unwrap();
    assert!(
        *wal_after_persist.last().unwrap() < peak,
        "wal bytes after each persist: {wal_after_persist:?}"
    );
    // A second crash, after replaying, still loses nothing.
    db.persist_now().unwrap();
    drop(db);
    let db = open(dir.path(), opts());
    assert_same_samples(&select_all(&*db, &[name_is("m")], i64::MIN, i64::MAX), &expected);
}

/// Compares series by series, naming the first difference rather than
/// printing thousands of samples.
fn assert_same_samples(got: &[(Labels, Vec<(i64, f64)>)], want: &[(Labels, Vec<(i64, f64)>)]) {
    let mut want = want.to_vec();
    want.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        got.iter().map(|s| (&s.0, s.1.len())).collect::<Vec<_>>(),
        want.iter().map(|s| (&s.0, s.1.len())).collect::<Vec<_>>(),
        "series and sample counts"
    );
    for (g, w) in got.iter().zip(&want) {
        if let Some(i) = (0..w.1.len()).find(|&i| g.1[i] != w.1[i]) {
            panic!("{:?}: sample {i} is {:?}, want {:?}", g.0, g.1[i], w.1[i]);
        }
    }
}

#[test]
fn persisted_and_head_chunks_read_as_one_series() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path(), quiet());
    let b = base_time() - 20 * 60 * 1000;
    let expected = write(&*db, 3, b, 400);
    let written = db.persist_now().unwrap();
    // 400 samples: three full chunks sealed, the fourth still open.
    assert_eq!(written, 3 * 3);
    assert_eq!(select_all(&*db, &[name_is("m")], i64::MIN, i64::MAX), expected);
    let (mint, maxt) = (b + 100 * 15_000, b + 250 * 15_000);
    let got = select_all(&*db, &[name_is("m")], mint, maxt);
    for ((_, g), (_, e)) in got.iter().zip(&expected) {
        let want: Vec<_> = e.iter().copied().filter(|s| s.0 >= mint && s.0 <= maxt).collect();
        assert_eq!(g, &want);
    }
    let q = db.querier();
    assert_eq!(q.label_values("i", &[], b, b).unwrap(), vec!["0", "1", "2"]);
    assert_eq!(db.stats(10).chunk_count, 12);
}

/// A ref to a series retention removed is refused (never taken for another
/// series), and a batch that found the series before the removal creates
/// it again on commit.
#[test]
fn refs_of_removed_series_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let now = now_millis();
    let day = 24 * 3600 * 1000;
    let old = Labels::from_pairs(&[("__name__", "old")]);
    let first = now - 20 * day;
    let db = open(dir.path(), quiet());
    db.backfill(vec![(
        old.clone(),
        (0..300).map(|i| (first + i * 15_000, 1.0)).collect(),
    )])
    .unwrap();
    let t = first + 300 * 15_000;
    let mut pending = db.appender();
    let r = pending.append(&old, t, 2.0).unwrap();
    assert_eq!(db.enforce_retention_now(now).unwrap().series_removed, 1);

    let mut app = db.appender();
    assert_eq!(app.append_ref(r, t, 2.0), Err(AppendError::UnknownSeriesRef));
    app.rollback();
    let report = pending.commit().unwrap();
    assert_eq!((report.samples_appended, report.series_created), (1, 1));
    let mut app = db.appender();
    assert_eq!(
        app.append_ref(r, t + 15_000, 3.0),
        Err(AppendError::UnknownSeriesRef)
    );
    let again = app.append(&old, t + 15_000, 3.0).unwrap();
    assert_ne!(again, r);
    app.commit().unwrap();
    let want = vec![(old.clone(), vec![(t, 2.0), (t + 15_000, 3.0)])];
    assert_eq!(select_all(&*db, &[name_is("old")], i64::MIN, i64::MAX), want);
    drop(db);
    // The WAL replays to the same.
    let db = open(dir.path(), quiet());
    assert_eq!(select_all(&*db, &[name_is("old")], i64::MIN, i64::MAX), want);
}

#[test]
fn retention_drops_old_chunks_and_empty_series() {
    let dir = tempfile::tempdir().unwrap();
    let now = now_millis();
    let day = 24 * 3600 * 1000;
    let old = Labels::from_pairs(&[("__name__", "old")]);
    let mixed = Labels::from_pairs(&[("__name__", "mixed")]);
    {
        let db = open(dir.path(), quiet());
        db.backfill(vec![
            (
                old.clone(),
                (0..300).map(|i| (now - 20 * day + i * 15_000, 1.0)).collect(),
            ),
            (
                mixed.clone(),
                (0..300)
                    .map(|i| (now - 20 * day + i * 15_000, 1.0))
                    .chain((0..10).map(|i| (now - day + i * 15_000, 2.0)))
                    .collect(),
            ),
        ])
        .unwrap();
        let report = db.enforce_retention_now(now).unwrap();
        assert_eq!(report.series_removed, 1);
        // Backfill writes each series' old samples as one long run.
        assert_eq!(report.chunks_deleted, 1 + 1);
        let q = db.querier();
        assert_eq!(
            q.label_values("__name__", &[], i64::MIN, i64::MAX).unwrap(),
            vec!["mixed"]
        );
        let got = select_all(&*db, &[name_is("mixed")], i64::MIN, i64::MAX);
        assert_eq!(got[0].1.len(), 10);
        drop(db);
    }
    let db = open(dir.path(), quiet());
    assert_eq!(db.stats(5).num_series, 1);
    assert!(select_all(&*db, &[name_is("old")], i64::MIN, i64::MAX).is_empty());
    // The dropped series can come back as a new one.
    let r = db.backfill(vec![(old.clone(), vec![(now - day, 3.0)])]).unwrap();
    assert_eq!(r.series_created, 1);
}

#[test]
fn size_retention_deletes_oldest_chunks_first() {
    let dir = tempfile::tempdir().unwrap();
    let now = now_millis();
    let hour = 3600 * 1000;
    let db = open(dir.path(), quiet());
    let input: Vec<(Labels, Vec<(i64, f64)>)> = (0..20)
        .map(|i| {
            (
                series(i),
                // Five days: backfill cuts each series into several runs
                // (at most 24 h each), so there are old chunks to drop.
                (0..7200)
                    .map(|k| {
                        (
                            now - 120 * hour + k * 60_000,
                            ((k * 7919 + i as i64 * 104_729) % 1000) as f64,
                        )
                    })
                    .collect(),
            )
        })
        .collect();
    db.backfill(input).unwrap();
    let before = select_all(&*db, &[name_is("m")], i64::MIN, i64::MAX);
    let used = db.inner_stored_bytes();
    let limit = used / 2;
    let opts = TsdbOptions {
        retention_size: Some(limit),
        ..quiet()
    };
    db.close().unwrap();
    drop(db);
    let db = open(dir.path(), opts);
    let report = db.enforce_retention_now(now).unwrap();
    assert!(report.chunks_deleted > 0);
    assert!(
        db.inner_stored_bytes() <= limit,
        "{} > {limit}",
        db.inner_stored_bytes()
    );
    let after = select_all(&*db, &[name_is("m")], i64::MIN, i64::MAX);
    // What is left is the newest part of each series.
    for ((_, a), (_, b)) in after.iter().zip(&before) {
        assert!(a.len() < b.len());
        assert_eq!(a.last(), b.last());
        assert_eq!(&b[b.len() - a.len()..], &a[..]);
    }
}

#[test]
fn backfill_writes_long_runs_and_continues_a_short_one() {
    let dir = tempfile::tempdir().unwrap();
    let now = now_millis();
    let db = open(dir.path(), quiet());
    let input = realistic_series(3, 1000, now - 10 * 24 * 3600 * 1000);
    // Two batches cutting every series, as an import's batches do.
    let (first, second): (Vec<_>, Vec<_>) = input
        .iter()
        .map(|(l, s)| ((l.clone(), s[..300].to_vec()), (l.clone(), s[300..].to_vec())))
        .unzip();
    db.backfill(first).unwrap();
    db.backfill(second).unwrap();
    assert_eq!(select_all(&*db, &[name_is("m")], i64::MIN, i64::MAX), input);
    // One run per series (1000 samples, under the compactor's target), so
    // the compactor finds nothing to do.
    assert_eq!(db.stats(0).chunk_count, 3);
    assert_eq!(db.compact_now(now).unwrap().chunks_written, 0);
    db.close().unwrap();
    drop(db);
    let db = open(dir.path(), quiet());
    assert_eq!(select_all(&*db, &[name_is("m")], i64::MIN, i64::MAX), input);
}

#[test]
fn compaction_rewrites_old_chunks_as_pco_losslessly() {
    let dir = tempfile::tempdir().unwrap();
    let now = now_millis();
    let db = open(dir.path(), quiet());
    let input = realistic_series(50, 4000, now - 3 * 24 * 3600 * 1000);
    append_through_head(&db, &input);
    let before = select_all(&*db, &[name_is("m")], i64::MIN, i64::MAX);
    let report = db.compact_now(now).unwrap();
    assert!(report.chunks_written > 0);
    assert!(report.bytes_after < report.bytes_before);
    let after = select_all(&*db, &[name_is("m")], i64::MIN, i64::MAX);
    assert_eq!(after, before);
    // A second pass finds nothing left to do.
    assert_eq!(db.compact_now(now).unwrap().chunks_written, 0);
    db.close().unwrap();
    drop(db);
    let db = open(dir.path(), quiet());
    assert_eq!(select_all(&*db, &[name_is("m")], i64::MIN, i64::MAX), before);
    let q = db.querier();
    // A range starting inside a long pco chunk.
    let from = before[0].1[1000].0;
    let mut sel = q.select(&[name_is("m")], from - 1, i64::MAX).unwrap();
    assert_eq!(sel[0].samples.next(), Some(before[0].1[1000]));
    assert_eq!(sel[0].samples.seek(before[0].1[3000].0), Some(before[0].1[3000]));
    let bytes_per_sample = report.bytes_after as f64 / report.samples as f64;
    println!(
        "compaction: {} samples, xor {:.3} B/sample -> pco {bytes_per_sample:.3} B/sample",
        report.samples,
        report.bytes_before as f64 / report.samples as f64
    );
}

/// Scrape-like data: 15 s interval with a few ms of jitter, a mix of
/// counters, gauges and constants (as a node exporter exposes).
/// Appends series through the head, interleaved by time as scrapes arrive,
/// and persists the sealed chunks: XOR chunks for the compactor to find
/// (backfill writes the long encoding itself).
fn append_through_head(db: &Tsdb, input: &[(Labels, Vec<(i64, f64)>)]) {
    let steps = input.iter().map(|(_, s)| s.len()).max().unwrap_or(0);
    for from in (0..steps).step_by(100) {
        let mut app = db.appender();
        for k in from..(from + 100).min(steps) {
            for (lbl, samples) in input {
                if let Some(&(t, v)) = samples.get(k) {
                    app.append(lbl, t, v).unwrap();
                }
            }
        }
        app.commit().unwrap();
    }
    db.persist_now().unwrap();
}

pub(crate) fn realistic_series(n: usize, samples: usize, from: i64) -> Vec<(Labels, Vec<(i64, f64)>)> {
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    (0..n)
        .map(|i| {
            let mut v = 0.0f64;
            let mut out = Vec::with_capacity(samples);
            for k in 0..samples {
                let jitter = (next() % 7) as i64 - 3;
                let t = from + k as i64 * 15_000 + jitter;
                v = match i % 3 {
                    0 => v + (next() % 5000) as f64,
                    1 => ((next() % 1000) as f64) / 10.0,
                    _ => 1.0,
                };
                out.push((t, v));
            }
            (series(i), out)
        })
        .collect()
}

#[test]
fn concurrent_appenders_queries_and_persister() {
    let dir = tempfile::tempdir().unwrap();
    let opts = TsdbOptions {
        persist_interval: Duration::from_millis(2),
        ..TsdbOptions::default()
    };
    let db = open(dir.path(), opts);
    let b = base_time() - 20 * 60 * 1000;
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let db = db.clone();
            std::thread::spawn(move || {
                for step in 0..300i64 {
                    let mut app = db.appender();
                    for i in 0..5 {
                        app.append(&series(w * 5 + i), b + step * 1000, step as f64)
                            .unwrap();
                    }
                    app.commit().unwrap();
                }
            })
        })
        .collect();
    let reader = {
        let db = db.clone();
        std::thread::spawn(move || {
            for _ in 0..50 {
                for (_, samples) in select_all(&*db, &[name_is("m")], i64::MIN, i64::MAX) {
                    // Prefixes only, in order, no gaps, never duplicated.
                    for (k, s) in samples.iter().enumerate() {
                        assert_eq!(*s, (b + k as i64 * 1000, k as f64));
                    }
                }
            }
        })
    };
    for w in writers {
        w.join().unwrap();
    }
    reader.join().unwrap();
    let all = select_all(&*db, &[name_is("m")], i64::MIN, i64::MAX);
    assert_eq!(all.len(), 20);
    assert!(all.iter().all(|(_, s)| s.len() == 300));
}

#[test]
fn refusals_are_counted_in_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let registry = Registry::new();
    let db = Tsdb::open(dir.path(), quiet(), &registry).unwrap();
    let b = base_time();
    let mut app = db.appender();
    app.append(&series(0), b, 1.0).unwrap();
    app.commit().unwrap();
    let mut app = db.appender();
    let _ = app.append(&series(0), b - 1, 1.0);
    let _ = app.append(&series(0), b, 2.0);
    app.rollback();
    let text = registry.render();
    assert!(
        text.contains("belfry_tsdb_out_of_order_samples_total 1\n"),
        "{text}"
    );
    assert!(text.contains("belfry_tsdb_duplicate_samples_total 1\n"));
    assert!(text.contains("belfry_tsdb_appended_samples_total 1\n"));
    assert!(text.contains("belfry_tsdb_series_created_total 1\n"));
    assert!(text.contains("belfry_tsdb_head_series 1\n"));
}

/// The value of an unlabelled self-metric as `/metrics` renders it.
fn rendered(registry: &Registry, name: &str) -> u64 {
    let text = registry.render();
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("{name} not rendered in\n{text}"))
        .parse()
        .unwrap()
}

#[test]
fn persisting_and_compacting_are_counted_in_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let registry = Registry::new();
    let db = Tsdb::open(dir.path(), quiet(), &registry).unwrap();
    assert_eq!(rendered(&registry, "belfry_tsdb_chunks_persisted_total"), 0);
    assert_eq!(rendered(&registry, "belfry_tsdb_compactions_total"), 0);

    // Three series of 400 samples: three sealed chunks each reach redb.
    write(&*db, 3, base_time() - 20 * 60 * 1000, 400);
    assert_eq!(db.persist_now().unwrap(), 9);
    assert_eq!(rendered(&registry, "belfry_tsdb_chunks_persisted_total"), 9);
    assert_eq!(db.persist_now().unwrap(), 0);
    assert_eq!(rendered(&registry, "belfry_tsdb_chunks_persisted_total"), 9);

    // Two days on, those chunks are what the compactor re-encodes.
    let now = now_millis() + 2 * 24 * 3600 * 1000;
    let report = db.compact_now(now).unwrap();
    assert!(report.chunks_written > 0);
    assert_eq!(
        rendered(&registry, "belfry_tsdb_compactions_total"),
        report.chunks_written
    );
    assert_eq!(db.compact_now(now).unwrap().chunks_written, 0);
    assert_eq!(
        rendered(&registry, "belfry_tsdb_compactions_total"),
        report.chunks_written
    );
}

/// Bytes per sample on disk after compaction, by pco chunk length, on the
/// codec's reference shapes. Prints the table in `docs/storage-format.md`:
/// `cargo test --release --lib compaction_bytes_per_sample -- --ignored --nocapture`.
#[test]
#[ignore]
fn compaction_bytes_per_sample() {
    use super::chunk::testdata::{SHAPES, series as shape_series};
    const PER_SERIES: usize = 5760; // one day at 15 s
    const N: usize = 40;
    for target in [120usize, 360, 720, 1440, 2880] {
        let mut line = format!("target {target:>5}:");
        let mut total = (0u64, 0u64);
        for (k, shape) in SHAPES.iter().enumerate() {
            let dir = tempfile::tempdir().unwrap();
            let opts = TsdbOptions {
                compaction_target_samples: target,
                ..quiet()
            };
            let db = open(dir.path(), opts);
            let input: Vec<(Labels, Vec<(i64, f64)>)> = (0..N)
                .map(|i| {
                    let (ts, vs) = shape_series(*shape, PER_SERIES, (k * 1000 + i) as u64 + 1);
                    (series(i), ts.into_iter().zip(vs).collect())
                })
                .collect();
            db.backfill(input).unwrap();
            let samples = (N * PER_SERIES) as u64;
            // "now" well past the data, so every chunk is old enough.
            let r = db.compact_now(1_800_000_000_000).unwrap();
            let chunk_bytes = if target == 120 { 0 } else { r.bytes_after };
            let stored = db.inner_stored_bytes();
            line += &format!(
                "  {shape:?} chunks {:.2} / stored {:.2} B/sample",
                chunk_bytes as f64 / samples as f64,
                stored as f64 / samples as f64
            );
            total.0 += samples;
            total.1 += stored;
        }
        println!("{line}  | all stored {:.3}", total.1 as f64 / total.0 as f64);
    }
}

fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// Resident memory per active series in the head (100k series, 60 samples
/// each, node-exporter-like labels):
/// `cargo test --release --lib head_rss_per_series -- --ignored --nocapture`.
#[test]
#[ignore]
fn head_rss_per_series() {
    const SERIES: usize = 100_000;
    let dir = tempfile::tempdir().unwrap();
    let labels: Vec<Labels> = (0..SERIES)
        .map(|i| {
            Labels::from_pairs(&[
                ("__name__", &format!("node_metric_{}", i % 200)),
                ("instance", &format!("host-{}:9100", i / 500)),
                ("job", "node"),
                ("cpu", &(i % 16).to_string()),
                ("mode", ["idle", "user", "system", "iowait"][i % 4]),
                ("series", &i.to_string()),
            ])
        })
        .collect();
    let before = rss_bytes();
    let db = open(dir.path(), quiet());
    let b = base_time() - 20 * 60 * 1000;
    for step in 0..60i64 {
        for part in labels.chunks(10_000) {
            let mut app = db.appender();
            for (i, l) in part.iter().enumerate() {
                app.append(l, b + step * 15_000, (step * i as i64) as f64)
                    .unwrap();
            }
            app.commit().unwrap();
        }
    }
    let after = rss_bytes();
    println!(
        "head RSS: {:.0} bytes per active series ({} series, 60 samples each)",
        (after - before) as f64 / SERIES as f64,
        SERIES
    );
}

/// A copy taken with chunks in redb, samples only in the WAL and several
/// WAL segments opens with exactly what was committed before it, and
/// nothing the store took afterwards.
#[test]
fn a_copy_opens_with_what_was_committed_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let b = base_time() - 20 * 60 * 1000;
    let opts = || TsdbOptions {
        wal: super::wal::WalOptions {
            segment_size: 4 << 10,
            ..Default::default()
        },
        ..quiet()
    };
    let db = open(&dir.path().join("live"), opts());
    let mut expected = write(&*db, 8, b, 200);
    assert!(db.persist_now().unwrap() > 0);
    for (lbl, samples) in write(&*db, 8, b + 200 * 15_000, 60) {
        expected
            .iter_mut()
            .find(|x| x.0 == lbl)
            .unwrap()
            .1
            .extend(samples);
    }
    let copy_dir = dir.path().join("copy");
    let copied = db.copy_into(&copy_dir).unwrap();
    assert!(copied.rows > 0);
    let wal_files = copied.files.iter().filter(|f| f.path.starts_with("wal")).count();
    assert!(wal_files > 1, "{:?}", copied.files);
    // After the copy: more samples, a persist and its checkpoint.
    write(&*db, 8, b + 260 * 15_000, 50);
    db.persist_now().unwrap();

    // The copy's current segment grew under its hard link: cut it to the
    // length the copy took, as the archive does.
    for f in &copied.files {
        let path = copy_dir.join(&f.path);
        let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        if file.metadata().unwrap().len() > f.len {
            // A hard link shares the file with the live store: write a
            // new file instead of cutting that one.
            let bytes = std::fs::read(&path).unwrap();
            std::fs::remove_file(&path).unwrap();
            std::fs::write(&path, &bytes[..f.len as usize]).unwrap();
        }
    }
    let registry = Registry::new();
    let restored = Tsdb::open(&copy_dir, opts(), &registry).unwrap();
    assert_eq!(
        select_all(&*restored, &[name_is("m")], i64::MIN, i64::MAX),
        expected
    );
    assert_eq!(restored.wal_replay().corruptions, 0);
    assert!(!registry.render().contains("belfry_wal_truncations_total 1"));
}
