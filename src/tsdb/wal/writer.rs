//! The appending side of the WAL: segment files, rollover, durability per
//! the sync policy with shared fsyncs (group commit), and shutdown.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use super::metrics::WalMetrics;
use super::recovery::{Repair, repair};
use super::segment::{FRAME_HEADER_LEN, fill_frame_header, list_dir, segment_name, sync_dir};
use super::{WalError, WalHolds, WalRecord};
use crate::selfmetrics::Registry;

pub const DEFAULT_SEGMENT_SIZE: u64 = 128 << 20;
const MIN_SEGMENT_SIZE: u64 = 1 << 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SyncPolicy {
    /// fsync before `log` returns: a 2xx to remote-write means on disk.
    #[default]
    Always,
    /// fsync in the background at this interval; a crash loses at most
    /// about one interval of acknowledged records.
    Interval(Duration),
}

#[derive(Debug, Clone)]
pub struct WalOptions {
    /// A segment is closed once the next write would take it past this.
    pub segment_size: u64,
    pub sync: SyncPolicy,
}

impl Default for WalOptions {
    fn default() -> Self {
        WalOptions {
            segment_size: DEFAULT_SEGMENT_SIZE,
            sync: SyncPolicy::Always,
        }
    }
}

/// The write-ahead log of one data directory. All methods take `&self`
/// and may be called from several threads.
pub struct Wal {
    pub(super) shared: Arc<Shared>,
    syncer: Option<JoinHandle<()>>,
}

pub(super) struct Shared {
    pub dir: PathBuf,
    pub opts: WalOptions,
    pub writer: Mutex<Writer>,
    /// The highest write sequence known to be on disk. Held while an
    /// fsync runs, so concurrent callers wait and then find themselves
    /// already covered: one fsync serves the whole group.
    synced_seq: Mutex<u64>,
    pub metrics: WalMetrics,
    pub checkpoint_lock: Mutex<()>,
    /// Segments readers of the log still need (see [`WalHolds`]).
    pub holds: Arc<WalHolds>,
    pub repair: Repair,
    stop: Mutex<bool>,
    stop_cv: Condvar,
}

pub(super) struct Writer {
    pub segment: u32,
    file: Arc<File>,
    size: u64,
    /// Counts successful `log` writes.
    seq: u64,
    /// Set after a write or fsync failure: the page cache may have
    /// dropped data we thought written, so nothing more is acknowledged.
    failed: Option<String>,
}

impl Wal {
    /// Opens (creating if needed) the WAL in `dir`, repairing a torn tail
    /// or corruption first so replay and new writes start from a clean log.
    pub fn open(dir: &Path, opts: WalOptions, registry: &Registry) -> Result<Wal, WalError> {
        if opts.segment_size < MIN_SEGMENT_SIZE {
            return Err(WalError::InvalidOptions(format!(
                "segment_size {} is below the minimum of {MIN_SEGMENT_SIZE} bytes",
                opts.segment_size
            )));
        }
        if opts.sync == SyncPolicy::Interval(Duration::ZERO) {
            return Err(WalError::InvalidOptions(
                "sync interval must be positive; use SyncPolicy::Always to sync every write".into(),
            ));
        }
        std::fs::create_dir_all(dir).map_err(|e| WalError::io(dir, e))?;
        let metrics = WalMetrics::new(registry);
        let (listing, repair) = repair(dir, &metrics)?;

        let newest_checkpoint = listing.checkpoints.last().map(|c| c.0).unwrap_or(0);
        let mut segment_count = listing.segments.len();
        let (segment, file, size) = match listing.segments.last() {
            Some((n, path)) => {
                let size = std::fs::metadata(path).map_err(|e| WalError::io(path, e))?.len();
                if size < opts.segment_size {
                    (*n, open_append(path)?, size)
                } else {
                    segment_count += 1;
                    let n = n + 1;
                    (n, create_segment(dir, n)?, 0)
                }
            }
            None => {
                segment_count += 1;
                let n = newest_checkpoint + 1;
                (n, create_segment(dir, n)?, 0)
            }
        };
        metrics.segments.set(segment_count as f64);

        let shared = Arc::new(Shared {
            dir: dir.to_path_buf(),
            opts: opts.clone(),
            writer: Mutex::new(Writer {
                segment,
                file: Arc::new(file),
                size,
                seq: 0,
                failed: None,
            }),
            synced_seq: Mutex::new(0),
            metrics,
            checkpoint_lock: Mutex::new(()),
            holds: Arc::new(WalHolds::default()),
            repair,
            stop: Mutex::new(false),
            stop_cv: Condvar::new(),
        });
        let syncer = match opts.sync {
            SyncPolicy::Always => None,
            SyncPolicy::Interval(every) => {
                let shared = shared.clone();
                let handle = std::thread::Builder::new()
                    .name("wal-sync".into())
                    .spawn(move || shared.sync_loop(every))
                    .map_err(|e| WalError::io(dir, e))?;
                Some(handle)
            }
        };
        Ok(Wal { shared, syncer })
    }

    /// Appends the records as one write and makes them durable per the
    /// sync policy before returning.
    pub fn log(&self, records: &[WalRecord]) -> Result<(), WalError> {
        let seq = self.write(records)?;
        self.make_durable(seq)
    }

    /// Appends the records as one write (it reaches the OS, so it survives
    /// a process crash) and returns its sequence number for
    /// [`Wal::make_durable`]. Splitting the two lets a caller release its
    /// own locks before waiting for the fsync, which concurrent callers
    /// then share.
    pub fn write(&self, records: &[WalRecord]) -> Result<u64, WalError> {
        if records.is_empty() {
            return Ok(0);
        }
        let mut buf = Vec::new();
        for record in records {
            self.push_frame(&mut buf, |out| record.encode_into(out))?;
        }
        self.shared.write(&buf, records.len())
    }

    /// Writes one record that `encode` appends (type byte and body) to the
    /// buffer it is given, like [`Wal::write`]. The payload is encoded in
    /// place after room for its frame header, so the hot path copies it
    /// nowhere before the write call; `size_hint` sizes that buffer.
    pub(crate) fn write_record(
        &self,
        size_hint: usize,
        encode: impl FnOnce(&mut Vec<u8>),
    ) -> Result<u64, WalError> {
        let mut buf = Vec::with_capacity(FRAME_HEADER_LEN + size_hint);
        self.push_frame(&mut buf, encode)?;
        self.shared.write(&buf, 1)
    }

    /// Appends one frame to `buf`: room for the header, the payload
    /// `encode` appends, then the header filled in.
    fn push_frame(&self, buf: &mut Vec<u8>, encode: impl FnOnce(&mut Vec<u8>)) -> Result<(), WalError> {
        let start = buf.len();
        buf.resize(start + FRAME_HEADER_LEN, 0);
        encode(buf);
        fill_frame_header(&mut buf[start..]).inspect_err(|_| self.shared.metrics.oversized_records.inc())
    }

    /// Waits until the write numbered `seq` is on disk, per the sync
    /// policy (with `Interval`, the background syncer does it).
    pub fn make_durable(&self, seq: u64) -> Result<(), WalError> {
        match self.shared.opts.sync {
            SyncPolicy::Always if seq > 0 => self.shared.sync_to(seq),
            SyncPolicy::Always | SyncPolicy::Interval(_) => Ok(()),
        }
    }

    /// Makes everything logged so far durable, whatever the policy.
    pub fn sync(&self) -> Result<(), WalError> {
        let seq = self.shared.writer.lock().seq;
        self.shared.sync_to(seq)
    }

    /// The segment new records go to.
    pub fn current_segment(&self) -> u32 {
        self.shared.writer.lock().segment
    }

    pub fn dir(&self) -> &Path {
        &self.shared.dir
    }

    /// Where readers of the log say which segments they still need.
    pub fn holds(&self) -> Arc<WalHolds> {
        self.shared.holds.clone()
    }

    /// Stops the background syncer and makes everything logged durable.
    pub fn close(mut self) -> Result<(), WalError> {
        self.stop_syncer();
        self.sync()
    }

    fn stop_syncer(&mut self) {
        let Some(handle) = self.syncer.take() else { return };
        *self.shared.stop.lock() = true;
        self.shared.stop_cv.notify_all();
        if handle.join().is_err() {
            tracing::error!("wal sync thread panicked");
        }
    }
}

impl Drop for Wal {
    fn drop(&mut self) {
        self.stop_syncer();
    }
}

impl Shared {
    /// Writes framed bytes, rolling to a new segment first if they would
    /// not fit, and returns the write's sequence number.
    fn write(&self, buf: &[u8], records: usize) -> Result<u64, WalError> {
        let mut w = self.writer.lock();
        if let Some(why) = &w.failed {
            return Err(WalError::Failed(why.clone()));
        }
        if w.size > 0 && w.size + buf.len() as u64 > self.opts.segment_size {
            self.roll(&mut w)?;
        }
        if let Err(e) = (&*w.file).write_all(buf) {
            // Cut the partial frame off so later records stay readable;
            // if even that fails, refuse further writes.
            if let Err(e2) = w.file.set_len(w.size) {
                w.failed = Some(format!("write failed ({e}) and truncating failed ({e2})"));
            }
            return Err(WalError::io(self.dir.join(segment_name(w.segment)), e));
        }
        w.size += buf.len() as u64;
        w.seq += 1;
        self.metrics.bytes_written.add(buf.len() as u64);
        self.metrics.records_written.add(records as u64);
        Ok(w.seq)
    }

    /// Closes the current segment (fsynced, so records in it are durable
    /// even though later fsyncs only touch the new file) and starts the next.
    fn roll(&self, w: &mut Writer) -> Result<(), WalError> {
        let old = self.dir.join(segment_name(w.segment));
        if let Err(e) = self.timed_fsync(&w.file) {
            w.failed = Some(format!("fsync of {} failed: {e}", old.display()));
            return Err(WalError::io(old, e));
        }
        let next = w.segment + 1;
        let file = create_segment(&self.dir, next)?;
        w.segment = next;
        w.file = Arc::new(file);
        w.size = 0;
        self.metrics.segments.add(1.0);
        Ok(())
    }

    /// Ensures writes up to `seq` are on disk, sharing one fsync among
    /// callers that arrive while another is running.
    pub(super) fn sync_to(&self, seq: u64) -> Result<(), WalError> {
        let mut synced = self.synced_seq.lock();
        if *synced >= seq {
            return self.check_failed();
        }
        let (file, target, segment) = {
            let w = self.writer.lock();
            (w.file.clone(), w.seq, w.segment)
        };
        if let Err(e) = self.timed_fsync(&file) {
            let path = self.dir.join(segment_name(segment));
            self.writer.lock().failed = Some(format!("fsync of {} failed: {e}", path.display()));
            return Err(WalError::io(path, e));
        }
        *synced = target;
        self.check_failed()
    }

    /// A roll that failed to fsync the previous segment poisons every
    /// write before it too, even if the new segment synced fine.
    fn check_failed(&self) -> Result<(), WalError> {
        match &self.writer.lock().failed {
            Some(why) => Err(WalError::Failed(why.clone())),
            None => Ok(()),
        }
    }

    fn timed_fsync(&self, file: &File) -> std::io::Result<()> {
        let start = Instant::now();
        let res = file.sync_data();
        self.metrics.fsyncs.inc();
        self.metrics.fsync_seconds.add(start.elapsed().as_secs_f64());
        res
    }

    fn sync_loop(&self, every: Duration) {
        let mut stop = self.stop.lock();
        while !*stop {
            self.stop_cv.wait_for(&mut stop, every);
            if *stop {
                break;
            }
            let seq = self.writer.lock().seq;
            if let Err(e) = self.sync_to(seq) {
                tracing::error!(error = %e, "periodic wal fsync failed");
            }
        }
    }

    /// Recounts segment files, after a checkpoint removed some.
    pub(super) fn refresh_segment_gauge(&self) -> Result<(), WalError> {
        let n = list_dir(&self.dir)?.segments.len();
        self.metrics.segments.set(n as f64);
        Ok(())
    }
}

fn open_append(path: &Path) -> Result<File, WalError> {
    OpenOptions::new()
        .append(true)
        .open(path)
        .map_err(|e| WalError::io(path, e))
}

fn create_segment(dir: &Path, n: u32) -> Result<File, WalError> {
    let path = dir.join(segment_name(n));
    let file = OpenOptions::new()
        .append(true)
        .create_new(true)
        .open(&path)
        .map_err(|e| WalError::io(&path, e))?;
    // The new directory entry must survive a crash along with its data.
    sync_dir(dir)?;
    Ok(file)
}
