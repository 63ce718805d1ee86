//! `LogStore`: the logs WAL and the day indexes put together. Ingest maps
//! entries onto records, writes them to the WAL and answers once they are
//! fsynced; a committer thread adds them to the index in batches and lets
//! the WAL drop what is committed; a retention thread enforces
//! `logs.retention` and `logs.retention_size`. When the index falls
//! behind by more than `logs.limits.max_pending_bytes`, ingest refuses
//! with [`LogsError::Backpressure`] instead of growing memory.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex, RwLock};

use super::index::{DayIndexes, LogLine, ReadBudget, SearchQuery, SearchResult, day_of};
use super::metrics::LogsMetrics;
use super::retention::{RetentionPolicy, RetentionReport};
use super::schema::{MappingOptions, login_event, map_entry};
use super::wal::{LogWal, SEGMENT_SIZE};
use super::{Entry, LogRecord, LogsError};
use crate::config::LogsConfig;
use crate::model::LoginEventSink;
use crate::selfmetrics::Registry;

/// Nanoseconds since the epoch; injected so tests can move time.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// A record stamped further ahead than this is refused: a wrong clock
/// would otherwise create indexes retention never reaches.
const MAX_FUTURE_NS: i64 = 24 * 3600 * 1_000_000_000;
/// Day indexes older than yesterday get few records; their writers are
/// closed after each commit to free their memory.
const OPEN_WRITER_DAYS: i64 = 1;

#[derive(Clone)]
pub struct LogStoreOptions {
    pub retention: RetentionPolicy,
    /// 0: no cap.
    pub retention_size: u64,
    pub max_line_bytes: usize,
    pub max_batch_lines: usize,
    pub max_pending_bytes: u64,
    pub commit_interval: Duration,
    pub commit_max_records: usize,
    /// How often the retention thread runs; `None` runs it only when
    /// asked ([`LogStore::run_retention`]).
    pub retention_interval: Option<Duration>,
    pub wal_segment_size: u64,
    pub clock: Clock,
    /// User-id tokens and scrubbers applied before anything is stored;
    /// `None` only in tests of the store's other parts.
    pub privacy: Option<crate::privacy::Privacy>,
}

fn system_clock() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

impl LogStoreOptions {
    pub fn from_config(c: &LogsConfig) -> Self {
        let usize_of = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
        LogStoreOptions {
            retention: RetentionPolicy::from_config(&c.retention),
            retention_size: c.retention_size.0,
            max_line_bytes: usize_of(c.limits.max_line_bytes.0),
            max_batch_lines: usize_of(c.limits.max_batch_lines),
            max_pending_bytes: c.limits.max_pending_bytes.0,
            commit_interval: c.commit.interval.0,
            commit_max_records: usize_of(c.commit.max_records),
            retention_interval: Some(Duration::from_secs(600)),
            wal_segment_size: SEGMENT_SIZE,
            clock: Arc::new(system_clock),
            privacy: None,
        }
    }
}

impl Default for LogStoreOptions {
    fn default() -> Self {
        LogStoreOptions::from_config(&LogsConfig::default())
    }
}

/// What happened to a batch: records kept, and those refused with why.
#[derive(Debug, Default, Clone, PartialEq, serde::Serialize)]
pub struct IngestReport {
    pub accepted: usize,
    /// `(position in the batch, reason)`.
    pub rejected: Vec<(usize, String)>,
    /// Records whose message or error was cut to the line limit.
    pub truncated: usize,
}

struct Pending {
    records: Vec<(u64, LogRecord)>,
    bytes: u64,
    /// Bytes taken by the committer and not yet committed.
    in_flight: u64,
}

struct Inner {
    dir: PathBuf,
    wal: LogWal,
    days: DayIndexes,
    pending: Mutex<Pending>,
    wake: Condvar,
    /// Held while a batch is added and committed, and while retention
    /// deletes: a retention commit must never commit half a batch.
    commit_lock: Mutex<()>,
    stop: AtomicBool,
    opts: LogStoreOptions,
    metrics: Arc<LogsMetrics>,
    /// Where the login events of each stored batch go, once set.
    login_sink: RwLock<Option<Arc<dyn LoginEventSink>>>,
}

pub struct LogStore {
    inner: Arc<Inner>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl LogStore {
    /// Opens (creating) the store in `dir` (`<data-dir>/logs`): opens the
    /// day indexes, repairs and replays the WAL — re-indexing what no
    /// commit holds yet, skipping what one does — and starts the
    /// committer and retention threads.
    pub fn open(dir: &Path, opts: LogStoreOptions, registry: &Registry) -> Result<LogStore, LogsError> {
        let metrics = Arc::new(LogsMetrics::new(registry));
        let days = DayIndexes::open(&dir.join("index"))?;
        let (wal, replay) = LogWal::open(
            &dir.join("wal"),
            opts.wal_segment_size,
            days.committed_next_seq(),
            metrics.clone(),
        )?;
        let replayed = replay.records.len();
        let bytes: u64 = replay.records.iter().map(|(_, r)| r.approx_bytes() as u64).sum();
        let inner = Arc::new(Inner {
            dir: dir.to_path_buf(),
            wal,
            days,
            pending: Mutex::new(Pending {
                records: replay.records,
                bytes,
                in_flight: 0,
            }),
            wake: Condvar::new(),
            commit_lock: Mutex::new(()),
            stop: AtomicBool::new(false),
            opts,
            metrics,
            login_sink: RwLock::new(None),
        });
        // Replayed records are committed before the store takes writes,
        // so a crash loop cannot pile up an ever longer WAL.
        inner.commit_pending()?;
        tracing::info!(
            records = replayed,
            repaired_segments = replay.repaired_segments,
            "logs wal replayed"
        );
        if let Err(e) = super::retention::update_gauges(&inner.days, &inner.metrics) {
            tracing::warn!(error = %e, "cannot compute logs disk gauges");
        }
        let mut threads = Vec::new();
        let committer = inner.clone();
        threads.push(
            std::thread::Builder::new()
                .name("logs-commit".into())
                .spawn(move || committer.commit_loop())
                .map_err(|e| LogsError::io(dir, e))?,
        );
        if let Some(every) = inner.opts.retention_interval {
            let ret = inner.clone();
            threads.push(
                std::thread::Builder::new()
                    .name("logs-retention".into())
                    .spawn(move || ret.retention_loop(every))
                    .map_err(|e| LogsError::io(dir, e))?,
            );
        }
        Ok(LogStore {
            inner,
            threads: Mutex::new(threads),
        })
    }

    /// From now on, hands the login events of every stored batch to `sink`
    /// (records replayed from the WAL at open were handed over before).
    pub fn set_login_sink(&self, sink: Arc<dyn LoginEventSink>) {
        *self.inner.login_sink.write() = Some(sink);
    }

    /// Maps, checks and writes `entries`; returns once the accepted ones
    /// are durable. Blocks (fsync): call it off the async executor.
    pub fn ingest(&self, source: &str, entries: Vec<Entry>) -> Result<IngestReport, LogsError> {
        let inner = &self.inner;
        let m = &inner.metrics;
        if inner.stop.load(Ordering::Acquire) {
            return Err(LogsError::Closed);
        }
        if entries.len() > inner.opts.max_batch_lines {
            m.rejected.with(&["batch_too_large"]).add(entries.len() as u64);
            return Err(LogsError::TooManyLines {
                lines: entries.len(),
                limit: inner.opts.max_batch_lines,
            });
        }
        let now = (inner.opts.clock)();
        let map_opts = MappingOptions {
            max_line_bytes: inner.opts.max_line_bytes,
            now_ns: now,
            privacy: inner.opts.privacy.as_ref(),
        };
        let mut report = IngestReport::default();
        let mut records = Vec::with_capacity(entries.len());
        let mut bytes = 0u64;
        for (i, entry) in entries.into_iter().enumerate() {
            let (record, notes) = map_entry(entry, &map_opts);
            let keep_ns = inner.opts.retention.retention_ns(record.level, &record.service);
            if record.timestamp_ns < now.saturating_sub(keep_ns) {
                m.rejected.with(&["too_old"]).inc();
                report.rejected.push((
                    i,
                    format!(
                        "timestamp is older than the {} days {} records{} are kept",
                        keep_ns / 86_400_000_000_000,
                        record.level,
                        if record.service.is_empty() {
                            String::new()
                        } else {
                            format!(" of {}", record.service)
                        }
                    ),
                ));
                continue;
            }
            if record.timestamp_ns > now.saturating_add(MAX_FUTURE_NS) {
                m.rejected.with(&["too_far_in_future"]).inc();
                report
                    .rejected
                    .push((i, "timestamp is more than a day in the future".into()));
                continue;
            }
            if notes.truncated {
                report.truncated += 1;
                m.truncated.inc();
            }
            bytes += record.approx_bytes() as u64;
            records.push(record);
        }
        if records.is_empty() {
            return Ok(report);
        }
        {
            let p = inner.pending.lock();
            let waiting = p.bytes + p.in_flight;
            // A batch larger than the whole allowance is taken when
            // nothing waits, or it could never be taken at all.
            if waiting > 0 && waiting + bytes > inner.opts.max_pending_bytes {
                m.rejected.with(&["backpressure"]).add(records.len() as u64);
                return Err(LogsError::Backpressure {
                    pending: waiting,
                    limit: inner.opts.max_pending_bytes,
                    retry_after_secs: inner.opts.commit_interval.as_secs().max(1),
                });
            }
        }
        let mut counts = [0u64; 5];
        for r in &records {
            counts[r.level.index()] += 1;
        }
        // Read before the records move into the WAL, handed over once they
        // are durable: a login the sender was refused never counts.
        let login_sink = inner.login_sink.read().clone();
        let logins: Vec<_> = match &login_sink {
            Some(_) => records.iter().filter_map(login_event).collect(),
            None => Vec::new(),
        };
        let n = records.len();
        let commit_now = {
            let mut wake = false;
            let (_, id) = inner.wal.write(records, |first, records| {
                let mut p = inner.pending.lock();
                p.bytes += bytes;
                p.records.extend(
                    records
                        .into_iter()
                        .enumerate()
                        .map(|(i, r)| (first + i as u64, r)),
                );
                wake = p.records.len() >= inner.opts.commit_max_records;
                m.pending_bytes.set((p.bytes + p.in_flight) as f64);
            })?;
            inner.wal.sync_to(id)?;
            wake
        };
        if commit_now {
            inner.wake.notify_all();
        }
        if let Some(sink) = login_sink
            && !logins.is_empty()
        {
            sink.logins(logins);
        }
        report.accepted = n;
        for level in super::Level::ALL {
            if counts[level.index()] > 0 {
                m.ingested
                    .with(&[source, level.as_str()])
                    .add(counts[level.index()]);
            }
        }
        m.ingested_bytes.with(&[source]).add(bytes);
        Ok(report)
    }

    /// Counts records an ingest path refused before they reached the
    /// store (a malformed line, a bad frame) under `reason`.
    pub fn count_rejected(&self, reason: &str, n: u64) {
        if n > 0 {
            self.inner.metrics.rejected.with(&[reason]).add(n);
        }
    }

    /// A search whose reads of stored lines are bounded by `budget`.
    pub fn search(&self, q: &SearchQuery, budget: &Arc<ReadBudget>) -> Result<SearchResult, LogsError> {
        super::index::search(&self.inner.days, q, budget).inspect_err(|e| {
            if let LogsError::QueryLimit { limit, .. } = e {
                self.inner.metrics.search_limit_hits.with(&[limit]).inc();
            }
        })
    }

    /// The day indexes, for queries that read them directly (LogQL).
    pub fn days(&self) -> &DayIndexes {
        &self.inner.days
    }

    /// The line `id` and its neighbours in its (or the given) service.
    pub fn context(
        &self,
        id: u64,
        service: Option<&str>,
        before: usize,
        after: usize,
    ) -> Result<(LogLine, Vec<LogLine>), LogsError> {
        super::index::context(&self.inner.days, id, service, before, after)?
            .ok_or(LogsError::LineNotFound(id))
    }

    /// Commits everything waiting now (tests, shutdown).
    pub fn flush(&self) -> Result<(), LogsError> {
        self.inner.commit_pending()
    }

    /// One retention pass at the clock's time.
    pub fn run_retention(&self) -> Result<RetentionReport, LogsError> {
        self.inner.run_retention()
    }

    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// Runs `f` while no batch is committed to the index, no committed
    /// WAL segment is deleted and retention does not run; ingest goes on.
    pub(super) fn while_not_committing<T>(&self, f: impl FnOnce(&LogWal, &DayIndexes) -> T) -> T {
        let _commit = self.inner.commit_lock.lock();
        f(&self.inner.wal, &self.inner.days)
    }

    /// Stops the threads, commits what waits and syncs the WAL.
    pub fn close(&self) -> Result<(), LogsError> {
        self.inner.signal_stop();
        for t in self.threads.lock().drain(..) {
            if t.join().is_err() {
                tracing::error!("a logs store thread panicked");
            }
        }
        self.inner.commit_pending()?;
        for day in self.inner.days.all() {
            day.close_writer();
        }
        self.inner.wal.sync()
    }
}

impl Drop for LogStore {
    /// Without [`LogStore::close`] (a failed start, a test): the threads
    /// stop after what they are doing, and what waits stays in the WAL.
    /// Joining them releases the index writers' locks before a new store
    /// may open the same directory.
    fn drop(&mut self) {
        self.inner.signal_stop();
        for t in self.threads.lock().drain(..) {
            let _ = t.join();
        }
    }
}

impl Inner {
    /// Tells the threads to stop. Under the pending lock, which each
    /// thread holds from its check of `stop` until its wait releases it:
    /// otherwise the wake-up could fall between the two and be lost, and
    /// the thread would sleep out its whole interval (an hour in tests,
    /// ten minutes for retention) before a join returned.
    fn signal_stop(&self) {
        let _pending = self.pending.lock();
        self.stop.store(true, Ordering::Release);
        self.wake.notify_all();
    }

    fn commit_loop(&self) {
        let mut last = Instant::now();
        loop {
            {
                let mut p = self.pending.lock();
                while !self.stop.load(Ordering::Acquire)
                    && p.records.len() < self.opts.commit_max_records
                    && last.elapsed() < self.opts.commit_interval
                {
                    let left = self.opts.commit_interval.saturating_sub(last.elapsed());
                    self.wake.wait_for(&mut p, left);
                }
            }
            if self.stop.load(Ordering::Acquire) {
                return;
            }
            last = Instant::now();
            if let Err(e) = self.commit_pending() {
                self.metrics.index_commit_failures.inc();
                tracing::error!(error = %e, "logs index commit failed; the records stay in the wal and are retried");
            }
        }
    }

    /// Adds what waits to the day indexes, commits each day it touched
    /// and lets the WAL drop the committed records.
    fn commit_pending(&self) -> Result<(), LogsError> {
        let _commit = self.commit_lock.lock();
        let (batch, bytes) = {
            let mut p = self.pending.lock();
            let bytes = std::mem::take(&mut p.bytes);
            p.in_flight = bytes;
            (std::mem::take(&mut p.records), bytes)
        };
        if batch.is_empty() {
            self.pending.lock().in_flight = 0;
            return Ok(());
        }
        let start = Instant::now();
        let result = self.index_batch(&batch);
        match result {
            Ok(next_seq) => {
                self.metrics.index_commit.observe(start.elapsed());
                {
                    let mut p = self.pending.lock();
                    p.in_flight = 0;
                    self.metrics.pending_bytes.set(p.bytes as f64);
                }
                self.wal.truncate_before(next_seq)
            }
            Err(e) => {
                // Back in front of what arrived meanwhile, in order.
                let mut p = self.pending.lock();
                let newer = std::mem::replace(&mut p.records, batch);
                p.records.extend(newer);
                p.bytes += bytes;
                p.in_flight = 0;
                Err(e)
            }
        }
    }

    fn index_batch(&self, batch: &[(u64, LogRecord)]) -> Result<u64, LogsError> {
        let next_seq = batch.last().map_or(0, |(s, _)| s + 1);
        let mut by_day: BTreeMap<i64, Vec<&(u64, LogRecord)>> = BTreeMap::new();
        for item in batch {
            by_day.entry(day_of(item.1.timestamp_ns)).or_default().push(item);
        }
        let fields = &self.days.fields;
        let today = day_of((self.opts.clock)());
        for (day, items) in by_day {
            let index = self.days.get_or_create(day)?;
            // Replay: what a commit of this day already holds is skipped.
            let done = index.committed_next_seq();
            let schema = index.index.schema();
            index.with_writer(|w| {
                for (seq, r) in items.into_iter().filter(|(seq, _)| *seq >= done) {
                    w.add_document(fields.document(&schema, *seq, r))?;
                }
                Ok(())
            })?;
            index.commit(next_seq)?;
            if day < today - OPEN_WRITER_DAYS {
                index.close_writer();
            }
        }
        Ok(next_seq)
    }

    fn run_retention(&self) -> Result<RetentionReport, LogsError> {
        let _commit = self.commit_lock.lock();
        let report = super::retention::enforce(
            &self.days,
            &self.opts.retention,
            self.opts.retention_size,
            self.wal.disk_bytes(),
            (self.opts.clock)(),
            &self.metrics,
        )?;
        super::retention::update_gauges(&self.days, &self.metrics)?;
        Ok(report)
    }

    fn retention_loop(&self, every: Duration) {
        let mut next = Instant::now() + every;
        let mut p = self.pending.lock();
        loop {
            // Checked before waiting too: a stop that came during a
            // retention pass found no one waiting to wake.
            if self.stop.load(Ordering::Acquire) {
                return;
            }
            // The condvar is shared with the committer: wake-ups before
            // the deadline only check for stop.
            self.wake.wait_until(&mut p, next);
            if self.stop.load(Ordering::Acquire) {
                return;
            }
            if Instant::now() < next {
                continue;
            }
            drop(p);
            if let Err(e) = self.run_retention() {
                tracing::error!(error = %e, "logs retention pass failed");
            }
            next = Instant::now() + every;
            p = self.pending.lock();
        }
    }
}
