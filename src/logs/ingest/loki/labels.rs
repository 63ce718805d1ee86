//! Loki's protobuf streams carry their labels as the text of a selector,
//! `{app="lms", env="prod"}`. Values are quoted as PromQL strings: double
//! or single quotes with Go's escapes, or backticks taken literally.

use super::LokiError;

/// The labels of `text`, sorted by name, duplicates and bad names left for
/// the caller to refuse.
pub fn parse_labels(text: &str) -> Result<Vec<(String, String)>, LokiError> {
    let mut p = Parser { text, pos: 0 };
    let labels = p.labels().map_err(|(at, reason)| LokiError::LabelSyntax {
        text: text.to_string(),
        at,
        reason,
    })?;
    Ok(labels)
}

type Fail = (usize, &'static str);

struct Parser<'a> {
    text: &'a str,
    pos: usize,
}

impl Parser<'_> {
    fn labels(&mut self) -> Result<Vec<(String, String)>, Fail> {
        self.skip_ws();
        self.expect(b'{', "expected '{'")?;
        let mut labels = Vec::new();
        loop {
            self.skip_ws();
            if self.eat(b'}') {
                break;
            }
            let name = self.name()?;
            self.skip_ws();
            self.expect(b'=', "expected '=' after the label name")?;
            self.skip_ws();
            let value = self.quoted()?;
            labels.push((name, value));
            self.skip_ws();
            if self.eat(b',') {
                continue;
            }
            self.expect(b'}', "expected ',' or '}'")?;
            break;
        }
        self.skip_ws();
        if self.pos != self.text.len() {
            return Err((self.pos, "unexpected text after '}'"));
        }
        labels.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(labels)
    }

    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, b: u8, reason: &'static str) -> Result<(), Fail> {
        if self.eat(b) {
            Ok(())
        } else {
            Err((self.pos, reason))
        }
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn name(&mut self) -> Result<String, Fail> {
        let start = self.pos;
        while matches!(self.peek(), Some(b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_')) {
            self.pos += 1;
        }
        if start == self.pos {
            return Err((start, "expected a label name"));
        }
        Ok(self.text[start..self.pos].to_string())
    }

    fn quoted(&mut self) -> Result<String, Fail> {
        let start = self.pos;
        let quote = match self.peek() {
            Some(q @ (b'"' | b'\'' | b'`')) => q,
            _ => return Err((start, "expected a quoted label value")),
        };
        self.pos += 1;
        let mut out = String::new();
        loop {
            let rest = &self.text[self.pos..];
            let Some(c) = rest.chars().next() else {
                return Err((start, "unterminated label value"));
            };
            self.pos += c.len_utf8();
            match c {
                c if c as u32 == u32::from(quote) => return Ok(out),
                '\\' if quote != b'`' => out.push(self.escape()?),
                '\n' if quote != b'`' => return Err((self.pos - 1, "line break in a quoted label value")),
                c => out.push(c),
            }
        }
    }

    /// Go's escapes, after the backslash.
    fn escape(&mut self) -> Result<char, Fail> {
        let at = self.pos - 1;
        let Some(c) = self.peek() else {
            return Err((at, "unterminated escape"));
        };
        self.pos += 1;
        let hex = |p: &mut Self, digits: usize| -> Result<u32, Fail> {
            let s = p.text.get(p.pos..p.pos + digits).ok_or((at, "short escape"))?;
            let v = u32::from_str_radix(s, 16).map_err(|_| (at, "bad hex digits in an escape"))?;
            p.pos += digits;
            Ok(v)
        };
        let ch = match c {
            b'n' => '\n',
            b't' => '\t',
            b'r' => '\r',
            b'a' => '\u{7}',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'v' => '\u{b}',
            b'\\' | b'"' | b'\'' => char::from(c),
            b'x' => char::from_u32(hex(self, 2)?).ok_or((at, "bad escape"))?,
            b'u' => char::from_u32(hex(self, 4)?).ok_or((at, "escape is not a character"))?,
            b'U' => char::from_u32(hex(self, 8)?).ok_or((at, "escape is not a character"))?,
            b'0'..=b'7' => {
                let s = self
                    .text
                    .get(self.pos - 1..self.pos + 2)
                    .ok_or((at, "short octal escape"))?;
                let v = u32::from_str_radix(s, 8).map_err(|_| (at, "bad octal escape"))?;
                self.pos += 2;
                char::from_u32(v)
                    .filter(|_| v <= 0xff)
                    .ok_or((at, "bad octal escape"))?
            }
            _ => return Err((at, "unknown escape")),
        };
        Ok(ch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
    }

    #[test]
    fn parses_the_shapes_shippers_send() {
        assert_eq!(
            parse_labels(r#"{job="varlogs", filename="/var/log/a.log"}"#).unwrap(),
            pairs(&[("filename", "/var/log/a.log"), ("job", "varlogs")])
        );
        assert_eq!(parse_labels("{}").unwrap(), vec![]);
        assert_eq!(
            parse_labels(r#" { a = "x\"y\\z\n\u00e9\x41\101" , b='q', c=`raw\n` , } "#).unwrap(),
            pairs(&[("a", "x\"y\\z\né\u{41}A"), ("b", "q"), ("c", "raw\\n")])
        );
    }

    #[test]
    fn errors_say_where() {
        for (text, at, want) in [
            ("a=\"b\"}", 0, "expected '{'"),
            ("{a=b}", 3, "quoted label value"),
            ("{a=\"b\" c=\"d\"}", 7, "expected ',' or '}'"),
            ("{a=\"b}", 3, "unterminated"),
            ("{=\"b\"}", 1, "label name"),
            ("{a=\"\\q\"}", 4, "unknown escape"),
            ("{a=\"b\"} x", 8, "after '}'"),
        ] {
            match parse_labels(text) {
                Err(LokiError::LabelSyntax { at: got, reason, .. }) => {
                    assert_eq!(got, at, "{text}");
                    assert!(reason.contains(want), "{text}: {reason}");
                }
                other => panic!("{text}: {other:?}"),
            }
        }
    }

    fn quote(v: &str) -> String {
        let mut out = String::from("\"");
        for c in v.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                c => out.push(c),
            }
        }
        out.push('"');
        out
    }

    proptest! {
        #[test]
        fn printed_labels_parse_back(labels in prop::collection::btree_map("[a-zA-Z_][a-zA-Z0-9_]{0,8}", "\\PC{0,12}", 0..6)) {
            let text = format!(
                "{{{}}}",
                labels.iter().map(|(k, v)| format!("{k}={}", quote(v))).collect::<Vec<_>>().join(", ")
            );
            let want: Vec<(String, String)> = labels.into_iter().collect();
            prop_assert_eq!(parse_labels(&text).unwrap(), want);
        }

        #[test]
        fn never_panics(text in "\\PC{0,40}") {
            let _ = parse_labels(&text);
        }
    }
}
