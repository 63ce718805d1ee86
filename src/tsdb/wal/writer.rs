//! The appending side of the WAL: segment files, rollover, durability per
//! the sync policy with shared fsyncs (group commit), and shutdown.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use super::compress::PayloadCompressor;
use super::metrics::WalMetrics;
use super::record::TimeSpan;
use super::recovery::{Repair, repair};
use super::segment::{
    FRAME_HEADER_LEN, MAX_RECORD_BYTES, fill_frame_header, list_dir, segment_name, sync_dir,
};
use super::value_bases::ValueBases;
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
    pub size: u64,
    /// Counts successful `log` writes.
    seq: u64,
    /// Set after a write or fsync failure: the page cache may have
    /// dropped data we thought written, so nothing more is acknowledged.
    failed: Option<String>,
    /// The last value logged per ref in this segment, which the next
    /// sample records are coded against, and the compressor of their bodies.
    coder: FileCoder,
    /// Set when `bases` no longer match the file (a write failed after
    /// coding against them): the next write starts a new segment.
    bases_stale: bool,
    /// The samples' time span in this segment, and in the closed segments
    /// this process wrote; checkpoints use them to pick what to compact.
    pub span: Option<TimeSpan>,
    pub closed_spans: std::collections::BTreeMap<u32, TimeSpan>,
    /// The encoding buffer, kept between writes.
    scratch: Vec<u8>,
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
                coder: FileCoder::new(),
                // Appending to a segment an earlier process wrote: its
                // bases are unknown, so start a new one first.
                bases_stale: size > 0,
                span: None,
                closed_spans: Default::default(),
                scratch: Vec::new(),
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
        self.shared.write_with(records.len(), &|buf, coder| {
            let mut span = None;
            for record in records {
                push_frame(buf, coder, |out, bases| {
                    span = merge_spans(span, record.encode_into(out, bases))
                })?;
            }
            Ok(span)
        })
    }

    /// Writes one record that `encode` appends (type byte and body) to the
    /// buffer it is given, like [`Wal::write`]. `encode` runs under the
    /// writer's lock, coding sample values against the segment the record
    /// lands in, and may run twice when the record starts a new segment;
    /// it returns the time span of the samples it wrote.
    pub(crate) fn write_record(
        &self,
        encode: impl Fn(&mut Vec<u8>, &mut ValueBases) -> Option<TimeSpan>,
    ) -> Result<u64, WalError> {
        self.shared.write_with(1, &|buf, coder| {
            let mut span = None;
            push_frame(buf, coder, |out, bases| span = encode(out, bases))?;
            Ok(span)
        })
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
    /// Encodes frames with `encode` and writes them as one write, rolling
    /// to a new segment first if they would not fit, and returns the
    /// write's sequence number. Encoding happens under the writer's lock
    /// because sample values are coded against what this segment already
    /// holds (see `value_bases.rs`).
    fn write_with(&self, records: usize, encode: &Encode<'_>) -> Result<u64, WalError> {
        let mut guard = self.writer.lock();
        let w = &mut *guard;
        if let Some(why) = &w.failed {
            return Err(WalError::Failed(why.clone()));
        }
        if w.bases_stale && w.size > 0 {
            self.roll(w)?;
        }
        let mut buf = std::mem::take(&mut w.scratch);
        buf.clear();
        let result = self.write_encoded(w, &mut buf, records, encode);
        if let Err(WalError::RecordTooLarge { .. }) = result {
            self.metrics.oversized_records.inc();
        }
        // A burst's huge record should not pin its buffer.
        if buf.capacity() <= 4 << 20 {
            w.scratch = buf;
        }
        result
    }

    fn write_encoded(
        &self,
        w: &mut Writer,
        buf: &mut Vec<u8>,
        records: usize,
        encode: &Encode<'_>,
    ) -> Result<u64, WalError> {
        // From here on the bases hold this write's values; they match the
        // file again only once it is written.
        w.bases_stale = true;
        let mut span = encode(buf, &mut w.coder)?;
        if w.size > 0 && w.size + buf.len() as u64 > self.opts.segment_size {
            self.roll(w)?;
            buf.clear();
            w.bases_stale = true;
            span = encode(buf, &mut w.coder)?;
        }
        if let Err(e) = (&*w.file).write_all(buf) {
            // Cut the partial frame off so later records stay readable;
            // if even that fails, refuse further writes.
            if let Err(e2) = w.file.set_len(w.size) {
                w.failed = Some(format!("write failed ({e}) and truncating failed ({e2})"));
            }
            return Err(WalError::io(self.dir.join(segment_name(w.segment)), e));
        }
        w.bases_stale = false;
        w.span = merge_spans(w.span, span);
        w.size += buf.len() as u64;
        w.seq += 1;
        self.metrics.bytes_written.add(buf.len() as u64);
        self.metrics.records_written.add(records as u64);
        Ok(w.seq)
    }

    /// Starts a new segment when `worth` says so of the current one's
    /// samples' time span; returns the segment being written then.
    pub(super) fn roll_if(&self, worth: &dyn Fn(TimeSpan) -> bool) -> Result<u32, WalError> {
        let mut guard = self.writer.lock();
        let w = &mut *guard;
        if w.failed.is_none()
            && let Some(span) = w.span
            && worth(span)
        {
            self.roll(w)?;
        }
        Ok(w.segment)
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
        if let Some(span) = w.span.take() {
            w.closed_spans.insert(w.segment, span);
        }
        w.segment = next;
        w.file = Arc::new(file);
        w.size = 0;
        w.coder.bases.clear();
        w.bases_stale = false;
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

/// What [`Shared::write_with`] runs to encode a write's frames.
type Encode<'a> = dyn Fn(&mut Vec<u8>, &mut FileCoder) -> Result<Option<TimeSpan>, WalError> + 'a;

/// How the current segment's records are coded: values against the
/// segment's bases, bodies through zstd.
pub(super) struct FileCoder {
    pub bases: ValueBases,
    zstd: PayloadCompressor,
}

impl FileCoder {
    pub fn new() -> Self {
        FileCoder {
            bases: ValueBases::default(),
            zstd: PayloadCompressor::new(),
        }
    }
}

/// Appends one frame to `buf`: room for the header, the payload `encode`
/// appends (compressed when that pays), then the header filled in.
pub(super) fn push_frame(
    buf: &mut Vec<u8>,
    coder: &mut FileCoder,
    encode: impl FnOnce(&mut Vec<u8>, &mut ValueBases),
) -> Result<(), WalError> {
    let start = buf.len();
    buf.resize(start + FRAME_HEADER_LEN, 0);
    encode(buf, &mut coder.bases);
    // The limit holds for the payload as decoded, so that every record
    // written can be read back.
    let payload = buf.len() - start - FRAME_HEADER_LEN;
    if payload > MAX_RECORD_BYTES {
        return Err(WalError::RecordTooLarge {
            size: payload,
            limit: MAX_RECORD_BYTES,
        });
    }
    coder.zstd.compress_payload(buf, start + FRAME_HEADER_LEN);
    fill_frame_header(&mut buf[start..])
}

pub(super) fn merge_spans(a: Option<TimeSpan>, b: Option<TimeSpan>) -> Option<TimeSpan> {
    match (a, b) {
        (Some((a0, a1)), Some((b0, b1))) => Some((a0.min(b0), a1.max(b1))),
        (x, None) | (None, x) => x,
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
