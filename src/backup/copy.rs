//! Taking a running server's stores into a staging directory inside the
//! data directory (`.backup-staging/`, on the stores' file system, so
//! their immutable files are hard links), in an order that keeps them
//! consistent with each other:
//!
//! 1. `state.redb`, through one read transaction: users, tokens,
//!    silences, dashboards, issues with their events, tailed files' read
//!    positions — one moment's state.
//! 2. The files at the data directory's root (the privacy key: log and
//!    error user tokens stay the same after a restore).
//! 3. The logs store between two index commits (WAL and day indexes).
//!    After the state, so a tailed file's saved position never runs ahead
//!    of the lines the copy holds (a restore re-reads rather than skips).
//! 4. The metrics store: its WAL, then `chunks.redb`.
//!
//! Writers never wait: only the logs' index commits and the metrics WAL's
//! checkpoints are held up while files are linked, and the manifest
//! records for how long.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::SystemTime;

use super::manifest::{MANIFEST_FORMAT, Manifest};
use super::{BackupError, BackupMetrics};
use crate::logs::LogStore;
use crate::model::rfc3339;
use crate::online_copy::{CopiedFile, link_or_copy};
use crate::selfmetrics::Registry;
use crate::state::StateStore;
use crate::tsdb::Tsdb;

/// Where a backup is staged, inside the data directory.
pub const STAGING_DIR: &str = ".backup-staging";
const STATE_FILE: &str = "state.redb";
const METRICS_DIR: &str = "metrics";
const LOGS_DIR: &str = "logs";
/// Remote write's saved positions name places in the live WAL; a restored
/// server starts its queues at the end of the copied WAL instead.
const REMOTE_WRITE_DIR: &str = "remote_write";

/// The stores a backup copies, and the one backup that may run at a time.
pub struct Backups {
    data_dir: PathBuf,
    state: Arc<StateStore>,
    metrics_store: Arc<Tsdb>,
    logs: Arc<LogStore>,
    running: Arc<AtomicBool>,
    pub metrics: BackupMetrics,
}

/// The staged copy: its files, and the manifest but for the files' sums
/// and the end time, which the archive adds. Dropping it removes the
/// staging directory and lets the next backup start.
pub struct Snapshot {
    pub staging: PathBuf,
    /// Paths relative to the data directory (and to `staging`).
    pub files: Vec<CopiedFile>,
    pub manifest: Manifest,
    running: Arc<AtomicBool>,
}

impl Backups {
    /// Removes a staging directory a crash left behind. Blocking.
    pub fn new(
        data_dir: &Path,
        state: Arc<StateStore>,
        metrics_store: Arc<Tsdb>,
        logs: Arc<LogStore>,
        registry: &Registry,
    ) -> Backups {
        let staging = data_dir.join(STAGING_DIR);
        if staging.exists()
            && let Err(e) = std::fs::remove_dir_all(&staging)
        {
            tracing::warn!(dir = %staging.display(), error = %e, "cannot remove an unfinished backup's staging directory");
        }
        Backups {
            data_dir: data_dir.to_path_buf(),
            state,
            metrics_store,
            logs,
            running: Arc::new(AtomicBool::new(false)),
            metrics: BackupMetrics::new(registry),
        }
    }

    /// Takes every store into the staging directory. Refused while
    /// another backup runs (its staging directory is in use until its
    /// [`Snapshot`] is dropped). Blocking.
    pub fn snapshot(&self) -> Result<Snapshot, BackupError> {
        if self.running.swap(true, Ordering::AcqRel) {
            self.metrics.backups.with(&["refused"]).inc();
            return Err(BackupError::Running);
        }
        let staging = self.data_dir.join(STAGING_DIR);
        let mut snapshot = Snapshot {
            staging: staging.clone(),
            files: Vec::new(),
            manifest: Manifest {
                format: MANIFEST_FORMAT,
                belfry_version: env!("CARGO_PKG_VERSION").to_string(),
                started: rfc3339(SystemTime::now()),
                finished: String::new(),
                state_schema_version: crate::state::SCHEMA_VERSION,
                metrics_format_version: crate::tsdb::FORMAT_VERSION,
                logs_index_format_version: crate::logs::index::INDEX_FORMAT_VERSION,
                logs_index_commit_pause_ms: 0.0,
                metrics_wal_checkpoint_pause_ms: 0.0,
                state_rows: 0,
                metrics_rows: 0,
                log_days: 0,
                files: Vec::new(),
                not_copied: Vec::new(),
            },
            running: self.running.clone(),
        };
        let result = self.take(&mut snapshot);
        if let Err(e) = &result {
            self.metrics.backups.with(&["failed"]).inc();
            tracing::error!(error = %e, "backup failed while copying the stores");
        }
        result.map(|()| snapshot)
    }

    fn take(&self, snapshot: &mut Snapshot) -> Result<(), BackupError> {
        let staging = snapshot.staging.clone();
        if staging.exists() {
            std::fs::remove_dir_all(&staging).map_err(|e| BackupError::io(&staging, e))?;
        }
        std::fs::create_dir(&staging).map_err(|e| BackupError::io(&staging, e))?;

        let state_file = staging.join(STATE_FILE);
        let copied = self.state.copy_to(&state_file)?;
        snapshot.manifest.state_rows = copied.rows;
        snapshot.files.push(CopiedFile {
            path: STATE_FILE.into(),
            len: file_len(&state_file)?,
        });

        self.take_root_files(snapshot)?;

        let logs = self.logs.copy_into(&staging.join(LOGS_DIR))?;
        snapshot.manifest.logs_index_commit_pause_ms = logs.commit_pause.as_secs_f64() * 1000.0;
        snapshot.manifest.log_days = logs.days;
        self.metrics
            .pause
            .with(&["logs_index_commits"])
            .set(logs.commit_pause.as_secs_f64());
        snapshot
            .files
            .extend(logs.files.into_iter().map(|f| under(LOGS_DIR, f)));

        let metrics = self.metrics_store.copy_into(&staging.join(METRICS_DIR))?;
        snapshot.manifest.metrics_wal_checkpoint_pause_ms = metrics.checkpoint_pause.as_secs_f64() * 1000.0;
        snapshot.manifest.metrics_rows = metrics.rows;
        self.metrics
            .pause
            .with(&["metrics_wal_checkpoints"])
            .set(metrics.checkpoint_pause.as_secs_f64());
        snapshot
            .files
            .extend(metrics.files.into_iter().map(|f| under(METRICS_DIR, f)));
        tracing::info!(
            files = snapshot.files.len(),
            logs_index_commit_pause_ms = snapshot.manifest.logs_index_commit_pause_ms,
            metrics_wal_checkpoint_pause_ms = snapshot.manifest.metrics_wal_checkpoint_pause_ms,
            "backup staged"
        );
        Ok(())
    }

    /// Small files written once (the privacy key, the demo's marker) are
    /// linked; directories other than the stores are named in the
    /// manifest as left out.
    fn take_root_files(&self, snapshot: &mut Snapshot) -> Result<(), BackupError> {
        let dir = &self.data_dir;
        let entries = std::fs::read_dir(dir).map_err(|e| BackupError::io(dir, e))?;
        let mut names: Vec<(String, bool)> = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| BackupError::io(dir, e))?;
            let is_dir = entry
                .file_type()
                .map_err(|e| BackupError::io(entry.path(), e))?
                .is_dir();
            names.push((entry.file_name().to_string_lossy().into_owned(), is_dir));
        }
        names.sort();
        for (name, is_dir) in names {
            match (name.as_str(), is_dir) {
                (STATE_FILE | STAGING_DIR | METRICS_DIR | LOGS_DIR, _) => {}
                (REMOTE_WRITE_DIR, true) => snapshot.manifest.not_copied.push(format!(
                    "{REMOTE_WRITE_DIR}/: remote write's positions in the live WAL; a restored server starts its queues at the end of the copied WAL"
                )),
                (_, true) => snapshot
                    .manifest
                    .not_copied
                    .push(format!("{name}/: not a store of this build")),
                (_, false) if name.ends_with(".tmp") => {
                    snapshot.manifest.not_copied.push(format!("{name}: an unfinished write"));
                }
                (_, false) => {
                    let from = dir.join(&name);
                    let to = snapshot.staging.join(&name);
                    link_or_copy(&from, &to).map_err(|e| BackupError::io(&from, e))?;
                    snapshot.files.push(CopiedFile {
                        path: name.into(),
                        len: file_len(&to)?,
                    });
                }
            }
        }
        Ok(())
    }
}

fn under(dir: &str, f: CopiedFile) -> CopiedFile {
    CopiedFile {
        path: Path::new(dir).join(f.path),
        len: f.len,
    }
}

fn file_len(path: &Path) -> Result<u64, BackupError> {
    Ok(std::fs::metadata(path)
        .map_err(|e| BackupError::io(path, e))?
        .len())
}

impl Drop for Snapshot {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_dir_all(&self.staging)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(dir = %self.staging.display(), error = %e, "cannot remove a backup's staging directory");
        }
        self.running.store(false, Ordering::Release);
    }
}
