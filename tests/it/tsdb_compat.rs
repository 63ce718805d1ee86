//! On-disk compatibility of the metrics store: a data directory written by
//! format version 1 (`tests/fixtures/tsdb-v1/`, made by the ignored
//! generator below at that version) must open with exactly its contents,
//! be upgraded to the current version and stay writable, and a directory
//! stamped with a newer format version must be refused with a clear error.

use std::path::{Path, PathBuf};

use belfry::model::{Labels, MatchOp, Matcher, STALE_NAN};
use belfry::selfmetrics::Registry;
use belfry::tsdb::wal::WalOptions;
use belfry::tsdb::{FORMAT_VERSION, Storage, StorageError, Tsdb, TsdbOptions};

/// 2023-11-14T22:13:20Z: far from "now", so nothing here depends on it.
const T0: i64 = 1_700_000_000_000;
const STEP: i64 = 15_000;

fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tsdb-v1")
}

fn options() -> TsdbOptions {
    TsdbOptions {
        background: false,
        wal: WalOptions {
            segment_size: 64 * 1024,
            ..WalOptions::default()
        },
        ..TsdbOptions::default()
    }
}

fn labels(name: &str, job: &str) -> Labels {
    Labels::from_pairs(&[("__name__", name), ("job", job), ("instance", "fixture:9100")])
}

/// A fixed-seed generator of the fixture's values.
fn values(seed: u64, n: usize) -> Vec<f64> {
    let mut x = seed | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % 10_000) as f64 / 4.0
        })
        .collect()
}

/// (labels, samples) the fixture holds: one series compacted to pco, one in
/// persisted XOR chunks, one only in the WAL (with a stale marker).
fn expected() -> Vec<(Labels, Vec<(i64, f64)>)> {
    let compacted = values(1, 1500)
        .into_iter()
        .enumerate()
        .map(|(i, v)| (T0 + i as i64 * STEP, v))
        .collect();
    let persisted = values(2, 300)
        .into_iter()
        .enumerate()
        .map(|(i, v)| (T0 + 86_400_000 + i as i64 * STEP, v))
        .collect();
    let mut in_wal: Vec<(i64, f64)> = values(3, 50)
        .into_iter()
        .enumerate()
        .map(|(i, v)| (T0 + 2 * 86_400_000 + i as i64 * STEP, v))
        .collect();
    in_wal.push((T0 + 2 * 86_400_000 + 50 * STEP, STALE_NAN));
    let mut all = vec![
        (labels("node_cpu_seconds_total", "node"), compacted),
        (labels("node_load1", "node"), persisted),
        (labels("up", "lms"), in_wal),
    ];
    all.sort_by(|a, b| a.0.cmp(&b.0));
    all
}

/// Writes a fixture of the current format version to
/// `tests/fixtures/tsdb-vN/`: `cargo test --test it tsdb_compat -- --ignored`.
/// For a deliberate format change, before the version is bumped, so the
/// next version's upgrade step has its old fixture to be tested against.
#[test]
#[ignore]
fn generate_fixture() {
    let dir =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/tsdb-v{FORMAT_VERSION}"));
    let _ = std::fs::remove_dir_all(&dir);
    let db = Tsdb::open(&dir, options(), &Registry::new()).unwrap();
    let all = expected();
    let by_name = |n: &str| all.iter().find(|s| s.0.metric_name() == Some(n)).unwrap().clone();
    db.backfill(vec![by_name("node_cpu_seconds_total"), by_name("node_load1")])
        .unwrap();
    // Only the first series is old enough for the compactor at this "now".
    let report = db.compact_now(T0 + 86_400_000).unwrap();
    assert!(report.chunks_written > 0);
    let (lbl, samples) = by_name("up");
    let mut app = db.appender();
    for (t, v) in samples {
        app.append(&lbl, t, v).unwrap();
    }
    app.commit().unwrap();
    // Dropped without close, so the last series stays in the WAL only.
    drop(db);
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

fn all_samples(db: &Tsdb) -> Vec<(Labels, Vec<(i64, u64)>)> {
    let m = Matcher::new(MatchOp::Regex, "__name__", ".+").unwrap();
    db.querier()
        .select(&[m], i64::MIN, i64::MAX)
        .unwrap()
        .into_iter()
        .map(|mut s| {
            let mut v = Vec::new();
            while let Some((t, x)) = s.samples.next() {
                v.push((t, x.to_bits()));
            }
            (s.labels, v)
        })
        .collect()
}

#[test]
fn version_1_data_dir_opens_with_exact_contents() {
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(&fixture_dir(), tmp.path());
    let db = Tsdb::open(tmp.path(), options(), &Registry::new()).unwrap();
    let want: Vec<(Labels, Vec<(i64, u64)>)> = expected()
        .into_iter()
        .map(|(l, s)| (l, s.into_iter().map(|(t, v)| (t, v.to_bits())).collect()))
        .collect();
    assert_eq!(all_samples(&db), want);
    {
        let q = db.querier();
        assert_eq!(
            q.label_names(&[], i64::MIN, i64::MAX).unwrap(),
            vec!["__name__", "instance", "job"]
        );
        assert_eq!(
            q.label_values("job", &[], i64::MIN, i64::MAX).unwrap(),
            vec!["lms", "node"]
        );
    }
    let stats = db.stats(10);
    assert_eq!(stats.num_series, 3);
    assert_eq!(stats.min_time, T0);
    // Upgraded in place: the stamp says the current version, so an older
    // build refuses what this one writes from now on.
    drop(db);
    assert_eq!(format_version(tmp.path()), FORMAT_VERSION);
    let db = Tsdb::open(tmp.path(), options(), &Registry::new()).unwrap();
    assert_eq!(all_samples(&db), want);
    // Still writable, in the current WAL format: samples appended now, and
    // the WAL-only series, survive a crash and a clean close alike.
    let extra = Labels::from_pairs(&[("__name__", "up"), ("job", "after-upgrade")]);
    let mut app = db.appender();
    for i in 0..10 {
        app.append(&extra, T0 + 3 * 86_400_000 + i * STEP, i as f64 * 0.5)
            .unwrap();
    }
    app.commit().unwrap();
    drop(db);
    let db = Tsdb::open(tmp.path(), options(), &Registry::new()).unwrap();
    let mut want_after = want.clone();
    want_after.push((
        extra.clone(),
        (0..10)
            .map(|i| (T0 + 3 * 86_400_000 + i * STEP, (i as f64 * 0.5).to_bits()))
            .collect(),
    ));
    want_after.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(all_samples(&db), want_after);
    db.close().unwrap();
    drop(db);
    let db = Tsdb::open(tmp.path(), options(), &Registry::new()).unwrap();
    assert_eq!(all_samples(&db), want_after);
}

fn format_version(dir: &Path) -> u32 {
    let meta: redb::TableDefinition<&str, &[u8]> = redb::TableDefinition::new("meta");
    let db = redb::Database::open(dir.join("chunks.redb")).unwrap();
    let read = redb::ReadableDatabase::begin_read(&db).unwrap();
    let stamp = read
        .open_table(meta)
        .unwrap()
        .get("format_version")
        .unwrap()
        .unwrap()
        .value()
        .to_vec();
    u32::from_le_bytes(stamp.try_into().unwrap())
}

#[test]
fn newer_format_version_is_refused_with_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(&fixture_dir(), tmp.path());
    {
        let meta: redb::TableDefinition<&str, &[u8]> = redb::TableDefinition::new("meta");
        let db = redb::Database::open(tmp.path().join("chunks.redb")).unwrap();
        let txn = db.begin_write().unwrap();
        txn.open_table(meta)
            .unwrap()
            .insert("format_version", &(FORMAT_VERSION + 1).to_le_bytes()[..])
            .unwrap();
        txn.commit().unwrap();
    }
    let err = match Tsdb::open(tmp.path(), options(), &Registry::new()) {
        Err(e) => e,
        Ok(_) => panic!("a newer format version must be refused"),
    };
    assert!(matches!(err, StorageError::UnsupportedFormat { found, .. } if found == FORMAT_VERSION + 1));
    let msg = err.to_string();
    assert!(
        msg.contains(&format!("format version {}", FORMAT_VERSION + 1)) && msg.contains("newer belfry"),
        "{msg}"
    );
    // Refusing must not rewrite the stamp (nor anything else of ours).
    assert_eq!(format_version(tmp.path()), FORMAT_VERSION + 1);
}
