//! The logs WAL: batches of records framed, CRC-checked and appended to
//! numbered segments, each batch numbered by the sequence of its first
//! record. A write is acknowledged once fsynced, and concurrent writers
//! share one fsync (group commit). The index tells the log what it has
//! committed; segments holding only committed records are deleted.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use parking_lot::Mutex;

use super::codec::{decode_batch, encode_batch};
use super::segment::{self, FRAME_HEADER_LEN, HEADER_LEN};
use crate::logs::metrics::LogsMetrics;
use crate::logs::{LogRecord, LogsError};

/// A segment is closed once a write would take it past this.
pub const SEGMENT_SIZE: u64 = 64 << 20;

pub struct LogWal {
    dir: PathBuf,
    segment_size: u64,
    writer: Mutex<Writer>,
    /// The highest write id known durable; held during an fsync so that
    /// callers arriving meanwhile find themselves covered by it.
    synced: Mutex<u64>,
    metrics: Arc<LogsMetrics>,
}

struct Writer {
    segment: u64,
    file: Arc<File>,
    size: u64,
    next_seq: u64,
    write_id: u64,
    /// Closed segments: number, the sequence after their last record, bytes.
    closed: Vec<(u64, u64, u64)>,
    failed: Option<String>,
}

/// What open found in the log.
#[derive(Debug, Default)]
pub struct Replay {
    /// Every record in the log with its sequence number, ascending.
    pub records: Vec<(u64, LogRecord)>,
    /// Segments cut back to their last good frame (a torn tail, or damage).
    pub repaired_segments: usize,
    /// Frames whose checksum held but whose batch did not decode.
    pub undecodable_batches: usize,
}

impl LogWal {
    /// Opens the log in `dir`, repairing torn tails, and returns what it
    /// holds. New writes go to a fresh segment; their sequence numbers
    /// continue after every record seen and at least from `min_next_seq`
    /// (what the index has committed, should the log be empty).
    pub fn open(
        dir: &Path,
        segment_size: u64,
        min_next_seq: u64,
        metrics: Arc<LogsMetrics>,
    ) -> Result<(LogWal, Replay), LogsError> {
        std::fs::create_dir_all(dir).map_err(|e| LogsError::io(dir, e))?;
        let mut replay = Replay::default();
        let mut next_seq = min_next_seq.max(1);
        let mut closed = Vec::new();
        let numbers = segment::list(dir)?;
        for &n in &numbers {
            let path = segment::segment_path(dir, n);
            let scan = segment::scan(&path)?;
            next_seq = next_seq.max(scan.base_seq);
            if let Some(why) = &scan.damage {
                tracing::warn!(segment = %path.display(), reason = %why, kept_bytes = scan.good_len, "repairing logs wal segment");
                let f = std::fs::OpenOptions::new()
                    .write(true)
                    .open(&path)
                    .map_err(|e| LogsError::io(&path, e))?;
                f.set_len(scan.good_len).map_err(|e| LogsError::io(&path, e))?;
                f.sync_all().map_err(|e| LogsError::io(&path, e))?;
                replay.repaired_segments += 1;
                metrics.wal_repairs.inc();
            }
            for payload in &scan.payloads {
                match decode_batch(payload) {
                    Ok(batch) => {
                        if let Some((last, _)) = batch.last() {
                            next_seq = next_seq.max(last + 1);
                        }
                        replay.records.extend(batch);
                    }
                    Err(e) => {
                        tracing::error!(segment = %path.display(), error = %e, "skipping undecodable logs wal batch");
                        replay.undecodable_batches += 1;
                        metrics.wal_repairs.inc();
                    }
                }
            }
            closed.push((n, next_seq, scan.good_len));
        }
        replay.records.sort_by_key(|(seq, _)| *seq);
        let segment = numbers.last().map_or(1, |n| n + 1);
        let file = segment::create(dir, segment, next_seq)?;
        let wal = LogWal {
            dir: dir.to_path_buf(),
            segment_size,
            writer: Mutex::new(Writer {
                segment,
                file: Arc::new(file),
                size: HEADER_LEN,
                next_seq,
                write_id: 0,
                closed,
                failed: None,
            }),
            synced: Mutex::new(0),
            metrics,
        };
        wal.refresh_gauges();
        Ok((wal, replay))
    }

    /// Appends the records as one batch (it reaches the OS, so it survives
    /// a process crash) and returns the first record's sequence number and
    /// the write's id for [`LogWal::sync_to`]. `after` receives the first
    /// sequence number and the records under the log's lock, so what it
    /// does with them happens in sequence order.
    pub fn write(
        &self,
        records: Vec<LogRecord>,
        after: impl FnOnce(u64, Vec<LogRecord>),
    ) -> Result<(u64, u64), LogsError> {
        let mut buf = Vec::with_capacity(FRAME_HEADER_LEN + 64 * records.len());
        buf.resize(FRAME_HEADER_LEN, 0);
        let mut w = self.writer.lock();
        if let Some(why) = &w.failed {
            return Err(LogsError::WalFailed(why.clone()));
        }
        let first = w.next_seq;
        encode_batch(&mut buf, first, &records);
        segment::frame(&mut buf, 0);
        if w.size > HEADER_LEN && w.size + buf.len() as u64 > self.segment_size {
            self.roll(&mut w, true)?;
        }
        if let Err(e) = (&*w.file).write_all(&buf) {
            let path = segment::segment_path(&self.dir, w.segment);
            // Cut the partial frame so later frames stay readable.
            if let Err(e2) = w.file.set_len(w.size) {
                w.failed = Some(format!("write failed ({e}) and truncating failed ({e2})"));
            }
            return Err(LogsError::io(&path, e));
        }
        w.size += buf.len() as u64;
        w.next_seq += records.len() as u64;
        w.write_id += 1;
        self.metrics.wal_bytes_written.add(buf.len() as u64);
        let id = w.write_id;
        after(first, records);
        Ok((first, id))
    }

    /// Waits until write `id` is on disk.
    pub fn sync_to(&self, id: u64) -> Result<(), LogsError> {
        let mut synced = self.synced.lock();
        if *synced < id {
            let (file, target, segment) = {
                let w = self.writer.lock();
                (w.file.clone(), w.write_id, w.segment)
            };
            let start = Instant::now();
            let res = file.sync_data();
            self.metrics.wal_fsync.observe(start.elapsed());
            if let Err(e) = res {
                let path = segment::segment_path(&self.dir, segment);
                self.writer.lock().failed = Some(format!("fsync of {} failed: {e}", path.display()));
                return Err(LogsError::io(&path, e));
            }
            *synced = target;
        }
        match &self.writer.lock().failed {
            Some(why) => Err(LogsError::WalFailed(why.clone())),
            None => Ok(()),
        }
    }

    /// Every record before sequence `seq` is in the committed index:
    /// segments holding only such records go, and a current segment
    /// holding only such records is closed first so it can go too.
    pub fn truncate_before(&self, seq: u64) -> Result<(), LogsError> {
        let mut w = self.writer.lock();
        if w.size > HEADER_LEN && w.next_seq <= seq {
            // Nothing in it needs to survive, so no fsync first.
            self.roll(&mut w, false)?;
        }
        let mut kept = Vec::new();
        for (n, end, bytes) in std::mem::take(&mut w.closed) {
            if end <= seq {
                let path = segment::segment_path(&self.dir, n);
                match std::fs::remove_file(&path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => {
                        kept.push((n, end, bytes));
                        tracing::warn!(segment = %path.display(), error = %e, "cannot delete committed logs wal segment");
                    }
                }
            } else {
                kept.push((n, end, bytes));
            }
        }
        w.closed = kept;
        drop(w);
        self.refresh_gauges();
        Ok(())
    }

    /// Bytes of every segment on disk.
    pub fn disk_bytes(&self) -> u64 {
        let w = self.writer.lock();
        w.size + w.closed.iter().map(|c| c.2).sum::<u64>()
    }

    /// The directory, and the segment being written with the bytes of
    /// whole frames it holds (a frame is written whole under the writer's
    /// lock, and the size counts only frames written whole).
    pub(super) fn write_position(&self) -> (&Path, u64, u64) {
        let w = self.writer.lock();
        (&self.dir, w.segment, w.size)
    }

    /// The sequence number the next record will get.
    pub fn next_seq(&self) -> u64 {
        self.writer.lock().next_seq
    }

    /// Makes everything written durable (at shutdown).
    pub fn sync(&self) -> Result<(), LogsError> {
        let id = self.writer.lock().write_id;
        self.sync_to(id)
    }

    fn roll(&self, w: &mut Writer, sync_old: bool) -> Result<(), LogsError> {
        if sync_old {
            let start = Instant::now();
            let res = w.file.sync_data();
            self.metrics.wal_fsync.observe(start.elapsed());
            if let Err(e) = res {
                let path = segment::segment_path(&self.dir, w.segment);
                w.failed = Some(format!("fsync of {} failed: {e}", path.display()));
                return Err(LogsError::io(&path, e));
            }
        }
        let next = w.segment + 1;
        let file = segment::create(&self.dir, next, w.next_seq)?;
        let old = (w.segment, w.next_seq, w.size);
        w.closed.push(old);
        w.segment = next;
        w.file = Arc::new(file);
        w.size = HEADER_LEN;
        Ok(())
    }

    fn refresh_gauges(&self) {
        let w = self.writer.lock();
        self.metrics.wal_segments.set((w.closed.len() + 1) as f64);
        drop(w);
        self.metrics.wal_bytes.set(self.disk_bytes() as f64);
    }
}
