//! Belfry's five levels and how every sender's way of saying a level maps
//! onto them: syslog severities, OpenTelemetry severity numbers, Python's
//! numeric levels and the words and letters loggers write.

use std::fmt;

use crate::logs::LevelHint;

/// Ordered from least to most severe, so `>=` reads "at least as bad".
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    Debug = 0,
    Info = 1,
    Warning = 2,
    Error = 3,
    Critical = 4,
}

impl Level {
    pub const ALL: [Level; 5] = [
        Level::Debug,
        Level::Info,
        Level::Warning,
        Level::Error,
        Level::Critical,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warning => "warning",
            Level::Error => "error",
            Level::Critical => "critical",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }

    pub fn from_index(i: u64) -> Option<Level> {
        Level::ALL.get(usize::try_from(i).ok()?).copied()
    }

    /// Belfry's own names only (query parameters, configuration).
    pub fn parse_canonical(s: &str) -> Option<Level> {
        Level::ALL
            .into_iter()
            .find(|l| l.as_str().eq_ignore_ascii_case(s))
    }

    /// A syslog severity: 0 emergency, 1 alert, 2 critical, 3 error,
    /// 4 warning, 5 notice, 6 informational, 7 debug. GELF uses the same.
    pub fn from_syslog(severity: u8) -> Level {
        match severity {
            0..=2 => Level::Critical,
            3 => Level::Error,
            4 => Level::Warning,
            5 | 6 => Level::Info,
            _ => Level::Debug,
        }
    }

    /// OpenTelemetry's SeverityNumber: 1-4 TRACE, 5-8 DEBUG, 9-12 INFO,
    /// 13-16 WARN, 17-20 ERROR, 21-24 FATAL; 0 is "unspecified".
    pub fn from_otlp(n: i32) -> Option<Level> {
        Some(match n {
            1..=8 => Level::Debug,
            9..=12 => Level::Info,
            13..=16 => Level::Warning,
            17..=20 => Level::Error,
            21..=24 => Level::Critical,
            _ => return None,
        })
    }

    /// A number in a record's level field: 0-7 read as syslog severities
    /// (what syslog-derived shippers put there), larger ones as Python's
    /// levels (DEBUG 10, INFO 20, WARNING 30, ERROR 40, CRITICAL 50),
    /// rounding down to the level a custom number sits above.
    pub fn from_number(n: i64) -> Option<Level> {
        Some(match n {
            0..=7 => Level::from_syslog(n as u8),
            8..=19 => Level::Debug,
            20..=29 => Level::Info,
            30..=39 => Level::Warning,
            40..=49 => Level::Error,
            50.. => Level::Critical,
            _ => return None,
        })
    }

    /// A word or letter as loggers write it, any case: Python's names,
    /// Go's and Java's (`WARN`, `SEVERE`, `FINE`), syslog's keywords,
    /// single letters (`D`, `I`, `W`, `E`, `F`, `C`, `V`, `T`), and numbers
    /// written as text.
    pub fn from_word(word: &str) -> Option<Level> {
        let w = word.trim();
        if let Ok(n) = w.parse::<i64>() {
            return Level::from_number(n);
        }
        let lower = w.to_ascii_lowercase();
        Some(match lower.as_str() {
            "trace" | "debug" | "dbg" | "verbose" | "fine" | "finer" | "finest" | "all" | "t" | "d" | "v"
            | "trc" => Level::Debug,
            "info" | "information" | "informational" | "notice" | "inf" | "i" | "n" | "config" | "log" => {
                Level::Info
            }
            "warn" | "warning" | "wrn" | "w" => Level::Warning,
            "err" | "error" | "e" | "eror" | "severe" => Level::Error,
            "crit" | "critical" | "fatal" | "panic" | "alert" | "emerg" | "emergency" | "c" | "f" | "a"
            | "dpanic" | "ftl" => Level::Critical,
            _ => return None,
        })
    }

    /// What a protocol said, when it means anything.
    pub fn from_hint(hint: &LevelHint) -> Option<Level> {
        match hint {
            LevelHint::Text(t) => Level::from_word(t),
            LevelHint::Syslog(s) => Some(Level::from_syslog(*s)),
            LevelHint::Otlp(n) => Level::from_otlp(*n),
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for Level {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn spellings_map_to_the_five_levels() {
        for (w, l) in [
            ("TRACE", Level::Debug),
            ("dbg", Level::Debug),
            ("Information", Level::Info),
            ("NOTICE", Level::Info),
            ("WARN", Level::Warning),
            ("warning", Level::Warning),
            ("err", Level::Error),
            ("SEVERE", Level::Error),
            ("fatal", Level::Critical),
            ("panic", Level::Critical),
            ("emerg", Level::Critical),
            ("alert", Level::Critical),
            ("E", Level::Error),
            ("w", Level::Warning),
            ("I", Level::Info),
            ("D", Level::Debug),
            ("F", Level::Critical),
            ("40", Level::Error),
            ("50", Level::Critical),
            ("10", Level::Debug),
            ("3", Level::Error),
        ] {
            assert_eq!(Level::from_word(w), Some(l), "{w}");
        }
        assert_eq!(Level::from_word("loud"), None);
        assert_eq!(Level::from_word(""), None);
    }

    #[test]
    fn syslog_and_otlp_numbers() {
        let syslog: Vec<Level> = (0..8).map(Level::from_syslog).collect();
        use Level::*;
        assert_eq!(
            syslog,
            [Critical, Critical, Critical, Error, Warning, Info, Info, Debug]
        );
        assert_eq!(Level::from_otlp(0), None);
        assert_eq!(Level::from_otlp(1), Some(Debug));
        assert_eq!(Level::from_otlp(9), Some(Info));
        assert_eq!(Level::from_otlp(13), Some(Warning));
        assert_eq!(Level::from_otlp(17), Some(Error));
        assert_eq!(Level::from_otlp(24), Some(Critical));
        assert_eq!(Level::from_otlp(25), None);
        assert_eq!(Level::from_number(35), Some(Warning));
        assert_eq!(Level::from_number(-1), None);
    }

    proptest! {
        #[test]
        fn otlp_levels_never_decrease(a in 1i32..=24, b in 1i32..=24) {
            prop_assume!(a <= b);
            prop_assert!(Level::from_otlp(a).unwrap() <= Level::from_otlp(b).unwrap());
        }

        #[test]
        fn syslog_severity_order_is_reversed(a in 0u8..8, b in 0u8..8) {
            prop_assume!(a <= b);
            prop_assert!(Level::from_syslog(a) >= Level::from_syslog(b));
        }

        #[test]
        fn canonical_names_round_trip(i in 0u64..5) {
            let l = Level::from_index(i).unwrap();
            prop_assert_eq!(Level::parse_canonical(l.as_str()), Some(l));
            prop_assert_eq!(Level::from_word(&l.as_str().to_uppercase()), Some(l));
        }

        #[test]
        fn any_word_is_total(s in ".{0,12}") {
            let _ = Level::from_word(&s);
        }
    }
}
