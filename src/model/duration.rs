//! Durations in Prometheus's syntax (`1h30m`, `15s`, `100ms`, `1d`, `1w`,
//! `1y`): units from largest to smallest, each at most once, integers only.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Deserializer};

/// Why a string is not a Prometheus duration.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error("empty duration string")]
    Empty,
    #[error("not a valid duration string: {0:?} (expected e.g. 15s, 1m30s, 100ms, 1d, 2w)")]
    Invalid(String),
    #[error("duration out of range: {0:?}")]
    OutOfRange(String),
}

/// A duration written the way Prometheus writes them. Zero means "unset"
/// where a value is inherited (as in Prometheus).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PromDuration(pub Duration);

const UNITS: [(&str, u64); 7] = [
    ("y", 365 * 24 * 3600 * 1000),
    ("w", 7 * 24 * 3600 * 1000),
    ("d", 24 * 3600 * 1000),
    ("h", 3600 * 1000),
    ("m", 60 * 1000),
    ("s", 1000),
    ("ms", 1),
];

impl PromDuration {
    pub const ZERO: PromDuration = PromDuration(Duration::ZERO);

    pub fn from_secs(s: u64) -> Self {
        PromDuration(Duration::from_secs(s))
    }

    pub fn is_zero(&self) -> bool {
        self.0.is_zero()
    }

    pub fn as_duration(&self) -> Duration {
        self.0
    }

    /// Parses `"0"` or a sequence of `<integer><unit>` with units in
    /// decreasing order, as Prometheus's `model.ParseDuration` does.
    pub fn parse(text: &str) -> Result<Self, DurationError> {
        let bad = || DurationError::Invalid(text.to_string());
        if text == "0" {
            return Ok(PromDuration::ZERO);
        }
        if text.is_empty() {
            return Err(DurationError::Empty);
        }
        let mut rest = text;
        let mut total: u64 = 0;
        let mut next_unit = 0usize;
        while !rest.is_empty() {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return Err(bad());
            }
            let n: u64 = rest[..digits].parse().map_err(|_| bad())?;
            rest = &rest[digits..];
            let unit_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
            let unit = &rest[..unit_len];
            rest = &rest[unit_len..];
            let Some(pos) = UNITS[next_unit..].iter().position(|(u, _)| *u == unit) else {
                return Err(bad());
            };
            let (_, millis) = UNITS[next_unit + pos];
            next_unit += pos + 1;
            total = n
                .checked_mul(millis)
                .and_then(|ms| total.checked_add(ms))
                .filter(|ms| *ms <= i64::MAX as u64)
                .ok_or_else(|| DurationError::OutOfRange(text.to_string()))?;
        }
        Ok(PromDuration(Duration::from_millis(total)))
    }
}

impl fmt::Display for PromDuration {
    /// Prints the shortest Prometheus spelling (`1m30s`, `0s`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut ms = self.0.as_millis() as u64;
        if ms == 0 {
            return f.write_str("0s");
        }
        for (unit, size) in UNITS {
            if ms >= size {
                write!(f, "{}{unit}", ms / size)?;
                ms %= size;
            }
        }
        Ok(())
    }
}

impl<'de> Deserialize<'de> for PromDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        PromDuration::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl serde::Serialize for PromDuration {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(text: &str) -> u64 {
        PromDuration::parse(text).unwrap().0.as_millis() as u64
    }

    #[test]
    fn parses_prometheus_spellings() {
        assert_eq!(ms("0"), 0);
        assert_eq!(ms("15s"), 15_000);
        assert_eq!(ms("100ms"), 100);
        assert_eq!(ms("1h30m"), 5_400_000);
        assert_eq!(ms("1d"), 86_400_000);
        assert_eq!(ms("1w"), 604_800_000);
        assert_eq!(ms("1y"), 31_536_000_000);
        assert_eq!(ms("1m0s500ms"), 60_500);
    }

    #[test]
    fn rejects_bad_spellings() {
        for bad in [
            "",
            "15",
            "s",
            "1.5s",
            "1s1m",
            "1m1m",
            "1x",
            "-1s",
            " 1s",
            "1 s",
            "99999999999999999999y",
        ] {
            assert!(PromDuration::parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn displays_shortest_form() {
        assert_eq!(PromDuration::parse("90s").unwrap().to_string(), "1m30s");
        assert_eq!(PromDuration::parse("0").unwrap().to_string(), "0s");
        assert_eq!(PromDuration::parse("1d").unwrap().to_string(), "1d");
    }
}
