//! `backup-manifest.json`: what a backup holds, written last into the
//! archive and kept in the backup's directory. The unpacking side checks
//! every file against it, so a cut or damaged stream is never taken for a
//! backup.

use serde::{Deserialize, Serialize};

pub const MANIFEST_FILE: &str = "backup-manifest.json";
/// Bumped when the manifest's fields or the archive's layout change.
pub const MANIFEST_FORMAT: u32 = 1;

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    pub format: u32,
    pub belfry_version: String,
    /// RFC 3339: when the copy began and when the archive was complete.
    pub started: String,
    pub finished: String,
    /// The on-disk formats of the stores copied.
    pub state_schema_version: u64,
    pub metrics_format_version: u32,
    pub logs_index_format_version: u32,
    /// Milliseconds each store's background work waited while its files
    /// were taken; ingest and every other writer never wait.
    pub logs_index_commit_pause_ms: f64,
    pub metrics_wal_checkpoint_pause_ms: f64,
    /// Rows of `state.redb` and `chunks.redb`, and days of log indexes.
    pub state_rows: u64,
    pub metrics_rows: u64,
    pub log_days: usize,
    pub files: Vec<ManifestFile>,
    /// What the data directory held and the backup leaves out, and why.
    pub not_copied: Vec<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ManifestFile {
    /// Relative to the data directory, `/`-separated.
    pub path: String,
    pub bytes: u64,
    /// CRC-32 (IEEE) of the file's bytes.
    pub crc32: u32,
}
