//! The compactor: runs of persisted XOR chunks older than the horizon are
//! decoded and re-encoded as one long `pco` chunk each, in one write
//! transaction per batch of series. pco's column codecs need hundreds of
//! samples to pay off; the target length is chosen by measurement (see
//! `docs/storage-format.md`).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::chunk::{ChunkKind, OwnedChunkIter, encode_pco};
use super::db::{Inner, millis};
use super::head::MemSeries;
use super::store::StoreWriter;
use super::store::layout::ChunkHeader;
use super::{StorageError, chunk::ChunkError};

/// Samples per pco chunk: 1440 is six hours at a 15 s interval, past the
/// point where longer chunks stop getting smaller per sample.
pub const DEFAULT_TARGET_SAMPLES: usize = 1440;

/// Series compacted per write transaction, bounding its size.
const SERIES_PER_TXN: usize = 512;

/// What one compaction pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct CompactionReport {
    /// pco chunks written.
    pub chunks_written: u64,
    /// XOR chunks they replaced.
    pub chunks_replaced: u64,
    pub samples: u64,
    pub bytes_before: u64,
    pub bytes_after: u64,
}

/// One planned pco chunk: the chunks (by start time) it replaces, XOR
/// chunks and short pco ones (head chunks persisted as pco).
#[derive(Default)]
struct Group {
    starts: Vec<i64>,
    samples: usize,
    /// How many of the chunks are XOR: a group of one pco chunk (what an
    /// earlier compaction wrote) would be rewritten as itself.
    xor: usize,
}

impl Inner {
    pub(crate) fn compact(&self, now_ms: i64) -> Result<CompactionReport, StorageError> {
        let _maint = self.maintenance_lock.lock();
        let horizon = now_ms.saturating_sub(millis(self.opts.compaction_horizon));
        // A short run is compacted anyway once nothing can join it for a
        // whole further horizon (the series went quiet).
        let settled = horizon.saturating_sub(millis(self.opts.compaction_horizon));
        let target = self.opts.compaction_target_samples.max(1);
        let candidates: Vec<Arc<MemSeries>> = {
            let idx = self.head.index.read();
            idx.series()
                .filter(|s| s.state.lock().persisted.is_some_and(|(lo, _)| lo < horizon))
                .cloned()
                .collect()
        };
        let mut report = CompactionReport::default();
        for batch in candidates.chunks(SERIES_PER_TXN) {
            let txn = self.store.begin_write()?;
            let mut replaced_total = 0u64;
            {
                let mut w = StoreWriter::new(&txn)?;
                for s in batch {
                    let r = s.series_ref;
                    let groups = plan(&w, r, horizon, settled, target)?;
                    for g in groups {
                        let (before, after, n) = rewrite(&mut w, r, &g)?;
                        report.chunks_written += 1;
                        report.chunks_replaced += g.starts.len() as u64;
                        replaced_total += g.starts.len() as u64;
                        report.samples += n as u64;
                        report.bytes_before += before as u64;
                        report.bytes_after += after as u64;
                    }
                }
            }
            txn.commit()?;
            self.persisted_chunks.fetch_sub(replaced_total, Ordering::Relaxed);
        }
        self.persisted_chunks
            .fetch_add(report.chunks_written, Ordering::Relaxed);
        self.metrics.compactions.add(report.chunks_written);
        if report.chunks_written > 0 {
            self.reclaim_store_space();
            tracing::info!(
                pco_chunks = report.chunks_written,
                xor_chunks = report.chunks_replaced,
                samples = report.samples,
                bytes_before = report.bytes_before,
                bytes_after = report.bytes_after,
                "compacted chunks"
            );
        }
        Ok(report)
    }
}

/// Splits a series' runs of old XOR chunks into groups of about `target`
/// samples. A trailing group shorter than the target waits for more chunks
/// unless it is settled.
fn plan(
    w: &StoreWriter,
    r: u64,
    horizon: i64,
    settled: i64,
    target: usize,
) -> Result<Vec<Group>, StorageError> {
    let mut groups = Vec::new();
    let mut cur = Group::default();
    let mut cur_max = i64::MIN;
    for (min_t, h, kind) in w.chunk_headers_with_kind(r)? {
        let n = h.num_samples as usize;
        // Head chunks are persisted as pco when that is smaller: short
        // ones merge like XOR chunks.
        let short = match kind {
            Some(ChunkKind::Xor) => true,
            Some(ChunkKind::Pco) => n * 2 < target,
            None => false,
        };
        match kind {
            Some(_) if short && h.max_t < horizon => {
                if !cur.starts.is_empty() && cur.samples + n > target {
                    groups.push(std::mem::take(&mut cur));
                }
                cur.starts.push(min_t);
                cur.samples += n;
                cur.xor += usize::from(kind == Some(ChunkKind::Xor));
                cur_max = h.max_t;
            }
            // An older run squeezed before a pco chunk (backfill) cannot
            // grow: compact it as it is.
            Some(ChunkKind::Pco) if !short && !cur.starts.is_empty() => groups.push(std::mem::take(&mut cur)),
            // A newer XOR chunk: the run will grow once it ages; wait unless
            // it already has enough samples or has settled.
            _ => {
                if !cur.starts.is_empty() && (cur.samples * 2 >= target || cur_max < settled) {
                    groups.push(std::mem::take(&mut cur));
                }
                cur = Group::default();
            }
        }
    }
    if !cur.starts.is_empty() && (cur.samples >= target || cur_max < settled) {
        groups.push(cur);
    }
    groups.retain(|g| g.starts.len() > 1 || g.xor > 0);
    Ok(groups)
}

/// Replaces a group of XOR chunks by one pco chunk; returns bytes before,
/// bytes after and the sample count.
fn rewrite(w: &mut StoreWriter, r: u64, g: &Group) -> Result<(usize, usize, usize), StorageError> {
    let first = g.starts[0];
    let last = *g.starts.last().expect("groups are non-empty");
    let chunks = w.chunks_starting_in(r, first, last)?;
    let mut ts = Vec::with_capacity(g.samples);
    let mut vs = Vec::with_capacity(g.samples);
    let mut before = 0;
    for c in &chunks {
        before += c.bytes.len();
        for (t, v) in OwnedChunkIter::new(Arc::from(c.bytes.as_slice()))? {
            // Chunks of a series never overlap; guard anyway so pco input
            // stays strictly increasing.
            if ts.last().is_some_and(|&p| t <= p) {
                return Err(StorageError::Chunk(ChunkError::Corrupt(format!(
                    "series {r}: persisted chunks overlap at {t}"
                ))));
            }
            ts.push(t);
            vs.push(v);
        }
    }
    let encoded = encode_pco(&ts, &vs)?;
    for c in &chunks {
        w.remove_chunk(r, c.min_t)?;
    }
    let header = ChunkHeader {
        max_t: *ts.last().unwrap_or(&first),
        num_samples: ts.len() as u32,
    };
    w.put_chunk(r, ts.first().copied().unwrap_or(first), header, &encoded)?;
    Ok((before, encoded.len(), ts.len()))
}
