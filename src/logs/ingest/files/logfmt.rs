//! logfmt (`level=info msg="user logged in" duration=12ms`), as Go's
//! logfmt and Python's structlog write it: pairs separated by spaces, a
//! value bare or double-quoted with backslash escapes. A key with no `=`
//! has an empty value. Garbage never fails the line: what cannot be read
//! as a pair is skipped, and the line itself is always kept as the
//! record's text when it names no message.

use serde_json::{Map, Value};

/// The pairs of `line`, later duplicates winning as in go-logfmt's readers.
pub fn parse_logfmt(line: &str) -> Map<String, Value> {
    let mut out = Map::new();
    let mut rest = line;
    loop {
        rest = rest.trim_start_matches(is_space);
        if rest.is_empty() {
            return out;
        }
        let key_end = rest.find(|c: char| c == '=' || is_space(c)).unwrap_or(rest.len());
        let key = &rest[..key_end];
        rest = &rest[key_end..];
        let value = match rest.strip_prefix('=') {
            None => String::new(),
            Some(after) => {
                let (value, after) = read_value(after);
                rest = after;
                value
            }
        };
        // `="x"` or a stray quote: no usable key, so nothing to keep.
        if key.is_empty() || key.contains('"') {
            continue;
        }
        out.insert(key.to_string(), Value::String(value));
    }
}

fn is_space(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// A value at the start of `s` and what follows it.
fn read_value(s: &str) -> (String, &str) {
    let Some(quoted) = s.strip_prefix('"') else {
        let end = s.find(is_space).unwrap_or(s.len());
        return (s[..end].to_string(), &s[end..]);
    };
    let mut value = String::new();
    let mut chars = quoted.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return (value, &quoted[i + 1..]),
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
    // An unterminated quote runs to the end of the line.
    (value, "")
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
