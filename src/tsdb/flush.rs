//! Persisting the head: sealed chunks (and idle open ones) are written to
//! redb in one transaction with any new series rows; once committed they
//! leave memory and the WAL is checkpointed to what is still unpersisted.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::StorageError;
use super::chunk::{decode_chunk_into, encode_pco};
use super::db::Inner;
use super::head::{CHUNK_MAX_SAMPLES, CHUNK_MAX_SPAN_MS, MemSeries, SealedChunk};
use super::store::StoreWriter;
use super::store::layout::ChunkHeader;
use super::u64_map::U64Map;
use super::wal::{CheckpointKeep, TimeSpan};

/// Open chunks whose first sample is this far behind the newest sample in
/// the head are sealed even if not full, so idle series do not pin the WAL.
const IDLE_SEAL_MS: i64 = CHUNK_MAX_SPAN_MS;

struct Work {
    series: Arc<MemSeries>,
    chunks: Vec<SealedChunk>,
    /// Whether its `series` row is still to be written. The labels are
    /// spelled out one series at a time while writing: materialising them
    /// all first (100k+ series after a start) took as much memory again
    /// as the head itself, and the allocator kept it.
    new_row: bool,
}

impl Inner {
    /// Writes sealed head chunks to redb; with `seal_all`, open chunks too
    /// (used by `close`). Returns the number of chunks written.
    pub(crate) fn persist_head(&self, seal_all: bool) -> Result<usize, StorageError> {
        let maint = self.maintenance_lock.lock();
        let idle_before = self.head.max_t().saturating_sub(IDLE_SEAL_MS);
        let (work, next_ref) = {
            let idx = self.head.index.read();
            let mut work = Vec::new();
            for s in idx.series() {
                let mut st = s.state.lock();
                // Idle, or full and only waiting for the next sample to cut it.
                let idle = st.open.as_ref().is_some_and(|c| {
                    c.first_time().is_some_and(|f| f < idle_before) || c.num_samples() >= CHUNK_MAX_SAMPLES
                });
                if seal_all || idle {
                    st.seal_open();
                }
                // A series' row waits for its first chunk: until then its
                // labels are in the WAL, and a row per series scraped once
                // cost more disk than the samples of a young store.
                if st.sealed.is_empty() {
                    continue;
                }
                work.push(Work {
                    series: s.clone(),
                    chunks: st.sealed.clone(),
                    new_row: !st.row_persisted,
                });
            }
            (work, idx.next_ref())
        };

        let mut written = 0;
        if !work.is_empty() {
            let txn = self.store.begin_write()?;
            let mut scratch = Vec::new();
            {
                let mut w = StoreWriter::new(&txn)?;
                for item in &work {
                    let r = item.series.series_ref;
                    if item.new_row {
                        let labels = self.head.index.read().labels_of(&item.series);
                        w.put_series(r, &labels)?;
                    }
                    for c in &item.chunks {
                        let header = ChunkHeader {
                            max_t: c.max_t,
                            num_samples: c.num_samples,
                        };
                        let bytes = smaller_encoding(&c.bytes, &mut scratch);
                        w.put_chunk(r, c.min_t, header, bytes.as_deref().unwrap_or(&c.bytes))?;
                        written += 1;
                    }
                    if !item.chunks.is_empty() {
                        let old = item.series.state.lock().persisted;
                        w.put_range(r, merged_range(old, &item.chunks))?;
                    }
                }
                w.set_next_ref(next_ref)?;
            }
            txn.commit()?;

            // Committed: drop the chunks from memory. Only this (maintenance-
            // locked) code and backfill remove sealed chunks, and appends only
            // add at the back, so they are still at the front.
            for item in &work {
                let mut st = item.series.state.lock();
                let n = item.chunks.len().min(st.sealed.len());
                st.sealed.drain(..n);
                if !item.chunks.is_empty() {
                    st.persisted = merged_range(st.persisted, &item.chunks);
                }
                st.row_persisted = true;
            }
            self.persisted_chunks.fetch_add(written as u64, Ordering::Relaxed);
            self.metrics.chunks_persisted.add(written as u64);
            self.metrics.head_chunks.add(-(written as f64));
        }
        // The checkpoint takes the commit lock, which comes before the
        // maintenance lock (backfill holds both): holding this one across
        // it deadlocked against a backfill.
        drop(maint);
        self.checkpoint_wal()?;
        Ok(written)
    }

    /// Trims the WAL to samples not yet persisted and series rows not yet
    /// written.
    fn checkpoint_wal(&self) -> Result<(), StorageError> {
        // Under the commit lock every commit so far is applied to the head
        // and none is in flight: closing the segment there leaves every
        // record before it described by the head as it is from then on
        // (later commits go to later segments). Refs from `floor` on may
        // not be in the index yet. The commit lock comes before the WAL's
        // (as in a commit), and `close` takes the WAL's exclusively while
        // holding the commit lock.
        // The snapshot of where each series' unpersisted samples begin
        // serves the checkpoint too: persisting since only moves those
        // later, so it keeps at most a little more than it must.
        let (before, floor, unpersisted) = {
            let _commit = self.commit_lock.write();
            let wal = self.wal.read();
            let Some(wal) = wal.as_ref() else {
                return Ok(());
            };
            let unpersisted = self.first_unpersisted();
            let before = wal.roll_if(&|span| unpersisted.droppable_share(span) >= 0.5)?;
            (before, self.head.index.read().next_ref(), unpersisted)
        };
        let series = |r: u64| -> bool {
            if r >= floor {
                return true;
            }
            let idx = self.head.index.read();
            idx.get(r).is_some_and(|s| !s.state.lock().row_persisted)
        };
        // Per series, so that one series still filling its chunk (another
        // target's, scraped at other moments) keeps only its own samples.
        let samples = |r: u64, t: i64| -> bool {
            r >= floor || unpersisted.by_ref.get(&r).is_some_and(|&first| t >= first)
        };
        let wal = self.wal.read();
        let Some(wal) = wal.as_ref() else {
            return Ok(());
        };
        wal.checkpoint_before(
            &CheckpointKeep {
                series: Box::new(series),
                samples: Box::new(samples),
            },
            before,
            &|span| unpersisted.droppable_share(span) >= 0.25,
        )?;
        Ok(())
    }

    /// Per series in the head, the timestamp of its first sample held only
    /// in memory (`i64::MAX` when it has none).
    fn first_unpersisted(&self) -> Unpersisted {
        let idx = self.head.index.read();
        let mut by_ref = U64Map::default();
        let mut firsts = Vec::new();
        for s in idx.series() {
            let first = s.state.lock().first_unpersisted_t().unwrap_or(i64::MAX);
            by_ref.insert(s.series_ref, first);
            firsts.push(first);
        }
        Unpersisted { by_ref, firsts }
    }
}

/// Where each series' unpersisted samples begin.
struct Unpersisted {
    by_ref: U64Map<i64>,
    firsts: Vec<i64>,
}

impl Unpersisted {
    /// About what share of a segment's samples a checkpoint could drop,
    /// given the time span they cover: series are scraped evenly, so a
    /// series' share is the part of the span before its first unpersisted
    /// sample.
    fn droppable_share(&self, (lo, hi): TimeSpan) -> f64 {
        if self.firsts.is_empty() {
            return 1.0;
        }
        let width = hi as f64 - lo as f64 + 1.0;
        let sum: f64 = self
            .firsts
            .iter()
            .map(|&first| ((first as f64 - lo as f64) / width).clamp(0.0, 1.0))
            .sum();
        sum / self.firsts.len() as f64
    }
}

/// A head chunk as pco when that is smaller, which it mostly is even at
/// 120 samples: on node-exporter-like data about 1.8 bytes a sample
/// against 3.5-5 as XOR. Persisted chunks are what a young store's disk
/// holds until the compactor merges them into long pco runs (it merges
/// these short ones too), so this is what keeps it small in its first
/// hours. `None` keeps the XOR bytes (also when they do not decode, which
/// the head's own chunks always do).
fn smaller_encoding(xor: &[u8], scratch: &mut Vec<(i64, f64)>) -> Option<Vec<u8>> {
    scratch.clear();
    decode_chunk_into(xor, scratch).ok()?;
    let (ts, vs): (Vec<i64>, Vec<f64>) = scratch.iter().copied().unzip();
    let pco = encode_pco(&ts, &vs).ok()?;
    (pco.len() < xor.len()).then_some(pco)
}

fn merged_range(old: Option<(i64, i64)>, chunks: &[SealedChunk]) -> Option<(i64, i64)> {
    let lo = chunks.iter().map(|c| c.min_t).min()?;
    let hi = chunks.iter().map(|c| c.max_t).max()?;
    Some(match old {
        Some((a, b)) => (a.min(lo), b.max(hi)),
        None => (lo, hi),
    })
}
