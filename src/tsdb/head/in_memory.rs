//! The head as the engine holds it: the series index behind its lock, the
//! newest timestamp seen (which bounds how old an append may be), a count
//! of removals appenders check at commit, and a hint sizing new batches.

use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};

use parking_lot::RwLock;

use crate::tsdb::validate;

use super::HeadIndex;

/// Bounds the room an appender makes up front: a large batch after small
/// ones grows as before, and many small batches never hold much.
const MAX_BATCH_HINT: usize = 1024;

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
