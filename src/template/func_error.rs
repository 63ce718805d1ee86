//! Why a template function or a method of Alertmanager's data failed:
//! wrong arguments, a value of the wrong type, an index out of range, a
//! bad regular expression or duration, or a failed query.

use crate::model::DurationError;

use super::context::QueryError;

#[derive(Debug, thiserror::Error)]
pub enum FuncError {
    #[error("wrong number of args for {name}: want {want} got {got}")]
    Arity { name: String, want: usize, got: usize },
    #[error("wrong number of args for {0}: want at least 1 got 0")]
    NoArgs(&'static str),
    #[error("function {0:?} not defined")]
    NotDefined(String),
    /// The found value as Go's `%v` prints it.
    #[error("expected string; found {0}")]
    NotString(String),
    #[error("expected a list of strings; found {0}")]
    NotStringList(String),
    #[error("expected a time; found {0}")]
    NotTime(String),
    #[error("expected a query sample; found {0}")]
    NotSample(String),
    /// The value, quoted when it was a string.
    #[error("can't convert {0} to float")]
    NotFloat(String),
    #[error("len of type {0}")]
    NoLen(String),
    #[error("index out of range: {0}")]
    IndexOutOfRange(i64),
    #[error("can't index item of type {item} with {key}")]
    CannotIndex { item: String, key: String },
    #[error("cannot index slice with {0}")]
    BadSliceIndex(String),
    #[error("slice index out of range: {lo}:{hi}")]
    SliceOutOfRange { lo: usize, hi: usize },
    #[error("can't slice item of type {0}")]
    CannotSlice(String),
    #[error("missing argument for comparison")]
    MissingComparand,
    #[error("comparison with NaN")]
    NanComparison,
    #[error("incompatible types for comparison: {0} and {1}")]
    Incomparable(String, String),
    #[error("query is not available here")]
    NoQuery,
    #[error("{0}")]
    Query(#[source] QueryError),
    #[error("first() called on vector with no elements")]
    FirstOfEmpty,
    #[error("first() called on {0}")]
    FirstOf(String),
    #[error("sortByLabel expects a query result")]
    NotQueryResult,
    #[error("invalid regular expression {pattern:?}: {source}")]
    Regex {
        pattern: String,
        #[source]
        source: crate::model::GoRegexError,
    },
    #[error("{0}")]
    Duration(#[from] DurationError),
    #[error("Format takes one layout string")]
    FormatLayout,
    #[error("unknown time zone {0}")]
    UnknownZone(String),
}

impl FuncError {
    /// `Arity` for `name` called with `args`.
    pub fn arity(name: &str, want: usize, got: usize) -> FuncError {
        FuncError::Arity {
            name: name.to_string(),
            want,
            got,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_read_as_go_templates_word_them() {
        assert_eq!(
            FuncError::arity("label", 2, 1).to_string(),
            "wrong number of args for label: want 2 got 1"
        );
        assert_eq!(
            FuncError::NoArgs("index").to_string(),
            "wrong number of args for index: want at least 1 got 0"
        );
        assert_eq!(
            FuncError::NotDefined("nope".into()).to_string(),
            "function \"nope\" not defined"
        );
        assert_eq!(
            FuncError::SliceOutOfRange { lo: 2, hi: 9 }.to_string(),
            "slice index out of range: 2:9"
        );
    }
}
