//! Timestamps as the peers' JSON APIs write and read them: RFC 3339 in UTC
//! with as many fractional digits as the time needs (Go's `RFC3339Nano`
//! trims the same way), and Go's zero time for "never".

use std::time::SystemTime;

use chrono::{DateTime, SecondsFormat, Utc};

/// Go's zero `time.Time` as RFC 3339: what Prometheus and Alertmanager
/// write for a time that has not happened (a target never scraped, an
/// alert not yet resolved).
pub const GO_ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// A time in RFC 3339, UTC, e.g. `2025-03-03T08:00:00.5Z` → `…00.500Z`.
pub fn rfc3339(t: SystemTime) -> String {
    DateTime::<Utc>::from(t).to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// [`rfc3339`], or [`GO_ZERO_TIME`] for `None`.
pub fn rfc3339_or_zero(t: Option<SystemTime>) -> String {
    match t {
        Some(t) => rfc3339(t),
        None => GO_ZERO_TIME.to_string(),
    }
}

/// Why a string is not an RFC 3339 time.
#[derive(Debug, thiserror::Error)]
#[error("invalid RFC 3339 time {text:?}: {source}")]
pub struct TimeParseError {
    pub text: String,
    #[source]
    pub source: chrono::ParseError,
}

/// Reads an RFC 3339 time with any offset.
pub fn parse_rfc3339(text: &str) -> Result<SystemTime, TimeParseError> {
    DateTime::parse_from_rfc3339(text)
        .map(SystemTime::from)
        .map_err(|source| TimeParseError {
            text: text.to_string(),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_words() {
        let t = parse_rfc3339("2025-03-03T09:00:00.5+01:00").unwrap();
        assert_eq!(rfc3339(t), "2025-03-03T08:00:00.500Z");
        assert_eq!(rfc3339_or_zero(None), GO_ZERO_TIME);
        let err = parse_rfc3339("yesterday").unwrap_err();
        assert!(err.to_string().contains("\"yesterday\""), "{err}");
    }
}
