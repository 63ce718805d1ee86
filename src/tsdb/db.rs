//! `Tsdb`: the real engine. Opening loads the redb store, rebuilds the index
//! and replays the WAL; a dedicated background thread persists sealed head
//! chunks, enforces retention and compacts; `close` flushes everything.
//!
//! Lock order (never taken the other way round): `commit_lock` →
//! `maintenance_lock` → head index → series state.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::{Mutex, RwLock};

use crate::model::{Labels, now_millis};
use crate::selfmetrics::Registry;

use super::head::{Head, HeadAppender, SeriesState};
use super::metrics::TsdbMetrics;
use super::store::{ChunkStore, RECLAIM_MIN_FREE_BYTES, RECLAIM_MIN_FREE_FRACTION, Reclaim};

/// At close, a file smaller than this is rewritten for any free share
/// worth a page or two (see `close`).
const CLOSE_RECLAIM_ANY_SHARE_BELOW: u64 = 256 << 20;
use super::validate::{self, DEFAULT_HEAD_WINDOW_MS, LastSample, Verdict};
use super::wal::{Wal, WalOptions, WalRecord};
use super::{Appender, BackfillReport, Querier, Storage, StorageError, TsdbStats};

/// How the engine is tuned. `Default` gives Prometheus-like behaviour.
#[derive(Debug, Clone)]
pub struct TsdbOptions {
    /// Persisted chunks whose newest sample is older than this are deleted.
    pub retention_time: Duration,
    /// When set, the oldest chunks are deleted until the stored bytes
    /// (redb data + WAL) fit.
    pub retention_size: Option<u64>,
    pub wal: WalOptions,
    /// How far behind the newest sample an append may be.
    pub head_window: Duration,
    /// How often sealed head chunks are written to redb (and the WAL trimmed).
    pub persist_interval: Duration,
    pub retention_interval: Duration,
    pub compaction_interval: Duration,
    /// XOR chunks whose newest sample is older than this are re-encoded as pco.
    pub compaction_horizon: Duration,
    /// Samples per pco chunk the compactor aims for.
    pub compaction_target_samples: usize,
    /// Run the background thread (tests turn it off to drive each step).
    pub background: bool,
}

impl Default for TsdbOptions {
    fn default() -> Self {
        TsdbOptions {
            retention_time: Duration::from_secs(15 * 24 * 3600),
            retention_size: None,
            wal: WalOptions::default(),
            head_window: Duration::from_millis(DEFAULT_HEAD_WINDOW_MS as u64),
            persist_interval: Duration::from_secs(30),
            retention_interval: Duration::from_secs(5 * 60),
            compaction_interval: Duration::from_secs(10 * 60),
            compaction_horizon: Duration::from_secs(6 * 3600),
            compaction_target_samples: super::compactor::DEFAULT_TARGET_SAMPLES,
            background: true,
        }
    }
}

pub(crate) fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// What appenders, queriers and the background thread share.
pub(crate) struct Inner {
    pub dir: PathBuf,
    pub opts: TsdbOptions,
    pub head: Head,
    /// `None` once closed.
    pub wal: RwLock<Option<Wal>>,
    pub store: ChunkStore,
    /// Held shared by commits (which order themselves per series, see
    /// `head::appender`) and exclusively by what must see no commit in
    /// flight: retention's series removal, checkpoints, backfill, close.
    pub commit_lock: RwLock<()>,
    /// Serialises writers of redb (persist, retention, compaction, backfill).
    pub maintenance_lock: Mutex<()>,
    pub metrics: TsdbMetrics,
    pub closed: AtomicBool,
    /// Chunks in the `chunks` table.
    pub persisted_chunks: AtomicU64,
}

/// What the WAL replay at open went through, for Prometheus's
/// `/api/v1/status/walreplay`: the segment numbers read (all zero when
/// there were none) and the corruptions met. Replay ends before the store
/// opens, so `current` is always `max`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WalReplayStatus {
    pub min: u32,
    pub max: u32,
    pub current: u32,
    pub corruptions: usize,
}

/// The storage engine. Cheap to share as `Arc<Tsdb>`.
pub struct Tsdb {
    pub(super) inner: Arc<Inner>,
    wal_replay: WalReplayStatus,
    worker: Mutex<Option<(mpsc::Sender<()>, JoinHandle<()>)>>,
}

impl Tsdb {
    /// Opens (or creates) the engine in `dir`: `dir/chunks.redb` and
    /// `dir/wal/`. Blocking: call it from `spawn_blocking` in async code.
    pub fn open(dir: &Path, opts: TsdbOptions, registry: &Registry) -> Result<Arc<Tsdb>, StorageError> {
        std::fs::create_dir_all(dir).map_err(|source| StorageError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let (store, loaded) = ChunkStore::open(&dir.join("chunks.redb"))?;
        let metrics = TsdbMetrics::new(registry);
        let head = Head::new(millis(opts.head_window));
        {
            let mut idx = head.index.write();
            for s in &loaded.series {
                let state = SeriesState {
                    persisted: s.range,
                    row_persisted: true,
                    ..SeriesState::default()
                };
                let series = idx.insert(s.series_ref, &s.labels, state);
                let _st = series.state.lock();
                series
                    .published
                    .set_last(s.range.map(|(_, max)| LastSample { t: max, value: None }));
                if let Some((_, max)) = s.range {
                    head.observe_t(max);
                }
            }
            idx.raise_next_ref(loaded.next_ref);
        }
        let wal = Wal::open(&dir.join("wal"), opts.wal.clone(), registry)?;
        let inner = Arc::new(Inner {
            dir: dir.to_path_buf(),
            opts,
            head,
            wal: RwLock::new(None),
            store,
            commit_lock: RwLock::new(()),
            maintenance_lock: Mutex::new(()),
            metrics,
            closed: AtomicBool::new(false),
            persisted_chunks: AtomicU64::new(loaded.num_chunks),
        });
        let wal_replay = inner.replay(&wal)?;
        *inner.wal.write() = Some(wal);
        inner.update_gauges();
        tracing::info!(
            dir = %dir.display(),
            series = inner.head.index.read().len(),
            persisted_chunks = loaded.num_chunks,
            "metrics storage opened"
        );
        let worker = if inner.opts.background {
            Some(spawn_worker(inner.clone())?)
        } else {
            None
        };
        Ok(Arc::new(Tsdb {
            inner,
            wal_replay,
            worker: Mutex::new(worker),
        }))
    }

    /// The WAL replay this open did.
    pub fn wal_replay(&self) -> WalReplayStatus {
        self.wal_replay
    }

    /// Stops background work, persists every head chunk (open ones too),
    /// trims the WAL and closes it. Later commits fail with `Closed`.
    /// Blocking.
    pub fn close(&self) -> Result<(), StorageError> {
        self.stop_worker();
        let inner = &self.inner;
        {
            // After this no commit can start, and none is in flight.
            let _commit = inner.commit_lock.write();
            if inner.closed.swap(true, Ordering::AcqRel) {
                return Ok(());
            }
        }
        inner.persist_head(true)?;
        if let Some(wal) = inner.wal.write().take() {
            wal.close()?;
        }
        // A closed store is what backups copy and what a fresh import
        // leaves behind: give back free pages even below the running
        // store's floors, since this rewrite happens once — any free share
        // worth a page or two while the file is small enough to rewrite in
        // well under a second (an import of an hour left 23% free, which
        // the running store's 25% would keep).
        {
            let _maint = inner.maintenance_lock.lock();
            let fraction = if inner.store.file_size() < CLOSE_RECLAIM_ANY_SHARE_BELOW {
                0.02
            } else {
                RECLAIM_MIN_FREE_FRACTION
            };
            inner.reclaim_store_space_over(0, fraction);
        }
        tracing::info!(dir = %inner.dir.display(), "metrics storage closed");
        Ok(())
    }

    /// Writes sealed head chunks to redb now (the background thread does
    /// this every `persist_interval`); returns the chunks written.
    pub fn persist_now(&self) -> Result<usize, StorageError> {
        self.inner.persist_head(false)
    }

    /// Applies time and size retention now, relative to `now_ms`.
    pub fn enforce_retention_now(
        &self,
        now_ms: i64,
    ) -> Result<super::retention::RetentionReport, StorageError> {
        self.inner.enforce_retention(now_ms)
    }

    /// Re-encodes old XOR chunks as pco now, relative to `now_ms`.
    pub fn compact_now(&self, now_ms: i64) -> Result<super::compactor::CompactionReport, StorageError> {
        self.inner.compact(now_ms)
    }

    /// Bytes on disk: the redb file plus the WAL directory.
    pub fn disk_bytes(&self) -> u64 {
        self.inner.disk_bytes()
    }

    /// Bytes counted against `retention_size`: live redb data plus the WAL.
    pub fn stored_bytes(&self) -> Result<u64, StorageError> {
        self.inner.stored_bytes()
    }

    #[cfg(test)]
    pub(crate) fn inner_stored_bytes(&self) -> u64 {
        self.inner.stored_bytes().unwrap()
    }

    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// The WAL directory, for readers that tail it (remote write).
    pub fn wal_dir(&self) -> PathBuf {
        self.inner.dir.join("wal")
    }

    /// Where WAL readers hold segments they still need; `None` once closed.
    pub fn wal_holds(&self) -> Option<Arc<super::wal::WalHolds>> {
        self.inner.wal.read().as_ref().map(|w| w.holds())
    }

    /// The labels of a series by the ref its WAL records use, for readers
    /// whose series records a checkpoint dropped (the series is in redb).
    pub fn series_labels(&self, series_ref: u64) -> Option<Labels> {
        let idx = self.inner.head.index.read();
        let series = idx.get(series_ref)?;
        Some(idx.labels_of(series))
    }

    fn stop_worker(&self) {
        if let Some((stop, handle)) = self.worker.lock().take() {
            let _ = stop.send(());
            if handle.join().is_err() {
                tracing::error!("tsdb background thread panicked");
            }
        }
    }
}

impl Drop for Tsdb {
    /// Dropping without `close` is what a crash looks like to the data
    /// directory: the WAL holds everything committed.
    fn drop(&mut self) {
        self.stop_worker();
    }
}

impl Storage for Tsdb {
    fn appender(&self) -> Box<dyn Appender> {
        Box::new(HeadAppender::new(self.inner.clone()))
    }

    fn querier(&self) -> Box<dyn Querier> {
        Box::new(super::querier::TsdbQuerier::new(self.inner.clone()))
    }

    fn stats(&self, top_n: usize) -> TsdbStats {
        self.inner.stats(top_n)
    }

    fn backfill(
        &self,
        series: Vec<(crate::model::Labels, Vec<(i64, f64)>)>,
    ) -> Result<BackfillReport, StorageError> {
        self.inner.backfill(series)
    }
}

fn spawn_worker(inner: Arc<Inner>) -> Result<(mpsc::Sender<()>, JoinHandle<()>), StorageError> {
    let (tx, rx) = mpsc::channel();
    let handle = std::thread::Builder::new()
        .name("belfry-tsdb".to_string())
        .spawn(move || run_worker(inner, rx))
        .map_err(|source| StorageError::Io {
            path: PathBuf::from("<thread spawn>"),
            source,
        })?;
    Ok((tx, handle))
}

/// The background loop: persist, retention, compaction, each on its own
/// interval, until told to stop (or the `Tsdb` is gone).
fn run_worker(inner: Arc<Inner>, stop: mpsc::Receiver<()>) {
    let start = Instant::now();
    let mut next_persist = start + inner.opts.persist_interval;
    let mut next_retention = start + Duration::from_secs(60).min(inner.opts.retention_interval);
    let mut next_compaction = start + inner.opts.compaction_interval;
    loop {
        let now = Instant::now();
        let wake = next_persist.min(next_retention).min(next_compaction);
        match stop.recv_timeout(wake.saturating_duration_since(now)) {
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => return,
        }
        let now = Instant::now();
        if now >= next_persist {
            if let Err(e) = inner.persist_head(false) {
                inner.metrics.persist_failures.inc();
                tracing::error!(error = %e, "persisting head chunks failed; will retry");
            }
            next_persist = now + inner.opts.persist_interval;
        }
        if now >= next_retention {
            if let Err(e) = inner.enforce_retention(now_millis()) {
                inner.metrics.retention_failures.inc();
                tracing::error!(error = %e, "retention pass failed; will retry");
            }
            next_retention = now + inner.opts.retention_interval;
        }
        if now >= next_compaction {
            if let Err(e) = inner.compact(now_millis()) {
                inner.metrics.compaction_failures.inc();
                tracing::error!(error = %e, "compaction pass failed; will retry");
            }
            next_compaction = now + inner.opts.compaction_interval;
        }
        inner.update_gauges();
    }
}

impl Inner {
    /// Replays the WAL into the head: series the store does not know are
    /// created, samples already persisted (or repeated) are skipped.
    fn replay(&self, wal: &Wal) -> Result<WalReplayStatus, StorageError> {
        // A series re-created after retention dropped it may reach us under
        // its old ref: map that onto the live one.
        let mut remap: HashMap<u64, u64> = HashMap::new();
        let mut samples = 0u64;
        let mut skipped = 0u64;
        let report = wal.replay(|rec| match rec {
            WalRecord::Series(list) => {
                let mut idx = self.head.index.write();
                for (r, labels) in list {
                    if idx.get(r).is_some() {
                        continue;
                    }
                    if let Some(existing) = idx.get_by_labels(labels.stable_hash(), &labels) {
                        remap.insert(r, existing.series_ref);
                        continue;
                    }
                    idx.insert(r, &labels, SeriesState::default());
                }
            }
            WalRecord::Samples(list) => {
                let idx = self.head.index.read();
                for (r, t, v) in list {
                    let r = remap.get(&r).copied().unwrap_or(r);
                    let Some(series) = idx.get(r) else {
                        self.metrics.wal_replay_unknown_series.inc();
                        skipped += 1;
                        continue;
                    };
                    let mut st = series.state.lock();
                    if st.persisted.is_some_and(|(_, max)| t <= max) {
                        skipped += 1;
                        continue;
                    }
                    match validate::check_sample(series.published.last(), t, v, i64::MIN) {
                        Ok(Verdict::Append) => {
                            st.append(t, v);
                            series.published.set_last(Some(LastSample {
                                t,
                                value: Some(v.to_bits()),
                            }));
                            self.head.observe_t(t);
                            samples += 1;
                        }
                        _ => skipped += 1,
                    }
                }
            }
        })?;
        tracing::info!(
            samples,
            skipped,
            truncated_bytes = report.truncated_bytes,
            problems = report.problems.len(),
            "wal replayed"
        );
        for p in &report.problems {
            tracing::warn!(problem = %p, "wal replay");
        }
        let (min, max) = report.segment_range.unwrap_or_default();
        Ok(WalReplayStatus {
            min,
            max,
            current: max,
            corruptions: report.problems.len(),
        })
    }

    pub(crate) fn update_gauges(&self) {
        let idx = self.head.index.read();
        self.metrics.head_series.set(idx.len() as f64);
        let chunks: usize = idx.series().map(|s| s.state.lock().num_head_chunks()).sum();
        self.metrics.head_chunks.set(chunks as f64);
        drop(idx);
        self.metrics.storage_bytes.set(self.disk_bytes() as f64);
    }

    /// Gives pages freed by compaction or retention back to the file
    /// system. Called with the maintenance lock held. A failure is logged
    /// and retried on the next pass: the data itself is untouched.
    pub(crate) fn reclaim_store_space(&self) {
        self.reclaim_store_space_over(RECLAIM_MIN_FREE_BYTES, RECLAIM_MIN_FREE_FRACTION);
    }

    /// Like [`Self::reclaim_store_space`] with chosen floors of free bytes
    /// and of the free share of the file.
    pub(crate) fn reclaim_store_space_over(&self, min_free_bytes: u64, min_free_fraction: f64) {
        match self.store.reclaim_space(min_free_bytes, min_free_fraction) {
            Ok(Reclaim::NotNeeded) => {}
            Ok(Reclaim::Busy) => {
                self.metrics.store_reclaims_deferred.inc();
                tracing::debug!("chunks.redb has free pages but a query is reading it; will retry");
            }
            Ok(Reclaim::Done { before, after }) => {
                self.metrics
                    .store_reclaimed_bytes
                    .add(before.saturating_sub(after));
                self.metrics.storage_bytes.set(self.disk_bytes() as f64);
                tracing::info!(before, after, "shrank chunks.redb");
            }
            Err(e) => tracing::warn!(error = %e, "could not shrink chunks.redb; will retry"),
        }
    }

    pub(crate) fn disk_bytes(&self) -> u64 {
        self.store.file_size() + dir_size(&self.dir.join("wal"))
    }

    pub(crate) fn check_open(&self) -> Result<(), StorageError> {
        if self.closed.load(Ordering::Acquire) {
            return Err(StorageError::Closed);
        }
        Ok(())
    }
}

pub(crate) fn dir_size(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_size(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}
