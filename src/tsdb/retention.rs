//! Retention: by time (delete persisted chunks whose newest sample is older
//! than `now − retention_time`) and by size (delete the oldest chunks until
//! the stored bytes fit `retention_size`); series left with no data at all
//! are dropped from the index, the postings and the `series` table.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use redb::ReadableTable;

use super::db::{Inner, dir_size, millis};
use super::head::MemSeries;
use super::store::StoreWriter;
use super::store::layout::{self, CHUNKS};
use super::{RecordKey, StorageError};

/// What one retention pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RetentionReport {
    pub chunks_deleted: u64,
    pub series_removed: u64,
}

impl Inner {
    pub(crate) fn enforce_retention(&self, now_ms: i64) -> Result<RetentionReport, StorageError> {
        let _maint = self.maintenance_lock.lock();
        let cutoff = now_ms.saturating_sub(millis(self.opts.retention_time));
        let mut report = RetentionReport::default();
        report.chunks_deleted += self.delete_chunks_before(cutoff)?;
        if let Some(limit) = self.opts.retention_size {
            report.chunks_deleted += self.delete_oldest_until(limit)?;
        }
        report.series_removed = self.remove_empty_series()?;
        self.metrics.retention_deleted_chunks.add(report.chunks_deleted);
        if report.chunks_deleted > 0 || report.series_removed > 0 {
            self.reclaim_store_space();
            tracing::info!(
                chunks = report.chunks_deleted,
                series = report.series_removed,
                "retention deleted old data"
            );
        }
        Ok(report)
    }

    fn series_with_old_data(&self, cutoff: i64) -> Vec<Arc<MemSeries>> {
        let idx = self.head.index.read();
        idx.series()
            .filter(|s| s.state.lock().persisted.is_some_and(|(lo, _)| lo < cutoff))
            .cloned()
            .collect()
    }

    /// Deletes persisted chunks whose newest sample is before `cutoff`.
    fn delete_chunks_before(&self, cutoff: i64) -> Result<u64, StorageError> {
        let candidates = self.series_with_old_data(cutoff);
        if candidates.is_empty() {
            return Ok(0);
        }
        let mut deleted = 0u64;
        let mut new_ranges = Vec::with_capacity(candidates.len());
        let txn = self.store.begin_write()?;
        {
            let mut w = StoreWriter::new(&txn)?;
            for s in &candidates {
                let r = s.series_ref;
                let mut remaining: Option<(i64, i64)> = None;
                for (min_t, h, _) in w.chunk_headers(r)? {
                    if h.max_t < cutoff {
                        w.remove_chunk(r, min_t)?;
                        deleted += 1;
                    } else {
                        remaining = Some(match remaining {
                            Some((lo, hi)) => (lo.min(min_t), hi.max(h.max_t)),
                            None => (min_t, h.max_t),
                        });
                    }
                }
                w.put_range(r, remaining)?;
                new_ranges.push(remaining);
            }
        }
        txn.commit()?;
        for (s, range) in candidates.iter().zip(new_ranges) {
            s.state.lock().persisted = range;
        }
        self.persisted_chunks.fetch_sub(deleted, Ordering::Relaxed);
        Ok(deleted)
    }

    /// Stored bytes counted against `retention_size`: redb's live data and
    /// metadata (freed pages are reused, so the file size would lie) plus
    /// the WAL.
    pub(crate) fn stored_bytes(&self) -> Result<u64, StorageError> {
        let txn = self.store.begin_write()?;
        let stats = txn.stats()?;
        let bytes = stats.stored_bytes() + stats.metadata_bytes();
        txn.abort()?;
        Ok(bytes + dir_size(&self.dir.join("wal")))
    }

    /// Deletes the chunks with the oldest newest-sample first until the
    /// stored bytes are under `limit`.
    fn delete_oldest_until(&self, limit: u64) -> Result<u64, StorageError> {
        let used = self.stored_bytes()?;
        if used <= limit {
            return Ok(0);
        }
        let mut excess = used - limit;
        // (max_t, ref, min_t, bytes) of every chunk.
        let mut all: Vec<(i64, u64, i64, u64)> = Vec::new();
        {
            let read = self.store.begin_read()?;
            for entry in read.open_table(CHUNKS)?.iter()? {
                let (k, v) = entry?;
                let (r, min_t) = layout::decode_chunk_key(k.value());
                let value = v.value();
                let (h, _) = layout::decode_chunk_value(value)
                    .map_err(|e| e.at(RecordKey::Chunk { series_ref: r, min_t }))?;
                all.push((h.max_t, r, min_t, (value.len() + 16) as u64));
            }
        }
        all.sort_unstable();
        let mut victims = Vec::new();
        for c in all {
            if excess == 0 {
                break;
            }
            excess = excess.saturating_sub(c.3);
            victims.push(c);
        }
        let touched: std::collections::BTreeSet<u64> = victims.iter().map(|c| c.1).collect();
        let txn = self.store.begin_write()?;
        let mut new_ranges = Vec::new();
        {
            let mut w = StoreWriter::new(&txn)?;
            for c in &victims {
                w.remove_chunk(c.1, c.2)?;
            }
            for &r in &touched {
                let range =
                    w.chunk_headers(r)?
                        .iter()
                        .fold(None, |acc: Option<(i64, i64)>, (min_t, h, _)| {
                            Some(acc.map_or((*min_t, h.max_t), |(lo, hi)| (lo.min(*min_t), hi.max(h.max_t))))
                        });
                w.put_range(r, range)?;
                new_ranges.push((r, range));
            }
        }
        txn.commit()?;
        let idx = self.head.index.read();
        for (r, range) in new_ranges {
            if let Some(s) = idx.get(r) {
                s.state.lock().persisted = range;
            }
        }
        let deleted = victims.len() as u64;
        self.persisted_chunks.fetch_sub(deleted, Ordering::Relaxed);
        tracing::warn!(deleted, limit, "size retention deleted the oldest chunks");
        Ok(deleted)
    }

    /// Drops series with no data anywhere. Takes the commit lock so no
    /// appender can add a sample to a series as it disappears.
    fn remove_empty_series(&self) -> Result<u64, StorageError> {
        let removed: Vec<u64> = {
            let _commit = self.commit_lock.write();
            let mut idx = self.head.index.write();
            let empty: Vec<u64> = idx
                .series()
                .filter(|s| s.state.lock().is_empty())
                .map(|s| s.series_ref)
                .collect();
            for s in idx.remove(&empty) {
                let _st = s.state.lock();
                s.published.mark_removed();
            }
            if !empty.is_empty() {
                self.head.note_removal();
            }
            empty
        };
        if removed.is_empty() {
            return Ok(0);
        }
        let txn = self.store.begin_write()?;
        {
            let mut w = StoreWriter::new(&txn)?;
            for &r in &removed {
                w.delete_series(r)?;
            }
        }
        txn.commit()?;
        let n = removed.len() as u64;
        self.metrics.series_removed.add(n);
        self.metrics.head_series.add(-(n as f64));
        Ok(n)
    }
}
