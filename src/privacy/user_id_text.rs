//! User ids written inside free text — `user_id=42` in a message,
//! `"userId": "s-7"` in an error's JSON dump, `'username': 'ada'` in a
//! Python repr — become the same keyed token the `user_id` field gets, so
//! a raw id reaches the disk neither as a field nor inside a sentence.
//!
//! The key is any of [`USER_ID_NAMES`] (in any case, after a word
//! boundary, so `ctx.user_id=` counts and `the_user_id=` does not, as
//! [`names_a_user_id`](super::names_a_user_id) reads field names), optionally
//! quoted, then `=` or `:`; the value is a quoted string (JSON, Python or
//! escaped-in-JSON quotes) or a bare word.

use std::borrow::Cow;
use std::sync::Arc;

use regex::{Captures, Regex};
use serde_json::{Map, Value};

use crate::selfmetrics::Counter;

use super::{ScrubMetrics, TOKEN_PREFIX, USER_ID_NAMES, UserIdHasher};

/// Nesting past this depth is left alone, as the structured scrubber
/// replaces it whole anyway.
const MAX_DEPTH: usize = 128;

/// Characters that end a bare value: separators of the pairs around it and
/// brackets, so `user_id=42&course=7` and `{user: 42}` give `42`.
const BARE_END: &str = r#"\s"',;&}\])\\<>\[{("#;

pub struct UserIdsInText {
    regex: Regex,
    tokenized: Arc<Counter>,
}

impl std::fmt::Debug for UserIdsInText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UserIdsInText")
    }
}

impl UserIdsInText {
    pub fn new(metrics: &ScrubMetrics) -> Self {
        let mut names: Vec<&str> = USER_ID_NAMES.to_vec();
        // Longest first, so `username` is not read as `user` + `name`.
        names.sort_by_key(|n| std::cmp::Reverse(n.len()));
        let names: Vec<String> = names.iter().map(|n| regex::escape(n)).collect();
        let pattern = format!(
            r#"(?i)(?-u:\b)(?:{names})(?:\\?["'])?[ \t]*[:=][ \t]*(?:"(?P<dq>(?:[^"\\]|\\.)*)"|'(?P<sq>[^']*)'|\\"(?P<eq>(?:[^"\\]|\\[^"])*)\\"|(?P<bare>[^{BARE_END}]*[^{BARE_END}.:]))"#,
            names = names.join("|"),
        );
        UserIdsInText {
            regex: Regex::new(&pattern).expect("the user-id pattern compiles"),
            tokenized: metrics.counter("user_id"),
        }
    }

    /// `text` with the value of every user-id pair replaced by its token;
    /// borrowed when there was none. Tokens are left as they are, so
    /// running it twice changes nothing.
    pub fn tokenize<'a>(&self, text: &'a str, hasher: &UserIdHasher) -> Cow<'a, str> {
        if !may_hold_a_pair(text) {
            return Cow::Borrowed(text);
        }
        let mut out = String::new();
        let mut copied = 0;
        for caps in self.regex.captures_iter(text) {
            let Some((span, raw)) = value_of(&caps) else {
                continue;
            };
            if raw.is_empty() || is_token(&raw) || is_no_value(&raw) {
                continue;
            }
            self.tokenized.inc();
            if out.is_empty() {
                out.reserve(text.len());
            }
            out.push_str(&text[copied..span.start()]);
            out.push_str(&hasher.token(&raw));
            copied = span.end();
        }
        if copied == 0 {
            return Cow::Borrowed(text);
        }
        out.push_str(&text[copied..]);
        Cow::Owned(out)
    }

    /// Tokenizes `text` in place; true when it changed.
    pub fn tokenize_string(&self, text: &mut String, hasher: &UserIdHasher) -> bool {
        match self.tokenize(text, hasher) {
            Cow::Borrowed(_) => false,
            Cow::Owned(new) => {
                *text = new;
                true
            }
        }
    }

    /// Tokenizes every string in `map`, at any depth (keys are kept).
    pub fn tokenize_map(&self, map: &mut Map<String, Value>, hasher: &UserIdHasher) {
        for v in map.values_mut() {
            self.tokenize_value(v, hasher, 0);
        }
    }

    fn tokenize_value(&self, value: &mut Value, hasher: &UserIdHasher, depth: usize) {
        if depth > MAX_DEPTH {
            return;
        }
        match value {
            Value::String(s) => {
                self.tokenize_string(s, hasher);
            }
            Value::Array(items) => items
                .iter_mut()
                .for_each(|v| self.tokenize_value(v, hasher, depth + 1)),
            Value::Object(map) => map
                .values_mut()
                .for_each(|v| self.tokenize_value(v, hasher, depth + 1)),
            Value::Number(_) | Value::Bool(_) | Value::Null => {}
        }
    }
}

/// Whether `text` has what every pair needs: a `:` or `=`, and a `u`
/// (every one of [`USER_ID_NAMES`] starts with one, in either case).
/// Most log texts (access lines, plain messages) lack one of the two,
/// and two `memchr` scans rule them out for much less than a search of
/// the case-insensitive pattern costs.
fn may_hold_a_pair(text: &str) -> bool {
    let bytes = text.as_bytes();
    memchr::memchr2(b':', b'=', bytes).is_some() && memchr::memchr2(b'u', b'U', bytes).is_some()
}

/// The span to replace and the id as the field path would read it (a JSON
/// string unescaped, so `"a\"b"` gets the token of `a"b`).
fn value_of<'t>(caps: &Captures<'t>) -> Option<(regex::Match<'t>, Cow<'t, str>)> {
    if let Some(m) = caps.name("dq") {
        let raw = m.as_str();
        if !raw.contains('\\') {
            return Some((m, Cow::Borrowed(raw)));
        }
        let unescaped = serde_json::from_str::<String>(&format!("\"{raw}\""))
            .map(Cow::Owned)
            .unwrap_or(Cow::Borrowed(raw));
        return Some((m, unescaped));
    }
    ["sq", "eq", "bare"]
        .iter()
        .find_map(|g| caps.name(g))
        .map(|m| (m, Cow::Borrowed(m.as_str())))
}

/// `u_` and 16 lower-case hex digits: already a token.
fn is_token(value: &str) -> bool {
    value.len() == TOKEN_PREFIX.len() + 16
        && value.starts_with(TOKEN_PREFIX)
        && value[TOKEN_PREFIX.len()..]
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The null words of JSON, Python and Go: no id to hide.
fn is_no_value(value: &str) -> bool {
    matches!(value, "null" | "None" | "nil" | "<nil>")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;
    use crate::privacy::UserIdKey;
    use crate::selfmetrics::Registry;
    use proptest::prelude::*;

    fn rule() -> (UserIdsInText, UserIdHasher) {
        let metrics = ScrubMetrics::new(Registry::new());
        let hasher = UserIdHasher::new(&UserIdKey::from_secret(&Secret::new("key-for-tests-0123456789")));
        (UserIdsInText::new(&metrics), hasher)
    }

    #[test]
    fn each_spelling_of_a_pair_gets_the_fields_token() {
        let (r, h) = rule();
        let t42 = h.token("42");
        let tada = h.token("ada");
        let cases = [
            ("login failed user_id=42", format!("login failed user_id={t42}")),
            ("login failed user_id=42.", format!("login failed user_id={t42}.")),
            (
                r#"{"user_id": 42, "x": 1}"#,
                format!(r#"{{"user_id": {t42}, "x": 1}}"#),
            ),
            (r#"{"userId": "ada"}"#, format!(r#"{{"userId": "{tada}"}}"#)),
            ("userId:42 done", format!("userId:{t42} done")),
            ("User=ada, course=7", format!("User={tada}, course=7")),
            ("{'username': 'ada'}", format!("{{'username': '{tada}'}}")),
            (
                r#"msg="{\"uid\": \"ada\"}""#,
                format!(r#"msg="{{\"uid\": \"{tada}\"}}""#),
            ),
            (
                "GET /a?user_id=42&course=7",
                format!("GET /a?user_id={t42}&course=7"),
            ),
            ("ctx.user.id=42", format!("ctx.user.id={t42}")),
            (
                r#"user_name="a\"b""#,
                format!(r#"user_name="{}""#, h.token("a\"b")),
            ),
        ];
        for (text, want) in cases {
            assert_eq!(r.tokenize(text, &h), want, "{text}");
        }
    }

    #[test]
    fn every_name_starts_with_the_letter_the_prefilter_looks_for() {
        for name in USER_ID_NAMES {
            assert!(name.starts_with(['u', 'U']), "{name}");
        }
        assert!(!may_hold_a_pair("GET /api/v1/courses/12 200"));
        assert!(!may_hold_a_pair("user 42 logged in"));
        assert!(may_hold_a_pair("user=42"));
    }

    #[test]
    fn other_words_and_empty_values_stay() {
        let (r, h) = rule();
        for text in [
            "the_user_id=42",
            "guid=42",
            "User-Agent: curl",
            "user_ids=[1,2]",
            "users/42",
            r#"{"user_id": null}"#,
            "user_id=",
            r#"user_id="""#,
            "no pairs here at all",
        ] {
            assert!(matches!(r.tokenize(text, &h), Cow::Borrowed(_)), "{text}");
        }
    }

    #[test]
    fn strings_in_nested_values_are_tokenized() {
        let (r, h) = rule();
        let mut v = serde_json::json!({"exc": "KeyError user=ada", "list": [{"m": "uid=42"}], "n": 42});
        r.tokenize_map(v.as_object_mut().unwrap(), &h);
        assert_eq!(v["exc"], format!("KeyError user={}", h.token("ada")));
        assert_eq!(v["list"][0]["m"], format!("uid={}", h.token("42")));
        assert_eq!(v["n"], 42);
    }

    proptest! {
        #[test]
        fn no_raw_id_is_left_and_tokenizing_is_idempotent(
            prefix in "[a-zA-Z0-9 .,/]{0,20}",
            name_i in 0usize..USER_ID_NAMES.len(),
            upper in any::<bool>(),
            form in 0usize..5,
            id in "[A-Za-z0-9_-]{3,12}",
            suffix in "[ ,;&][ -~]{0,20}",
        ) {
            let (r, h) = rule();
            let name = if upper { USER_ID_NAMES[name_i].to_ascii_uppercase() } else { USER_ID_NAMES[name_i].to_string() };
            let pair = |value: &str| match form {
                0 => format!("{name}={value}"),
                1 => format!("\"{name}\": \"{value}\""),
                2 => format!("'{name}': '{value}'"),
                3 => format!("{name}:{value}"),
                _ => format!("\\\"{name}\\\": \\\"{value}\\\""),
            };
            let text = format!("{prefix} {}{suffix}", pair(&id));
            let once = r.tokenize(&text, &h).into_owned();
            prop_assert!(once.contains(&pair(&h.token(&id))), "{text:?} → {once:?}");
            prop_assert_eq!(r.tokenize(&once, &h), once.as_str());
        }

        #[test]
        fn never_panics_and_is_idempotent(text in "\\PC{0,80}") {
            let (r, h) = rule();
            let once = r.tokenize(&text, &h).into_owned();
            prop_assert_eq!(r.tokenize(&once, &h), once.as_str());
        }

        /// The prefilter only skips texts the pattern cannot match.
        #[test]
        fn the_prefilter_skips_no_pair(text in "[ -~]{0,12}(uid|UsEr|user_name|x)[\"' ]{0,2}[:= ]{0,2}[ -~]{0,12}") {
            let (r, _) = rule();
            if r.regex.is_match(&text) {
                prop_assert!(may_hold_a_pair(&text), "{text:?}");
            }
        }
    }
}
