//! The tailing loop: one thread for every `logs.files` entry. Each round
//! it reads what the open files gained, turns finished records into
//! entries and hands a batch to the store; only once the store has
//! answered that the batch is durable in its WAL are the files' positions
//! written to `state.redb`, in one transaction. Every few seconds the
//! globs are expanded again: new files are opened, files no glob matches
//! any more (rotated by rename, deleted) are read to their end and closed.
//!
//! Exactly once, across a crash too: before a batch goes to the store,
//! each of its files' rows records the batch as pending (the position
//! after it, and a random marker that the batch's last record carries in
//! its `file_batch` field). After the store's answer the rows are
//! rewritten with the new positions. A restart that finds a pending batch
//! searches the store for its marker: found, the batch was stored and
//! reading goes on after it; absent, it was not, and the position before
//! it stands. So a restart after a clean stop or a `kill -9` neither loses
//! nor repeats a line. (The one exception: if the store refused the
//! marked record itself — its timestamp older than retention or a day in
//! the future — a crash in that window repeats the batch's other records.)
//! Records still held by a joiner (a multi-line record waiting for its
//! next line) never count in a position: they are read again after a
//! restart rather than cut in two.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use super::discovery::{Discovery, FileId, Found};
use super::error::FilesError;
use super::format::to_entry;
use super::line::FileLine;
use super::metrics::FilesMetrics;
use super::positions::{PendingBatch, Position, Positions};
use super::tailer::Tailer;
use crate::config::{FileSourceConfig, StartAt};
use crate::logs::index::{Filter, ReadBudget, SearchQuery};
use crate::logs::{Entry, LogStore, LogsError};
use crate::selfmetrics::Registry;
use crate::state::StateStore;

/// The `source` label of records read from files.
pub const SOURCE: &str = "files";
/// How long a file no glob matches is still read before it is closed: a
/// program that rotates by rename may write its last lines to the old
/// name's file just after the rename.
const GONE_GRACE: Duration = Duration::from_secs(1);
/// Wait between attempts when the store refuses a batch.
const RETRY_WAIT: Duration = Duration::from_secs(1);
/// The field of a batch's last record that marks the batch as stored.
pub const BATCH_MARKER_FIELD: &str = "file_batch";

/// Starts, re-configures and stops file tailing.
pub struct FileTailing {
    store: Arc<LogStore>,
    positions: Arc<Positions>,
    metrics: Arc<FilesMetrics>,
    running: Mutex<Option<Running>>,
}

struct Running {
    configs: Vec<FileSourceConfig>,
    stop: Arc<StopSignal>,
    thread: JoinHandle<()>,
}

#[derive(Default)]
struct StopSignal {
    stopped: Mutex<bool>,
    wake: Condvar,
}

impl StopSignal {
    fn is_set(&self) -> bool {
        *self.stopped.lock()
    }

    /// Sleeps up to `d`; true when stopped meanwhile.
    fn wait(&self, d: Duration) -> bool {
        let mut stopped = self.stopped.lock();
        if !*stopped {
            self.wake.wait_for(&mut stopped, d);
        }
        *stopped
    }

    fn set(&self) {
        *self.stopped.lock() = true;
        self.wake.notify_all();
    }
}

impl FileTailing {
    pub fn new(store: Arc<LogStore>, state: Arc<StateStore>, registry: &Registry) -> Self {
        FileTailing {
            store,
            positions: Arc::new(Positions::new(state)),
            metrics: Arc::new(FilesMetrics::new(registry)),
            running: Mutex::new(None),
        }
    }

    /// Tails what `configs` names from now on: an unchanged list keeps
    /// running; a changed one stops the running loop (which sends what it
    /// holds and saves positions) and starts a new one from the saved
    /// positions. Blocking.
    pub fn apply(&self, configs: &[FileSourceConfig]) -> Result<(), FilesError> {
        let mut running = self.running.lock();
        if running.as_ref().is_some_and(|r| r.configs == configs) {
            return Ok(());
        }
        if let Some(r) = running.take() {
            r.stop_and_join();
        }
        if configs.is_empty() {
            return Ok(());
        }
        let stop = Arc::new(StopSignal::default());
        let mut tail = TailLoop::new(
            configs,
            self.store.clone(),
            self.positions.clone(),
            self.metrics.clone(),
            stop.clone(),
        )?;
        let thread = std::thread::Builder::new()
            .name("logs-files".into())
            .spawn(move || tail.run())
            .map_err(FilesError::Thread)?;
        *running = Some(Running {
            configs: configs.to_vec(),
            stop,
            thread,
        });
        Ok(())
    }

    /// Sends what is read, saves positions and stops. Blocking.
    pub fn stop(&self) {
        if let Some(r) = self.running.lock().take() {
            r.stop_and_join();
        }
    }
}

impl Running {
    fn stop_and_join(self) {
        self.stop.set();
        if self.thread.join().is_err() {
            tracing::error!("the log file tailing thread panicked");
        }
    }
}

struct Source {
    config: FileSourceConfig,
    discovery: Discovery,
    labels: Vec<(String, String)>,
    /// Files already counted as left unopened by `max_open_files`.
    over_limit: HashSet<FileId>,
}

struct TailLoop {
    sources: Vec<Source>,
    tailers: BTreeMap<FileId, Tailer>,
    /// Positions loaded at start that no open file has claimed yet.
    stored: HashMap<FileId, Position>,
    first_scan: bool,
    last_scan: Option<Instant>,
    rescan_now: bool,
    batch: Vec<Entry>,
    /// Files with records in `batch`.
    in_batch: HashSet<FileId>,
    /// Closed files whose positions are deleted with the next save.
    forget: Vec<FileId>,
    /// Paths and files whose error was logged (once each, until they recover).
    logged: HashSet<PathBuf>,
    store: Arc<LogStore>,
    positions: Arc<Positions>,
    metrics: Arc<FilesMetrics>,
    stop: Arc<StopSignal>,
    poll_interval: Duration,
    rescan_interval: Duration,
}

impl TailLoop {
    fn new(
        configs: &[FileSourceConfig],
        store: Arc<LogStore>,
        positions: Arc<Positions>,
        metrics: Arc<FilesMetrics>,
        stop: Arc<StopSignal>,
    ) -> Result<Self, FilesError> {
        let mut sources = Vec::new();
        for (index, config) in configs.iter().enumerate() {
            let discovery = Discovery::new(&config.paths, &config.exclude)
                .map_err(|message| FilesError::Config { index, message })?;
            sources.push(Source {
                config: config.clone(),
                discovery,
                labels: config
                    .labels
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
                over_limit: HashSet::new(),
            });
        }
        let mut stored = positions.load()?;
        settle_pending(&store, &mut stored);
        let poll_interval = configs
            .iter()
            .map(|c| c.poll_interval.0)
            .min()
            .unwrap_or(Duration::from_millis(250));
        let rescan_interval = configs
            .iter()
            .map(|c| c.rescan_interval.0)
            .min()
            .unwrap_or(Duration::from_secs(5));
        Ok(TailLoop {
            sources,
            tailers: BTreeMap::new(),
            stored,
            first_scan: true,
            last_scan: None,
            rescan_now: false,
            batch: Vec::new(),
            in_batch: HashSet::new(),
            forget: Vec::new(),
            logged: HashSet::new(),
            store,
            positions,
            metrics,
            stop,
            poll_interval,
            rescan_interval,
        })
    }

    fn run(&mut self) {
        tracing::info!(entries = self.sources.len(), "log file tailing started");
        loop {
            let due = self.last_scan.is_none_or(|t| t.elapsed() >= self.rescan_interval);
            if due || std::mem::take(&mut self.rescan_now) {
                self.scan();
            }
            self.poll_all();
            if !self.flush(None) || self.stop.wait(self.poll_interval) {
                break;
            }
        }
        // Stopping: what was read and finished is sent; what a joiner
        // still holds is read again after the restart.
        self.flush(None);
        self.metrics.watched.set(0.0);
        tracing::info!("log file tailing stopped");
    }

    fn scan(&mut self) {
        self.last_scan = Some(Instant::now());
        let mut seen = HashSet::new();
        for si in 0..self.sources.len() {
            let (found, errors) = self.sources[si].discovery.scan();
            for (path, e) in errors {
                self.metrics.errors.with(&["scan"]).inc();
                if self.logged.insert(path.clone()) {
                    tracing::warn!(path = %path.display(), error = %e, "cannot read a directory or file a logs.files glob names");
                }
            }
            for f in found {
                if seen.insert(f.id) {
                    self.track(si, f);
                }
            }
        }
        let now = Instant::now();
        for t in self.tailers.values_mut() {
            if !seen.contains(&t.id) && t.gone_since.is_none() {
                t.gone_since = Some(now);
            }
        }
        if std::mem::replace(&mut self.first_scan, false) {
            // Files rotated away or deleted while Belfry was down: no glob
            // finds them, so their positions can go.
            self.forget.extend(self.stored.drain().map(|(id, _)| id));
        }
        self.metrics.watched.set(self.tailers.len() as f64);
    }

    /// Keeps following a known file or opens a new one.
    fn track(&mut self, si: usize, f: Found) {
        if let Some(t) = self.tailers.get_mut(&f.id) {
            t.gone_since = None;
            t.path = f.path;
            return;
        }
        let source = &mut self.sources[si];
        let open = self.tailers.values().filter(|t| t.source == si).count() as u64;
        if open >= source.config.max_open_files {
            if source.over_limit.insert(f.id) {
                self.metrics.open_limit.inc();
                tracing::warn!(path = %f.path.display(), limit = source.config.max_open_files,
                    "not tailing a log file: max_open_files are open");
            }
            return;
        }
        let stored = self.stored.remove(&f.id);
        let offset = match &stored {
            Some(pos) if pos.offset <= f.size => pos.offset,
            Some(pos) => {
                self.metrics.truncations.inc();
                tracing::info!(path = %f.path.display(), offset = pos.offset, size = f.size,
                    "log file is shorter than its saved position; reading it from the start");
                0
            }
            None if self.first_scan && source.config.start_at == StartAt::End => f.size,
            // A file that appears while Belfry runs is read whole: its
            // first lines were written before the scan saw it.
            None => 0,
        };
        match Tailer::open(f.id, f.path.clone(), si, &source.config, offset) {
            Ok(mut t) => {
                // A row that still names a pending batch is rewritten.
                t.saved = stored
                    .filter(|p| p.pending.is_none())
                    .map(|p| p.offset)
                    .filter(|o| *o == offset);
                self.logged.remove(&f.path);
                tracing::debug!(path = %f.path.display(), offset, "tailing log file");
                self.tailers.insert(f.id, t);
            }
            Err(e) => {
                self.metrics.errors.with(&["open"]).inc();
                if self.logged.insert(f.path.clone()) {
                    tracing::warn!(path = %f.path.display(), error = %e, "cannot open a log file");
                }
            }
        }
    }

    fn poll_all(&mut self) {
        let ids: Vec<FileId> = self.tailers.keys().copied().collect();
        for id in ids {
            if self.stop.is_set() {
                return;
            }
            // Taken out of the map while it is read, so a full batch can be
            // flushed (which saves every file's position) midway.
            let Some(mut t) = self.tailers.remove(&id) else {
                continue;
            };
            if self.poll_one(&mut t) {
                self.tailers.insert(id, t);
            } else {
                self.metrics.rotations.inc();
                self.forget.push(id);
                self.metrics.watched.set(self.tailers.len() as f64);
            }
        }
    }

    /// Reads one file; false once it is finished and closed.
    fn poll_one(&mut self, t: &mut Tailer) -> bool {
        let now = Instant::now();
        let source = &self.sources[t.source];
        let batch_lines = usize::try_from(source.config.batch_lines).unwrap_or(usize::MAX);
        let mut out = Vec::new();
        match t.check_truncated(now, &mut out) {
            Ok(false) => {}
            Ok(true) => {
                self.metrics.truncations.inc();
                tracing::info!(path = %t.path.display(), "log file was truncated; reading it from the start");
            }
            Err(e) => self.read_failed(t, "read", &e),
        }
        let mut at_end = false;
        while !self.stop.is_set() {
            let read = match t.read() {
                Ok(r) => r,
                Err(e) => {
                    self.read_failed(t, "read", &e);
                    break;
                }
            };
            if std::mem::take(&mut t.failing) {
                self.logged.remove(&t.path);
            }
            self.metrics.bytes_read.add(read.bytes);
            self.metrics.lines_truncated.add(read.truncated);
            for line in read.lines {
                t.feed(line, now, &mut out, &self.metrics);
                if self.batch.len() + out.len() >= batch_lines {
                    self.take_records(t, &mut out);
                    if !self.flush(Some(t)) {
                        return true;
                    }
                }
            }
            if read.at_end {
                at_end = true;
                break;
            }
        }
        t.flush_due(now, &mut out);
        let mut open = true;
        if at_end && t.gone_since.is_none() {
            // Renamed or deleted at the end of what was written: look for
            // the file that took its name now rather than at the next scan.
            let same = std::fs::metadata(&t.path).is_ok_and(|m| FileId::of(&m) == t.id);
            self.rescan_now |= !same;
        }
        if at_end && t.gone_since.is_some_and(|g| g.elapsed() >= GONE_GRACE) {
            t.finish(now, &mut out, &self.metrics);
            tracing::debug!(path = %t.path.display(), "log file rotated away or deleted and read to its end; closing it");
            open = false;
        }
        self.take_records(t, &mut out);
        open
    }

    fn read_failed(&mut self, t: &mut Tailer, op: &str, e: &std::io::Error) {
        self.metrics.errors.with(&[op]).inc();
        t.failing = true;
        if self.logged.insert(t.path.clone()) {
            tracing::warn!(path = %t.path.display(), error = %e, "cannot read a log file");
        }
    }

    fn take_records(&mut self, t: &Tailer, out: &mut Vec<FileLine>) {
        let source = &self.sources[t.source];
        let mut labels = source.labels.clone();
        labels.push(("filename".into(), t.path.display().to_string()));
        for record in out.drain(..) {
            if record.text.trim().is_empty() {
                continue;
            }
            self.batch.push(to_entry(source.config.format, record, &labels));
            self.in_batch.insert(t.id);
        }
    }

    /// Sends the batch and, once the store has it, saves positions. False
    /// when stopped before the store took it (positions stay as they were,
    /// so the batch is read again after the restart).
    fn flush(&mut self, mut current: Option<&mut Tailer>) -> bool {
        if !self.batch.is_empty() {
            let marker = batch_marker();
            if let Some(last) = self.batch.last_mut() {
                last.fields.insert(BATCH_MARKER_FIELD.into(), marker.into());
            }
            let intents = self.intents(current.as_deref(), marker);
            while let Err(e) = self.positions.save(&intents, &[]) {
                self.metrics.errors.with(&["position"]).inc();
                tracing::error!(error = %e, "cannot record a pending log file batch; retrying");
                if self.stop.wait(RETRY_WAIT) {
                    return false;
                }
            }
        }
        while !self.batch.is_empty() {
            match self.store.ingest(SOURCE, self.batch.clone()) {
                Ok(report) => {
                    for (i, reason) in report.rejected.iter().take(3) {
                        tracing::debug!(record = i, reason, "log file record refused by the store");
                    }
                    self.batch.clear();
                    self.in_batch.clear();
                }
                Err(e) => {
                    let wait = match &e {
                        LogsError::Backpressure { retry_after_secs, .. } => {
                            Duration::from_secs(*retry_after_secs).min(RETRY_WAIT)
                        }
                        _ => {
                            tracing::warn!(error = %e, records = self.batch.len(), "cannot store log file records; retrying");
                            RETRY_WAIT
                        }
                    };
                    if self.stop.wait(wait) {
                        return false;
                    }
                }
            }
        }
        self.save_positions(current.take());
        true
    }

    /// The rows of the files in the batch, naming it as pending.
    fn intents(&self, current: Option<&Tailer>, marker: u64) -> Vec<(FileId, Position)> {
        self.tailers
            .values()
            .chain(current)
            .filter(|t| self.in_batch.contains(&t.id))
            .map(|t| {
                (
                    t.id,
                    Position {
                        path: t.path.display().to_string(),
                        offset: t.saved.unwrap_or(t.initial),
                        pending: Some(PendingBatch {
                            offset: t.safe_offset(),
                            batch: marker,
                        }),
                    },
                )
            })
            .collect()
    }

    fn save_positions(&mut self, current: Option<&mut Tailer>) {
        let mut put = Vec::new();
        let mut changed: Vec<&mut Tailer> = Vec::new();
        for t in self.tailers.values_mut().chain(current) {
            let offset = t.safe_offset();
            if t.saved != Some(offset) {
                put.push((
                    t.id,
                    Position {
                        path: t.path.display().to_string(),
                        offset,
                        pending: None,
                    },
                ));
                changed.push(t);
            }
        }
        match self.positions.save(&put, &self.forget) {
            Ok(()) => {
                for (t, (_, pos)) in changed.into_iter().zip(&put) {
                    t.saved = Some(pos.offset);
                }
                self.forget.clear();
            }
            Err(e) => {
                self.metrics.errors.with(&["position"]).inc();
                tracing::error!(error = %e, "cannot save log file positions; they are saved with the next batch");
            }
        }
    }
}

/// A marker no other batch has: the time and a counter, hashed, kept
/// positive so the index stores it as the number it searches for.
fn batch_marker() -> u64 {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let mut bytes = [0u8; 24];
    bytes[..16].copy_from_slice(&now.to_le_bytes());
    bytes[16..].copy_from_slice(&n.to_le_bytes());
    (xxhash_rust::xxh3::xxh3_64(&bytes) >> 1).max(1)
}

/// Resolves the batches a crash left pending: each one the store holds
/// moves its files' positions past it. Blocking (searches the store).
fn settle_pending(store: &LogStore, stored: &mut HashMap<FileId, Position>) {
    let mut found: HashMap<u64, bool> = HashMap::new();
    for pos in stored.values_mut() {
        let Some(pending) = pos.pending else {
            continue;
        };
        let stored_batch = *found
            .entry(pending.batch)
            .or_insert_with(|| batch_is_stored(store, pending.batch));
        if stored_batch {
            pos.offset = pending.offset;
        }
        tracing::info!(path = %pos.path, stored = stored_batch, offset = pos.offset,
            "settled a log file batch pending at the last stop");
    }
}

fn batch_is_stored(store: &LogStore, marker: u64) -> bool {
    let query = SearchQuery {
        text: String::new(),
        start_ns: 0,
        end_ns: i64::MAX,
        filters: vec![Filter::Field(BATCH_MARKER_FIELD.into(), marker.to_string())],
        limit: 1,
        offset: 0,
        buckets: 1,
    };
    match store.search(&query, &ReadBudget::unlimited()) {
        Ok(result) => result.total > 0,
        Err(e) => {
            // Not knowing, reading the batch again repeats it rather than
            // losing it.
            tracing::warn!(error = %e, "cannot look for a pending log file batch in the store; reading it again");
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::LogStoreOptions;

    fn stores(dir: &std::path::Path) -> (Arc<LogStore>, Arc<StateStore>, Arc<Registry>) {
        let registry = Registry::new();
        let opts = LogStoreOptions {
            retention_interval: None,
            ..LogStoreOptions::default()
        };
        let logs = Arc::new(LogStore::open(&dir.join("logs"), opts, &registry).unwrap());
        (logs, StateStore::open(dir).unwrap(), registry)
    }

    fn count(store: &LogStore) -> u64 {
        store.flush().unwrap();
        let q = SearchQuery {
            text: String::new(),
            start_ns: 0,
            end_ns: i64::MAX,
            filters: vec![],
            limit: 1,
            offset: 0,
            buckets: 1,
        };
        store.search(&q, &ReadBudget::unlimited()).unwrap().total
    }

    #[test]
    fn a_pending_batch_moves_the_position_only_when_the_store_has_it() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _state, _registry) = stores(dir.path());
        let stored_marker = batch_marker();
        let lost_marker = batch_marker();
        assert_ne!(stored_marker, lost_marker);
        let mut entry = Entry {
            line: "stored before the crash".into(),
            ..Entry::default()
        };
        entry
            .fields
            .insert(BATCH_MARKER_FIELD.into(), stored_marker.into());
        store.ingest(SOURCE, vec![entry]).unwrap();
        store.flush().unwrap();

        let row = |batch| Position {
            path: "/var/log/a.log".into(),
            offset: 10,
            pending: Some(PendingBatch { offset: 50, batch }),
        };
        let a = FileId { dev: 1, ino: 1 };
        let b = FileId { dev: 1, ino: 2 };
        let mut rows = HashMap::from([(a, row(stored_marker)), (b, row(lost_marker))]);
        settle_pending(&store, &mut rows);
        assert_eq!(rows[&a].offset, 50, "the batch is in the store: go on after it");
        assert_eq!(
            rows[&b].offset, 10,
            "the batch never reached the store: read it again"
        );
    }

    #[test]
    fn a_clean_stop_saves_the_position_after_the_last_stored_line() {
        let dir = tempfile::tempdir().unwrap();
        let (store, state, registry) = stores(dir.path());
        let log = dir.path().join("app.log");
        std::fs::write(&log, "{\"msg\":\"one\"}\n{\"msg\":\"two\"}\npartial").unwrap();
        let config: FileSourceConfig = serde_norway::from_str(&format!(
            "paths: ['{}']\npoll_interval: 20ms\nrescan_interval: 50ms",
            log.display()
        ))
        .unwrap();
        let tailing = FileTailing::new(store.clone(), state.clone(), &registry);
        tailing.apply(std::slice::from_ref(&config)).unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while count(&store) < 2 {
            assert!(Instant::now() < deadline, "the lines never arrived");
            std::thread::sleep(Duration::from_millis(20));
        }
        tailing.stop();
        let rows = Positions::new(state).load().unwrap();
        let row = rows.values().next().unwrap();
        assert_eq!(row.offset, 28, "up to the unfinished line");
        assert_eq!(row.pending, None);
        assert_eq!(count(&store), 2);
    }

    #[test]
    fn open_files_are_limited_and_a_deleted_file_is_read_to_its_end_and_closed() {
        let dir = tempfile::tempdir().unwrap();
        let (store, state, registry) = stores(dir.path());
        let logs = dir.path().join("lms");
        std::fs::create_dir(&logs).unwrap();
        std::fs::write(logs.join("a.log"), "{\"msg\":\"a\"}\n").unwrap();
        std::fs::write(logs.join("b.log"), "{\"msg\":\"b\"}\n").unwrap();
        let config: FileSourceConfig = serde_norway::from_str(&format!(
            "paths: ['{}/*.log']\nmax_open_files: 1\npoll_interval: 20ms\nrescan_interval: 50ms",
            logs.display()
        ))
        .unwrap();
        let tailing = FileTailing::new(store.clone(), state.clone(), &registry);
        tailing.apply(std::slice::from_ref(&config)).unwrap();
        let wait = |what: &str, ok: &dyn Fn() -> bool| {
            let deadline = Instant::now() + Duration::from_secs(10);
            while !ok() {
                assert!(Instant::now() < deadline, "timed out waiting for {what}");
                std::thread::sleep(Duration::from_millis(20));
            }
        };
        let counter = |name: &str| registry.counter(name, "").get();
        wait("a.log", &|| count(&store) == 1);
        assert_eq!(counter("belfry_logs_files_open_limit_total"), 1);
        assert_eq!(registry.gauge("belfry_logs_files_watched", "").get(), 1.0);

        // a.log goes: its last line (no newline yet) is still read, then
        // it is closed and b.log takes its place.
        let mut a = std::fs::OpenOptions::new()
            .append(true)
            .open(logs.join("a.log"))
            .unwrap();
        std::fs::remove_file(logs.join("a.log")).unwrap();
        std::io::Write::write_all(&mut a, b"{\"msg\":\"a last\"}").unwrap();
        wait("a.log to close and b.log to open", &|| count(&store) == 3);
        assert_eq!(counter("belfry_logs_files_rotations_total"), 1);
        tailing.stop();
        let rows = Positions::new(state).load().unwrap();
        assert_eq!(rows.len(), 1, "only b.log keeps a position: {rows:?}");
        assert_eq!(
            rows.values().next().unwrap().path,
            logs.join("b.log").display().to_string()
        );
    }
}
