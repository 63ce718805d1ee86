//! What can go wrong in a LogQL query.

use crate::logs::LogsError;
use crate::promql::PromqlError;

#[derive(Debug, thiserror::Error)]
pub enum LogqlError {
    /// The query text does not parse (400, plain text, as Loki answers).
    #[error("{0}")]
    Parse(String),
    /// A parameter or a query that parses but cannot run as asked.
    #[error("{0}")]
    BadRequest(String),
    /// A limit stopped the query; `limit` names the self-metric label.
    #[error("{message}")]
    Limit { limit: &'static str, message: String },
    /// A metric query met a line a stage failed on, and nothing filtered
    /// the `__error__` out (400, Loki's words).
    #[error(
        "pipeline error: '{error_type}' for series: '{series}'.\nUse a label filter to intentionally skip this error. (e.g | __error__!=\"{error_type}\").\nTo skip all potential errors you can match empty errors.(e.g __error__=\"\")\nThe label filter can also be specified after unwrap. (e.g | unwrap latency | __error__=\"\" )\n"
    )]
    Pipeline { error_type: String, series: String },
    #[error("query timed out after {0:?}")]
    Timeout(std::time::Duration),
    #[error(transparent)]
    Logs(#[from] LogsError),
    #[error(transparent)]
    Promql(#[from] PromqlError),
}

impl From<tantivy::TantivyError> for LogqlError {
    fn from(e: tantivy::TantivyError) -> Self {
        LogqlError::Logs(LogsError::from(e))
    }
}

impl From<std::io::Error> for LogqlError {
    fn from(e: std::io::Error) -> Self {
        LogqlError::Logs(LogsError::from(tantivy::TantivyError::from(e)))
    }
}
