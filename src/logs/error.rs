//! `LogsError`: everything the logs store can refuse or fail at. The HTTP
//! mapping is in `web/error.rs`.

use std::path::{Path, PathBuf};

use super::index::{BudgetStop, ReadBudget};

#[derive(Debug, thiserror::Error)]
pub enum LogsError {
    #[error("logs store i/o on {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A write or fsync failed before; the page cache may have lost data,
    /// so nothing more is acknowledged until a restart repairs the log.
    #[error("the logs wal refuses writes after an earlier failure: {0}")]
    WalFailed(String),
    #[error(
        "logs wal segment {path} has an unknown header (magic or format version {version}); this build reads version {supported}"
    )]
    WalVersion {
        path: PathBuf,
        version: u8,
        supported: u8,
    },
    #[error("logs index: {0}")]
    Index(#[from] tantivy::TantivyError),
    #[error("logs index at {path}: {detail}")]
    IndexFormat { path: PathBuf, detail: String },
    /// The index has fallen behind the WAL by more than
    /// `logs.limits.max_pending_bytes`: the sender should retry later.
    #[error(
        "logs ingest is behind: {pending} bytes wait for the index (limit {limit}, logs.limits.max_pending_bytes); retry in {retry_after_secs}s"
    )]
    Backpressure {
        pending: u64,
        limit: u64,
        retry_after_secs: u64,
    },
    #[error("a batch of {lines} log lines exceeds logs.limits.max_batch_lines ({limit})")]
    TooManyLines { lines: usize, limit: usize },
    /// A request's parameters (query, time range, filters) are wrong.
    #[error("{0}")]
    BadQuery(String),
    /// A search would read more stored lines than `logs.query` allows.
    #[error("{message}")]
    QueryLimit { limit: &'static str, message: String },
    #[error("no log line has id {0} (it may have expired)")]
    LineNotFound(u64),
    #[error("the logs store is shut down")]
    Closed,
}

impl LogsError {
    /// The refusal of a search whose read budget ran out.
    pub fn query_limit(stop: BudgetStop, budget: &ReadBudget) -> Self {
        match stop {
            BudgetStop::Lines => LogsError::QueryLimit {
                limit: "max_lines_read",
                message: format!(
                    "the search would read more than {} lines to check its words or filters (logs.query.max_lines_read); narrow the time range or add a filter",
                    budget.max_lines()
                ),
            },
            BudgetStop::Time => LogsError::QueryLimit {
                limit: "timeout",
                message: format!(
                    "the search ran past its timeout of {:?} (logs.query.timeout); narrow the time range or add a filter",
                    budget.timeout()
                ),
            },
        }
    }

    pub fn io(path: &Path, source: std::io::Error) -> Self {
        LogsError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}
