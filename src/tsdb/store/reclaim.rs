//! Giving freed pages back to the file system: redb keeps pages freed by
//! deletions (compaction, retention) for reuse, so the file never shrinks
//! unless it is rewritten.

use std::sync::atomic::Ordering;

use redb::CompactionError;

use super::super::StorageError;
use super::ChunkStore;

/// Reclaim space only when at least this share of the file is free pages:
/// rewriting the file for a few freed pages costs more than it saves.
pub(crate) const RECLAIM_MIN_FREE_FRACTION: f64 = 0.25;
/// ... and at least this many bytes (small files are not worth it while
/// the store runs; at close, when it happens once, any amount is).
pub(crate) const RECLAIM_MIN_FREE_BYTES: u64 = 4 << 20;

/// What [`ChunkStore::reclaim_space`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reclaim {
    /// Too little free space to be worth rewriting the file.
    NotNeeded,
    /// A reader or writer was active; try again on the next pass.
    Busy,
    /// The file shrank from `before` to `after` bytes.
    Done { before: u64, after: u64 },
}

impl ChunkStore {
    /// Bytes of the file holding no live data (free and partly filled pages).
    pub(super) fn unused_bytes(&self) -> Result<u64, StorageError> {
        let txn = self.begin_write()?;
        let stats = txn.stats()?;
        txn.abort()?;
        Ok(stats.fragmented_bytes())
    }

    /// Moves live pages to the front of the file and truncates it, when
    /// deletions (compaction, retention) left enough of it free. Callers
    /// hold the maintenance lock, so no write of ours is in flight; a query
    /// still reading makes this return [`Reclaim::Busy`].
    pub(crate) fn reclaim_space(
        &self,
        min_free_bytes: u64,
        min_free_fraction: f64,
    ) -> Result<Reclaim, StorageError> {
        let before = self.file_size();
        // redb counts free pages and half-filled pages alike as
        // "fragmented"; the part a rewrite cannot remove is what was left
        // right after the previous one.
        let unused = self.unused_bytes()?;
        let floor = self.unused_after_reclaim.load(Ordering::Relaxed);
        let free = unused.saturating_sub(floor);
        if free == 0 || free < min_free_bytes || (free as f64) < before as f64 * min_free_fraction {
            return Ok(Reclaim::NotNeeded);
        }
        let mut db = self.db.write();
        match db.compact() {
            Ok(_) => {}
            Err(CompactionError::TransactionInProgress) => return Ok(Reclaim::Busy),
            Err(e) => {
                return Err(StorageError::Database(format!(
                    "compacting {}: {e}",
                    self.path.display()
                )));
            }
        }
        drop(db);
        self.unused_after_reclaim
            .store(self.unused_bytes()?, Ordering::Relaxed);
        Ok(Reclaim::Done {
            before,
            after: self.file_size(),
        })
    }
}
