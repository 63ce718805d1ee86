//! The store as a whole: ingest → WAL → index → search, replay without
//! duplicates, backpressure, and retention under an injected clock.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use serde_json::json;

use super::index::{Filter, ReadBudget, SearchQuery, dir_bytes};
use super::{Entry, Level, LogStore, LogStoreOptions, LogsError};
use crate::config::{LevelRetentionOverride, LogRetentionConfig};
use crate::model::PromDuration;
use crate::selfmetrics::Registry;

const DAY: i64 = 86_400 * 1_000_000_000;
/// 2023-11-14T22:13:20Z.
const T0: i64 = 1_700_000_000_000_000_000;

fn options(clock: Arc<AtomicI64>) -> LogStoreOptions {
    LogStoreOptions {
        commit_interval: Duration::from_secs(3600),
        retention_interval: None,
        clock: Arc::new(move || clock.load(Ordering::Relaxed)),
        ..LogStoreOptions::default()
    }
}

fn entry(ts: i64, level: &str, service: &str, msg: &str) -> Entry {
    let mut fields = serde_json::Map::new();
    fields.insert("level".into(), json!(level));
    fields.insert("service".into(), json!(service));
    fields.insert("message".into(), json!(msg));
    fields.insert("course".into(), json!(7));
    Entry {
        timestamp_ns: Some(ts),
        fields,
        ..Entry::default()
    }
}

fn query(text: &str, filters: Vec<Filter>) -> SearchQuery {
    SearchQuery {
        text: text.into(),
        start_ns: 0,
        end_ns: i64::MAX,
        filters,
        limit: 100,
        offset: 0,
        buckets: 10,
    }
}

fn messages(store: &LogStore, q: &SearchQuery) -> Vec<String> {
    store
        .search(q, &ReadBudget::unlimited())
        .unwrap()
        .lines
        .into_iter()
        .map(|l| l.message)
        .collect()
}

#[test]
fn ingested_records_are_found_newest_first_with_filters_and_counts() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(AtomicI64::new(T0));
    let store = LogStore::open(dir.path(), options(clock), &Registry::default()).unwrap();
    let report = store
        .ingest(
            "test",
            vec![
                entry(T0 - 3000, "info", "api", "login ok for course"),
                entry(T0 - 2000, "ERROR", "api", "database timeout while saving"),
                entry(T0 - 1000, "warn", "worker", "queue slow"),
                entry(T0 - DAY, "error", "worker", "database gone yesterday"),
            ],
        )
        .unwrap();
    assert_eq!(report.accepted, 4);
    store.flush().unwrap();

    assert_eq!(
        messages(&store, &query("", vec![])),
        [
            "queue slow",
            "database timeout while saving",
            "login ok for course",
            "database gone yesterday"
        ]
    );
    assert_eq!(
        messages(&store, &query("database", vec![])),
        ["database timeout while saving", "database gone yesterday"]
    );
    assert_eq!(
        messages(&store, &query("database", vec![Filter::Service("api".into())])),
        ["database timeout while saving"]
    );
    assert_eq!(
        messages(
            &store,
            &query("", vec![Filter::Level(vec![Level::Warning, Level::Error])])
        )
        .len(),
        3
    );
    assert_eq!(
        messages(
            &store,
            &query("", vec![Filter::Field("course".into(), "7".into())])
        )
        .len(),
        4
    );
    assert_eq!(
        messages(
            &store,
            &query("", vec![Filter::Field("course".into(), "8".into())])
        )
        .len(),
        0
    );

    let mut page = query("", vec![]);
    page.limit = 2;
    page.offset = 1;
    page.start_ns = T0 - 2 * DAY;
    page.end_ns = T0;
    let result = store.search(&page, &ReadBudget::unlimited()).unwrap();
    let got: Vec<String> = result.lines.into_iter().map(|l| l.message).collect();
    assert_eq!(got, ["database timeout while saving", "login ok for course"]);
    assert_eq!(result.total, 4);
    let by_level: Vec<u64> = (0..5)
        .map(|l| result.histogram.iter().map(|b| b.counts[l]).sum())
        .collect();
    assert_eq!(by_level, [0, 1, 1, 2, 0]);

    let (line, around) = store
        .context(result_id(&store, "database timeout while saving"), None, 5, 5)
        .unwrap();
    assert_eq!(line.service, "api");
    let around: Vec<String> = around.into_iter().map(|l| l.message).collect();
    assert_eq!(around, ["login ok for course", "database timeout while saving"]);
    store.close().unwrap();
}

fn result_id(store: &LogStore, msg: &str) -> u64 {
    store
        .search(&query(&format!("\"{msg}\""), vec![]), &ReadBudget::unlimited())
        .unwrap()
        .lines
        .into_iter()
        .find(|l| l.message == msg)
        .unwrap()
        .id
}

#[test]
fn replay_indexes_the_uncommitted_tail_once() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(AtomicI64::new(T0));
    {
        let store = LogStore::open(dir.path(), options(clock.clone()), &Registry::default()).unwrap();
        store
            .ingest("test", vec![entry(T0, "info", "api", "first")])
            .unwrap();
        store.flush().unwrap();
        store
            .ingest("test", vec![entry(T0, "info", "api", "second")])
            .unwrap();
        // Dropped without close: "second" is only in the WAL.
    }
    {
        let store = LogStore::open(dir.path(), options(clock.clone()), &Registry::default()).unwrap();
        let mut got = messages(&store, &query("", vec![]));
        got.sort();
        assert_eq!(got, ["first", "second"]);
        store
            .ingest("test", vec![entry(T0, "info", "api", "third")])
            .unwrap();
    }
    let store = LogStore::open(dir.path(), options(clock), &Registry::default()).unwrap();
    let mut got = messages(&store, &query("", vec![]));
    got.sort();
    assert_eq!(got, ["first", "second", "third"]);
    let ids: std::collections::BTreeSet<u64> = store
        .search(&query("", vec![]), &ReadBudget::unlimited())
        .unwrap()
        .lines
        .iter()
        .map(|l| l.id)
        .collect();
    assert_eq!(ids.len(), 3, "distinct sequence numbers");
}

#[test]
fn a_lagging_index_makes_ingest_refuse_with_retry_after() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(AtomicI64::new(T0));
    let mut opts = options(clock);
    opts.max_pending_bytes = 4096;
    let registry = Registry::default();
    let store = LogStore::open(dir.path(), opts, &registry).unwrap();
    let big = "x".repeat(1500);
    store
        .ingest("test", vec![entry(T0, "info", "api", &big)])
        .unwrap();
    store
        .ingest("test", vec![entry(T0, "info", "api", &big)])
        .unwrap();
    let err = store
        .ingest("test", vec![entry(T0, "info", "api", &big)])
        .unwrap_err();
    assert!(
        matches!(err, LogsError::Backpressure { retry_after_secs, .. } if retry_after_secs >= 1),
        "{err}"
    );
    assert!(
        registry
            .render()
            .contains("belfry_logs_rejected_total{reason=\"backpressure\"} 1")
    );
    store.flush().unwrap();
    store
        .ingest("test", vec![entry(T0, "info", "api", &big)])
        .unwrap();
    // Each fsync and commit lands in a latency histogram.
    let text = registry.render();
    for name in [
        "belfry_logs_wal_fsync_duration_seconds",
        "belfry_logs_index_commit_duration_seconds",
    ] {
        assert!(text.contains(&format!("# TYPE {name} histogram\n")), "{text}");
        let count = text
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name}_count ")))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
        assert!(count >= 1, "{name}: {text}");
    }
}

#[test]
fn too_many_lines_and_expired_records_are_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(AtomicI64::new(T0));
    let mut opts = options(clock);
    opts.max_batch_lines = 2;
    let store = LogStore::open(dir.path(), opts, &Registry::default()).unwrap();
    let err = store
        .ingest("test", vec![entry(T0, "info", "a", "m"); 3])
        .unwrap_err();
    assert!(err.to_string().contains("max_batch_lines"), "{err}");
    let report = store
        .ingest(
            "test",
            vec![
                entry(T0 - 8 * DAY, "debug", "a", "old"),
                entry(T0 - 8 * DAY, "error", "a", "kept"),
            ],
        )
        .unwrap();
    assert_eq!(report.accepted, 1);
    assert_eq!(report.rejected.len(), 1);
    assert!(
        report.rejected[0].1.contains("7 days debug"),
        "{:?}",
        report.rejected
    );
}

#[test]
fn retention_frees_only_the_expired_levels() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(AtomicI64::new(T0));
    let mut opts = options(clock.clone());
    let mut retention = LogRetentionConfig::default();
    retention.services.insert(
        "audit".into(),
        LevelRetentionOverride {
            debug: Some(PromDuration::from_secs(30 * 86_400)),
            ..Default::default()
        },
    );
    opts.retention = super::retention::RetentionPolicy::from_config(&retention);
    let registry = Registry::default();
    let store = LogStore::open(dir.path(), opts, &registry).unwrap();
    // A day of noisy debug lines and a few errors.
    let noise: String = (0..200).map(|i| format!("token{i} ")).collect();
    for batch in 0..20 {
        let mut entries: Vec<Entry> = (0..100)
            .map(|i| {
                entry(
                    T0 + batch * 100 + i,
                    "debug",
                    "api",
                    &format!("{noise} {batch} {i}"),
                )
            })
            .collect();
        entries.push(entry(T0 + batch, "error", "api", "payment failed"));
        entries.push(entry(T0 + batch, "debug", "audit", "audit trail"));
        store.ingest("test", entries).unwrap();
        store.flush().unwrap();
    }
    let index_dir = dir.path().join("index");
    let before = dir_bytes(&index_dir);

    // Six days on, nothing has expired.
    clock.store(T0 + 6 * DAY, Ordering::Relaxed);
    let report = store.run_retention().unwrap();
    assert_eq!(report.deleted_by_age, 0);

    // Eight days on, debug (7 d) has expired except for audit's (30 d).
    clock.store(T0 + 8 * DAY, Ordering::Relaxed);
    let report = store.run_retention().unwrap();
    assert_eq!(report.deleted_by_age, 2000);
    assert!(report.days_dropped.is_empty());
    let after = dir_bytes(&index_dir);
    assert!(
        after * 3 < before,
        "the debug lines' space is freed: {before} -> {after}"
    );
    let mut left = messages(&store, &query("", vec![]));
    left.sort();
    left.dedup();
    assert_eq!(left, ["audit trail", "payment failed"]);
    assert_eq!(
        store
            .search(&query("", vec![]), &ReadBudget::unlimited())
            .unwrap()
            .total,
        40
    );
    let text = registry.render();
    assert!(
        text.contains("belfry_logs_retention_deleted_total{reason=\"age\"} 2000"),
        "{text}"
    );
    assert!(text.contains("belfry_logs_records{level=\"error\"} 20"), "{text}");

    // A year on, the whole day goes.
    clock.store(T0 + 366 * DAY, Ordering::Relaxed);
    let report = store.run_retention().unwrap();
    assert_eq!(report.days_dropped.len(), 1);
    assert_eq!(report.deleted_by_age, 40);
    assert_eq!(std::fs::read_dir(&index_dir).unwrap().count(), 0);
}

#[test]
fn the_size_cap_drops_the_oldest_days_first() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(AtomicI64::new(T0));
    let mut opts = options(clock);
    opts.retention_size = 1;
    let registry = Registry::default();
    let store = LogStore::open(dir.path(), opts, &registry).unwrap();
    for d in (0..3).rev() {
        store
            .ingest(
                "test",
                vec![entry(T0 - d * DAY, "error", "api", &format!("day {d}"))],
            )
            .unwrap();
    }
    store.flush().unwrap();
    let report = store.run_retention().unwrap();
    assert_eq!(report.deleted_by_size, 2);
    assert_eq!(messages(&store, &query("", vec![])), ["day 0"]);
    assert!(
        registry
            .render()
            .contains("belfry_logs_retention_days_dropped_total{reason=\"size\"} 2")
    );
}

#[test]
fn paging_through_lines_that_share_a_timestamp_returns_each_once() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(AtomicI64::new(T0));
    let store = LogStore::open(dir.path(), options(clock), &Registry::default()).unwrap();
    // Two batches, so the ties span index segments as well.
    for batch in 0..2 {
        let entries = (0..25)
            .map(|i| entry(T0, "info", "api", &format!("same instant {}", batch * 25 + i)))
            .collect();
        store.ingest("test", entries).unwrap();
        store.flush().unwrap();
    }
    let mut seen = Vec::new();
    for page in 0..8 {
        let q = SearchQuery {
            limit: 7,
            offset: page * 7,
            ..query("", vec![])
        };
        seen.extend(messages(&store, &q));
    }
    assert_eq!(seen.len(), 50, "{seen:?}");
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 50, "a line came twice: {seen:?}");
}

/// Two request ids whose hashes collide: the hash column alone cannot
/// tell them apart.
fn colliding_request_ids() -> (String, String) {
    let mut seen = std::collections::HashMap::new();
    for i in 0u32.. {
        let id = format!("req-{i}");
        if let Some(other) = seen.insert(super::index::value_hash(&id), id.clone()) {
            return (other, id);
        }
    }
    unreachable!()
}

#[test]
fn request_id_and_user_lookups_are_exact_when_their_hashes_collide() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(AtomicI64::new(T0));
    let store = LogStore::open(dir.path(), options(clock), &Registry::default()).unwrap();
    let (a, b) = colliding_request_ids();
    let with = |ts: i64, request_id: &str, user: &str, msg: &str| {
        let mut e = entry(ts, "info", "api", msg);
        e.fields.insert("request_id".into(), json!(request_id));
        e.fields.insert("user".into(), json!(user));
        e
    };
    store
        .ingest(
            "test",
            vec![
                with(T0 - 3000, &a, &b, "first"),
                with(T0 - 2000, &b, &a, "second"),
                with(T0 - 1000, &a, "someone", "third"),
            ],
        )
        .unwrap();
    store.flush().unwrap();
    let by = |filter: Filter| messages(&store, &query("", vec![filter]));
    assert_eq!(by(Filter::RequestId(a.clone())), ["third", "first"]);
    assert_eq!(by(Filter::RequestId(b.clone())), ["second"]);
    assert_eq!(by(Filter::User(a.clone())), ["second"]);
    assert_eq!(by(Filter::User(b.clone())), ["first"]);
    assert!(by(Filter::RequestId("no-such-id".into())).is_empty());
    // With words and the time range, and counted exactly.
    let mut q = query("third", vec![Filter::RequestId(a.clone())]);
    q.start_ns = T0 - 1500;
    let r = store.search(&q, &ReadBudget::unlimited()).unwrap();
    assert_eq!(r.total, 1);
    assert_eq!(r.lines[0].request_id.as_deref(), Some(a.as_str()));
    store.close().unwrap();
}

#[test]
fn search_finds_ids_and_long_words_the_index_keeps_only_as_a_mark() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(AtomicI64::new(T0));
    let store = LogStore::open(dir.path(), options(clock), &Registry::default()).unwrap();
    let long = "y".repeat(45);
    let mut with_error = entry(T0 - 500, "error", "api", "export failed");
    with_error
        .fields
        .insert("error".into(), json!("KeyError: 77aa88bb99"));
    store
        .ingest(
            "test",
            vec![
                entry(T0 - 3000, "info", "api", "task 5e6f7a8b started"),
                {
                    let mut e = entry(T0 - 2000, "info", "api", "task 1234abcd started");
                    e.fields.insert("step".into(), json!("grades.export"));
                    e
                },
                entry(T0 - 1000, "info", "api", &format!("upload {long} failed")),
                with_error,
            ],
        )
        .unwrap();
    store.flush().unwrap();
    let q = |text: &str| messages(&store, &query(text, vec![]));
    assert_eq!(q("5e6f7a8b"), ["task 5e6f7a8b started"]);
    assert_eq!(q("task 1234ABCD"), ["task 1234abcd started"]);
    assert_eq!(q("\"task 1234abcd\""), ["task 1234abcd started"]);
    assert_eq!(q(&long), [format!("upload {long} failed")]);
    assert_eq!(q("task -5e6f7a8b"), ["task 1234abcd started"]);
    assert_eq!(q("77aa88bb99"), ["export failed"], "an id in the error text");
    assert!(q("99999999999").is_empty());
    let r = store
        .search(&query("started -1234abcd", vec![]), &ReadBudget::unlimited())
        .unwrap();
    assert_eq!(r.total, 1, "counts see only the lines that passed the check");
    // No positions are kept: phrases are checked on the text, in order.
    assert_eq!(q("\"upload failed\""), Vec::<String>::new());
    assert_eq!(q("\"task 5e6f7a8b started\""), ["task 5e6f7a8b started"]);
    assert_eq!(q("\"started task\""), Vec::<String>::new());
    assert_eq!(q("task -\"1234abcd started\""), ["task 5e6f7a8b started"]);
    assert_eq!(q("KeyError"), ["export failed"]);
    let field = |name: &str, value: &str| {
        messages(&store, &query("", vec![Filter::Field(name.into(), value.into())]))
    };
    assert_eq!(field("step", "grades.export"), ["task 1234abcd started"]);
    assert!(field("step", "export.grades").is_empty());
    store.close().unwrap();
}

#[test]
fn checks_of_stored_lines_are_taken_from_the_read_budget() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(AtomicI64::new(T0));
    let store = LogStore::open(dir.path(), options(clock), &Registry::default()).unwrap();
    // "started" is a word every line holds; "-1234abcd" makes the index
    // hand over all six as candidates, each checked against its text.
    let lines: Vec<Entry> = (0..6)
        .map(|i| {
            entry(
                T0 - 6000 + i * 1000,
                "info",
                "api",
                &format!("task {i}0a0b0c0d started"),
            )
        })
        .collect();
    store.ingest("test", lines).unwrap();
    store.flush().unwrap();
    let q = query("started -1234abcd", vec![]);
    let enough = ReadBudget::new(6, Duration::from_secs(60));
    assert_eq!(store.search(&q, &enough).unwrap().total, 6);
    assert_eq!(enough.lines(), 6, "one read per candidate checked");
    let short = ReadBudget::new(5, Duration::from_secs(60));
    let err = store.search(&q, &short).unwrap_err();
    assert!(
        matches!(
            err,
            LogsError::QueryLimit {
                limit: "max_lines_read",
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("logs.query.max_lines_read"), "{err}");
    let late = ReadBudget::new(u64::MAX, Duration::ZERO);
    std::thread::sleep(Duration::from_millis(2));
    let err = store.search(&q, &late).unwrap_err();
    assert!(
        matches!(err, LogsError::QueryLimit { limit: "timeout", .. }),
        "{err}"
    );
    store.close().unwrap();
}

/// A stop signalled while the committer is between its check and its wait
/// (or while retention runs) must not be lost: with hour-long intervals a
/// lost wake-up would leave the join waiting an hour. Many opens and drops
/// make that window likely to be hit at least once without the fix.
#[test]
fn closing_never_sleeps_out_an_interval() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for i in 0..200 {
            let mut opts = options(Arc::new(AtomicI64::new(T0)));
            opts.retention_interval = Some(Duration::from_millis(1));
            let store = LogStore::open(&path, opts, &Registry::default()).unwrap();
            if i % 2 == 0 {
                store.close().unwrap();
            }
            drop(store);
        }
        done_tx.send(()).unwrap();
    });
    // Generous: 200 opens take a second or two; a lost wake-up, an hour.
    done_rx
        .recv_timeout(Duration::from_secs(300))
        .expect("a store took minutes to close: a stop signal was lost");
}
