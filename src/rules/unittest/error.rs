//! Why a rule unit test file could not be run as written: a bad series or
//! value notation, a bad native-histogram descriptor, a disabled PromQL
//! feature, or a bad start time. Each message quotes the offending text.

use crate::model::HistogramError;
use crate::promql::PromqlError;

#[derive(Debug, thiserror::Error)]
pub enum UnitTestError {
    #[error("invalid series {0:?}")]
    InvalidSeries(String),
    #[error("unexpected {rest:?} after metric name in {text:?}")]
    AfterName { rest: String, text: String },
    #[error("unclosed label set in {0:?}: missing '}}'")]
    UnclosedLabels(String),
    #[error("bad label matcher in {0:?}: expected name=\"value\"")]
    BadMatcher(String),
    #[error("bad label value for {name:?} in {text:?}: expected a quoted string")]
    UnquotedValue { name: String, text: String },
    #[error("unterminated label value for {name:?} in {text:?}")]
    UnterminatedValue { name: String, text: String },
    #[error("bad repetition in {0:?}")]
    BadGapRepetition(String),
    #[error("bad repetition count in {0:?}")]
    BadRepetitionCount(String),
    #[error("repetition count in {0:?} is too large")]
    TooManyRepetitions(String),
    #[error("invalid value {0:?}")]
    InvalidValue(String),
    #[error("unclosed histogram in {0:?}: missing '}}}}'")]
    UnclosedHistogram(String),
    #[error("expected x<count>, +{{{{…}}}}x<count> or -{{{{…}}}}x<count> after a histogram in {0:?}")]
    AfterHistogram(String),
    #[error("missing x<count> after the increment in {0:?}")]
    MissingIncrementCount(String),
    #[error("cannot combine histograms in {item:?}: the increment's schema {step} is coarser than {current}")]
    CoarserIncrement { item: String, step: i32, current: i32 },
    #[error("cannot combine histograms in {item:?}: {source}")]
    Combine {
        item: String,
        #[source]
        source: HistogramError,
    },
    #[error("histogram {0:?} must be written as {{{{key:value ...}}}}")]
    NotHistogram(String),
    #[error("expected key:value in histogram {text:?}, got {rest:?}")]
    ExpectedKeyValue { text: String, rest: String },
    #[error("duplicate key {key:?} in histogram {text:?}")]
    DuplicateKey { key: String, text: String },
    #[error("unclosed '[' after {key:?} in histogram {text:?}")]
    UnclosedList { key: String, text: String },
    /// A descriptor's value that is not what its key takes.
    #[error("{key} in histogram {text:?}: {source}")]
    Field {
        key: String,
        text: String,
        #[source]
        source: Box<UnitTestError>,
    },
    #[error("counter_reset_hint {hint:?} in histogram {text:?}: expected unknown, reset, not_reset or gauge")]
    BadHint { hint: String, text: String },
    #[error("unknown key {key:?} in histogram {text:?}")]
    UnknownKey { key: String, text: String },
    #[error("histogram {text:?}: {source}")]
    InvalidHistogram {
        text: String,
        #[source]
        source: HistogramError,
    },
    #[error("invalid number {0:?}")]
    InvalidNumber(String),
    #[error("expected a whole number, got {0:?}")]
    NotInteger(String),
    #[error("expected [n n ...], got {0:?}")]
    NotList(String),
    #[error("{0}")]
    Expr(#[from] PromqlError),
    #[error("@ modifier is disabled, use --enable-feature=promql-at-modifier to enable it")]
    AtModifierDisabled,
    #[error("negative offset is disabled, use --enable-feature=promql-negative-offset to enable it")]
    NegativeOffsetDisabled,
    #[error("start_timestamp {text:?}: not unix seconds or RFC 3339: {source}")]
    StartTimestamp {
        text: String,
        #[source]
        source: chrono::ParseError,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_quote_the_offending_text() {
        assert_eq!(
            UnitTestError::UnclosedLabels("up{a=\"b\"".into()).to_string(),
            "unclosed label set in \"up{a=\\\"b\\\"\": missing '}'"
        );
        assert_eq!(
            UnitTestError::UnclosedHistogram("{{sum:1".into()).to_string(),
            "unclosed histogram in \"{{sum:1\": missing '}}'"
        );
        let field = UnitTestError::Field {
            key: "sum".into(),
            text: "{{sum:x}}".into(),
            source: Box::new(UnitTestError::InvalidNumber("x".into())),
        };
        assert_eq!(
            field.to_string(),
            "sum in histogram \"{{sum:x}}\": invalid number \"x\""
        );
    }
}
