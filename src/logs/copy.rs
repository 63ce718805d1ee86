//! A copy of the logs store taken while it runs (`belfry backup`): the WAL
//! and every day's index at one moment between two index commits, so each
//! record is in a day's committed index or in the WAL (or both: replay
//! skips what a day's commit holds). Ingest never waits; index commits do,
//! for as long as the files take to link.

use std::path::Path;
use std::time::{Duration, Instant};

use super::{LogStore, LogsError};
use crate::online_copy::CopiedFile;

/// What [`LogStore::copy_into`] wrote.
#[derive(Debug)]
pub struct LogsCopy {
    /// Relative to the copy's directory.
    pub files: Vec<CopiedFile>,
    /// How long index commits (and so new lines' searchability) waited.
    pub commit_pause: Duration,
    pub days: usize,
}

impl LogStore {
    /// Copies the store into `dest` (a new directory laid out as the
    /// store's own: `wal/`, `index/YYYY-MM-DD/`), on the same file system
    /// as the store for its hard links. Blocking.
    pub fn copy_into(&self, dest: &Path) -> Result<LogsCopy, LogsError> {
        let (wal, days, commit_pause) = self.while_not_committing(|wal, days| {
            let started = Instant::now();
            let wal = wal.link_into(&dest.join("wal"));
            let days: Result<Vec<_>, _> = days
                .all()
                .iter()
                .map(|d| d.link_into(&dest.join("index")))
                .collect();
            (wal, days, started.elapsed())
        });
        let (wal, days) = (wal?, days?);
        let mut files: Vec<CopiedFile> = wal
            .into_iter()
            .map(|f| CopiedFile {
                path: Path::new("wal").join(f.path),
                len: f.len,
            })
            .collect();
        for day in &days {
            day.check()?;
            files.extend(day.files.iter().map(|f| CopiedFile {
                path: Path::new("index").join(&f.path),
                len: f.len,
            }));
        }
        Ok(LogsCopy {
            files,
            commit_pause,
            days: days.len(),
        })
    }
}
