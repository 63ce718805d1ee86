//! A query's parameters checked in one place, in Prometheus's order and
//! words, for the engine and the HTTP API alike: times (Unix seconds or
//! RFC 3339), durations (float seconds or `5m`), the timeout, and a range
//! query's start, end and step (end not before start, a positive step, at
//! most 11,000 points per series).

use std::time::Duration;

use chrono::DateTime;

use crate::model::PromDuration;

/// The smallest and largest timestamps Prometheus accepts; they are also the
/// defaults when `start`/`end` are absent.
pub const MIN_TIME_MS: i64 = i64::MIN / 1_000_000 * 1000;
pub const MAX_TIME_MS: i64 = i64::MAX / 1_000_000 * 1000;

/// A query parameter that is missing, does not parse or is out of bounds.
/// The texts are Prometheus's, naming the parameter where it does.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParamError {
    #[error("invalid parameter \"{0}\": missing")]
    Missing(&'static str),
    #[error("invalid parameter \"{param}\": cannot parse {value:?} to a valid timestamp")]
    BadTime { param: &'static str, value: String },
    #[error("invalid parameter \"{param}\": cannot parse {value:?} to a valid duration")]
    BadDuration { param: &'static str, value: String },
    #[error("invalid parameter \"{param}\": cannot parse {value:?} to a valid duration. It overflows int64")]
    DurationOverflow { param: &'static str, value: String },
    #[error("invalid parameter \"end\": end timestamp must not be before start time")]
    EndBeforeStart,
    #[error(
        "invalid parameter \"step\": zero or negative query resolution step widths are not accepted. Try a positive integer"
    )]
    NonPositiveStep,
    #[error(
        "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)"
    )]
    TooManyPoints,
    #[error("invalid parameter \"timeout\": timeout must be positive")]
    NonPositiveTimeout,
}

/// Unix seconds (possibly fractional) or RFC 3339, as Prometheus accepts.
pub fn parse_time(s: &str) -> Option<i64> {
    if let Ok(secs) = s.parse::<f64>() {
        if !secs.is_finite() {
            return None;
        }
        let ms = (secs * 1000.0).round();
        return Some(ms.clamp(MIN_TIME_MS as f64, MAX_TIME_MS as f64) as i64);
    }
    DateTime::parse_from_rfc3339(s).ok().map(|t| t.timestamp_millis())
}

/// A timestamp parameter in ms; `None` when absent or empty.
pub fn time_param(param: &'static str, value: Option<&str>) -> Result<Option<i64>, ParamError> {
    match value {
        None | Some("") => Ok(None),
        Some(s) => parse_time(s).map(Some).ok_or_else(|| ParamError::BadTime {
            param,
            value: s.to_string(),
        }),
    }
}

/// A duration parameter in ms: float seconds or a Prometheus duration
/// (`5m`).
pub fn duration_param(param: &'static str, s: &str) -> Result<i64, ParamError> {
    if let Ok(secs) = s.parse::<f64>() {
        let ms = secs * 1000.0;
        if !ms.is_finite() || ms >= i64::MAX as f64 || ms <= i64::MIN as f64 {
            return Err(ParamError::DurationOverflow {
                param,
                value: s.to_string(),
            });
        }
        return Ok(ms.round() as i64);
    }
    let bad = || ParamError::BadDuration {
        param,
        value: s.to_string(),
    };
    let ms = PromDuration::parse(s)
        .map_err(|_| bad())?
        .as_duration()
        .as_millis();
    i64::try_from(ms).map_err(|_| bad())
}

/// The `timeout` parameter: `max` when absent, else a positive duration
/// capped at `max`.
pub fn timeout_param(value: Option<&str>, max: Duration) -> Result<Duration, ParamError> {
    match value {
        None | Some("") => Ok(max),
        Some(s) => {
            let ms = duration_param("timeout", s)?;
            if ms <= 0 {
                return Err(ParamError::NonPositiveTimeout);
            }
            Ok(Duration::from_millis(ms as u64).min(max))
        }
    }
}

/// A range query's evaluation times, checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RangeSpec {
    pub start: i64,
    pub end: i64,
    pub step: i64,
}

impl RangeSpec {
    /// Checks times already in ms: end not before start, a positive step,
    /// at most `max_points` points per series.
    pub fn new(start: i64, end: i64, step: i64, max_points: i64) -> Result<Self, ParamError> {
        if end < start {
            return Err(ParamError::EndBeforeStart);
        }
        Self::with_step(start, end, step, max_points)
    }

    /// Reads the API's `start`, `end` and `step` parameters, checking them
    /// in the order Prometheus does.
    pub fn parse(
        start: Option<&str>,
        end: Option<&str>,
        step: Option<&str>,
        max_points: i64,
    ) -> Result<Self, ParamError> {
        let start = time_param("start", start)?;
        let end = time_param("end", end)?;
        let start = start.ok_or(ParamError::Missing("start"))?;
        let end = end.ok_or(ParamError::Missing("end"))?;
        if end < start {
            return Err(ParamError::EndBeforeStart);
        }
        let step = match step {
            None | Some("") => return Err(ParamError::Missing("step")),
            Some(s) => duration_param("step", s)?,
        };
        Self::with_step(start, end, step, max_points)
    }

    fn with_step(start: i64, end: i64, step: i64, max_points: i64) -> Result<Self, ParamError> {
        if step <= 0 {
            return Err(ParamError::NonPositiveStep);
        }
        let spec = RangeSpec { start, end, step };
        if spec.points() > max_points {
            return Err(ParamError::TooManyPoints);
        }
        Ok(spec)
    }

    /// The number of steps: each series has at most this many points.
    pub fn points(&self) -> i64 {
        (self.end - self.start) / self.step + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_both_ways() {
        assert_eq!(duration_param("step", "15").unwrap(), 15_000);
        assert_eq!(duration_param("step", "0.5").unwrap(), 500);
        assert_eq!(duration_param("step", "1m30s").unwrap(), 90_000);
        assert_eq!(
            duration_param("step", "abc").unwrap_err().to_string(),
            "invalid parameter \"step\": cannot parse \"abc\" to a valid duration"
        );
        assert!(matches!(
            duration_param("step", "1e300"),
            Err(ParamError::DurationOverflow { .. })
        ));
    }

    #[test]
    fn parses_unix_and_rfc3339_times() {
        assert_eq!(parse_time("1700000000.5"), Some(1_700_000_000_500));
        assert_eq!(parse_time("2023-11-14T22:13:20Z"), Some(1_700_000_000_000));
        assert_eq!(parse_time("2023-11-14T23:13:20+01:00"), Some(1_700_000_000_000));
        assert_eq!(parse_time("yesterday"), None);
    }

    #[test]
    fn timeouts_are_positive_and_capped() {
        let max = Duration::from_secs(120);
        assert_eq!(timeout_param(None, max), Ok(max));
        assert_eq!(timeout_param(Some("5s"), max), Ok(Duration::from_secs(5)));
        assert_eq!(timeout_param(Some("1h"), max), Ok(max));
        assert_eq!(timeout_param(Some("0"), max), Err(ParamError::NonPositiveTimeout));
    }

    #[test]
    fn range_bounds_are_checked_in_prometheus_order() {
        let parse = |s, e, st| RangeSpec::parse(s, e, st, 11_000);
        assert_eq!(
            parse(None, Some("1"), Some("1")),
            Err(ParamError::Missing("start"))
        );
        // End before start is reported before a missing step.
        assert_eq!(
            parse(Some("10"), Some("1"), None),
            Err(ParamError::EndBeforeStart)
        );
        assert_eq!(
            parse(Some("0"), Some("1"), Some("0")),
            Err(ParamError::NonPositiveStep)
        );
        assert_eq!(
            parse(Some("0"), Some("11000"), Some("1")),
            Err(ParamError::TooManyPoints)
        );
        assert_eq!(
            parse(Some("0"), Some("10999"), Some("1")),
            Ok(RangeSpec {
                start: 0,
                end: 10_999_000,
                step: 1000
            })
        );
    }
}
