//! Every series of the head, by label hash (collisions resolved by
//! comparing labels) and by ref, with the label index over them and the
//! next ref to hand out.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use smallvec::SmallVec;

use crate::model::{Labels, PackedLabels};
use crate::tsdb::index::{LabelIndex, LabelPairs};

use super::{MemSeries, Published, RefTable, RefTables, SeriesMutex, SeriesState, U64Map};

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
