//! Reading: select series through the postings, then per series a lazy
//! iterator that decodes persisted chunks one at a time from a redb read
//! transaction, merged with copies of its head chunks, within `[mint, maxt]`.
//!
//! Head chunks are copied *before* the read transaction starts: a chunk the
//! persister moves in between is then seen twice (and deduplicated by
//! timestamp), never zero times.

use std::collections::{BTreeSet, VecDeque};
use std::sync::Arc;

use redb::ReadOnlyTable;

use crate::model::{Labels, Matcher};

use super::chunk::ChunkError;
use super::db::Inner;
use super::head::SealedChunk;
use super::store::layout::{self, CHUNKS, ChunkKey};
use super::{Querier, RecordKey, SampleIter, SelectedSeries, StorageError};

type ChunkTable = ReadOnlyTable<&'static ChunkKey, &'static [u8]>;

pub(crate) struct TsdbQuerier {
    db: Arc<Inner>,
}

/// A selected series before its persisted chunks are listed.
struct Picked {
    labels: Labels,
    series_ref: u64,
    head: Vec<SealedChunk>,
    persisted: bool,
}

impl TsdbQuerier {
    pub(crate) fn new(db: Arc<Inner>) -> Self {
        TsdbQuerier { db }
    }

    /// Labels of the series matching `matchers` (all series when empty)
    /// with data in `[mint, maxt]`.
    fn matching_labels(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Vec<Labels> {
        let idx = self.db.head.index.read();
        idx.labels
            .select(matchers)
            .iter()
            .filter_map(|r| idx.get(r))
            .filter(|s| s.state.lock().overlaps(mint, maxt))
            .map(|s| idx.labels_of(s))
            .collect()
    }

    /// Whether the time range covers all data (so postings alone answer).
    fn covers_everything(&self, mint: i64, maxt: i64) -> bool {
        mint == i64::MIN && maxt == i64::MAX
    }
}

impl Querier for TsdbQuerier {
    fn select(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<SelectedSeries>, StorageError> {
        if mint > maxt {
            return Ok(Vec::new());
        }
        let mut picked: Vec<Picked> = {
            let idx = self.db.head.index.read();
            let mut out = Vec::new();
            for r in idx.labels.select(matchers).iter() {
                let Some(s) = idx.get(r) else { continue };
                let st = s.state.lock();
                if !st.overlaps(mint, maxt) {
                    continue;
                }
                let persisted = st.persisted.is_some_and(|(lo, hi)| lo <= maxt && hi >= mint);
                let head = st.head_chunks_in(mint, maxt);
                drop(st);
                out.push(Picked {
                    labels: idx.labels_of(s),
                    series_ref: r,
                    head,
                    persisted,
                });
            }
            out
        };
        picked.sort_by(|a, b| a.labels.cmp(&b.labels));

        let table = if picked.iter().any(|p| p.persisted) {
            let txn = self.db.store.begin_read()?;
            Some(Arc::new(txn.open_table(CHUNKS)?))
        } else {
            None
        };
        let mut out = Vec::with_capacity(picked.len());
        for p in picked {
            let first = match (&table, p.persisted) {
                (Some(table), true) => first_persisted_chunk(table, p.series_ref, mint, maxt)?,
                _ => None,
            };
            if first.is_none() && p.head.is_empty() {
                continue;
            }
            let persisted = PersistedStream {
                table: table.clone(),
                series_ref: p.series_ref,
                from: first,
                cur: Decoded::default(),
                lower: mint,
                maxt,
                runs: false,
            };
            let head = HeadStream {
                chunks: p.head.into(),
                cur: Decoded::default(),
                lower: mint,
                maxt,
            };
            out.push(SelectedSeries {
                labels: p.labels,
                samples: Box::new(MergedIter {
                    persisted,
                    head,
                    peek_p: None,
                    peek_h: None,
                    started: false,
                }),
            });
        }
        Ok(out)
    }

    fn label_names(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Result<Vec<String>, StorageError> {
        if matchers.is_empty() && self.covers_everything(mint, maxt) {
            return Ok(self.db.head.index.read().labels.all_label_names());
        }
        let mut names = BTreeSet::new();
        for labels in self.matching_labels(matchers, mint, maxt) {
            for l in labels.into_vec() {
                names.insert(l.name);
            }
        }
        Ok(names.into_iter().collect())
    }

    fn label_values(
        &self,
        name: &str,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<String>, StorageError> {
        if matchers.is_empty() && self.covers_everything(mint, maxt) {
            let idx = self.db.head.index.read();
            let mut values: Vec<String> = idx
                .labels
                .label_values(name)
                .into_iter()
                .map(|(v, _)| v.to_string())
                .collect();
            values.sort();
            return Ok(values);
        }
        let mut values = BTreeSet::new();
        for labels in self.matching_labels(matchers, mint, maxt) {
            if let Some(v) = labels.get(name) {
                values.insert(v.to_string());
            }
        }
        Ok(values.into_iter().collect())
    }
}

/// The start time of the first persisted chunk of a series that overlaps
/// `[mint, maxt]`, if any: the chunks themselves are listed as they are
/// read, so selection costs at most two lookups per series.
fn first_persisted_chunk(
    table: &ChunkTable,
    series_ref: u64,
    mint: i64,
    maxt: i64,
) -> Result<Option<i64>, StorageError> {
    let header = |k: &ChunkKey, v: &[u8]| -> Result<(i64, i64), StorageError> {
        let (_, min_t) = layout::decode_chunk_key(k);
        let (h, _) =
            layout::decode_chunk_value(v).map_err(|e| e.at(RecordKey::Chunk { series_ref, min_t }))?;
        Ok((min_t, h.max_t))
    };
    // The last chunk starting at or before `mint` may reach into the range.
    let lo = layout::chunk_key(series_ref, i64::MIN);
    let at = layout::chunk_key(series_ref, mint);
    if let Some(entry) = table.range::<&ChunkKey>(&lo..=&at)?.next_back() {
        let (k, v) = entry?;
        let (min_t, max_t) = header(k.value(), v.value())?;
        if max_t >= mint && min_t <= maxt {
            return Ok(Some(min_t));
        }
    }
    if mint < maxt {
        let from = layout::chunk_key(series_ref, mint + 1);
        let to = layout::chunk_key(series_ref, maxt);
        if let Some(entry) = table.range::<&ChunkKey>(&from..=&to)?.next() {
            let (k, v) = entry?;
            return Ok(Some(header(k.value(), v.value())?.0));
        }
    }
    Ok(None)
}

/// The current chunk of a stream, decoded whole into a buffer reused from
/// chunk to chunk, and the read position in it.
#[derive(Default)]
struct Decoded {
    samples: Vec<(i64, f64)>,
    pos: usize,
}

thread_local! {
    /// Decode buffers of finished streams, for the next streams this thread
    /// reads: a query reads thousands of series one after another, and
    /// fresh buffers each time cost page faults and allocator work.
    static SPARE_BUFFERS: std::cell::RefCell<Vec<Vec<(i64, f64)>>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Buffers kept per thread, and the largest kept (in samples).
const SPARE_KEPT: usize = 8;
const SPARE_MAX_CAPACITY: usize = 1 << 16;

impl Drop for Decoded {
    fn drop(&mut self) {
        let mut samples = std::mem::take(&mut self.samples);
        if samples.capacity() == 0 || samples.capacity() > SPARE_MAX_CAPACITY {
            return;
        }
        samples.clear();
        let _ = SPARE_BUFFERS.try_with(|spare| {
            let mut spare = spare.borrow_mut();
            if spare.len() < SPARE_KEPT {
                spare.push(samples);
            }
        });
    }
}

impl Decoded {
    /// Decodes `bytes` after what is held, keeping only samples up to
    /// `maxt`; returns whether the chunk reached past `maxt` (so no later
    /// chunk is needed).
    fn append(&mut self, bytes: &[u8], maxt: i64) -> Result<bool, ChunkError> {
        if self.samples.capacity() == 0 {
            self.samples = SPARE_BUFFERS
                .try_with(|spare| spare.borrow_mut().pop())
                .ok()
                .flatten()
                .unwrap_or_default();
        }
        let from = self.samples.len();
        super::chunk::decode_chunk_into(bytes, &mut self.samples)?;
        let end = from + self.samples[from..].partition_point(|s| s.0 <= maxt);
        let past = end < self.samples.len();
        self.samples.truncate(end);
        Ok(past)
    }

    fn fill(&mut self, bytes: &[u8], maxt: i64) -> Result<bool, ChunkError> {
        self.samples.clear();
        self.pos = 0;
        self.append(bytes, maxt)
    }

    fn skip_before(&mut self, lower: i64) {
        while self.samples.get(self.pos).is_some_and(|s| s.0 < lower) {
            self.pos += 1;
        }
    }

    fn next(&mut self, lower: i64) -> Option<(i64, f64)> {
        self.skip_before(lower);
        let s = self.samples.get(self.pos).copied()?;
        self.pos += 1;
        Some(s)
    }

    /// Appends what is left of the chunk to `out`.
    fn drain_into(&mut self, lower: i64, out: &mut Vec<(i64, f64)>) {
        self.skip_before(lower);
        out.extend_from_slice(&self.samples[self.pos..]);
        self.pos = self.samples.len();
    }
}

/// Samples a batch reader takes per read of the persisted table: a run
/// of consecutive chunks is read with one range scan instead of a B-tree
/// lookup per chunk.
const RUN_SAMPLES: usize = 2048;

/// Persisted chunks of one series, read and decoded one at a time (or a
/// run of them at a time once the reader asks for batches), listed from
/// the table as they are read.
struct PersistedStream {
    table: Option<Arc<ChunkTable>>,
    series_ref: u64,
    /// Start time of the next chunk to read; `None` once past the range.
    from: Option<i64>,
    cur: Decoded,
    lower: i64,
    maxt: i64,
    /// Set once the reader takes batches: then runs of chunks are read.
    runs: bool,
}

impl PersistedStream {
    /// Reads and decodes the chunks from `from` on into `cur`: one chunk,
    /// or in run mode as many as make [`RUN_SAMPLES`]; chunks ending before
    /// `lower` are skipped undecoded.
    fn load(&mut self) {
        let (Some(table), Some(from)) = (self.table.clone(), self.from.take()) else {
            return;
        };
        self.cur.samples.clear();
        self.cur.pos = 0;
        if from > self.maxt {
            return;
        }
        let series_ref = self.series_ref;
        let unreadable = |e: &dyn std::fmt::Display| {
            // A query cannot fail half way through its samples: skip the
            // rest of the series loudly rather than panic or return wrong
            // data silently.
            tracing::error!(series_ref, min_t = from, error = %e, "skipping unreadable persisted chunks");
        };
        let start = layout::chunk_key(series_ref, from);
        let end = layout::chunk_key(series_ref, self.maxt);
        let range = match table.range::<&ChunkKey>(&start..=&end) {
            Ok(r) => r,
            Err(e) => return unreadable(&e),
        };
        let mut full = false;
        for entry in range {
            let (k, v) = match entry {
                Ok(kv) => kv,
                Err(e) => return unreadable(&e),
            };
            let (_, min_t) = layout::decode_chunk_key(k.value());
            if full {
                // The run is complete: the next read starts here.
                self.from = Some(min_t);
                return;
            }
            let (header, bytes) = match layout::decode_chunk_value(v.value()) {
                Ok(hb) => hb,
                Err(e) => return unreadable(&e),
            };
            if header.max_t < self.lower {
                continue;
            }
            match self.cur.append(bytes, self.maxt) {
                Ok(true) => return,
                Ok(false) => {}
                Err(e) => {
                    tracing::error!(series_ref, min_t, error = %e, "skipping unreadable persisted chunk")
                }
            }
            full = !self.runs || self.cur.samples.len() >= RUN_SAMPLES;
        }
    }

    /// Makes `cur` hold an unread sample at or after `lower`, loading
    /// chunks as needed; false when the stream is exhausted.
    fn ready(&mut self) -> bool {
        loop {
            self.cur.skip_before(self.lower);
            if self.cur.pos < self.cur.samples.len() {
                return true;
            }
            if self.from.is_none() {
                return false;
            }
            self.load();
        }
    }

    fn next(&mut self) -> Option<(i64, f64)> {
        if !self.ready() {
            return None;
        }
        self.cur.next(self.lower)
    }

    fn drain_into(&mut self, out: &mut Vec<(i64, f64)>) {
        self.cur.drain_into(self.lower, out);
    }
}

/// Copies of head chunks, decoded one at a time.
struct HeadStream {
    chunks: VecDeque<SealedChunk>,
    cur: Decoded,
    lower: i64,
    maxt: i64,
}

impl HeadStream {
    fn ready(&mut self) -> bool {
        loop {
            self.cur.skip_before(self.lower);
            if self.cur.pos < self.cur.samples.len() {
                return true;
            }
            let Some(c) = self.chunks.pop_front() else {
                return false;
            };
            if c.max_t < self.lower {
                continue;
            }
            match self.cur.fill(&c.bytes, self.maxt) {
                Ok(true) => self.chunks.clear(),
                Ok(false) => {}
                Err(e) => tracing::error!(error = %e, "skipping unreadable head chunk"),
            }
        }
    }

    fn next(&mut self) -> Option<(i64, f64)> {
        if !self.ready() {
            return None;
        }
        self.cur.next(self.lower)
    }

    fn drain_into(&mut self, out: &mut Vec<(i64, f64)>) {
        self.cur.drain_into(self.lower, out);
    }
}

/// Persisted then head samples in time order; a timestamp present in both
/// (a chunk persisted while the query started) is yielded once.
struct MergedIter {
    persisted: PersistedStream,
    head: HeadStream,
    peek_p: Option<(i64, f64)>,
    peek_h: Option<(i64, f64)>,
    started: bool,
}

impl MergedIter {
    fn fill(&mut self) {
        if !self.started {
            self.started = true;
            self.peek_p = self.persisted.next();
            self.peek_h = self.head.next();
        }
    }
}

impl SampleIter for MergedIter {
    fn next(&mut self) -> Option<(i64, f64)> {
        self.fill();
        match (self.peek_p, self.peek_h) {
            (None, None) => None,
            (Some(p), None) => {
                self.peek_p = self.persisted.next();
                Some(p)
            }
            (None, Some(h)) => {
                self.peek_h = self.head.next();
                Some(h)
            }
            (Some(p), Some(h)) => {
                if p.0 <= h.0 {
                    if p.0 == h.0 {
                        self.peek_h = self.head.next();
                    }
                    self.peek_p = self.persisted.next();
                    Some(p)
                } else {
                    self.peek_h = self.head.next();
                    Some(h)
                }
            }
        }
    }

    fn next_batch(&mut self, out: &mut Vec<(i64, f64)>) -> bool {
        self.persisted.runs = true;
        self.fill();
        // While only one side has samples left, its decoded chunk is copied
        // out whole; where both do, samples are merged one by one.
        match (self.peek_p, self.peek_h) {
            (Some(p), None) => {
                out.push(p);
                self.persisted.drain_into(out);
                self.peek_p = self.persisted.next();
                true
            }
            (None, Some(h)) => {
                out.push(h);
                self.head.drain_into(out);
                self.peek_h = self.head.next();
                true
            }
            _ => match self.next() {
                Some(s) => {
                    out.push(s);
                    true
                }
                None => false,
            },
        }
    }

    fn seek(&mut self, t: i64) -> Option<(i64, f64)> {
        // Skip whole chunks that end before `t` without decoding them.
        self.persisted.lower = self.persisted.lower.max(t);
        self.head.lower = self.head.lower.max(t);
        if self.started {
            if self.peek_p.is_some_and(|s| s.0 < t) {
                self.peek_p = self.persisted.next();
            }
            if self.peek_h.is_some_and(|s| s.0 < t) {
                self.peek_h = self.head.next();
            }
        }
        loop {
            let s = self.next()?;
            if s.0 >= t {
                return Some(s);
            }
        }
    }
}
