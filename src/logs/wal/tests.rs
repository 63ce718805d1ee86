//! The logs WAL against the disk: replay, torn tails, truncation after
//! commits, sequence numbers across restarts.

use std::io::Write;
use std::sync::Arc;

use super::codec::tests::arb_record;
use super::{LogWal, SEGMENT_SIZE};
use crate::logs::metrics::LogsMetrics;
use crate::logs::{Level, LogRecord};
use crate::selfmetrics::Registry;
use proptest::prelude::*;
use proptest::strategy::ValueTree;

fn metrics() -> Arc<LogsMetrics> {
    Arc::new(LogsMetrics::new(&Registry::default()))
}

fn record(msg: &str) -> LogRecord {
    LogRecord {
        timestamp_ns: 1,
        level: Level::Info,
        service: "api".into(),
        request_id: None,
        user: None,
        path: None,
        status: None,
        duration: None,
        message: msg.into(),
        error: None,
        labels: Vec::new(),
        fields: Default::default(),
    }
}

fn write(wal: &LogWal, msgs: &[&str]) -> u64 {
    let (first, id) = wal
        .write(msgs.iter().map(|m| record(m)).collect(), |_, _| {})
        .unwrap();
    wal.sync_to(id).unwrap();
    first
}

#[test]
fn records_survive_reopen_with_their_sequence_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let (wal, replay) = LogWal::open(dir.path(), SEGMENT_SIZE, 0, metrics()).unwrap();
    assert!(replay.records.is_empty());
    assert_eq!(write(&wal, &["a", "b"]), 1);
    assert_eq!(write(&wal, &["c"]), 3);
    drop(wal);
    let (wal, replay) = LogWal::open(dir.path(), SEGMENT_SIZE, 0, metrics()).unwrap();
    let got: Vec<(u64, String)> = replay.records.into_iter().map(|(s, r)| (s, r.message)).collect();
    assert_eq!(got, [(1, "a".into()), (2, "b".into()), (3, "c".into())]);
    assert_eq!(wal.next_seq(), 4);
}

#[test]
fn a_torn_tail_is_cut_at_the_last_whole_batch() {
    let dir = tempfile::tempdir().unwrap();
    let (wal, _) = LogWal::open(dir.path(), SEGMENT_SIZE, 0, metrics()).unwrap();
    write(&wal, &["kept"]);
    write(&wal, &["torn"]);
    drop(wal);
    let seg = super::segment::segment_path(dir.path(), 1);
    let len = std::fs::metadata(&seg).unwrap().len();
    let f = std::fs::OpenOptions::new().write(true).open(&seg).unwrap();
    f.set_len(len - 3).unwrap();
    let (_, replay) = LogWal::open(dir.path(), SEGMENT_SIZE, 0, metrics()).unwrap();
    assert_eq!(replay.repaired_segments, 1);
    let msgs: Vec<String> = replay.records.into_iter().map(|(_, r)| r.message).collect();
    assert_eq!(msgs, ["kept"]);
}

#[test]
fn garbage_after_the_last_frame_is_repaired() {
    let dir = tempfile::tempdir().unwrap();
    let (wal, _) = LogWal::open(dir.path(), SEGMENT_SIZE, 0, metrics()).unwrap();
    write(&wal, &["one"]);
    drop(wal);
    let seg = super::segment::segment_path(dir.path(), 1);
    let mut f = std::fs::OpenOptions::new().append(true).open(&seg).unwrap();
    f.write_all(&[9, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9]).unwrap();
    let (wal, replay) = LogWal::open(dir.path(), SEGMENT_SIZE, 0, metrics()).unwrap();
    assert_eq!(replay.records.len(), 1);
    assert_eq!(replay.repaired_segments, 1);
    // Writes continue after the repaired log.
    assert_eq!(write(&wal, &["two"]), 2);
}

#[test]
fn committed_segments_are_deleted_and_the_sequence_continues() {
    let dir = tempfile::tempdir().unwrap();
    let (wal, _) = LogWal::open(dir.path(), 1 << 10, 0, metrics()).unwrap();
    let big = "x".repeat(300);
    for _ in 0..10 {
        write(&wal, &[&big]);
    }
    let before = super::segment::list(dir.path()).unwrap().len();
    assert!(before > 3, "small segments roll: {before}");
    wal.truncate_before(11).unwrap();
    assert_eq!(
        super::segment::list(dir.path()).unwrap().len(),
        1,
        "only the fresh segment is left"
    );
    drop(wal);
    // An empty log still knows where the sequence stands.
    let (wal, replay) = LogWal::open(dir.path(), 1 << 10, 0, metrics()).unwrap();
    assert!(replay.records.is_empty());
    assert_eq!(wal.next_seq(), 11);
    // Partly committed: the segment holding seq 11 stays.
    write(&wal, &["a"]);
    write(&wal, &["b"]);
    wal.truncate_before(12).unwrap();
    drop(wal);
    let (_, replay) = LogWal::open(dir.path(), 1 << 10, 0, metrics()).unwrap();
    assert_eq!(replay.records.first().map(|r| r.0), Some(11));
}

#[test]
fn a_newer_format_version_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let (wal, _) = LogWal::open(dir.path(), SEGMENT_SIZE, 0, metrics()).unwrap();
    write(&wal, &["a"]);
    drop(wal);
    let seg = super::segment::segment_path(dir.path(), 1);
    let mut bytes = std::fs::read(&seg).unwrap();
    bytes[7] = 99;
    std::fs::write(&seg, bytes).unwrap();
    let err = LogWal::open(dir.path(), SEGMENT_SIZE, 0, metrics())
        .err()
        .unwrap();
    assert!(err.to_string().contains("version 99"), "{err}");
}

#[test]
fn random_records_round_trip_through_the_files() {
    let dir = tempfile::tempdir().unwrap();
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let records: Vec<LogRecord> = (0..50)
        .map(|_| arb_record().new_tree(&mut runner).unwrap().current())
        .collect();
    let (wal, _) = LogWal::open(dir.path(), 4 << 10, 0, metrics()).unwrap();
    for chunk in records.chunks(7) {
        let (_, id) = wal.write(chunk.to_vec(), |_, _| {}).unwrap();
        wal.sync_to(id).unwrap();
    }
    drop(wal);
    let (_, replay) = LogWal::open(dir.path(), 4 << 10, 0, metrics()).unwrap();
    let back: Vec<LogRecord> = replay.records.into_iter().map(|(_, r)| r).collect();
    assert_eq!(back, records);
}
