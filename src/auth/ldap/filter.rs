//! Putting a typed name (and a DN) into a search filter without letting it
//! change the filter: RFC 4515 escaping of assertion values, and the
//! templates' placeholders filled in one pass.

use std::borrow::Cow;
use std::fmt::Write;

/// `value` as an RFC 4515 assertion value: `*`, `(`, `)`, `\` and NUL
/// become `\2a`, `\28`, `\29`, `\5c`, `\00`, so the value matches itself
/// literally — `*` is no wildcard and `)(` closes nothing. Other
/// characters (UTF-8 included) are valid as they are.
pub fn escape_value(value: &str) -> Cow<'_, str> {
    if !value.bytes().any(needs_escape) {
        return Cow::Borrowed(value);
    }
    let mut out = String::with_capacity(value.len() + 8);
    for c in value.chars() {
        if c.is_ascii() && needs_escape(c as u8) {
            let _ = write!(out, "\\{:02x}", c as u8);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

fn needs_escape(b: u8) -> bool {
    matches!(b, b'*' | b'(' | b')' | b'\\' | 0)
}

/// `template` with each placeholder replaced by its value, escaped. One
/// left-to-right pass, so a value that itself contains a placeholder's
/// text (a user named `{dn}`) is never expanded a second time.
pub fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() + 64);
    let mut rest = template;
    'outer: while !rest.is_empty() {
        for (placeholder, value) in values {
            if let Some(after) = rest.strip_prefix(placeholder) {
                out.push_str(&escape_value(value));
                rest = after;
                continue 'outer;
            }
        }
        let c = rest.chars().next().expect("rest is not empty");
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The inverse of `escape_value`, as a server reads an assertion value.
    fn unescape(text: &str) -> Option<String> {
        let bytes = text.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'\\' {
                let hex = text.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        String::from_utf8(out).ok()
    }

    #[test]
    fn known_values() {
        assert_eq!(escape_value("alice"), "alice");
        assert!(matches!(escape_value("alice"), Cow::Borrowed(_)));
        assert_eq!(escape_value("*"), "\\2a");
        assert_eq!(escape_value("admin)(uid=*"), "admin\\29\\28uid=\\2a");
        assert_eq!(escape_value("a\\b"), "a\\5cb");
        assert_eq!(escape_value("nul\0"), "nul\\00");
        assert_eq!(escape_value("Müller (IT)"), "Müller \\28IT\\29");
        // RFC 4515's own examples.
        assert_eq!(
            escape_value("Parens R Us (for all your parenthetical needs)"),
            "Parens R Us \\28for all your parenthetical needs\\29"
        );
        assert_eq!(escape_value("C:\\MYFILE"), "C:\\5cMYFILE");
    }

    #[test]
    fn fill_escapes_and_never_expands_twice() {
        assert_eq!(fill("(uid={user})", &[("{user}", "alice")]), "(uid=alice)");
        assert_eq!(fill("(uid={user})", &[("{user}", "*")]), "(uid=\\2a)");
        assert_eq!(
            fill(
                "(|(member={dn})(memberUid={user}))",
                &[("{dn}", "uid=a\\2Cb,dc=x"), ("{user}", "{dn}")]
            ),
            "(|(member=uid=a\\5c2Cb,dc=x)(memberUid={dn}))"
        );
        assert_eq!(fill("(cn=é{user}é)", &[("{user}", "ü")]), "(cn=éüé)");
    }

    proptest! {
        /// Whatever the value, the escaped text holds no filter syntax and
        /// reads back as the value.
        #[test]
        fn escaping_is_inert_and_reversible(value in any::<String>()) {
            let escaped = escape_value(&value);
            prop_assert!(!escaped.contains(['*', '(', ')', '\0']));
            prop_assert_eq!(unescape(&escaped), Some(value.clone()));
        }

        /// Names made of the filter's own characters, as an attacker would.
        #[test]
        fn filter_characters_stay_in_their_value(value in "[a-z()*\\\\=|&!\0]{0,24}") {
            let filter = fill("(&(objectClass=person)(uid={user}))", &[("{user}", &value)]);
            let inner = filter
                .strip_prefix("(&(objectClass=person)(uid=")
                .and_then(|f| f.strip_suffix("))"))
                .unwrap();
            prop_assert!(!inner.contains(['*', '(', ')']));
            prop_assert_eq!(unescape(inner), Some(value.clone()));
            // The filter parses, as the client library parses it before
            // sending, and stays one equality match.
            prop_assert!(ldap3::parse_filter(&filter).is_ok());
        }
    }
}
