//! A position in the input with line tracking, the byte-level scanners the
//! grammar is built from (names, quoted strings, tokens), and errors that
//! say where they happened and what was found there.

use std::borrow::Cow;

use super::error::ParseError;

/// Which backslash escapes a quoted string or text understands. Unknown
/// escapes are kept verbatim (backslash and all), as Prometheus does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Escapes {
    /// `\\`, `\"`, `\n`: label values, quoted names, OpenMetrics HELP text.
    Quoted,
    /// `\\`, `\n`: text-format HELP text.
    Help,
}

pub struct Cursor<'a> {
    pub input: &'a [u8],
    /// The whole input as `str` when it is valid UTF-8 (nearly always):
    /// then slicing it is an O(1) boundary check instead of validating each
    /// name and value separately.
    text: Option<&'a str>,
    pub pos: usize,
    /// 1-based line of `pos`.
    pub line: usize,
    /// Byte offset where the current line starts.
    pub line_start: usize,
}

/// Byte classes for the hot scanning loops.
const METRIC_NAME_CHAR: u8 = 1;
const LABEL_NAME_CHAR: u8 = 2;
const NAME_START_DIGIT: u8 = 4;
/// Bytes that end the plain run inside a quoted string.
const QUOTED_SPECIAL: u8 = 8;

static CLASSES: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        if b.is_ascii_alphanumeric() || b == b'_' {
            t[i] |= METRIC_NAME_CHAR | LABEL_NAME_CHAR;
        }
        if b == b':' {
            t[i] |= METRIC_NAME_CHAR;
        }
        if b.is_ascii_digit() {
            t[i] |= NAME_START_DIGIT;
        }
        if b == b'"' || b == b'\\' || b == b'\n' {
            t[i] |= QUOTED_SPECIAL;
        }
        i += 1;
    }
    t
};

#[inline]
pub fn is_metric_name_start(b: u8) -> bool {
    CLASSES[b as usize] & (METRIC_NAME_CHAR | NAME_START_DIGIT) == METRIC_NAME_CHAR
}

#[inline]
pub fn is_metric_name_char(b: u8) -> bool {
    CLASSES[b as usize] & METRIC_NAME_CHAR != 0
}

#[inline]
pub fn is_label_name_start(b: u8) -> bool {
    CLASSES[b as usize] & (LABEL_NAME_CHAR | NAME_START_DIGIT) == LABEL_NAME_CHAR
}

#[inline]
pub fn is_label_name_char(b: u8) -> bool {
    CLASSES[b as usize] & LABEL_NAME_CHAR != 0
}

impl<'a> Cursor<'a> {
    pub fn new(input: &'a [u8]) -> Self {
        Cursor {
            input,
            text: std::str::from_utf8(input).ok(),
            pos: 0,
            line: 1,
            line_start: 0,
        }
    }

    #[inline]
    pub fn peek(&self) -> Option<u8> {
        self.input.get(self.pos).copied()
    }

    #[inline]
    pub fn peek_at(&self, offset: usize) -> Option<u8> {
        self.input.get(self.pos + offset).copied()
    }

    #[inline]
    pub fn rest(&self) -> &'a [u8] {
        &self.input[self.pos.min(self.input.len())..]
    }

    /// Skips spaces and tabs (the text format's whitespace).
    #[inline]
    pub fn skip_blanks(&mut self) {
        while let Some(b' ' | b'\t') = self.peek() {
            self.pos += 1;
        }
    }

    /// Consumes the `\n` at `pos`.
    #[inline]
    pub fn consume_newline(&mut self) {
        self.pos += 1;
        self.line += 1;
        self.line_start = self.pos;
    }

    /// Consumes bytes while `pred` holds; returns them.
    #[inline]
    pub fn take_while(&mut self, pred: impl Fn(u8) -> bool) -> &'a [u8] {
        let start = self.pos;
        while let Some(b) = self.peek() {
            if !pred(b) {
                break;
            }
            self.pos += 1;
        }
        &self.input[start..self.pos]
    }

    /// The rest of the current line (without its `\n`); leaves `pos` at the
    /// `\n` or at the end of the input.
    pub fn take_line(&mut self) -> &'a [u8] {
        let rest = self.rest();
        let len = memchr::memchr(b'\n', rest).unwrap_or(rest.len());
        self.pos += len;
        &rest[..len]
    }

    /// `input[start..end]` as `str`, or `None` when it is not UTF-8.
    #[inline]
    pub fn str_between(&self, start: usize, end: usize) -> Option<&'a str> {
        match self.text {
            Some(text) => text.get(start..end),
            None => std::str::from_utf8(self.input.get(start..end)?).ok(),
        }
    }

    /// A metric name `[a-zA-Z_:][a-zA-Z0-9_:]*`.
    #[inline]
    pub fn metric_name(&mut self) -> Option<&'a str> {
        if !self.peek().is_some_and(is_metric_name_start) {
            return None;
        }
        let start = self.pos;
        self.pos += 1;
        while self.peek().is_some_and(is_metric_name_char) {
            self.pos += 1;
        }
        self.str_between(start, self.pos)
    }

    /// A label name `[a-zA-Z_][a-zA-Z0-9_]*`.
    #[inline]
    pub fn label_name(&mut self) -> Option<&'a str> {
        if !self.peek().is_some_and(is_label_name_start) {
            return None;
        }
        let start = self.pos;
        self.pos += 1;
        while self.peek().is_some_and(is_label_name_char) {
            self.pos += 1;
        }
        self.str_between(start, self.pos)
    }

    /// A double-quoted string starting at `pos` (which must be `"`), decoded.
    /// `allow_newline` is the text format's rule: a raw line break may sit
    /// inside the quotes. `what` names the string in errors.
    pub fn quoted(&mut self, allow_newline: bool, what: &str) -> Result<Cow<'a, str>, ParseError> {
        let open = self.pos;
        self.pos += 1;
        let start = self.pos;
        let mut escaped = false;
        loop {
            // Skip the plain run; only quotes, backslashes and line breaks
            // need a decision.
            while let Some(&b) = self.input.get(self.pos) {
                if CLASSES[b as usize] & QUOTED_SPECIAL != 0 {
                    break;
                }
                self.pos += 1;
            }
            let Some(b) = self.peek() else {
                return Err(self.error_at(open, format!("{what} has no closing '\"'")));
            };
            match b {
                b'"' => break,
                b'\\' => {
                    match self.peek_at(1) {
                        None => return Err(self.error_at(open, format!("{what} has no closing '\"'"))),
                        Some(b'\n') => {
                            return Err(self.error(format!("{what} has a backslash at the end of a line")));
                        }
                        Some(_) => {}
                    }
                    escaped = true;
                    self.pos += 2;
                }
                _ if !allow_newline => {
                    return Err(self.error(format!(
                        "{what} contains a raw line break (write it as \\n) or has no closing '\"'"
                    )));
                }
                _ => self.consume_newline(),
            }
        }
        let end = self.pos;
        self.pos += 1;
        let Some(text) = self.str_between(start, end) else {
            return Err(self.error_at(start, format!("{what} is not valid UTF-8")));
        };
        Ok(if escaped {
            unescape(text, Escapes::Quoted)
        } else {
            Cow::Borrowed(text)
        })
    }

    /// A token of bytes up to (not including) any of `stops` or the end.
    #[inline]
    pub fn token(&mut self, stop: impl Fn(u8) -> bool) -> &'a [u8] {
        self.take_while(|b| !stop(b))
    }

    /// An error at `pos`.
    pub fn error(&self, message: String) -> ParseError {
        self.error_at(self.pos, message)
    }

    /// An error at byte offset `at`, which must lie on the current line
    /// (or, for a string spanning lines, before it: then the column counts
    /// from the line the string started on).
    pub fn error_at(&self, at: usize, message: String) -> ParseError {
        let at = at.min(self.input.len());
        let (line, line_start) = if at >= self.line_start {
            (self.line, self.line_start)
        } else {
            let before = &self.input[..at];
            let breaks = memchr::memchr_iter(b'\n', &self.input[at..self.line_start]).count();
            let start = memchr::memrchr(b'\n', before).map_or(0, |i| i + 1);
            (self.line - breaks, start)
        };
        // Count characters, not bytes: UTF-8 continuation bytes don't start one.
        let column = self.input[line_start..at]
            .iter()
            .filter(|&&b| (b & 0xC0) != 0x80)
            .count()
            + 1;
        ParseError {
            line,
            column,
            message,
        }
    }

    /// `expected {what}, found {what is at pos}` at `pos`.
    pub fn expected(&self, what: &str) -> ParseError {
        self.error(format!("expected {what}, found {}", self.found()))
    }

    /// Describes what is at `pos`, for error messages.
    pub fn found(&self) -> String {
        describe(self.rest())
    }
}

/// Describes the start of `rest` for an error message.
pub fn describe(rest: &[u8]) -> String {
    let Some(&b) = rest.first() else {
        return "end of input".to_string();
    };
    match b {
        b'\n' => "end of line".to_string(),
        b'\r' => "carriage return (lines must end with \\n only)".to_string(),
        b'\t' => "tab".to_string(),
        b' ' => "' '".to_string(),
        0x21..=0x7e => format!("'{}'", b as char),
        _ => {
            let len = rest.len().min(4);
            for n in (1..=len).rev() {
                if let Ok(s) = std::str::from_utf8(&rest[..n])
                    && let Some(c) = s.chars().next()
                    && c.len_utf8() == n
                {
                    return if c.is_control() {
                        format!("control character U+{:04X}", c as u32)
                    } else {
                        format!("'{c}'")
                    };
                }
            }
            format!("byte 0x{b:02x}")
        }
    }
}

/// Validates `raw` as UTF-8 and undoes its escapes, borrowing when there
/// are none.
pub fn decode(raw: &[u8], escaped: bool, escapes: Escapes) -> Result<Cow<'_, str>, std::str::Utf8Error> {
    let text = std::str::from_utf8(raw)?;
    if !escaped {
        return Ok(Cow::Borrowed(text));
    }
    Ok(unescape(text, escapes))
}

/// Undoes backslash escapes; borrows when there is nothing to undo.
pub fn unescape(text: &str, escapes: Escapes) -> Cow<'_, str> {
    if !text.contains('\\') {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('\\') => out.push('\\'),
            Some('n') => out.push('\n'),
            Some('"') if escapes == Escapes::Quoted => out.push('"'),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unescape_rules() {
        assert_eq!(unescape(r#"a\\b\"c\nd"#, Escapes::Quoted), "a\\b\"c\nd");
        assert_eq!(unescape(r#"a\\b\"c\nd"#, Escapes::Help), "a\\b\\\"c\nd");
        // Unknown escapes stay as written.
        assert_eq!(unescape(r"tab\there", Escapes::Quoted), "tab\\there");
        assert_eq!(unescape(r"\\n", Escapes::Quoted), "\\n");
        assert!(matches!(
            unescape("plain", Escapes::Quoted),
            Cow::Borrowed("plain")
        ));
    }

    #[test]
    fn quoted_strings() {
        let mut c = Cursor::new(br#""a,b\"c" rest"#);
        assert_eq!(c.quoted(false, "label value").unwrap(), "a,b\"c");
        assert_eq!(c.rest(), b" rest");

        let mut c = Cursor::new(b"\"multi\nline\" x");
        assert_eq!(c.quoted(true, "label value").unwrap(), "multi\nline");
        assert_eq!(c.line, 2);

        let mut c = Cursor::new(b"\"multi\nline\"");
        let e = c.quoted(false, "label value").unwrap_err();
        assert_eq!((e.line, e.column), (1, 7));

        let mut c = Cursor::new(b"\"open");
        let e = c.quoted(false, "label value").unwrap_err();
        assert_eq!(e.to_string(), "line 1, column 1: label value has no closing '\"'");

        let mut c = Cursor::new(b"\"\xff\"");
        let e = c.quoted(false, "label value").unwrap_err();
        assert_eq!(e.to_string(), "line 1, column 2: label value is not valid UTF-8");
    }

    #[test]
    fn columns_count_characters() {
        let mut c = Cursor::new("x\néé!".as_bytes());
        c.pos = 1;
        c.consume_newline();
        c.pos = 6;
        assert_eq!(c.error("boom".into()).to_string(), "line 2, column 3: boom");
        assert_eq!(c.found(), "'!'");
    }

    #[test]
    fn describes_what_was_found() {
        assert_eq!(describe(b""), "end of input");
        assert_eq!(describe(b"\n"), "end of line");
        assert_eq!(describe(b"}x"), "'}'");
        assert_eq!(describe("é".as_bytes()), "'é'");
        assert_eq!(describe(b"\x00"), "control character U+0000");
        assert_eq!(describe(b"\xff"), "byte 0xff");
    }
}
