//! A consistent copy of `chunks.redb` while the engine writes it: the four
//! tables as one read transaction sees them, in a new file (see
//! `crate::online_copy`). Persists, compaction and retention go on
//! meanwhile; only giving pages back to the file system waits, as it does
//! for any query (it needs the database to itself).

use std::path::Path;

use redb::Database;

use super::super::StorageError;
use super::ChunkStore;
use super::layout::{CHUNKS, META, SERIES, SERIES_RANGE};
use super::open::CACHE_BYTES;
use crate::online_copy;

impl ChunkStore {
    /// Copies the store into a new redb file at `dest`, which must not
    /// exist; returns the rows and key and value bytes copied. Blocking.
    pub(crate) fn copy_to(&self, dest: &Path) -> Result<(u64, u64), StorageError> {
        let snapshot = self.begin_read()?;
        if dest.exists() {
            return Err(StorageError::Database(format!(
                "{}: the copy's file exists already",
                dest.display()
            )));
        }
        let fail = |e: redb::Error| StorageError::Database(format!("copying into {}: {e}", dest.display()));
        let copy = Database::builder()
            .set_cache_size(CACHE_BYTES)
            .create(dest)
            .map_err(|e| fail(e.into()))?;
        let mut total = (0, 0);
        let mut add = |(rows, bytes): (u64, u64)| {
            total.0 += rows;
            total.1 += bytes;
        };
        add(online_copy::copy_table(&snapshot, &copy, META).map_err(fail)?);
        add(online_copy::copy_table(&snapshot, &copy, SERIES).map_err(fail)?);
        add(online_copy::copy_table(&snapshot, &copy, SERIES_RANGE).map_err(fail)?);
        add(online_copy::copy_table(&snapshot, &copy, CHUNKS).map_err(fail)?);
        online_copy::finish(&copy).map_err(fail)?;
        Ok(total)
    }
}
