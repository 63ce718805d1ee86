//! Timestamps as Alertmanager's JSON writes and reads them (RFC 3339).

use std::time::SystemTime;

use chrono::{DateTime, SecondsFormat, Utc};

pub fn rfc3339(t: SystemTime) -> String {
    let dt: DateTime<Utc> = t.into();
    dt.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

pub fn parse_rfc3339(s: &str) -> Result<SystemTime, String> {
    DateTime::parse_from_rfc3339(s)
        .map(SystemTime::from)
        .map_err(|e| format!("invalid RFC 3339 time {s:?}: {e}"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn round_trips() {
        let t = super::parse_rfc3339("2025-03-03T09:00:00.5+01:00").unwrap();
        assert_eq!(super::rfc3339(t), "2025-03-03T08:00:00.500Z");
        assert!(super::parse_rfc3339("yesterday").is_err());
    }
}
