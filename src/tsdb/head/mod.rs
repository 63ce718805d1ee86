//! The head: every known series (by label hash, collisions resolved by
//! comparing labels, and by ref), the label index over them, and the newest
//! timestamp seen, which bounds how old an append may be.

mod appender;
mod ref_table;
mod series;
mod series_lock;

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};

use parking_lot::RwLock;
use smallvec::SmallVec;

use crate::model::{Labels, PackedLabels};

use super::index::{LabelIndex, LabelPairs};
use super::validate;

pub(crate) use appender::HeadAppender;
use ref_table::{RefTable, RefTables};
pub(crate) use series::{
    CHUNK_MAX_SAMPLES, CHUNK_MAX_SPAN_MS, MemSeries, Published, SealedChunk, SeriesState,
};
pub(crate) use series_lock::{SeriesGuard, SeriesMutex};

/// Mixes a `u64` key (refs are sequential, label hashes already random).
#[derive(Default)]
pub(crate) struct U64Hasher(u64);

impl Hasher for U64Hasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (n ^ (n >> 29)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

/// Bounds the room an appender makes up front: a large batch after small
/// ones grows as before, and many small batches never hold much.
const MAX_BATCH_HINT: usize = 1024;

pub(crate) type U64Map<V> = HashMap<u64, V, BuildHasherDefault<U64Hasher>>;

#[derive(Default)]
pub(crate) struct HeadIndex {
    pub labels: LabelIndex,
    by_hash: U64Map<SmallVec<[Arc<MemSeries>; 1]>>,
    by_ref: RefTables,
    len: usize,
    /// The next series ref to hand out; refs are never reused. Atomic so an
    /// appender can reserve one for a new series under the read lock.
    next_ref: AtomicU64,
}

impl HeadIndex {
    pub(crate) fn get_by_labels(&self, hash: u64, labels: &Labels) -> Option<&Arc<MemSeries>> {
        self.by_hash
            .get(&hash)?
            .iter()
            .find(|s| self.labels.same_labels(&s.pairs, labels))
    }

    pub(crate) fn get_by_packed(&self, hash: u64, labels: &PackedLabels) -> Option<&Arc<MemSeries>> {
        self.by_hash
            .get(&hash)?
            .iter()
            .find(|s| self.labels.same_packed_labels(&s.pairs, labels))
    }

    pub(crate) fn get(&self, series_ref: u64) -> Option<&Arc<MemSeries>> {
        self.by_ref.current().get(series_ref)
    }

    /// The series by ref as they are now, for an appender to look refs up
    /// in without taking the index lock for each.
    pub(crate) fn ref_snapshot(&self) -> Arc<RefTable> {
        self.by_ref.snapshot()
    }

    /// The lowest ref not handed out yet.
    pub(crate) fn next_ref(&self) -> u64 {
        self.next_ref.load(Ordering::Acquire)
    }

    /// Hands out a fresh ref. It may never name a series (the batch that
    /// reserved it is rolled back): refs are cheap, and never reused.
    pub(crate) fn reserve_ref(&self) -> u64 {
        self.next_ref.fetch_add(1, Ordering::AcqRel)
    }

    /// Makes sure refs below `n` are never handed out (they are on disk).
    pub(crate) fn raise_next_ref(&self, n: u64) {
        self.next_ref.fetch_max(n, Ordering::AcqRel);
    }

    /// Adds a series under a ref the caller allocated (or read from disk).
    pub(crate) fn insert(&mut self, series_ref: u64, labels: &Labels, state: SeriesState) -> Arc<MemSeries> {
        let hash = labels.stable_hash();
        let pairs = self.labels.add_series(series_ref, labels);
        self.add(series_ref, hash, pairs, state)
    }

    /// [`Self::insert`] for packed labels (what a commit creates series from).
    pub(crate) fn insert_packed(&mut self, series_ref: u64, labels: &PackedLabels) -> Arc<MemSeries> {
        let hash = labels.stable_hash();
        let pairs = self.labels.add_packed_series(series_ref, labels);
        self.add(series_ref, hash, pairs, SeriesState::default())
    }

    fn add(&mut self, series_ref: u64, hash: u64, pairs: LabelPairs, state: SeriesState) -> Arc<MemSeries> {
        let series = Arc::new(MemSeries {
            series_ref,
            hash,
            pairs,
            published: Published::default(),
            state: SeriesMutex::new(state),
        });
        self.by_hash.entry(hash).or_default().push(series.clone());
        self.by_ref.insert(series.clone());
        self.len += 1;
        self.raise_next_ref(series_ref + 1);
        series
    }

    /// Drops these series (retention); returns the ones that were here.
    pub(crate) fn remove(&mut self, refs: &[u64]) -> Vec<Arc<MemSeries>> {
        let gone: Vec<Arc<MemSeries>> = refs.iter().filter_map(|&r| self.get(r).cloned()).collect();
        for series in &gone {
            if let Some(list) = self.by_hash.get_mut(&series.hash) {
                list.retain(|s| s.series_ref != series.series_ref);
                if list.is_empty() {
                    self.by_hash.remove(&series.hash);
                }
            }
            self.labels.remove_series(series.series_ref, &series.pairs);
        }
        let found: Vec<u64> = gone.iter().map(|s| s.series_ref).collect();
        self.by_ref.remove(&found);
        self.len -= gone.len();
        gone
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn series(&self) -> impl Iterator<Item = &Arc<MemSeries>> {
        self.by_ref.current().iter()
    }

    pub(crate) fn labels_of(&self, series: &MemSeries) -> Labels {
        self.labels.labels(&series.pairs)
    }
}

pub(crate) struct Head {
    pub index: RwLock<HeadIndex>,
    max_t: AtomicI64,
    /// Counts retention passes that removed series.
    removals: AtomicU64,
    /// Targets in a recent batch, to size the next appender's tables.
    batch_hint: AtomicUsize,
    window_ms: i64,
}

impl Head {
    pub(crate) fn new(window_ms: i64) -> Self {
        Head {
            index: RwLock::new(HeadIndex::default()),
            max_t: AtomicI64::new(i64::MIN),
            removals: AtomicU64::new(0),
            batch_hint: AtomicUsize::new(0),
            window_ms,
        }
    }

    /// The newest timestamp appended (or found at startup); `i64::MIN` if none.
    pub(crate) fn max_t(&self) -> i64 {
        self.max_t.load(Ordering::Acquire)
    }

    pub(crate) fn observe_t(&self, t: i64) {
        self.max_t.fetch_max(t, Ordering::AcqRel);
    }

    /// Changes whenever series are removed (an appender compares it at
    /// commit with what it was when the batch began).
    pub(crate) fn removals(&self) -> u64 {
        self.removals.load(Ordering::Acquire)
    }

    /// Called, under the exclusive commit lock, by whoever removes series.
    pub(crate) fn note_removal(&self) {
        self.removals.fetch_add(1, Ordering::AcqRel);
    }

    /// How many targets a new appender should make room for.
    pub(crate) fn batch_hint(&self) -> usize {
        self.batch_hint.load(Ordering::Relaxed).min(MAX_BATCH_HINT)
    }

    pub(crate) fn note_batch(&self, targets: usize) {
        self.batch_hint.store(targets, Ordering::Relaxed);
    }

    pub(crate) fn min_valid_time(&self) -> i64 {
        validate::min_valid_time(self.max_t(), self.window_ms)
    }
}
