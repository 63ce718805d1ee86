//! One server-side fingerprint rule in Sentry's syntax:
//! `error.type:OperationalError error.value:"*timeout*" -> database-errors`.
//! Matchers (`key:value`, `!key:value` negates; values are globs, quoted
//! when they hold spaces) on the left; fingerprint parts on the right
//! (words, quoted strings, `{{ default }}` and other variables), then
//! optional `title="…"`. Parsed when the configuration loads, so a typo
//! is reported with the rule, not at the first event.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The matcher keys Sentry's fingerprinting knows, with their aliases
/// folded to one name.
const KEYS: &[(&str, &str)] = &[
    ("error.type", "type"),
    ("type", "type"),
    ("error.value", "value"),
    ("value", "value"),
    ("message", "message"),
    ("logger", "logger"),
    ("level", "level"),
    ("stack.function", "function"),
    ("function", "function"),
    ("stack.module", "module"),
    ("module", "module"),
    ("stack.abs_path", "path"),
    ("path", "path"),
    ("stack.package", "package"),
    ("package", "package"),
    ("stack.app", "app"),
    ("app", "app"),
    ("release", "release"),
    ("environment", "environment"),
    ("transaction", "transaction"),
];

/// The `{{ … }}` variables a fingerprint part may hold.
const VARIABLES: &[&str] = &[
    "default",
    "transaction",
    "type",
    "error.type",
    "value",
    "error.value",
    "function",
    "stack.function",
    "module",
    "stack.module",
    "package",
    "stack.package",
    "level",
    "logger",
    "message",
];

#[derive(Clone, Debug, PartialEq)]
pub struct FingerprintMatcher {
    /// The canonical key (`type`, `value`, `function`, …, or `tags.NAME`).
    pub key: String,
    pub negated: bool,
    /// A glob: `*` any run, `?` one character; matched case-insensitively.
    pub pattern: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct FingerprintRule {
    /// As written, for the configuration's echo and error messages.
    pub source: String,
    pub matchers: Vec<FingerprintMatcher>,
    /// Literal parts, and variables as `{{ name }}`.
    pub fingerprint: Vec<String>,
    pub title: Option<String>,
}

impl FingerprintRule {
    pub fn parse(text: &str) -> Result<FingerprintRule, String> {
        let source = text.trim().to_string();
        let Some((left, right)) = split_arrow(&source) else {
            return Err(format!(
                "{source:?}: no '->' between the matchers and the fingerprint"
            ));
        };
        let mut matchers = Vec::new();
        for token in tokens(left).map_err(|e| format!("{source:?}: {e}"))? {
            matchers.push(matcher(&token).map_err(|e| format!("{source:?}: {e}"))?);
        }
        if matchers.is_empty() {
            return Err(format!("{source:?}: no matcher before '->'"));
        }
        let mut fingerprint = Vec::new();
        let mut title = None;
        for token in tokens(right).map_err(|e| format!("{source:?}: {e}"))? {
            if let Some(t) = token.strip_prefix("title=") {
                title = Some(t.to_string());
                continue;
            }
            if let Some(inner) = token.strip_prefix("{{").and_then(|t| t.strip_suffix("}}")) {
                let name = inner.trim();
                let known =
                    VARIABLES.contains(&name) || name.strip_prefix("tags.").is_some_and(|t| !t.is_empty());
                if !known {
                    return Err(format!(
                        "{source:?}: unknown fingerprint variable {{{{ {name} }}}}"
                    ));
                }
                fingerprint.push(format!("{{{{ {name} }}}}"));
                continue;
            }
            fingerprint.push(token);
        }
        if fingerprint.is_empty() {
            return Err(format!("{source:?}: no fingerprint after '->'"));
        }
        Ok(FingerprintRule {
            source,
            matchers,
            fingerprint,
            title,
        })
    }
}

/// The `->` outside quotes.
fn split_arrow(text: &str) -> Option<(&str, &str)> {
    let mut quoted = false;
    let bytes = text.as_bytes();
    for i in 0..bytes.len() {
        match bytes[i] {
            b'"' => quoted = !quoted,
            b'-' if !quoted && bytes.get(i + 1) == Some(&b'>') => return Some((&text[..i], &text[i + 2..])),
            _ => {}
        }
    }
    None
}

/// Whitespace- (or comma-) separated tokens; `"…"` quotes keep spaces
/// and are removed, `\"` inside them is a quote; `{{ x }}` is one token.
fn tokens(text: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() || c == ',' {
            chars.next();
            continue;
        }
        let mut token = String::new();
        if c == '{' {
            for c in chars.by_ref() {
                token.push(c);
                if token.ends_with("}}") {
                    break;
                }
            }
            if !token.ends_with("}}") {
                return Err(format!("unclosed variable {token:?}"));
            }
            out.push(token);
            continue;
        }
        while let Some(&c) = chars.peek() {
            if c.is_whitespace() || c == ',' {
                break;
            }
            chars.next();
            if c != '"' {
                token.push(c);
                continue;
            }
            let mut closed = false;
            while let Some(c) = chars.next() {
                match c {
                    '\\' => token.extend(chars.next()),
                    '"' => {
                        closed = true;
                        break;
                    }
                    c => token.push(c),
                }
            }
            if !closed {
                return Err("unclosed quote".into());
            }
        }
        out.push(token);
    }
    Ok(out)
}

fn matcher(token: &str) -> Result<FingerprintMatcher, String> {
    let (negated, rest) = match token.strip_prefix('!') {
        Some(r) => (true, r),
        None => (false, token),
    };
    let Some((key, pattern)) = rest.split_once(':') else {
        return Err(format!(
            "{token:?} is not a matcher (expected key:value, e.g. error.type:ValueError)"
        ));
    };
    let key = if let Some(tag) = key.strip_prefix("tags.") {
        if tag.is_empty() {
            return Err(format!("{token:?}: empty tag name"));
        }
        key.to_string()
    } else {
        let Some((_, canonical)) = KEYS.iter().find(|(k, _)| *k == key) else {
            let known: Vec<&str> = KEYS.iter().map(|(k, _)| *k).collect();
            return Err(format!(
                "unknown matcher {key:?} (known: {}, tags.NAME)",
                known.join(", ")
            ));
        };
        canonical.to_string()
    };
    if pattern.is_empty() {
        return Err(format!("{token:?}: empty value"));
    }
    Ok(FingerprintMatcher {
        key,
        negated,
        pattern: pattern.to_string(),
    })
}

impl fmt::Display for FingerprintRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

impl<'de> Deserialize<'de> for FingerprintRule {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        FingerprintRule::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl Serialize for FingerprintRule {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sentrys_examples() {
        let r = FingerprintRule::parse("error.type:OperationalError -> database-errors").unwrap();
        assert_eq!(r.matchers[0].key, "type");
        assert_eq!(r.matchers[0].pattern, "OperationalError");
        assert_eq!(r.fingerprint, vec!["database-errors"]);
        let r = FingerprintRule::parse(
            r#"error.type:ConnectionError !message:"*read timed out*" -> conn, {{ default }} title="Connection""#,
        )
        .unwrap();
        assert_eq!(r.matchers.len(), 2);
        assert!(r.matchers[1].negated);
        assert_eq!(r.matchers[1].pattern, "*read timed out*");
        assert_eq!(r.fingerprint, vec!["conn", "{{ default }}"]);
        assert_eq!(r.title.as_deref(), Some("Connection"));
        let r = FingerprintRule::parse("tags.course:\"MATH 101\" -> {{tags.course}}").unwrap();
        assert_eq!(r.matchers[0].key, "tags.course");
        assert_eq!(r.fingerprint, vec!["{{ tags.course }}"]);
    }

    #[test]
    fn errors_name_the_problem() {
        let e = FingerprintRule::parse("error.type:X database").unwrap_err();
        assert!(e.contains("no '->'"), "{e}");
        let e = FingerprintRule::parse("colour:red -> x").unwrap_err();
        assert!(e.contains("unknown matcher \"colour\""), "{e}");
        let e = FingerprintRule::parse("-> x").unwrap_err();
        assert!(e.contains("no matcher"), "{e}");
        let e = FingerprintRule::parse("type:X ->").unwrap_err();
        assert!(e.contains("no fingerprint"), "{e}");
        let e = FingerprintRule::parse("type:X -> {{ colour }}").unwrap_err();
        assert!(e.contains("unknown fingerprint variable"), "{e}");
        let e = FingerprintRule::parse("message:\"abc -> x").unwrap_err();
        assert!(e.contains("'->'") || e.contains("quote"), "{e}");
    }
}
