//! End-to-end tests of the WAL on real files: recovery, corruption,
//! checkpoints and rollover.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::model::{Labels, STALE_NAN};
use crate::selfmetrics::Registry;

fn opts(segment_size: u64) -> WalOptions {
    WalOptions {
        segment_size,
        sync: SyncPolicy::Always,
    }
}

fn series(r: u64) -> WalRecord {
    WalRecord::Series(vec![(
        r,
        Labels::from_pairs(&[
            ("__name__", "lms_requests_total"),
            ("instance", &format!("web-{r}")),
        ]),
    )])
}

fn samples(r: u64, from: i64, n: i64) -> WalRecord {
    WalRecord::Samples(
        (0..n)
            .map(|i| (r, from + i * 15_000, (from + i) as f64))
            .collect(),
    )
}

/// Records compared by bits, so NaN values compare equal to themselves.
fn key(r: &WalRecord) -> String {
    match r {
        WalRecord::Series(s) => format!("series {s:?}"),
        WalRecord::Samples(s) => {
            let bits: Vec<_> = s.iter().map(|(r, t, v)| (*r, *t, v.to_bits())).collect();
            format!("samples {bits:?}")
        }
    }
}

fn replay_all(dir: &Path, registry: &Registry) -> (Vec<String>, ReplayReport) {
    let wal = Wal::open(dir, opts(1 << 20), registry).unwrap();
    let mut got = vec![];
    let report = wal.replay(|r| got.push(key(&r))).unwrap();
    wal.close().unwrap();
    (got, report)
}

fn count(r: &Registry, name: &str) -> u64 {
    r.counter(name, "").get()
}

fn segment_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
        .collect();
    names.sort();
    names
}

#[test]
fn records_round_trip_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let reg = Registry::new();
    let wal = Wal::open(dir.path(), opts(1 << 20), &reg).unwrap();
    let recs = [
        series(1),
        series(2),
        samples(1, 1_700_000_000_000, 3),
        WalRecord::Samples(vec![
            (2, 5, STALE_NAN),
            (1, -7, f64::from_bits(0x7ff8_0000_0000_00ff)),
        ]),
    ];
    wal.log(&recs[..2]).unwrap();
    wal.log(&recs[2..]).unwrap();
    wal.log(&[]).unwrap();
    assert_eq!(count(&reg, "belfry_wal_records_written_total"), 4);
    assert!(count(&reg, "belfry_wal_fsyncs_total") >= 2);
    assert!(count(&reg, "belfry_wal_bytes_written_total") > 0);
    wal.close().unwrap();

    let (got, report) = replay_all(dir.path(), &Registry::new());
    assert_eq!(got, recs.iter().map(key).collect::<Vec<_>>());
    assert_eq!(report.records, 4);
    assert_eq!(report.series, 2);
    assert_eq!(report.samples, 5);
    assert!(report.problems.is_empty());
}

#[test]
fn torn_write_at_every_offset_recovers_the_earlier_records() {
    let src = tempfile::tempdir().unwrap();
    let wal = Wal::open(src.path(), opts(1 << 20), &Registry::new()).unwrap();
    let earlier = vec![series(1), samples(1, 0, 4)];
    wal.log(&earlier).unwrap();
    let seg = src.path().join("00000001");
    let good_len = std::fs::metadata(&seg).unwrap().len();
    wal.log(&[samples(1, 60_000, 5)]).unwrap();
    wal.close().unwrap();
    let full = std::fs::read(&seg).unwrap();
    let want: Vec<String> = earlier.iter().map(key).collect();

    for cut in good_len as usize..full.len() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("00000001"), &full[..cut]).unwrap();
        let reg = Registry::new();
        let wal = Wal::open(dir.path(), opts(1 << 20), &reg).unwrap();
        let mut got = vec![];
        let report = wal.replay(|r| got.push(key(&r))).unwrap();
        assert_eq!(got, want, "cut at byte {cut}");
        let torn = cut > good_len as usize;
        assert_eq!(
            count(&reg, "belfry_wal_truncations_total"),
            torn as u64,
            "cut at {cut}"
        );
        assert_eq!(report.truncated_bytes, cut as u64 - good_len);
        assert_eq!(count(&reg, "belfry_wal_corruptions_total"), 0, "cut at {cut}");
        // New records land after the repaired tail and replay next time.
        wal.log(&[series(9)]).unwrap();
        wal.close().unwrap();
        let (got, _) = replay_all(dir.path(), &Registry::new());
        assert_eq!(got.len(), 3, "cut at {cut}");
        assert_eq!(got[2], key(&series(9)));
    }
}

#[test]
fn flipped_bit_in_last_segment_is_detected_and_cut() {
    let src = tempfile::tempdir().unwrap();
    let wal = Wal::open(src.path(), opts(1 << 20), &Registry::new()).unwrap();
    wal.log(&[series(1)]).unwrap();
    let seg = src.path().join("00000001");
    let good_len = std::fs::metadata(&seg).unwrap().len() as usize;
    wal.log(&[samples(1, 0, 3)]).unwrap();
    wal.close().unwrap();
    let full = std::fs::read(&seg).unwrap();

    for bit in good_len * 8..full.len() * 8 {
        let dir = tempfile::tempdir().unwrap();
        let mut bytes = full.clone();
        bytes[bit / 8] ^= 1 << (bit % 8);
        std::fs::write(dir.path().join("00000001"), &bytes).unwrap();
        let reg = Registry::new();
        let (got, report) = replay_all(dir.path(), &reg);
        assert_eq!(got, vec![key(&series(1))], "bit {bit}");
        assert_eq!(count(&reg, "belfry_wal_truncations_total"), 1, "bit {bit}");
        assert!(report.truncated_bytes > 0);
    }
}

#[test]
fn corruption_in_an_earlier_segment_stops_there_and_keeps_what_came_before() {
    let dir = tempfile::tempdir().unwrap();
    let wal = Wal::open(dir.path(), opts(1024), &Registry::new()).unwrap();
    let mut logged = vec![];
    for r in 0..200 {
        let rec = samples(r, r as i64 * 1000, 6);
        wal.log(std::slice::from_ref(&rec)).unwrap();
        logged.push((wal.current_segment(), key(&rec)));
    }
    wal.close().unwrap();
    assert!(segment_files(dir.path()).len() >= 4);

    // Damage the second record of segment 2.
    let seg2 = dir.path().join("00000002");
    let mut bytes = std::fs::read(&seg2).unwrap();
    let first_len = u32::from_le_bytes(bytes[..4].try_into().unwrap()) as usize + 8;
    bytes[first_len + 12] ^= 0x10;
    std::fs::write(&seg2, &bytes).unwrap();

    let reg = Registry::new();
    let wal = Wal::open(dir.path(), opts(1024), &reg).unwrap();
    let mut got = vec![];
    let report = wal.replay(|r| got.push(key(&r))).unwrap();
    let in_seg1 = logged.iter().filter(|(s, _)| *s == 1).count();
    let want: Vec<String> = logged[..in_seg1 + 1].iter().map(|l| l.1.clone()).collect();
    assert_eq!(got, want);
    assert_eq!(count(&reg, "belfry_wal_corruptions_total"), 1);
    assert_eq!(report.problems.len(), 1, "{:?}", report.problems);
    assert!(
        report.problems[0].contains("crc mismatch"),
        "{:?}",
        report.problems
    );
    assert!(!report.quarantined_segments.is_empty());
    assert!(report.quarantined_segments.iter().all(|p| p.exists()));

    // Writing goes on and the next start replays it after the kept part.
    wal.log(&[series(77)]).unwrap();
    wal.close().unwrap();
    let (got, report) = replay_all(dir.path(), &Registry::new());
    assert_eq!(got.len(), want.len() + 1);
    assert_eq!(got.last().unwrap(), &key(&series(77)));
    assert!(report.problems.is_empty());
}

#[test]
fn corrupt_record_met_during_replay_stops_replay_without_panicking() {
    // A record that passes its CRC but does not decode (e.g. written by a
    // newer version) cannot be repaired at open; replay reports it.
    let dir = tempfile::tempdir().unwrap();
    let wal = Wal::open(dir.path(), opts(1 << 20), &Registry::new()).unwrap();
    wal.log(&[series(1)]).unwrap();
    wal.close().unwrap();
    let mut frame = vec![];
    segment::frame_into(&mut frame, &[0x6e, 1, 2, 3]).unwrap();
    let seg = dir.path().join("00000001");
    let mut bytes = std::fs::read(&seg).unwrap();
    bytes.extend_from_slice(&frame);
    std::fs::write(&seg, &bytes).unwrap();
    let reg = Registry::new();
    let (got, report) = replay_all(dir.path(), &reg);
    assert_eq!(got, vec![key(&series(1))]);
    assert_eq!(report.problems.len(), 1);
    assert!(
        report.problems[0].contains("unknown record type"),
        "{:?}",
        report.problems
    );
    assert_eq!(count(&reg, "belfry_wal_corruptions_total"), 1);
}

#[derive(Default, PartialEq, Debug)]
struct LiveState {
    series: BTreeMap<u64, Labels>,
    samples: BTreeMap<(u64, i64), u64>,
}

impl LiveState {
    fn apply(&mut self, r: &WalRecord) {
        match r {
            WalRecord::Series(s) => self.series.extend(s.iter().cloned()),
            WalRecord::Samples(s) => {
                for (r, t, v) in s {
                    self.samples.insert((*r, *t), v.to_bits());
                }
            }
        }
    }
}

#[test]
fn checkpoint_then_replay_gives_the_same_live_state() {
    let dir = tempfile::tempdir().unwrap();
    let reg = Registry::new();
    let wal = Wal::open(dir.path(), opts(1024), &reg).unwrap();
    let mut logged: Vec<(u32, WalRecord)> = vec![];
    let log = |wal: &Wal, rec: WalRecord, logged: &mut Vec<(u32, WalRecord)>| {
        wal.log(std::slice::from_ref(&rec)).unwrap();
        logged.push((wal.current_segment(), rec));
    };
    for round in 0..6i64 {
        for r in 0..10u64 {
            if round == 0 {
                log(&wal, series(r), &mut logged);
            }
            log(&wal, samples(r, round * 100_000, 4), &mut logged);
        }
    }
    let keep = |r: u64| !r.is_multiple_of(3);
    let min_time = 250_000;
    let current = wal.current_segment();
    assert!(current > 2);
    wal.checkpoint(&CheckpointKeep::refs(&keep, min_time)).unwrap();
    assert_eq!(count(&reg, "belfry_wal_checkpoints_total"), 1);
    assert!(dir.path().join(format!("checkpoint.{:08}", current - 1)).is_dir());
    assert_eq!(segment_files(dir.path()), vec![format!("{current:08}")]);
    assert_eq!(reg.gauge("belfry_wal_segments", "").get(), 1.0);

    // A second checkpoint folds the first one in.
    for round in 7..10 {
        for r in 0..10u64 {
            log(&wal, samples(r, round * 100_000, 4), &mut logged);
        }
    }
    let keep2 = |r: u64| !r.is_multiple_of(3) && r != 4;
    let current2 = wal.current_segment();
    assert!(current2 > current);
    wal.checkpoint(&CheckpointKeep::refs(&keep2, min_time)).unwrap();
    log(&wal, series(50), &mut logged);
    wal.close().unwrap();

    let mut want = LiveState::default();
    for (seg, rec) in &logged {
        let filtered = |k: &dyn Fn(u64) -> bool| match rec {
            WalRecord::Series(s) => WalRecord::Series(s.iter().filter(|x| k(x.0)).cloned().collect()),
            WalRecord::Samples(s) => {
                WalRecord::Samples(s.iter().filter(|x| k(x.0) && x.1 >= min_time).cloned().collect())
            }
        };
        if *seg < current {
            want.apply(&filtered(&|r| keep(r) && keep2(r)));
        } else if *seg < current2 {
            want.apply(&filtered(&keep2));
        } else {
            want.apply(rec);
        }
    }
    let wal = Wal::open(dir.path(), opts(1024), &Registry::new()).unwrap();
    let mut got = LiveState::default();
    let report = wal.replay(|r| got.apply(&r)).unwrap();
    assert_eq!(report.checkpoint, Some(current2 - 1));
    assert_eq!(got, want);
    assert!(!got.series.contains_key(&3) && !got.series.contains_key(&4));
    assert!(got.series.contains_key(&50));
}

#[test]
fn half_written_checkpoint_and_leftovers_are_removed_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let wal = Wal::open(dir.path(), opts(1024), &Registry::new()).unwrap();
    for r in 0..200 {
        wal.log(&[samples(r, 0, 5)]).unwrap();
    }
    wal.checkpoint(&CheckpointKeep::refs(&|_| true, 0)).unwrap();
    wal.close().unwrap();
    let (before, _) = replay_all(dir.path(), &Registry::new());
    assert_eq!(before.len(), 200);

    let tmp = dir.path().join("checkpoint.00000099.tmp");
    std::fs::create_dir(&tmp).unwrap();
    std::fs::write(tmp.join("00000000"), b"garbage").unwrap();
    // A segment the checkpoint already covers, as if removal crashed.
    std::fs::write(dir.path().join("00000001"), b"stale").unwrap();
    let (after, report) = replay_all(dir.path(), &Registry::new());
    assert!(!tmp.exists());
    assert!(!dir.path().join("00000001").exists());
    assert_eq!(after, before);
    assert!(report.problems.is_empty());
}

#[test]
fn segments_roll_over_at_the_size_limit() {
    let dir = tempfile::tempdir().unwrap();
    let reg = Registry::new();
    let wal = Wal::open(dir.path(), opts(4096), &reg).unwrap();
    let mut want = vec![];
    for r in 0..1000 {
        let rec = samples(r, 0, 8);
        wal.log(std::slice::from_ref(&rec)).unwrap();
        want.push(key(&rec));
    }
    wal.close().unwrap();
    let files = segment_files(dir.path());
    assert!(files.len() > 5, "{files:?}");
    assert_eq!(reg.gauge("belfry_wal_segments", "").get(), files.len() as f64);
    for f in &files {
        assert!(std::fs::metadata(dir.path().join(f)).unwrap().len() <= 4096);
    }
    let (got, report) = replay_all(dir.path(), &Registry::new());
    assert_eq!(got, want);
    assert_eq!(report.segments, files.len());
}

#[test]
fn missing_segment_is_reported_and_later_ones_still_replay() {
    let dir = tempfile::tempdir().unwrap();
    let wal = Wal::open(dir.path(), opts(1024), &Registry::new()).unwrap();
    for r in 0..100 {
        wal.log(&[samples(r, 0, 5)]).unwrap();
    }
    wal.close().unwrap();
    assert!(segment_files(dir.path()).len() >= 3);
    std::fs::remove_file(dir.path().join("00000002")).unwrap();
    let reg = Registry::new();
    let (got, report) = replay_all(dir.path(), &reg);
    assert!(!got.is_empty() && got.len() < 100);
    assert_eq!(report.problems.len(), 1);
    assert!(report.problems[0].contains("missing"));
    assert_eq!(count(&reg, "belfry_wal_corruptions_total"), 1);
}

#[test]
fn concurrent_writers_share_fsyncs_and_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let reg = Registry::new();
    let wal = Arc::new(Wal::open(dir.path(), opts(64 << 10), &reg).unwrap());
    let threads: Vec<_> = (0..4u64)
        .map(|t| {
            let wal = wal.clone();
            std::thread::spawn(move || {
                for i in 0..50 {
                    wal.log(&[samples(t * 1000 + i, 0, 3)]).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert!(count(&reg, "belfry_wal_fsyncs_total") <= 200 + segment_files(dir.path()).len() as u64);
    Arc::into_inner(wal).unwrap().close().unwrap();
    let (got, _) = replay_all(dir.path(), &Registry::new());
    assert_eq!(got.len(), 200);
}

#[test]
fn interval_sync_policy_syncs_in_the_background_and_on_close() {
    let dir = tempfile::tempdir().unwrap();
    let reg = Registry::new();
    let o = WalOptions {
        segment_size: 1 << 20,
        sync: SyncPolicy::Interval(Duration::from_millis(20)),
    };
    let wal = Wal::open(dir.path(), o, &reg).unwrap();
    wal.log(&[series(1)]).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while count(&reg, "belfry_wal_fsyncs_total") == 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(count(&reg, "belfry_wal_fsyncs_total") >= 1);
    wal.log(&[series(2)]).unwrap();
    wal.close().unwrap();
    let (got, _) = replay_all(dir.path(), &Registry::new());
    assert_eq!(got.len(), 2);
}

#[test]
fn rejects_bad_options_and_oversized_records() {
    let dir = tempfile::tempdir().unwrap();
    let reg = Registry::new();
    assert!(matches!(
        Wal::open(dir.path(), opts(10), &reg),
        Err(WalError::InvalidOptions(_))
    ));
    let wal = Wal::open(dir.path(), opts(1 << 20), &reg).unwrap();
    let huge = Labels::from_pairs(&[("big", &"x".repeat(MAX_RECORD_BYTES))]);
    let err = wal.log(&[WalRecord::Series(vec![(1, huge)])]).unwrap_err();
    assert!(matches!(err, WalError::RecordTooLarge { .. }), "{err}");
    assert_eq!(count(&reg, "belfry_wal_oversized_records_total"), 1);
    assert_eq!(count(&reg, "belfry_wal_records_written_total"), 0);
}
