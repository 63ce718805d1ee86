//! A copy of the metrics store taken while it runs (`belfry backup`): the
//! WAL first, then `chunks.redb`. Every sample committed before the WAL
//! is taken is then in one of the two: a checkpoint deletes only samples
//! persisted before it, and anything persisted before the WAL was taken
//! is in the redb copy, which is taken after. The redb copy may hold
//! samples newer than the WAL's end; replay skips what redb holds, as
//! after any crash.

use std::path::Path;
use std::time::{Duration, Instant};

use super::{StorageError, Tsdb};
use crate::online_copy::CopiedFile;

/// What [`Tsdb::copy_into`] wrote.
#[derive(Debug)]
pub struct MetricsCopy {
    /// Relative to the copy's directory.
    pub files: Vec<CopiedFile>,
    /// How long checkpoints waited while the WAL was taken (appends
    /// never wait).
    pub checkpoint_pause: Duration,
    /// Rows of `chunks.redb` copied, and their key and value bytes.
    pub rows: u64,
    pub bytes: u64,
}

impl Tsdb {
    /// Copies the store into `dest` (a new directory, laid out as the
    /// store's own: `wal/` and `chunks.redb`), on the same file system as
    /// the store for the WAL's hard links. Blocking.
    pub fn copy_into(&self, dest: &Path) -> Result<MetricsCopy, StorageError> {
        std::fs::create_dir_all(dest).map_err(|source| StorageError::Io {
            path: dest.to_path_buf(),
            source,
        })?;
        let started = Instant::now();
        let mut files = {
            let wal = self.inner.wal.read();
            let wal = wal.as_ref().ok_or(StorageError::Closed)?;
            wal.link_into(&dest.join("wal"))?
        };
        let checkpoint_pause = started.elapsed();
        for f in &mut files {
            f.path = Path::new("wal").join(&f.path);
        }
        let redb = dest.join("chunks.redb");
        let (rows, bytes) = self.inner.store.copy_to(&redb)?;
        let len = std::fs::metadata(&redb)
            .map_err(|source| StorageError::Io {
                path: redb.clone(),
                source,
            })?
            .len();
        files.insert(
            0,
            CopiedFile {
                path: "chunks.redb".into(),
                len,
            },
        );
        Ok(MetricsCopy {
            files,
            checkpoint_pause,
            rows,
            bytes,
        })
    }
}
