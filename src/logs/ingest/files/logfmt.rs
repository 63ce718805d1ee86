//! logfmt (`level=info msg="user logged in" duration=12ms`), as Go's
//! logfmt and Python's structlog write it: pairs separated by spaces, a
//! value bare or double-quoted with backslash escapes. A key with no `=`
//! has an empty value. One reader for the files tailer and LogQL's
//! `| logfmt`, with a strictness switch: leniently, garbage never fails
//! the line — what cannot be read as a pair is skipped, and the line
//! itself is always kept as the record's text when it names no message;
//! strictly (`| logfmt --strict`), the first malformed byte is an error.

use serde_json::{Map, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strictness {
    /// Pairs separated by spaces or tabs; what is no pair is skipped, an
    /// unterminated quote runs to the end of the line.
    Lenient,
    /// Pairs separated by any ASCII white space; a key-less `=`, a quote
    /// or `=` inside a bare value, or an unterminated quote is an error.
    Strict,
}

/// The pairs of `text` in order, duplicates included; an error (strictly
/// only) names the malformed byte.
pub fn read_logfmt(text: &str, strictness: Strictness) -> Result<Vec<(String, String)>, String> {
    let strict = strictness == Strictness::Strict;
    let is_separator = |c: char| {
        if strict {
            c.is_ascii_whitespace()
        } else {
            c == ' ' || c == '\t'
        }
    };
    let offset = |rest: &str| text.len() - rest.len();
    let unexpected = |c: char, at: usize| format!("unexpected '{c}' at byte {at}");
    let mut out = Vec::new();
    let mut rest = text;
    loop {
        rest = rest.trim_start_matches(is_separator);
        let Some(first) = rest.chars().next() else {
            return Ok(out);
        };
        let key_end = rest
            .find(|c: char| c == '=' || is_separator(c) || (strict && c == '"'))
            .unwrap_or(rest.len());
        if strict && key_end == 0 {
            return Err(unexpected(first, offset(rest)));
        }
        let key = &rest[..key_end];
        rest = &rest[key_end..];
        let value = match rest.strip_prefix('=') {
            None if strict && rest.starts_with('"') => return Err(unexpected('"', offset(rest))),
            None => String::new(),
            Some(after) => match after.strip_prefix('"') {
                Some(quoted) => {
                    let (value, after, closed) = read_quoted(quoted);
                    if strict && !closed {
                        return Err("unterminated quoted value".into());
                    }
                    rest = after;
                    value
                }
                None => {
                    let end = after.find(is_separator).unwrap_or(after.len());
                    let bare = &after[..end];
                    if strict && let Some(at) = bare.find(['"', '=']) {
                        let c = char::from(bare.as_bytes()[at]);
                        return Err(unexpected(c, offset(after) + at));
                    }
                    rest = &after[end..];
                    bare.to_string()
                }
            },
        };
        // `="x"` or a stray quote: no usable key, so nothing to keep.
        if key.is_empty() || key.contains('"') {
            continue;
        }
        out.push((key.to_string(), value));
    }
}

/// The pairs of `line`, read leniently, later duplicates winning as in
/// go-logfmt's readers.
pub fn parse_logfmt(line: &str) -> Map<String, Value> {
    read_logfmt(line, Strictness::Lenient)
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect()
}

/// A quoted value after its opening quote: the value, what follows the
/// closing quote, and whether there was one.
fn read_quoted(quoted: &str) -> (String, &str, bool) {
    let mut value = String::new();
    let mut chars = quoted.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return (value, &quoted[i + 1..], true),
            '\\' => match chars.next() {
                Some((_, 'n')) => value.push('\n'),
                Some((_, 't')) => value.push('\t'),
                Some((_, 'r')) => value.push('\r'),
                Some((_, other)) => value.push(other),
                None => value.push('\\'),
            },
            other => value.push(other),
        }
    }
    (value, "", false)
}

/// Writes pairs as logfmt (tests and the fuzz target's round trip).
pub fn format_logfmt(pairs: &[(String, String)]) -> String {
    let mut out = String::new();
    for (k, v) in pairs {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(k);
        out.push('=');
        let needs_quotes = v.is_empty()
            || v.chars()
                .any(|c| c == ' ' || c == '"' || c == '=' || c == '\\' || c.is_control());
        if !needs_quotes {
            out.push_str(v);
            continue;
        }
        out.push('"');
        for c in v.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\t' => out.push_str("\\t"),
                '\r' => out.push_str("\\r"),
                c => out.push(c),
            }
        }
        out.push('"');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn s(v: &Value) -> &str {
        v.as_str().unwrap()
    }

    #[test]
    fn reads_bare_quoted_and_empty_values() {
        let m = parse_logfmt(
            r#"ts=2026-12-06T10:00:00Z level=warn msg="quiz \"final\" saved" user_id=42 cached path=/api/q empty="""#,
        );
        assert_eq!(s(&m["level"]), "warn");
        assert_eq!(s(&m["msg"]), "quiz \"final\" saved");
        assert_eq!(s(&m["user_id"]), "42");
        assert_eq!(s(&m["cached"]), "");
        assert_eq!(s(&m["path"]), "/api/q");
        assert_eq!(s(&m["empty"]), "");
        assert_eq!(m.len(), 7);
    }

    #[test]
    fn garbage_is_skipped_not_fatal() {
        let m = parse_logfmt(r#"=x "a b" k=v msg="unterminated"#);
        assert_eq!(s(&m["k"]), "v");
        assert_eq!(s(&m["msg"]), "unterminated");
        assert!(parse_logfmt("").is_empty());
        assert!(parse_logfmt("   \t ").is_empty());
    }

    proptest! {
        #[test]
        fn never_panics(line in ".{0,200}") {
            let _ = parse_logfmt(&line);
        }

        #[test]
        fn what_is_written_reads_back(
            pairs in prop::collection::btree_map("[a-z_][a-z0-9_.]{0,10}", ".{0,30}", 0..8)
        ) {
            let pairs: Vec<(String, String)> = pairs.into_iter().collect();
            let parsed = parse_logfmt(&format_logfmt(&pairs));
            prop_assert_eq!(parsed.len(), pairs.len());
            for (k, v) in &pairs {
                prop_assert_eq!(parsed[k].as_str(), Some(v.as_str()));
            }
        }
    }
}
