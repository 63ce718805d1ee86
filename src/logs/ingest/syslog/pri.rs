//! `<PRI>`: facility × 8 + severity.

use super::SyslogError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pri {
    pub facility: u8,
    pub severity: u8,
}

/// RFC 3164 §4.3.3: a relay gives a message without PRI this one
/// (user.notice).
pub const DEFAULT_PRI: Pri = Pri {
    facility: 1,
    severity: 5,
};

/// `<N>` at the start of `text`, and the rest after it.
pub fn parse_pri(text: &str) -> Result<(Pri, &str), SyslogError> {
    let bad = || SyslogError::Pri(text.chars().take(6).collect());
    let rest = text.strip_prefix('<').ok_or_else(bad)?;
    let end = rest.find('>').filter(|&e| (1..=3).contains(&e)).ok_or_else(bad)?;
    let digits = &rest[..end];
    if !digits.bytes().all(|b| b.is_ascii_digit()) || (digits.len() > 1 && digits.starts_with('0')) {
        return Err(bad());
    }
    let n: u16 = digits.parse().map_err(|_| bad())?;
    if n > 191 {
        return Err(bad());
    }
    let n = n as u8;
    Ok((
        Pri {
            facility: n / 8,
            severity: n % 8,
        },
        &rest[end + 1..],
    ))
}

/// The usual names, as rsyslog prints them.
pub fn facility_name(facility: u8) -> &'static str {
    const NAMES: [&str; 24] = [
        "kern",
        "user",
        "mail",
        "daemon",
        "auth",
        "syslog",
        "lpr",
        "news",
        "uucp",
        "cron",
        "authpriv",
        "ftp",
        "ntp",
        "security",
        "console",
        "solaris-cron",
        "local0",
        "local1",
        "local2",
        "local3",
        "local4",
        "local5",
        "local6",
        "local7",
    ];
    NAMES.get(usize::from(facility)).copied().unwrap_or("unknown")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pri_values() {
        assert_eq!(
            parse_pri("<134>1 x").unwrap(),
            (
                Pri {
                    facility: 16,
                    severity: 6
                },
                "1 x"
            )
        );
        assert_eq!(
            parse_pri("<0>x").unwrap().0,
            Pri {
                facility: 0,
                severity: 0
            }
        );
        assert_eq!(
            parse_pri("<191>").unwrap().0,
            Pri {
                facility: 23,
                severity: 7
            }
        );
        for bad in ["<192>", "<01>", "<>", "134>", "<1a>", "<1234>", "<12"] {
            assert!(parse_pri(bad).is_err(), "{bad}");
        }
        assert_eq!(facility_name(16), "local0");
    }
}
