//! Time as pages show and take it: Grafana's range form in the URL
//! (`from=now-6h&to=now`, or epoch milliseconds) and "3m ago" texts.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::model::PromDuration;

/// The relative ranges the time picker offers, Grafana's words.
pub const RELATIVE_RANGES: &[(&str, &str)] = &[
    ("now-5m", "Last 5 minutes"),
    ("now-15m", "Last 15 minutes"),
    ("now-30m", "Last 30 minutes"),
    ("now-1h", "Last 1 hour"),
    ("now-3h", "Last 3 hours"),
    ("now-6h", "Last 6 hours"),
    ("now-12h", "Last 12 hours"),
    ("now-24h", "Last 24 hours"),
    ("now-2d", "Last 2 days"),
    ("now-7d", "Last 7 days"),
    ("now-30d", "Last 30 days"),
];

/// The refresh choices, Grafana's spelling.
pub const REFRESH_CHOICES: &[(&str, &str)] = &[
    ("", "Off"),
    ("10s", "10s"),
    ("30s", "30s"),
    ("1m", "1m"),
    ("5m", "5m"),
];

pub const DEFAULT_FROM: &str = "now-6h";

pub fn now_ms() -> i64 {
    system_ms(SystemTime::now())
}

/// A `from` or `to` value as epoch milliseconds: `now`, `now-DURATION`
/// (Prometheus's duration words) or epoch milliseconds. `None` for
/// anything else, which pages answer by keeping their default.
pub fn resolve(text: &str, now_ms: i64) -> Option<i64> {
    let text = text.trim();
    if text == "now" {
        return Some(now_ms);
    }
    if let Some(ago) = text.strip_prefix("now-") {
        let d = PromDuration::parse(ago).ok()?;
        return Some(now_ms - d.as_duration().as_millis() as i64);
    }
    text.parse::<i64>().ok().filter(|ms| *ms > 0)
}

/// A range from the URL's `from` and `to`, both in epoch milliseconds,
/// `from` before `to`; the default range where they are missing or bad.
pub fn range(from: Option<&str>, to: Option<&str>, now_ms: i64) -> (i64, i64) {
    let default_from = resolve(DEFAULT_FROM, now_ms).unwrap_or(now_ms);
    let end = to.and_then(|t| resolve(t, now_ms)).unwrap_or(now_ms);
    let start = from.and_then(|f| resolve(f, now_ms)).unwrap_or(default_from);
    if start < end {
        (start, end)
    } else {
        (default_from, now_ms)
    }
}

/// "just now", "42s ago", "5m ago", "3h ago", "2d ago".
pub fn ago(then_ms: i64, now_ms: i64) -> String {
    let secs = (now_ms - then_ms).max(0) / 1000;
    match secs {
        0..=4 => "just now".to_string(),
        5..=59 => format!("{secs}s ago"),
        60..=3599 => format!("{}m ago", secs / 60),
        3600..=86_399 => format!("{}h ago", secs / 3600),
        _ => format!("{}d ago", secs / 86_400),
    }
}

/// A system time as epoch milliseconds (0 before the epoch).
pub fn system_ms(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

/// An RFC 3339 text (the APIs' times) as epoch milliseconds.
pub fn rfc3339_ms(text: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.timestamp_millis())
        .filter(|ms| *ms > 0)
}

/// Epoch milliseconds as a UTC RFC 3339 text for `<time datetime>`.
pub fn iso(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_700_000_000_000;

    #[test]
    fn grafana_range_words() {
        assert_eq!(resolve("now", NOW), Some(NOW));
        assert_eq!(resolve("now-6h", NOW), Some(NOW - 6 * 3_600_000));
        assert_eq!(resolve("now-1h30m", NOW), Some(NOW - 5_400_000));
        assert_eq!(resolve("1699990000000", NOW), Some(1_699_990_000_000));
        assert_eq!(resolve("yesterday", NOW), None);
        assert_eq!(resolve("now-", NOW), None);
    }

    #[test]
    fn a_bad_or_backwards_range_falls_back_to_the_default() {
        let default = (NOW - 6 * 3_600_000, NOW);
        assert_eq!(range(None, None, NOW), default);
        assert_eq!(range(Some("now"), Some("now-1h"), NOW), default);
        assert_eq!(range(Some("nonsense"), None, NOW), default);
        assert_eq!(range(Some("now-1h"), None, NOW), (NOW - 3_600_000, NOW));
    }

    #[test]
    fn ago_texts() {
        assert_eq!(ago(NOW, NOW), "just now");
        assert_eq!(ago(NOW - 42_000, NOW), "42s ago");
        assert_eq!(ago(NOW - 300_000, NOW), "5m ago");
        assert_eq!(ago(NOW - 3 * 3_600_000, NOW), "3h ago");
        assert_eq!(ago(NOW - 2 * 86_400_000, NOW), "2d ago");
        assert_eq!(ago(NOW + 5_000, NOW), "just now");
    }

    #[test]
    fn rfc3339_round_trip() {
        assert_eq!(rfc3339_ms(&iso(NOW)), Some(NOW));
        assert_eq!(rfc3339_ms("0001-01-01T00:00:00Z"), None);
    }
}
