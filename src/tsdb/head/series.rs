//! One series in memory: its interned labels and, behind a mutex, the open
//! XOR chunk, sealed chunks waiting to be persisted, the last sample (for
//! append validation) and the time range already persisted in redb.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU8, AtomicU64, Ordering};

use crate::tsdb::chunk::XorChunk;
use crate::tsdb::index::LabelPairs;
use crate::tsdb::validate::LastSample;

use super::SeriesMutex;

/// Head chunks are cut at this many samples, as in Prometheus.
pub(crate) const CHUNK_MAX_SAMPLES: usize = 120;
/// ... or when a chunk would span more than this (2 h).
pub(crate) const CHUNK_MAX_SPAN_MS: i64 = 2 * 60 * 60 * 1000;

pub(crate) struct MemSeries {
    pub series_ref: u64,
    pub hash: u64,
    pub pairs: LabelPairs,
    pub published: Published,
    pub state: SeriesMutex<SeriesState>,
}

/// What appenders read without taking the series lock: the last sample
/// (what a new one is checked against) and whether retention removed the
/// series. Written only with `state` locked, so a reader holding the lock
/// sees it exactly; a reader without it may see the last sample of one
/// commit with the value of the next, which only affects an early check
/// that the commit repeats under the lock.
#[derive(Default)]
pub(crate) struct Published {
    t: AtomicI64,
    value: AtomicU64,
    flags: AtomicU8,
}

const HAS_LAST: u8 = 1;
const HAS_VALUE: u8 = 2;
const REMOVED: u8 = 4;

impl Published {
    pub(crate) fn last(&self) -> Option<LastSample> {
        let flags = self.flags.load(Ordering::Acquire);
        if flags & HAS_LAST == 0 {
            return None;
        }
        Some(LastSample {
            t: self.t.load(Ordering::Relaxed),
            value: (flags & HAS_VALUE != 0).then(|| self.value.load(Ordering::Relaxed)),
        })
    }

    /// The caller holds the series lock.
    pub(crate) fn set_last(&self, last: Option<LastSample>) {
        let mut flags = self.flags.load(Ordering::Relaxed) & REMOVED;
        if let Some(l) = last {
            self.t.store(l.t, Ordering::Relaxed);
            flags |= HAS_LAST;
            if let Some(v) = l.value {
                self.value.store(v, Ordering::Relaxed);
                flags |= HAS_VALUE;
            }
        }
        self.flags.store(flags, Ordering::Release);
    }

    pub(crate) fn is_removed(&self) -> bool {
        self.flags.load(Ordering::Acquire) & REMOVED != 0
    }

    /// The caller holds the series lock (and the exclusive commit lock).
    pub(crate) fn mark_removed(&self) {
        let flags = self.flags.load(Ordering::Relaxed);
        self.flags.store(flags | REMOVED, Ordering::Release);
    }
}

/// An immutable chunk cut from the head, shared with queries by `Arc`.
#[derive(Clone)]
pub(crate) struct SealedChunk {
    pub min_t: i64,
    pub max_t: i64,
    pub num_samples: u32,
    pub bytes: Arc<[u8]>,
}

#[derive(Default)]
pub(crate) struct SeriesState {
    pub open: Option<XorChunk>,
    /// Oldest first; removed once persisted.
    pub sealed: Vec<SealedChunk>,
    /// `(min, max)` of the samples persisted in redb.
    pub persisted: Option<(i64, i64)>,
    /// Whether the `series` row is in redb (then the WAL need not keep it).
    pub row_persisted: bool,
}

/// What an append did to the head's chunk count.
pub(crate) struct AppendEffect {
    pub chunks_opened: usize,
}

impl SeriesState {
    /// Appends a validated sample, cutting the open chunk when it is full
    /// or would span too long. The caller publishes the new last sample.
    pub(crate) fn append(&mut self, t: i64, v: f64) -> AppendEffect {
        let mut opened = 0;
        let must_cut = self.open.as_ref().is_some_and(|c| {
            c.num_samples() >= CHUNK_MAX_SAMPLES || c.first_time().is_some_and(|f| t - f > CHUNK_MAX_SPAN_MS)
        });
        if must_cut && let Some(buf) = self.seal_open_keeping_buffer() {
            // Growing a fresh buffer step by step to a full chunk's size
            // cost more than the rest of the encoding.
            self.open = Some(XorChunk::in_buffer(buf));
            opened += 1;
        }
        let chunk = self.open.get_or_insert_with(|| {
            opened += 1;
            XorChunk::new()
        });
        chunk.append(t, v);
        AppendEffect {
            chunks_opened: opened,
        }
    }

    /// Moves the open chunk (if any) to the sealed list.
    pub(crate) fn seal_open(&mut self) -> bool {
        self.seal_open_keeping_buffer().is_some()
    }

    /// Seals the open chunk (if it holds samples) into an exactly sized
    /// copy and returns its buffer for the next chunk to reuse.
    fn seal_open_keeping_buffer(&mut self) -> Option<Vec<u8>> {
        let chunk = self.open.take()?;
        let (Some(min_t), Some(max_t)) = (chunk.first_time(), chunk.last_time()) else {
            return None;
        };
        let num_samples = chunk.num_samples() as u32;
        let buf = chunk.into_bytes();
        self.sealed.push(SealedChunk {
            min_t,
            max_t,
            num_samples,
            bytes: Arc::from(&buf[..]),
        });
        Some(buf)
    }

    pub(crate) fn num_head_chunks(&self) -> usize {
        self.sealed.len() + usize::from(self.open.is_some())
    }

    /// The oldest sample not yet persisted.
    pub(crate) fn first_unpersisted_t(&self) -> Option<i64> {
        self.sealed
            .first()
            .map(|c| c.min_t)
            .or_else(|| self.open.as_ref().and_then(|c| c.first_time()))
    }

    pub(crate) fn head_range(&self) -> Option<(i64, i64)> {
        let min = self.first_unpersisted_t()?;
        let max = self
            .open
            .as_ref()
            .and_then(|c| c.last_time())
            .or_else(|| self.sealed.last().map(|c| c.max_t))?;
        Some((min, max))
    }

    /// Whether any sample, in memory or persisted, lies in `[mint, maxt]`.
    pub(crate) fn overlaps(&self, mint: i64, maxt: i64) -> bool {
        let hit = |r: Option<(i64, i64)>| r.is_some_and(|(lo, hi)| lo <= maxt && hi >= mint);
        hit(self.persisted) || hit(self.head_range())
    }

    /// Whether the series holds nothing at all (retention may drop it).
    pub(crate) fn is_empty(&self) -> bool {
        self.persisted.is_none() && self.open.is_none() && self.sealed.is_empty()
    }

    /// Copies of the head chunks overlapping `[mint, maxt]`, oldest first,
    /// so a query can iterate them without holding the series lock.
    pub(crate) fn head_chunks_in(&self, mint: i64, maxt: i64) -> Vec<SealedChunk> {
        let mut out: Vec<SealedChunk> = self
            .sealed
            .iter()
            .filter(|c| c.min_t <= maxt && c.max_t >= mint)
            .cloned()
            .collect();
        if let Some(open) = &self.open
            && let (Some(min_t), Some(max_t)) = (open.first_time(), open.last_time())
            && min_t <= maxt
            && max_t >= mint
        {
            out.push(SealedChunk {
                min_t,
                max_t,
                num_samples: open.num_samples() as u32,
                bytes: Arc::from(open.bytes()),
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_at_120_samples_and_at_two_hours() {
        let mut s = SeriesState::default();
        let mut opened = 0;
        for i in 0..250 {
            opened += s.append(i * 1000, i as f64).chunks_opened;
        }
        assert_eq!(opened, 3);
        assert_eq!(s.sealed.len(), 2);
        assert_eq!(s.sealed[1].min_t, 120_000);
        assert_eq!(s.sealed[1].num_samples, 120);
        s.append(250_000 + CHUNK_MAX_SPAN_MS, 1.0);
        assert_eq!(s.sealed.len(), 3);
        assert_eq!(s.first_unpersisted_t(), Some(0));
        assert_eq!(s.head_range(), Some((0, 250_000 + CHUNK_MAX_SPAN_MS)));
        assert!(s.overlaps(5, 6));
        assert_eq!(s.head_chunks_in(119_000, 121_000).len(), 2);
    }
}
