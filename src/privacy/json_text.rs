//! JSON scrubbed as text, without building a `serde_json::Value`: one pass
//! over the bytes that checks the text is JSON, copies what is clean as it
//! came and rewrites only what a scrubber changes. An error event of a
//! Python app is some 50 KB of frames, local variables and breadcrumbs,
//! nearly all of it clean; building a `Value` of it (a `String` and a map
//! node per value) and writing it back costs more than everything else
//! that ingest does with it.
//!
//! The result is what [`Scrubber::scrub_value`] makes of the parsed text
//! (the property tests below hold the two to it), written compactly: same
//! values, same sensitive keys replaced whole, same card numbers.

use std::borrow::Cow;

use super::Scrubber;
use super::luhn::luhn_valid;
use super::structured::SENSITIVE_MARKER;

/// As `serde_json`'s own recursion limit, so text one accepts the other
/// accepts too.
const MAX_NESTING: usize = 128;

/// Text that is not one JSON value, and where it stops being one.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid JSON at byte {offset}: {reason}")]
pub struct JsonTextError {
    pub offset: usize,
    pub reason: &'static str,
}

impl Scrubber {
    /// Appends `text`, one JSON value, to `out` scrubbed as
    /// [`Scrubber::scrub_value`] scrubs it parsed.
    pub fn scrub_json_text(&self, text: &str, out: &mut String) -> Result<(), JsonTextError> {
        Cursor::new(text).document(Mode::Scrub(self), out)
    }
}

/// Checks `text` is one JSON value.
#[cfg(test)]
fn check_json_text(text: &str) -> Result<(), JsonTextError> {
    Cursor::new(text).document(Mode::Skip, &mut String::new())
}

/// The members of the JSON object `text`, in order: each key (unescaped)
/// and its value's text. Checks the whole text is JSON.
pub fn object_members(text: &str) -> Result<Vec<(Cow<'_, str>, &str)>, JsonTextError> {
    let mut c = Cursor::new(text);
    let mut members = Vec::new();
    let mut sink = String::new();
    c.skip_ws();
    c.expect(b'{', "expected an object")?;
    c.skip_ws();
    if c.eat(b'}') {
        return c.end().map(|()| members);
    }
    loop {
        c.skip_ws();
        let key = c.string()?;
        c.skip_ws();
        c.expect(b':', "expected `:` after an object key")?;
        c.skip_ws();
        let start = c.pos;
        c.value(Mode::Skip, 1, &mut sink)?;
        members.push((key.text()?, &text[start..c.pos]));
        c.skip_ws();
        if c.eat(b',') {
            continue;
        }
        c.expect(b'}', "expected `,` or `}` in an object")?;
        return c.end().map(|()| members);
    }
}

/// Appends `s` to `out` as a JSON string.
fn push_json_str(out: &mut String, s: &str) {
    out.push('"');
    let mut clean = 0;
    for (i, b) in s.bytes().enumerate() {
        let escaped = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[clean..i]);
        if escaped.is_empty() {
            out.push_str(&format!("\\u{b:04x}"));
        } else {
            out.push_str(escaped);
        }
        clean = i + 1;
    }
    out.push_str(&s[clean..]);
    out.push('"');
}

#[derive(Clone, Copy)]
enum Mode<'s> {
    /// Check only.
    Skip,
    Scrub(&'s Scrubber),
}

/// A string token: its text with the quotes, and whether it holds escapes.
struct StringToken<'t> {
    raw: &'t str,
    escaped: bool,
    offset: usize,
}

impl<'t> StringToken<'t> {
    fn content(&self) -> &'t str {
        &self.raw[1..self.raw.len() - 1]
    }

    /// The string's value. The one-character escapes that source code in
    /// a stack frame is full of (`\"`, `\\`, `\n`) are decoded here;
    /// a string with a `\u` escape, rarer and with surrogate rules, goes
    /// to `serde_json`.
    fn text(&self) -> Result<Cow<'t, str>, JsonTextError> {
        if !self.escaped {
            return Ok(Cow::Borrowed(self.content()));
        }
        let content = self.content();
        if content.contains("\\u") {
            return serde_json::from_str::<String>(self.raw)
                .map(Cow::Owned)
                .map_err(|_| self.bad_escape());
        }
        let mut decoded = String::with_capacity(content.len());
        let mut rest = content;
        while let Some(i) = rest.find('\\') {
            decoded.push_str(&rest[..i]);
            decoded.push(unescape(rest.as_bytes()[i + 1]).ok_or_else(|| self.bad_escape())?);
            rest = &rest[i + 2..];
        }
        decoded.push_str(rest);
        Ok(Cow::Owned(decoded))
    }

    /// Whether the string's escapes are JSON's, without decoding it.
    fn check(&self) -> Result<(), JsonTextError> {
        if !self.escaped {
            return Ok(());
        }
        let content = self.content();
        if content.contains("\\u") {
            return self.text().map(drop);
        }
        let bytes = content.as_bytes();
        let mut from = 0;
        while let Some(i) = memchr::memchr(b'\\', &bytes[from..]) {
            unescape(bytes[from + i + 1]).ok_or_else(|| self.bad_escape())?;
            from += i + 2;
        }
        Ok(())
    }

    fn bad_escape(&self) -> JsonTextError {
        JsonTextError {
            offset: self.offset,
            reason: "invalid escape in a string",
        }
    }
}

/// What a one-character escape stands for (`\u` is not one).
fn unescape(b: u8) -> Option<char> {
    Some(match b {
        b'"' => '"',
        b'\\' => '\\',
        b'/' => '/',
        b'b' => '\u{8}',
        b'f' => '\u{c}',
        b'n' => '\n',
        b'r' => '\r',
        b't' => '\t',
        _ => return None,
    })
}

struct Cursor<'t> {
    text: &'t str,
    bytes: &'t [u8],
    pos: usize,
}

impl<'t> Cursor<'t> {
    fn new(text: &'t str) -> Self {
        Cursor {
            text,
            bytes: text.as_bytes(),
            pos: 0,
        }
    }

    fn error(&self, reason: &'static str) -> JsonTextError {
        JsonTextError {
            offset: self.pos,
            reason,
        }
    }

    fn document(mut self, mode: Mode<'_>, out: &mut String) -> Result<(), JsonTextError> {
        self.skip_ws();
        self.value(mode, 0, out)?;
        self.end()
    }

    fn end(&mut self) -> Result<(), JsonTextError> {
        self.skip_ws();
        match self.pos == self.bytes.len() {
            true => Ok(()),
            false => Err(self.error("text after the JSON value")),
        }
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.bytes.get(self.pos) {
            self.pos += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn eat(&mut self, b: u8) -> bool {
        let found = self.peek() == Some(b);
        self.pos += usize::from(found);
        found
    }

    fn expect(&mut self, b: u8, reason: &'static str) -> Result<(), JsonTextError> {
        match self.eat(b) {
            true => Ok(()),
            false => Err(self.error(reason)),
        }
    }

    /// One value at `depth` (the top is 0), as `Scrubber::scrub_at` counts.
    fn value(&mut self, mode: Mode<'_>, depth: usize, out: &mut String) -> Result<(), JsonTextError> {
        match self.peek() {
            Some(b'{') => self.object(mode, depth, out),
            Some(b'[') => self.array(mode, depth, out),
            Some(b'"') => {
                let token = self.string()?;
                match mode {
                    Mode::Skip => token.check()?,
                    Mode::Scrub(s) => scrub_string(s, &token, out)?,
                }
                Ok(())
            }
            Some(b'-' | b'0'..=b'9') => {
                let start = self.pos;
                self.number()?;
                let number = &self.text[start..self.pos];
                if !in_range(number) {
                    return Err(JsonTextError {
                        offset: start,
                        reason: "number out of range",
                    });
                }
                match mode {
                    Mode::Skip => {}
                    Mode::Scrub(s) if s.cards_on() && is_card_number(number) => {
                        s.count_card();
                        out.push_str("\"[card]\"");
                    }
                    Mode::Scrub(_) => out.push_str(number),
                }
                Ok(())
            }
            _ => {
                let literal = ["true", "false", "null"]
                    .into_iter()
                    .find(|l| self.text[self.pos..].starts_with(l))
                    .ok_or_else(|| self.error("expected a JSON value"))?;
                self.pos += literal.len();
                if !matches!(mode, Mode::Skip) {
                    out.push_str(literal);
                }
                Ok(())
            }
        }
    }

    fn nest(&self, depth: usize) -> Result<(), JsonTextError> {
        match depth < MAX_NESTING {
            true => Ok(()),
            false => Err(self.error("nesting deeper than 128")),
        }
    }

    fn array(&mut self, mode: Mode<'_>, depth: usize, out: &mut String) -> Result<(), JsonTextError> {
        self.nest(depth)?;
        self.pos += 1;
        let copy = !matches!(mode, Mode::Skip);
        if copy {
            out.push('[');
        }
        self.skip_ws();
        if !self.eat(b']') {
            loop {
                self.skip_ws();
                self.value(mode, depth + 1, out)?;
                self.skip_ws();
                if self.eat(b',') {
                    if copy {
                        out.push(',');
                    }
                    continue;
                }
                self.expect(b']', "expected `,` or `]` in an array")?;
                break;
            }
        }
        if copy {
            out.push(']');
        }
        Ok(())
    }

    /// Members at `depth + 1`, keys kept; a value under a sensitive key
    /// (but `null`) becomes the marker, as `scrub_map_at` does.
    fn object(&mut self, mode: Mode<'_>, depth: usize, out: &mut String) -> Result<(), JsonTextError> {
        self.nest(depth)?;
        self.pos += 1;
        let copy = !matches!(mode, Mode::Skip);
        if copy {
            out.push('{');
        }
        self.skip_ws();
        if !self.eat(b'}') {
            loop {
                self.skip_ws();
                let key = self.string()?;
                let key_text = key.text()?;
                self.skip_ws();
                self.expect(b':', "expected `:` after an object key")?;
                self.skip_ws();
                if copy {
                    out.push_str(key.raw);
                    out.push(':');
                }
                match mode {
                    Mode::Scrub(s) if self.peek() != Some(b'n') && s.is_sensitive_key(&key_text) => {
                        let start = self.pos;
                        self.value(Mode::Skip, depth + 1, out)?;
                        if &self.text[start..self.pos] != "\"[redacted]\"" {
                            s.count_sensitive();
                        }
                        push_json_str(out, SENSITIVE_MARKER);
                    }
                    _ => self.value(mode, depth + 1, out)?,
                }
                self.skip_ws();
                if self.eat(b',') {
                    if copy {
                        out.push(',');
                    }
                    continue;
                }
                self.expect(b'}', "expected `,` or `}` in an object")?;
                break;
            }
        }
        if copy {
            out.push('}');
        }
        Ok(())
    }

    fn string(&mut self) -> Result<StringToken<'t>, JsonTextError> {
        let start = self.pos;
        self.expect(b'"', "expected a string")?;
        let mut escaped = false;
        loop {
            let Some(i) = find_string_special(&self.bytes[self.pos..]) else {
                self.pos = self.bytes.len();
                return Err(self.error("unterminated string"));
            };
            self.pos += i;
            match self.bytes[self.pos] {
                b'"' => {
                    self.pos += 1;
                    return Ok(StringToken {
                        raw: &self.text[start..self.pos],
                        escaped,
                        offset: start,
                    });
                }
                b'\\' => {
                    escaped = true;
                    // The escaped byte is never the closing quote; what it
                    // means is checked when the string is decoded.
                    self.pos += 2;
                    if self.pos > self.bytes.len() {
                        self.pos = self.bytes.len();
                        return Err(self.error("unterminated string"));
                    }
                }
                _ => return Err(self.error("control character in a string")),
            }
        }
    }

    /// JSON's number grammar: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
    fn number(&mut self) -> Result<(), JsonTextError> {
        self.eat(b'-');
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => self.digits(),
            _ => return Err(self.error("expected a digit")),
        }
        if self.eat(b'.') {
            self.some_digits()?;
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            self.some_digits()?;
        }
        Ok(())
    }

    fn digits(&mut self) {
        while let Some(b'0'..=b'9') = self.peek() {
            self.pos += 1;
        }
    }

    fn some_digits(&mut self) -> Result<(), JsonTextError> {
        let start = self.pos;
        self.digits();
        match self.pos > start {
            true => Ok(()),
            false => Err(self.error("expected a digit")),
        }
    }
}

/// As `scrub_string` on the decoded text: clean text stays as it came
/// (escapes and all), changed text is written anew.
/// The first byte that ends a run of plain string content: a quote, a
/// backslash or a control character. Strings are most of an error
/// event's bytes, so they are scanned eight bytes a step: a word with none
/// of those bytes is skipped whole (the "has a zero byte" trick, applied
/// to the word XOR the quote, XOR the backslash, and to the word itself
/// for bytes under 0x20).
fn find_string_special(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    let below = |x: u64, n: u8| x.wrapping_sub(ONES * u64::from(n)) & !x & HIGHS;
    let special = |b: u8| b == b'"' || b == b'\\' || b < 0x20;
    let mut i = 0;
    while i + 8 <= bytes.len() {
        let word = u64::from_ne_bytes(bytes[i..i + 8].try_into().expect("eight bytes"));
        let hit = below(word ^ (ONES * u64::from(b'"')), 1)
            | below(word ^ (ONES * u64::from(b'\\')), 1)
            | below(word, 0x20);
        if hit != 0 {
            break;
        }
        i += 8;
    }
    bytes[i..].iter().position(|&b| special(b)).map(|j| i + j)
}

fn scrub_string(scrubber: &Scrubber, token: &StringToken<'_>, out: &mut String) -> Result<(), JsonTextError> {
    let text = token.text()?;
    match scrubber.scrub(&text) {
        Cow::Borrowed(_) => out.push_str(token.raw),
        Cow::Owned(new) => push_json_str(out, &new),
    }
    Ok(())
}

/// Whether `serde_json` reads `number` (JSON's grammar) as a finite
/// number: integers that fit 64 bits always, the rest as an `f64`.
fn in_range(number: &str) -> bool {
    let short_integer = number.len() < 19 && !number.contains(['.', 'e', 'E']);
    short_integer || number.parse::<f64>().is_ok_and(f64::is_finite)
}

/// What `serde_json` reads as a `u64` and `scrub_value` takes for a card:
/// 13–19 digits, the first 2–6, passing the Luhn check.
fn is_card_number(number: &str) -> bool {
    (13..=19).contains(&number.len())
        && matches!(number.as_bytes()[0], b'2'..=b'6')
        && number.bytes().all(|b| b.is_ascii_digit())
        && luhn_valid(number)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::Value;

    use super::*;
    use crate::config::ScrubbersConfig;
    use crate::privacy::ScrubMetrics;
    use crate::selfmetrics::Registry;

    fn scrubber() -> Scrubber {
        let config = ScrubbersConfig {
            enable: vec!["ip_address".into()],
            ..ScrubbersConfig::default()
        };
        Scrubber::new(&config, &ScrubMetrics::new(Registry::new()))
    }

    /// `scrub_json_text`'s output, parsed, against `scrub_value` of the
    /// parsed input.
    fn same_as_scrub_value(s: &Scrubber, text: &str) {
        let mut out = String::new();
        s.scrub_json_text(text, &mut out).unwrap();
        let mut want: Value = serde_json::from_str(text).unwrap();
        s.scrub_value(&mut want);
        let got: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
        assert_eq!(got, want, "{text}");
    }

    #[test]
    fn scrubs_as_the_value_scrubber_does() {
        let s = scrubber();
        for text in [
            r#"{"vars":{"password":"'hunter2'","course":"m101","n":4111111111111111,"m":4111111111111112},
               "msg":"mail alice@uni.example from 10.1.2.3","url":"postgres://lms:s3cret@db/lms",
               "token":null,"api_key":"[redacted]","list":[1,-2.5e3,true,false,null,"a\"b\\c\n"],
               "esc":"\u0061lice@uni.example","Authorization":{"x":1}}"#,
            "[]",
            "{}",
            r#"  [ 1 , { "a" : [ ] } ]  "#,
            r#""bob@uni.example""#,
            "4111111111111111",
        ] {
            same_as_scrub_value(&s, text);
        }
    }

    #[test]
    fn clean_text_is_kept_as_it_came() {
        let s = scrubber();
        let text = r#"{"a":"x\u00e9\"","b":[1.50,2e10],"c":{"d":null}}"#;
        let mut out = String::new();
        s.scrub_json_text(text, &mut out).unwrap();
        assert_eq!(out, text);
    }

    #[test]
    fn bad_json_is_refused_with_its_place() {
        for (text, reason) in [
            (r#"{"a":1"#, "expected `,` or `}` in an object"),
            (r#"{"a" 1}"#, "expected `:` after an object key"),
            ("[1,]", "expected a JSON value"),
            ("01", "text after the JSON value"),
            ("\"a\nb\"", "control character in a string"),
            (r#""\x""#, "invalid escape in a string"),
            ("\"abc", "unterminated string"),
            ("-", "expected a digit"),
            ("1.", "expected a digit"),
            ("tru", "expected a JSON value"),
        ] {
            let e = check_json_text(text).unwrap_err();
            assert_eq!(e.reason, reason, "{text}");
            assert!(serde_json::from_str::<Value>(text).is_err(), "{text}");
        }
        let deep = "[".repeat(200) + &"]".repeat(200);
        assert!(check_json_text(&deep).is_err());
    }

    #[test]
    fn escapes_decode_as_serde_decodes_them() {
        for raw in [
            r#""a\/b\bc\fd\te\r\n\"\\""#,
            r#""\u00e9\ud83d\ude00 x\n""#,
            r#""plain""#,
        ] {
            let mut c = Cursor::new(raw);
            let token = c.string().unwrap();
            token.check().unwrap();
            assert_eq!(
                token.text().unwrap(),
                serde_json::from_str::<String>(raw).unwrap(),
                "{raw}"
            );
        }
        for raw in [r#""\é""#, r#""\ud800""#, r#""\q""#] {
            let token = Cursor::new(raw).string().unwrap();
            assert!(token.check().is_err() && token.text().is_err(), "{raw}");
        }
    }

    #[test]
    fn members_split_an_object() {
        let m = object_members(r#" {"a": [1, {"b": "}"}], "k\u0065y" : "v" , "e":{}} "#).unwrap();
        let m: Vec<(&str, &str)> = m.iter().map(|(k, v)| (k.as_ref(), *v)).collect();
        assert_eq!(m, [("a", r#"[1, {"b": "}"}]"#), ("key", r#""v""#), ("e", "{}")]);
        assert!(object_members("[1]").is_err());
        assert!(object_members(r#"{"a":1,}"#).is_err());
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            Just(Value::from(4_111_111_111_111_111u64)),
            (-1e6f64..1e6).prop_map(Value::from),
            "[ -~é\"\\\\\n]{0,24}".prop_map(Value::from),
            prop_oneof![
                Just("bob@uni.example"),
                Just("password=x1"),
                Just("from 10.0.0.1"),
                Just("4111 1111 1111 1111"),
                Just("Bearer abc.def"),
            ]
            .prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::vec(
                    (
                        prop_oneof![
                            "[a-z_]{1,8}",
                            Just("password".to_string()),
                            Just("X-Api-Key".to_string()),
                            Just("auth_token".to_string()),
                        ],
                        inner
                    ),
                    0..6
                )
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn text_scrubbing_matches_value_scrubbing(v in json_value(), pretty in any::<bool>()) {
            let text = match pretty {
                true => serde_json::to_string_pretty(&v).unwrap(),
                false => serde_json::to_string(&v).unwrap(),
            };
            same_as_scrub_value(&scrubber(), &text);
            prop_assert!(check_json_text(&text).is_ok());
        }

        #[test]
        fn word_scan_finds_the_first_special_byte(bytes in prop::collection::vec(any::<u8>(), 0..40)) {
            let naive = bytes.iter().position(|&b| b == b'"' || b == b'\\' || b < 0x20);
            prop_assert_eq!(find_string_special(&bytes), naive);
        }

        #[test]
        fn never_panics_and_agrees_with_serde_on_validity(text in "[\\[\\]{}\":,0-9a-z \\\\.e+-]{0,40}|-?[0-9]{1,3}(\\.[0-9])?e[0-9]{3}") {
            let ours = check_json_text(&text).is_ok();
            let serde = serde_json::from_str::<Value>(&text).is_ok();
            prop_assert_eq!(ours, serde, "{}", text);
        }
    }
}
