//! Why rules were refused or failed. Load errors name the file and, where
//! known, the line and column.

use crate::config::ConfigError;

#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    #[error("cannot read rule file {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{origin}:{line}:{column}: {message}")]
    At {
        origin: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{origin}: {message}")]
    Invalid { origin: String, message: String },
    #[error("rule_files: invalid pattern {pattern:?}: {message}")]
    Glob { pattern: String, message: String },
}

impl From<ConfigError> for RuleError {
    fn from(e: ConfigError) -> Self {
        match e {
            ConfigError::At {
                origin,
                line,
                column,
                message,
            } => RuleError::At {
                origin,
                line,
                column,
                message,
            },
            ConfigError::Read { path, source } => RuleError::Read { path, source },
            other => RuleError::Invalid {
                origin: String::new(),
                message: other.to_string(),
            },
        }
    }
}

/// Why one evaluation of a rule failed (kept as the rule's `lastError`).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EvalError {
    #[error("{0}")]
    Query(String),
    #[error("vector contains metrics with the same labelset after applying rule labels")]
    DuplicateRecording,
    #[error("vector contains metrics with the same labelset after applying alert labels")]
    DuplicateAlert,
    #[error("exceeded limit of {limit} with {count} series")]
    SeriesLimit { limit: usize, count: usize },
    #[error("exceeded limit of {limit} with {count} alerts")]
    AlertLimit { limit: usize, count: usize },
    #[error("rule result is not a vector or scalar: {0}")]
    BadResultType(&'static str),
    #[error("cannot record native histogram sample of {0}: the storage holds float samples only")]
    HistogramRecording(String),
}
