//! Why rules were refused or failed. Load errors name the file and, where
//! known, the line and column.

use crate::config::FileError;

#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    #[error(transparent)]
    File(#[from] FileError),
    #[error("rule_files: unknown built-in rule pack {name:?} (known: {known})")]
    UnknownBuiltin { name: String, known: String },
    #[error("rule_files: invalid pattern {pattern:?}: {source}")]
    Glob {
        pattern: String,
        #[source]
        source: glob::PatternError,
    },
    #[error("alerting_flood: override {name:?}: {why}")]
    FloodOverride { name: String, why: String },
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
    #[error("query: range vectors are not supported in templates")]
    RangeInTemplate,
    #[error("LogQL rules need the logs store, and this evaluation has none")]
    NoLogsStore,
    #[error("rule result is not a vector or scalar: {0}")]
    BadResultType(&'static str),
    #[error("cannot record native histogram sample of {0}: the storage holds float samples only")]
    HistogramRecording(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_file_or_pattern() {
        let file = RuleError::from(FileError::located("r.yml", Some((4, 1)), "bad".into()));
        assert_eq!(file.to_string(), "r.yml:4:1: bad");
        let source = glob::Pattern::new("[").unwrap_err();
        let want = format!("rule_files: invalid pattern \"[\": {source}");
        let glob = RuleError::Glob {
            pattern: "[".into(),
            source,
        };
        assert_eq!(glob.to_string(), want);
        assert_eq!(
            EvalError::RangeInTemplate.to_string(),
            "query: range vectors are not supported in templates"
        );
    }
}
