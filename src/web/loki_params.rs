//! The Loki API's parameter forms: times as Unix nanoseconds, Unix
//! seconds (ten digits or fewer, or with a fraction) or RFC 3339; `since`
//! and `step` as durations or seconds; `limit`; `direction`.

use crate::logql::Direction;
use crate::logql::literals::parse_duration_ns;

use super::error::ApiError;
use super::params::Params;

/// Loki's default range: the last hour.
pub const DEFAULT_SINCE_NS: i64 = 3600 * 1_000_000_000;
pub const DEFAULT_LIMIT: usize = 100;

pub fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// A Loki time parameter value, in nanoseconds.
pub fn parse_loki_time(s: &str) -> Option<i64> {
    let s = s.trim();
    if s.contains('.') && !s.contains('-') && !s.contains(':') {
        let secs: f64 = s.parse().ok()?;
        if !secs.is_finite() {
            return None;
        }
        return Some((secs * 1e9).round() as i64);
    }
    if let Ok(n) = s.parse::<i64>() {
        let digits = s.trim_start_matches('-').len();
        return Some(if digits <= 10 {
            n.saturating_mul(1_000_000_000)
        } else {
            n
        });
    }
    chrono::DateTime::parse_from_rfc3339(s)
        .ok()
        .and_then(|t| t.timestamp_nanos_opt())
}

pub fn time_param(params: &Params, key: &str) -> Result<Option<i64>, ApiError> {
    match params.get(key) {
        None | Some("") => Ok(None),
        Some(s) => parse_loki_time(s).map(Some).ok_or_else(|| {
            ApiError::BadData(format!(
                "invalid parameter {key:?}: cannot parse {s:?} as a Unix time (ns or s) or an RFC 3339 time"
            ))
        }),
    }
}

/// A duration parameter (`5m`, `1h`) or seconds (`30`, `0.5`), in ns.
pub fn duration_param(params: &Params, key: &str) -> Result<Option<i64>, ApiError> {
    match params.get(key) {
        None | Some("") => Ok(None),
        Some(s) => {
            let ns = parse_duration_ns(s)
                .or_else(|| s.parse::<f64>().ok().filter(|x| x.is_finite()).map(|x| x * 1e9))
                .ok_or_else(|| {
                    ApiError::BadData(format!(
                        "invalid parameter {key:?}: cannot parse {s:?} as a duration such as 5m or as seconds"
                    ))
                })?;
            Ok(Some(ns as i64))
        }
    }
}

/// `start` and `end` (or `since` before `end`), in ns.
pub fn time_range(params: &Params) -> Result<(i64, i64), ApiError> {
    let end = time_param(params, "end")?.unwrap_or_else(now_ns);
    let since = duration_param(params, "since")?.unwrap_or(DEFAULT_SINCE_NS);
    let start = time_param(params, "start")?.unwrap_or(end.saturating_sub(since));
    if end < start {
        return Err(ApiError::BadData(
            "the end timestamp must not be before the start time".into(),
        ));
    }
    Ok((start, end))
}

pub fn limit(params: &Params) -> Result<usize, ApiError> {
    match params.get("limit") {
        None | Some("") => Ok(DEFAULT_LIMIT),
        Some(s) => s.parse::<usize>().ok().filter(|n| *n > 0).ok_or_else(|| {
            ApiError::BadData(format!(
                "invalid parameter \"limit\": {s:?} is not a positive integer"
            ))
        }),
    }
}

pub fn direction(params: &Params) -> Result<Direction, ApiError> {
    match params.get("direction").map(str::to_ascii_lowercase).as_deref() {
        None | Some("") | Some("backward") => Ok(Direction::Backward),
        Some("forward") => Ok(Direction::Forward),
        Some(other) => Err(ApiError::BadData(format!(
            "invalid parameter \"direction\": {other:?} is neither forward nor backward"
        ))),
    }
}

/// Loki's default step: the range over 250 points, at least one second.
pub fn step(params: &Params, start_ns: i64, end_ns: i64) -> Result<i64, ApiError> {
    if let Some(s) = duration_param(params, "step")? {
        if s <= 0 {
            return Err(ApiError::BadData(
                "zero or negative query resolution step widths are not accepted. Try a positive integer"
                    .into(),
            ));
        }
        return Ok(s);
    }
    let secs = ((end_ns - start_ns) / 1_000_000_000 / 250).max(1);
    Ok(secs * 1_000_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_in_every_form_loki_takes() {
        assert_eq!(parse_loki_time("1700000000"), Some(1_700_000_000_000_000_000));
        assert_eq!(
            parse_loki_time("1700000000123456789"),
            Some(1_700_000_000_123_456_789)
        );
        assert_eq!(parse_loki_time("1700000000.5"), Some(1_700_000_000_500_000_000));
        assert_eq!(
            parse_loki_time("2023-11-14T22:13:20Z"),
            Some(1_700_000_000_000_000_000)
        );
        assert_eq!(parse_loki_time("yesterday"), None);
    }

    #[test]
    fn steps_and_defaults() {
        let p = Params::from_pairs(&[("step", "30s")]);
        assert_eq!(step(&p, 0, 0).unwrap(), 30_000_000_000);
        let p = Params::from_pairs(&[("step", "15")]);
        assert_eq!(step(&p, 0, 0).unwrap(), 15_000_000_000);
        let p = Params::from_pairs(&[]);
        assert_eq!(step(&p, 0, 3600 * 1_000_000_000).unwrap(), 14_000_000_000);
        assert!(step(&Params::from_pairs(&[("step", "0")]), 0, 1).is_err());
        assert!(direction(&Params::from_pairs(&[("direction", "up")])).is_err());
        assert!(limit(&Params::from_pairs(&[("limit", "0")])).is_err());
    }
}
