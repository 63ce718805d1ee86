//! Byte sizes as Prometheus writes them (`body_size_limit: 10MB`): units are
//! powers of 1024 whether spelled `MB` or `MiB`, and `0` means "no limit".

use std::fmt;

use serde::{Deserialize, Deserializer};

use super::validation_error::ValidationError;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ByteSize(pub u64);

const UNITS: [(&str, u32); 7] = [
    ("B", 0),
    ("K", 1),
    ("M", 2),
    ("G", 3),
    ("T", 4),
    ("P", 5),
    ("E", 6),
];

impl ByteSize {
    pub fn parse(text: &str) -> Result<Self, ValidationError> {
        let bad = || ValidationError::ByteSize(text.to_string());
        let t = text.trim();
        let digits = t.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(bad());
        }
        let n: u64 = t[..digits].parse().map_err(|_| bad())?;
        let unit = t[digits..].trim_start();
        if unit.is_empty() {
            return Ok(ByteSize(n));
        }
        let (first, suffix) = unit.split_at(1);
        let Some((_, power)) = UNITS.iter().find(|(u, _)| u.eq_ignore_ascii_case(first)) else {
            return Err(bad());
        };
        let ok_suffix = match suffix {
            "" => true,
            "B" | "b" | "iB" | "ib" => *power > 0,
            _ => false,
        };
        if !ok_suffix {
            return Err(bad());
        }
        n.checked_mul(1024u64.pow(*power))
            .map(ByteSize)
            .ok_or_else(|| ValidationError::ByteSizeRange(text.to_string()))
    }
}

impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (unit, power) in UNITS.iter().rev() {
            let size = 1024u64.pow(*power);
            if *power > 0 && self.0 >= size && self.0.is_multiple_of(size) {
                return write!(f, "{}{unit}B", self.0 / size);
            }
        }
        write!(f, "{}B", self.0)
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(u64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Number(n) => Ok(ByteSize(n)),
            Raw::Text(t) => ByteSize::parse(&t).map_err(serde::de::Error::custom),
        }
    }
}

impl serde::Serialize for ByteSize {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_are_base_two() {
        assert_eq!(ByteSize::parse("0").unwrap().0, 0);
        assert_eq!(ByteSize::parse("100").unwrap().0, 100);
        assert_eq!(ByteSize::parse("10MB").unwrap().0, 10 << 20);
        assert_eq!(ByteSize::parse("10MiB").unwrap().0, 10 << 20);
        assert_eq!(ByteSize::parse("1GB").unwrap().0, 1 << 30);
        assert_eq!(ByteSize::parse("512KB").unwrap().0, 512 << 10);
        assert_eq!(ByteSize::parse("7B").unwrap().0, 7);
        for bad in ["", "MB", "10XB", "10MBB", "1.5MB", "-1"] {
            assert!(ByteSize::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(ByteSize(10 << 20).to_string(), "10MB");
    }
}
