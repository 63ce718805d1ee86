//! Reading the values shippers put in fields: timestamps in their many
//! forms, durations with units, status codes written as text.

use chrono::{DateTime, NaiveDateTime};
use serde_json::Value;

/// A timestamp field: RFC 3339 (`@timestamp`), a date and time without a
/// zone (taken as UTC; Python's `asctime` with a comma before the
/// milliseconds too), or a number of seconds, milliseconds, microseconds
/// or nanoseconds since the epoch, told apart by magnitude.
pub fn timestamp_ns(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                return Some(epoch_integer_ns(i));
            }
            n.as_f64().and_then(epoch_float_ns)
        }
        Value::String(s) => timestamp_text_ns(s.trim()),
        _ => None,
    }
}

fn epoch_integer_ns(i: i64) -> i64 {
    let a = i.unsigned_abs();
    if a < 100_000_000_000 {
        i.saturating_mul(1_000_000_000)
    } else if a < 100_000_000_000_000 {
        i.saturating_mul(1_000_000)
    } else if a < 100_000_000_000_000_000 {
        i.saturating_mul(1_000)
    } else {
        i
    }
}

fn epoch_float_ns(f: f64) -> Option<i64> {
    if !f.is_finite() {
        return None;
    }
    // Fractional epochs are seconds (Python's `time.time()`, `ts` of
    // zap and logrus) or milliseconds (JavaScript's `Date.now()` with
    // fractions) by magnitude.
    let scale = if f.abs() < 1e11 {
        1e9
    } else if f.abs() < 1e14 {
        1e6
    } else {
        1.0
    };
    if (f * scale).abs() >= 9.2e18 {
        return None;
    }
    // The whole part and the fraction apart: `f * 1e9` alone loses the
    // last digits to rounding.
    let whole = f.trunc();
    Some(whole as i64 * scale as i64 + ((f - whole) * scale).round() as i64)
}

fn timestamp_text_ns(s: &str) -> Option<i64> {
    if s.is_empty() {
        return None;
    }
    if s.bytes().all(|b| b.is_ascii_digit() || b == b'.' || b == b'-') {
        if let Ok(i) = s.parse::<i64>() {
            return Some(epoch_integer_ns(i));
        }
        if let Ok(f) = s.parse::<f64>() {
            return epoch_float_ns(f);
        }
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return t.timestamp_nanos_opt();
    }
    // Python's default `asctime` separates milliseconds with a comma.
    let s = s.replacen(',', ".", 1);
    for format in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f%:z",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(&s, format) {
            return t.and_utc().timestamp_nanos_opt();
        }
    }
    if let Ok(t) = DateTime::parse_from_str(&s, "%Y-%m-%d %H:%M:%S%.f%z") {
        return t.timestamp_nanos_opt();
    }
    None
}

/// The unit a field's name implies for a bare number.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum DurationUnit {
    Seconds,
    Millis,
    Micros,
    Nanos,
}

impl DurationUnit {
    fn seconds(self) -> f64 {
        match self {
            DurationUnit::Seconds => 1.0,
            DurationUnit::Millis => 1e-3,
            DurationUnit::Micros => 1e-6,
            DurationUnit::Nanos => 1e-9,
        }
    }
}

/// A duration in seconds: a number in the field's implied unit, or text
/// with its own unit (`12ms`, `1.5s`, `250us`, `2m`, `1h`, Go's `1m30s`).
pub fn duration_seconds(v: &Value, unit: DurationUnit) -> Option<f64> {
    let secs = match v {
        Value::Number(n) => n.as_f64()? * unit.seconds(),
        Value::String(s) => duration_text(s.trim(), unit)?,
        _ => return None,
    };
    (secs.is_finite() && secs >= 0.0).then_some(secs)
}

fn duration_text(s: &str, unit: DurationUnit) -> Option<f64> {
    if let Ok(f) = s.parse::<f64>() {
        return Some(f * unit.seconds());
    }
    let mut total = 0.0;
    let mut rest = s;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if num_len == 0 {
            return None;
        }
        let n: f64 = rest[..num_len].parse().ok()?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let factor = match rest[..unit_len].trim() {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" | "sec" | "secs" => 1.0,
            "m" | "min" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        total += n * factor;
        rest = &rest[unit_len..];
    }
    Some(total)
}

/// An HTTP status: a number or numeric text within 100..=599.
pub fn status_code(v: &Value) -> Option<u16> {
    let n = match v {
        Value::Number(n) => n.as_u64()?,
        Value::String(s) => s.trim().parse().ok()?,
        _ => return None,
    };
    (100..=599).contains(&n).then_some(n as u16)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const T: i64 = 1_700_000_000_000_000_000;

    #[test]
    fn timestamps_in_every_form() {
        assert_eq!(timestamp_ns(&json!("2023-11-14T22:13:20Z")), Some(T));
        assert_eq!(timestamp_ns(&json!("2023-11-14T23:13:20+01:00")), Some(T));
        assert_eq!(
            timestamp_ns(&json!("2023-11-14T22:13:20.5Z")),
            Some(T + 500_000_000)
        );
        assert_eq!(
            timestamp_ns(&json!("2023-11-14 22:13:20,250")),
            Some(T + 250_000_000)
        );
        assert_eq!(timestamp_ns(&json!("2023-11-14T22:13:20")), Some(T));
        assert_eq!(timestamp_ns(&json!(1_700_000_000)), Some(T));
        assert_eq!(timestamp_ns(&json!(1_700_000_000_000i64)), Some(T));
        assert_eq!(timestamp_ns(&json!(1_700_000_000_000_000i64)), Some(T));
        assert_eq!(timestamp_ns(&json!(T)), Some(T));
        assert_eq!(timestamp_ns(&json!(1_700_000_000.25)), Some(T + 250_000_000));
        assert_eq!(timestamp_ns(&json!("1700000000")), Some(T));
        assert_eq!(timestamp_ns(&json!("yesterday")), None);
        assert_eq!(timestamp_ns(&json!(true)), None);
    }

    #[test]
    fn durations_with_units() {
        let s = DurationUnit::Seconds;
        assert_eq!(duration_seconds(&json!(1.5), s), Some(1.5));
        assert_eq!(duration_seconds(&json!(250), DurationUnit::Millis), Some(0.25));
        assert_eq!(duration_seconds(&json!("12ms"), s), Some(0.012));
        assert_eq!(duration_seconds(&json!("1m30s"), s), Some(90.0));
        assert_eq!(duration_seconds(&json!("250us"), s), Some(0.00025));
        assert_eq!(duration_seconds(&json!("40"), DurationUnit::Millis), Some(0.04));
        assert_eq!(duration_seconds(&json!("fast"), s), None);
        assert_eq!(duration_seconds(&json!(-1), s), None);
    }

    #[test]
    fn status_codes() {
        assert_eq!(status_code(&json!(404)), Some(404));
        assert_eq!(status_code(&json!("503")), Some(503));
        assert_eq!(status_code(&json!(42)), None);
        assert_eq!(status_code(&json!("ok")), None);
    }
}
