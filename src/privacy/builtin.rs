//! The built-in scrubbers: name, pattern, marker. Patterns use ASCII word
//! boundaries (`(?-u:\b)`): Unicode ones make the regex crate leave its
//! fast DFA on the first non-ASCII byte, which would make any log line with
//! an accented name slow to scrub.
//!
//! A pattern's groups named `value…` (the first that took part in the
//! match) are what gets replaced, so `password=hunter2` becomes
//! `password=[redacted]` and a reader still sees what was removed. Every
//! value group also matches its own marker, which keeps scrubbing
//! idempotent: scrubbing scrubbed text changes nothing.

/// What must hold, beyond the pattern, for a match to be replaced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Check {
    Always,
    /// Card numbers: the digits pass the Luhn check.
    Luhn,
}

pub struct Builtin {
    pub name: &'static str,
    pub pattern: &'static str,
    pub marker: &'static str,
    pub check: Check,
}

/// In the order they are applied: passwords in URLs before e-mail
/// addresses (`https://user:pw@host.example` holds something that looks
/// like an address), explicit header and key forms before generic pairs.
pub const BUILTINS: &[Builtin] = &[
    Builtin {
        name: "url_password",
        // The user part may hold `@` (`smtp://me@uni.example:pw@mail`),
        // which URLs should escape and people often do not.
        pattern: r"(?i)[a-z][a-z0-9+.-]*://[^\s:/?#]+:(?P<value>[^\s/?#@]+)@",
        marker: "[redacted]",
        check: Check::Always,
    },
    Builtin {
        name: "bearer_token",
        // The scheme list includes `bearer` so that `Authorization: Bearer
        // x` keeps its scheme and loses only `x`.
        pattern: r#"(?i)(?-u:\b)authorization["']?\s*[:=]\s*["']?(?:(?:bearer|basic|digest|negotiate|token)\s+)?(?P<value>[^\s"',;]+)|(?-u:\b)bearer\s+(?P<value2>[^\s"',;]+)"#,
        marker: "[redacted]",
        check: Check::Always,
    },
    Builtin {
        name: "api_key",
        // Well-known key prefixes: Stripe, GitHub, AWS access key ids,
        // Slack, GitLab. Case matters for them, so `(?-i:…)`.
        pattern: r#"(?i)(?-u:\b)(?:x-api-key|api[_-]?key|apikey|api[_-]?token|access[_-]?key(?:[_-]?id)?)["']?\s*[:=]\s*["']?(?P<value>[^\s"',;&]+)|(?-u:\b)(?P<value2>(?-i:(?:sk|pk|rk)_(?:live|test)_[A-Za-z0-9]{8,}|gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|AKIA[0-9A-Z]{16}|xox[abprs]-[A-Za-z0-9-]{10,}|glpat-[A-Za-z0-9_-]{20,}))(?-u:\b)"#,
        marker: "[redacted]",
        check: Check::Always,
    },
    Builtin {
        name: "secret_pair",
        // `key=value`, `key: value`, `"key": "value"`; the key may carry a
        // prefix (`db_password`, `X-Auth-Token`, `csrftoken`).
        pattern: r#"(?i)[a-z0-9_.-]*(?:password|passwd|pwd|secret|token|api[_-]?key|session(?:[_-]?id)?)["']?\s*[:=]\s*(?:"(?P<value>(?:[^"\\]|\\.)*)"|'(?P<value2>[^']*)'|(?P<value3>[^\s"',;&}]+))"#,
        marker: "[redacted]",
        check: Check::Always,
    },
    Builtin {
        name: "email",
        pattern: r"(?i)[a-z0-9._%+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}(?-u:\b)",
        marker: "[email]",
        check: Check::Always,
    },
    Builtin {
        name: "card_number",
        // 13–19 digits, spaces or dashes between them. The first digit is
        // 2–6, where every card network's numbers start: nanosecond
        // timestamps (1…) and most ids never qualify, and the Luhn check
        // drops nine in ten of what is left.
        pattern: r"(?-u:\b)(?P<value>[2-6][0-9](?:[ -]?[0-9]){11,17})(?-u:\b)",
        marker: "[card]",
        check: Check::Luhn,
    },
    Builtin {
        name: "ip_address",
        // IPv4, and IPv6 written in full or compressed after at least one
        // group (`fe80::1`, `2001:db8::8a2e:370:7334`).
        pattern: r"(?-u:\b)(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(?-u:\b)|(?-u:\b)(?:[0-9a-fA-F]{1,4}:){7}[0-9a-fA-F]{1,4}(?-u:\b)|(?-u:\b)[0-9a-fA-F]{1,4}(?::[0-9a-fA-F]{1,4}){0,5}::(?:[0-9a-fA-F]{1,4}(?::[0-9a-fA-F]{1,4}){0,5}(?-u:\b))?",
        marker: "[ip]",
        check: Check::Always,
    },
];

/// Keys whose values the structured scrubber replaces whole, matched as a
/// part of the lower-cased key with `-` read as `_` (as Sentry's server
/// side does): `X-Api-Key`, `db_password`, `set-cookie` all qualify.
pub const SENSITIVE_KEY_PARTS: &[&str] = &[
    "password",
    "passwd",
    "pwd",
    "secret",
    "token",
    "api_key",
    "apikey",
    "access_key",
    "private_key",
    "privatekey",
    "authorization",
    "credential",
    "cookie",
    "session",
    "csrf",
    "xsrf",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_configs_names() {
        let ours: Vec<&str> = BUILTINS.iter().map(|b| b.name).collect();
        assert_eq!(ours, crate::config::BUILTIN_SCRUBBERS);
    }

    #[test]
    fn markers_match_no_pattern_of_another_scrubber() {
        for b in BUILTINS {
            let re = regex::Regex::new(b.pattern).unwrap();
            for other in BUILTINS {
                assert!(!re.is_match(other.marker), "{} matches {}", b.name, other.marker);
            }
        }
    }
}
