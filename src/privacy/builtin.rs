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
    /// What every match of `pattern` holds, tested before the regexes.
    pub needs: Needs,
}

/// A byte-level fact every match of a built-in's pattern holds, so a text
/// without it is skipped without running the regexes: most log texts
/// (access lines, logger names, methods) have none of `:`, `=` or `@`,
/// and few digits, while the regex set's scan of them costs tens of
/// nanoseconds a byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Needs {
    /// A `:` (`scheme://`).
    Colon,
    /// A `:` or `=` (`key: value`, `key=value`).
    Separator,
    /// A separator, or the word `bearer` in any case (`Bearer x`).
    SeparatorOrBearer,
    /// A separator, or what the known key prefixes hold: `_` (`sk_live_`,
    /// `ghp_`, `github_pat_`), `-` (`xoxb-`, `glpat-`) or `AKIA`.
    SeparatorOrKeyPrefix,
    /// An `@`.
    At,
    /// At least 13 ASCII digits.
    ThirteenDigits,
    /// A `.` (IPv4) or `:` (IPv6).
    DotOrColon,
}

/// The facts of one text that [`Needs`] are tested against, gathered in
/// one pass.
#[derive(Clone, Copy, Debug, Default)]
pub struct TextFacts {
    colon: bool,
    equals: bool,
    at: bool,
    dot: bool,
    underscore_or_dash: bool,
    digits: usize,
}

impl TextFacts {
    pub fn of(text: &str) -> TextFacts {
        let mut f = TextFacts::default();
        for &b in text.as_bytes() {
            match b {
                b'0'..=b'9' => f.digits += 1,
                b':' => f.colon = true,
                b'=' => f.equals = true,
                b'@' => f.at = true,
                b'.' => f.dot = true,
                b'_' | b'-' => f.underscore_or_dash = true,
                _ => {}
            }
        }
        f
    }
}

impl Needs {
    /// Whether `text` (with `facts` gathered from it) may hold a match.
    pub fn may_match(self, text: &str, facts: &TextFacts) -> bool {
        let separator = facts.colon || facts.equals;
        match self {
            Needs::Colon => facts.colon,
            Needs::Separator => separator,
            Needs::SeparatorOrBearer => separator || contains_ignore_case(text, "bearer"),
            Needs::SeparatorOrKeyPrefix => {
                separator
                    || facts.underscore_or_dash
                    || memchr::memmem::find(text.as_bytes(), b"AKIA").is_some()
            }
            Needs::At => facts.at,
            Needs::ThirteenDigits => facts.digits >= 13,
            Needs::DotOrColon => facts.dot || facts.colon,
        }
    }
}

/// Whether `text` holds `word` (lower-case ASCII) in any case.
fn contains_ignore_case(text: &str, word: &str) -> bool {
    text.as_bytes()
        .windows(word.len())
        .any(|w| w.eq_ignore_ascii_case(word.as_bytes()))
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
        needs: Needs::Colon,
    },
    Builtin {
        name: "bearer_token",
        // The scheme list includes `bearer` so that `Authorization: Bearer
        // x` keeps its scheme and loses only `x`.
        pattern: r#"(?i)(?-u:\b)authorization["']?\s*[:=]\s*["']?(?:(?:bearer|basic|digest|negotiate|token)\s+)?(?P<value>[^\s"',;]+)|(?-u:\b)bearer\s+(?P<value2>[^\s"',;]+)"#,
        marker: "[redacted]",
        check: Check::Always,
        needs: Needs::SeparatorOrBearer,
    },
    Builtin {
        name: "api_key",
        // Well-known key prefixes: Stripe, GitHub, AWS access key ids,
        // Slack, GitLab. Case matters for them, so `(?-i:…)`.
        pattern: r#"(?i)(?-u:\b)(?:x-api-key|api[_-]?key|apikey|api[_-]?token|access[_-]?key(?:[_-]?id)?)["']?\s*[:=]\s*["']?(?P<value>[^\s"',;&]+)|(?-u:\b)(?P<value2>(?-i:(?:sk|pk|rk)_(?:live|test)_[A-Za-z0-9]{8,}|gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|AKIA[0-9A-Z]{16}|xox[abprs]-[A-Za-z0-9-]{10,}|glpat-[A-Za-z0-9_-]{20,}))(?-u:\b)"#,
        marker: "[redacted]",
        check: Check::Always,
        needs: Needs::SeparatorOrKeyPrefix,
    },
    Builtin {
        name: "secret_pair",
        // `key=value`, `key: value`, `"key": "value"`; the key may carry a
        // prefix (`db_password`, `X-Auth-Token`, `csrftoken`).
        pattern: r#"(?i)[a-z0-9_.-]*(?:password|passwd|pwd|secret|token|api[_-]?key|session(?:[_-]?id)?)["']?\s*[:=]\s*(?:"(?P<value>(?:[^"\\]|\\.)*)"|'(?P<value2>[^']*)'|(?P<value3>[^\s"',;&}]+))"#,
        marker: "[redacted]",
        check: Check::Always,
        needs: Needs::Separator,
    },
    Builtin {
        name: "email",
        pattern: r"(?i)[a-z0-9._%+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}(?-u:\b)",
        marker: "[email]",
        check: Check::Always,
        needs: Needs::At,
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
        needs: Needs::ThirteenDigits,
    },
    Builtin {
        name: "ip_address",
        // IPv4, and IPv6 written in full or compressed after at least one
        // group (`fe80::1`, `2001:db8::8a2e:370:7334`).
        pattern: r"(?-u:\b)(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(?-u:\b)|(?-u:\b)(?:[0-9a-fA-F]{1,4}:){7}[0-9a-fA-F]{1,4}(?-u:\b)|(?-u:\b)[0-9a-fA-F]{1,4}(?::[0-9a-fA-F]{1,4}){0,5}::(?:[0-9a-fA-F]{1,4}(?::[0-9a-fA-F]{1,4}){0,5}(?-u:\b))?",
        marker: "[ip]",
        check: Check::Always,
        needs: Needs::DotOrColon,
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

    proptest::proptest! {
        /// A text a built-in's pattern matches always has what it needs,
        /// so the prefilter never skips a secret. The texts mix the
        /// patterns' key words, separators, digits and prefixes.
        #[test]
        fn every_match_has_what_its_scrubber_needs(
            text in "([ -~]{0,6}(bearer|BeArEr|authorization|api_key|x-api-key|password|secret|token|sk_live_|ghp_|xoxb-|glpat-|AKIA|github_pat_|://|@|[0-9]{1,9}|\\.|::|[:=]|[a-z]{1,8}|\\s)){0,8}"
        ) {
            static PATTERNS: std::sync::LazyLock<Vec<regex::Regex>> = std::sync::LazyLock::new(|| {
                BUILTINS.iter().map(|b| regex::Regex::new(b.pattern).unwrap()).collect()
            });
            let facts = TextFacts::of(&text);
            for (b, re) in BUILTINS.iter().zip(PATTERNS.iter()) {
                if re.is_match(&text) {
                    proptest::prop_assert!(b.needs.may_match(&text, &facts), "{} matches {text:?}", b.name);
                }
            }
        }
    }

    #[test]
    fn texts_without_what_a_scrubber_needs_are_skipped() {
        let access = "GET /api/v1/courses/1234/modules 200";
        let facts = TextFacts::of(access);
        for b in BUILTINS.iter().filter(|b| b.name != "ip_address") {
            assert!(!b.needs.may_match(access, &facts), "{}", b.name);
        }
        let bearer = "sent header BEARER abc123";
        assert!(Needs::SeparatorOrBearer.may_match(bearer, &TextFacts::of(bearer)));
        let card = "paid with 4111 1111 1111 1111 today";
        assert!(Needs::ThirteenDigits.may_match(card, &TextFacts::of(card)));
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
