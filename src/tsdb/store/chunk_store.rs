//! The handle on `chunks.redb`: the database behind a lock that only
//! reclaiming space takes exclusively, and the transactions everyone else
//! begins through it.

use std::path::PathBuf;
use std::sync::atomic::AtomicU64;

use parking_lot::RwLock;
use redb::{Database, ReadTransaction, ReadableDatabase, WriteTransaction};

use super::super::StorageError;

pub(crate) struct ChunkStore {
    /// Transactions are not bound to the `Database`, so every user takes
    /// this shared only to begin one; [`ChunkStore::reclaim_space`] takes
    /// it exclusively, because redb's `compact` needs `&mut Database`.
    pub(super) db: RwLock<Database>,
    pub(super) path: PathBuf,
    /// [`Self::unused_bytes`] right after the last reclaim (0 before one).
    pub(super) unused_after_reclaim: AtomicU64,
}

impl ChunkStore {
    pub(crate) fn begin_write(&self) -> Result<WriteTransaction, StorageError> {
        Ok(self.db.read().begin_write()?)
    }

    pub(crate) fn begin_read(&self) -> Result<ReadTransaction, StorageError> {
        Ok(self.db.read().begin_read()?)
    }

    pub(crate) fn file_size(&self) -> u64 {
        std::fs::metadata(&self.path).map(|m| m.len()).unwrap_or(0)
    }
}
