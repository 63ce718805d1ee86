//! Go's regular-expression syntax (RE2 as `regexp/syntax` parses it with
//! the Perl flags: what Prometheus, Alertmanager, Loki and promtool accept)
//! rewritten as an equivalent pattern for the `regex` crate. Every place a
//! user's regex with those semantics is compiled goes through here.
//!
//! The two syntaxes agree on almost everything; where they differ a pattern
//! would either be refused here though Prometheus takes it, or silently mean
//! something else. The rewrite covers:
//!
//! - `{` that does not open a repetition Go can parse (`{n}`, `{n,}`,
//!   `{n,m}`: digits without leading zeros, no spaces) is a literal in Go,
//!   so `/api/courses/{course_id}` is one; it becomes `\{`. The `regex`
//!   crate would refuse `{id}` and read `{,5}`, `{01}` or `{ 2 }` as
//!   repetitions.
//! - counts above Go's limit of 1000 and stacked repetition operators
//!   (`a**`, `a{2}{3}`) are refused with Go's own messages, where the
//!   `regex` crate would accept them.
//! - `\Q…\E` (literal text) becomes the escaped text.
//! - `\d`, `\s`, `\w` and their negations are ASCII in Go and Unicode in the
//!   `regex` crate; they become ASCII classes.
//! - an escaped punctuation character is always itself in Go; `\<` and `\>`
//!   are word boundaries in the `regex` crate, so they lose the backslash.
//! - octal escapes (`\0`, `\12`, `\123`), unknown to the `regex` crate,
//!   become `\x{…}`.
//! - `\p{^Greek}` becomes `\P{Greek}` (and the reverse).
//! - inside a class, `[`, `&&`, `~~` and `--` are plain characters in Go but
//!   nested classes and set operations in the `regex` crate: every class is
//!   written out again with those characters escaped.
//!
//! Left alone on purpose: `\b` and `\B` stay Unicode-aware (Go's are ASCII;
//! the two differ only beside non-ASCII letters, and the ASCII form,
//! `(?-u:\b)`, would not survive a second rewrite), and Go's limit on the
//! product of nested counts (`(a{100}){100}`), where the `regex` crate's own
//! size limit guards instead. From an escape, class or group Go refuses
//! on, the rest is passed on unchanged for the `regex` crate to judge.
//!
//! The rewrite is idempotent (its output is itself a Go pattern with the
//! same meaning), so a value already rewritten can safely pass again.

use std::borrow::Cow;
use std::fmt::Write as _;

use regex::Regex;

/// Go's limit on a counted repetition (`regexp/syntax`'s `maxRepeat`).
const MAX_REPEAT: u64 = 1000;

#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum GoRegexError {
    /// Go's wording, so messages read as Prometheus's do.
    #[error("invalid repeat count: `{0}`")]
    RepeatCount(String),
    #[error("invalid nested repetition operator: `{0}`")]
    NestedRepetition(String),
    /// The rewritten pattern was refused by the `regex` crate.
    #[error(transparent)]
    Compile(#[from] regex::Error),
}

/// Rewrites a Go RE2 pattern as an equivalent `regex`-crate pattern; the
/// input comes back borrowed when nothing needed rewriting.
pub fn translate_go_regex(pattern: &str) -> Result<Cow<'_, str>, GoRegexError> {
    let out = Translator::new(pattern).run()?;
    Ok(if out == pattern {
        Cow::Borrowed(pattern)
    } else {
        Cow::Owned(out)
    })
}

/// Compiles a Go pattern, unanchored (LogQL's line filters and `regexp`
/// stage, templates' `match` and `reReplaceAll`).
pub fn compile_go_regex(pattern: &str) -> Result<Regex, GoRegexError> {
    Ok(Regex::new(&translate_go_regex(pattern)?)?)
}

/// Compiles a Go pattern matched against the whole value, as Prometheus
/// compiles label matchers and `label_replace`'s regex: `^(?s:…)$`.
pub fn compile_go_regex_anchored(pattern: &str) -> Result<Regex, GoRegexError> {
    let translated = translate_go_regex(pattern)?;
    Ok(Regex::new(&format!("^(?s:{translated})$"))?)
}

struct Translator<'p> {
    src: &'p str,
    pos: usize,
    out: String,
    /// Where the repetition operator just written started, if the last
    /// thing written was one: Go refuses another right after it.
    last_repeat: Option<usize>,
}

impl<'p> Translator<'p> {
    fn new(src: &'p str) -> Self {
        Translator {
            src,
            pos: 0,
            out: String::with_capacity(src.len() + 8),
            last_repeat: None,
        }
    }

    fn rest(&self) -> &'p str {
        &self.src[self.pos..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    /// Copies the rest of the pattern unchanged: used where Go would refuse
    /// the pattern anyway, so the `regex` crate reports the error.
    fn copy_rest(&mut self) {
        self.out.push_str(self.rest());
        self.pos = self.src.len();
    }

    fn run(mut self) -> Result<String, GoRegexError> {
        while let Some(c) = self.peek() {
            let start = self.pos;
            let mut repeat = None;
            match c {
                '\\' => self.escape(),
                '[' => match parse_class(self.rest()) {
                    Some((class, len)) => {
                        self.out.push_str(&class);
                        self.pos += len;
                    }
                    None => self.copy_rest(),
                },
                '(' if self.rest().starts_with("(?") => self.group_header(),
                '*' | '+' | '?' => {
                    self.pos += 1;
                    self.repetition(start)?;
                    repeat = Some(start);
                }
                '{' => match parse_repeat(self.rest()) {
                    Some((min, max, len)) => {
                        let text = &self.src[start..start + len];
                        if min > MAX_REPEAT || max.is_some_and(|m| m > MAX_REPEAT || m < min) {
                            return Err(GoRegexError::RepeatCount(text.to_string()));
                        }
                        self.pos += len;
                        self.repetition(start)?;
                        repeat = Some(start);
                    }
                    None => {
                        // Go: "If the repeat cannot be parsed, { is a literal."
                        self.out.push_str("\\{");
                        self.pos += 1;
                    }
                },
                _ => {
                    self.out.push(c);
                    self.pos += c.len_utf8();
                }
            }
            self.last_repeat = repeat;
        }
        Ok(self.out)
    }

    /// A repetition operator from `start` to `pos`, with its optional lazy
    /// `?`, written out; refused when it follows another.
    fn repetition(&mut self, start: usize) -> Result<(), GoRegexError> {
        if self.rest().starts_with('?') {
            self.pos += 1;
        }
        if let Some(previous) = self.last_repeat {
            return Err(GoRegexError::NestedRepetition(
                self.src[previous..self.pos].to_string(),
            ));
        }
        self.out.push_str(&self.src[start..self.pos]);
        Ok(())
    }

    /// `(?flags)`, `(?flags:`, `(?P<name>` or `(?<name>`, copied whole so
    /// that its `?` is not taken for a repetition.
    fn group_header(&mut self) {
        let rest = self.rest();
        let end = if rest.starts_with("(?P<") || rest.starts_with("(?<") {
            rest.find('>').map(|i| i + 1)
        } else {
            rest[2..].find([':', ')']).map(|i| i + 3)
        };
        match end {
            Some(end) => {
                self.out.push_str(&rest[..end]);
                self.pos += end;
            }
            None => self.copy_rest(),
        }
    }

    fn escape(&mut self) {
        let rest = self.rest();
        let mut chars = rest[1..].chars();
        let Some(c) = chars.next() else {
            // A trailing backslash: refused by both.
            return self.copy_rest();
        };
        match c {
            'Q' => {
                // Everything up to `\E` (or the end) is literal text.
                let body = &rest[2..];
                let (lit, consumed) = match body.find("\\E") {
                    Some(i) => (&body[..i], 2 + i + 2),
                    None => (body, rest.len()),
                };
                if lit.is_empty() {
                    // Go pushes nothing, so an operator after it applies to
                    // what came before without being "nested"; an empty
                    // group keeps that reading on a second rewrite.
                    self.out.push_str("(?:)");
                } else {
                    self.out.push_str(&regex::escape(lit));
                }
                self.pos += consumed;
            }
            'p' | 'P' => {
                let negated = c == 'P';
                let Some((class, len)) = unicode_class(rest, negated) else {
                    return self.copy_rest();
                };
                self.out.push_str(&class);
                self.pos += len;
            }
            'd' | 'D' | 's' | 'S' | 'w' | 'W' => {
                let (ranges, negated) = perl_class(c);
                self.out.push('[');
                if negated {
                    self.out.push('^');
                }
                push_ranges(&mut self.out, ranges);
                self.out.push(']');
                self.pos += 2;
            }
            _ => match parse_escape(rest) {
                // Hex and C escapes are written alike in both.
                Some((_, len)) if c == 'x' || c.is_ascii_alphabetic() => {
                    self.out.push_str(&rest[..len]);
                    self.pos += len;
                }
                Some((ch, len)) if c.is_ascii_digit() => {
                    let _ = write!(self.out, "\\x{{{:x}}}", u32::from(ch));
                    self.pos += len;
                }
                Some((ch, len)) => {
                    // Go's `\<` is `<`; only the `regex` crate's own
                    // metacharacters keep a backslash.
                    self.out.push_str(&regex::escape(ch.encode_utf8(&mut [0; 4])));
                    self.pos += len;
                }
                // Assertions, the same in both.
                None if matches!(c, 'A' | 'z' | 'b' | 'B') => {
                    self.out.push('\\');
                    self.out.push(c);
                    self.pos += 2;
                }
                // Go refuses the rest (`\1`, `\C`, `\e`, `\é`): passed on
                // whole, so what follows is not rewritten into something
                // the escape would then swallow.
                None => self.copy_rest(),
            },
        }
    }
}

/// Go's `parseRepeat`: `{n}`, `{n,}` or `{n,m}` at the start of `s`, with
/// decimal numbers that have no leading zeros. Returns min, max (None when
/// open) and the length; None when `{` is a literal. Numbers too large for
/// a u64 saturate, so they are refused by the limit check as in Go.
fn parse_repeat(s: &str) -> Option<(u64, Option<u64>, usize)> {
    let b = s.as_bytes();
    let mut i = 1;
    let (min, n) = parse_int(&b[i..])?;
    i += n;
    let max = match *b.get(i)? {
        b',' => {
            i += 1;
            if *b.get(i)? == b'}' {
                None
            } else {
                let (max, n) = parse_int(&b[i..])?;
                i += n;
                Some(max)
            }
        }
        _ => Some(min),
    };
    (*b.get(i)? == b'}').then_some((min, max, i + 1))
}

fn parse_int(b: &[u8]) -> Option<(u64, usize)> {
    let n = b.iter().take_while(|c| c.is_ascii_digit()).count();
    if n == 0 || (n >= 2 && b[0] == b'0') {
        return None;
    }
    let value = b[..n].iter().fold(0u64, |v, d| {
        v.saturating_mul(10).saturating_add(u64::from(d - b'0'))
    });
    Some((value, n))
}

/// Go's `parseEscape` for the escapes that denote one character (octal,
/// hex, C escapes, escaped punctuation): the character and the escape's
/// length. None for anything else (assertions, classes, invalid escapes).
fn parse_escape(s: &str) -> Option<(char, usize)> {
    let t = &s[1..];
    let c = t.chars().next()?;
    let octal = |b: u8| (b'0'..=b'7').contains(&b);
    match c {
        '1'..='7' if !t.as_bytes().get(1).copied().is_some_and(octal) => None,
        '0'..='7' => {
            let digits = t.bytes().take(3).take_while(|b| octal(*b)).count();
            let code = u32::from_str_radix(&t[..digits], 8).ok()?;
            Some((char::from_u32(code)?, 1 + digits))
        }
        'x' => {
            let hex = &t[1..];
            if let Some(body) = hex.strip_prefix('{') {
                let end = body.find('}')?;
                let digits = &body[..end];
                if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return None;
                }
                let code = u32::from_str_radix(digits, 16).ok()?;
                Some((char::from_u32(code)?, 1 + 1 + 1 + end + 1))
            } else {
                let digits = hex.get(..2)?;
                if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return None;
                }
                let code = u32::from_str_radix(digits, 16).ok()?;
                Some((char::from_u32(code)?, 4))
            }
        }
        'a' => Some(('\x07', 2)),
        'f' => Some(('\x0c', 2)),
        'n' => Some(('\n', 2)),
        'r' => Some(('\r', 2)),
        't' => Some(('\t', 2)),
        'v' => Some(('\x0b', 2)),
        c if c.is_ascii() && !c.is_ascii_alphanumeric() => Some((c, 2)),
        _ => None,
    }
}

/// `\pN`, `\p{Name}`, `\p{^Name}` (and `\P…`) at the start of `s`, written
/// in the `regex` crate's form (which has no `^` negation inside braces).
fn unicode_class(s: &str, mut negated: bool) -> Option<(String, usize)> {
    let t = &s[2..];
    let (name, len) = if let Some(body) = t.strip_prefix('{') {
        let end = body.find('}')?;
        (&body[..end], 2 + 1 + end + 1)
    } else {
        let c = t.chars().next()?;
        (&t[..c.len_utf8()], 2 + c.len_utf8())
    };
    let name = match name.strip_prefix('^') {
        Some(n) => {
            negated = !negated;
            n
        }
        None => name,
    };
    let p = if negated { 'P' } else { 'p' };
    let class = if name.chars().count() == 1 {
        format!("\\{p}{name}")
    } else {
        format!("\\{p}{{{name}}}")
    };
    Some((class, len))
}

type Ranges = &'static [(char, char)];

/// Go's Perl classes, which are ASCII: the ranges and whether negated.
fn perl_class(c: char) -> (Ranges, bool) {
    const DIGIT: Ranges = &[('0', '9')];
    const SPACE: Ranges = &[('\t', '\n'), ('\x0c', '\r'), (' ', ' ')];
    const WORD: Ranges = &[('0', '9'), ('A', 'Z'), ('_', '_'), ('a', 'z')];
    match c {
        'd' => (DIGIT, false),
        'D' => (DIGIT, true),
        's' => (SPACE, false),
        'S' => (SPACE, true),
        'w' => (WORD, false),
        _ => (WORD, true),
    }
}

/// Writes one character as a class member, escaped where the `regex`
/// crate's class syntax would read it as an operator.
fn push_class_char(out: &mut String, c: char) {
    match c {
        '\\' | '[' | ']' | '-' | '^' | '&' | '~' => {
            out.push('\\');
            out.push(c);
        }
        c if c.is_control() => {
            let _ = write!(out, "\\x{{{:x}}}", u32::from(c));
        }
        c => out.push(c),
    }
}

fn push_range(out: &mut String, lo: char, hi: char) {
    push_class_char(out, lo);
    if hi != lo {
        out.push('-');
        push_class_char(out, hi);
    }
}

fn push_ranges(out: &mut String, ranges: Ranges) {
    for &(lo, hi) in ranges {
        push_range(out, lo, hi);
    }
}

/// The complement of sorted, disjoint ranges, as class members: a negated
/// Perl class inside a class, without the nested class that Go would not
/// read back.
fn push_negated_ranges(out: &mut String, ranges: Ranges) {
    let mut next = Some('\0');
    for &(lo, hi) in ranges {
        if let Some(from) = next
            && from < lo
        {
            push_range(out, from, before(lo));
        }
        next = after(hi);
    }
    if let Some(from) = next {
        push_range(out, from, char::MAX);
    }
}

fn before(c: char) -> char {
    char::from_u32(u32::from(c) - 1).unwrap_or('\u{d7ff}')
}

fn after(c: char) -> Option<char> {
    match c {
        char::MAX => None,
        '\u{d7ff}' => Some('\u{e000}'),
        c => char::from_u32(u32::from(c) + 1),
    }
}

/// Go's `parseClass`: a class at the start of `s` (which begins with `[`),
/// written out again in the `regex` crate's syntax, and its length in `s`.
/// None when Go would refuse it; the caller then passes the rest on as is.
fn parse_class(s: &str) -> Option<(String, usize)> {
    let mut out = String::from("[");
    let mut i = 1;
    if s[i..].starts_with('^') {
        out.push('^');
        i += 1;
    }
    let mut first = true;
    loop {
        let t = &s[i..];
        if t.is_empty() {
            return None;
        }
        if t.starts_with(']') && !first {
            out.push(']');
            return Some((out, i + 1));
        }
        first = false;
        // POSIX `[:alpha:]`, `[:^alpha:]`: the same names in both.
        if t.starts_with("[:")
            && let Some(end) = t[2..].find(":]")
        {
            let name = &t[..2 + end + 2];
            out.push_str(name);
            i += name.len();
            continue;
        }
        if let Some(kind) = t.strip_prefix('\\').and_then(|r| r.chars().next()) {
            if kind == 'p' || kind == 'P' {
                let (class, len) = unicode_class(t, kind == 'P')?;
                out.push_str(&class);
                i += len;
                continue;
            }
            if matches!(kind, 'd' | 'D' | 's' | 'S' | 'w' | 'W') {
                let (ranges, negated) = perl_class(kind);
                if negated {
                    push_negated_ranges(&mut out, ranges);
                } else {
                    push_ranges(&mut out, ranges);
                }
                i += 2;
                continue;
            }
        }
        let (lo, n) = class_char(t)?;
        i += n;
        let t = &s[i..];
        // `[a-]` means a or -: a range needs something other than `]`.
        if t.len() >= 2 && t.starts_with('-') && !t[1..].starts_with(']') {
            let (hi, n) = class_char(&t[1..])?;
            i += 1 + n;
            push_range(&mut out, lo, hi);
        } else {
            push_range(&mut out, lo, lo);
        }
    }
}

/// One character of a class: itself, or an escape standing for one.
fn class_char(t: &str) -> Option<(char, usize)> {
    if t.starts_with('\\') {
        parse_escape(t)
    } else {
        let c = t.chars().next()?;
        Some((c, c.len_utf8()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tr(p: &str) -> String {
        translate_go_regex(p).unwrap().into_owned()
    }

    fn full_match(p: &str, s: &str) -> bool {
        compile_go_regex_anchored(p).unwrap().is_match(s)
    }

    #[test]
    fn braces_that_open_no_repetition_are_literals() {
        assert_eq!(tr("/api/courses/{course_id}"), r"/api/courses/\{course_id}");
        assert!(full_match("/api/courses/{course_id}", "/api/courses/{course_id}"));
        assert!(!full_match("/api/courses/{course_id}", "/api/courses/7"));
        // Go needs digits first: `{,5}` is text (the `regex` crate would
        // read it as up to five).
        assert_eq!(tr("a{,5}"), r"a\{,5}");
        assert!(full_match("a{,5}", "a{,5}"));
        // Unclosed, spaced, leading zeros, empty, signs: all text in Go.
        assert_eq!(tr("a{2"), r"a\{2");
        assert_eq!(tr("a{ 2 }"), r"a\{ 2 }");
        assert_eq!(tr("a{01}"), r"a\{01}");
        assert_eq!(tr("a{1,02}"), r"a\{1,02}");
        assert_eq!(tr("a{}"), r"a\{}");
        assert_eq!(tr("a{-1}"), r"a\{-1}");
        assert_eq!(tr("a{1,2,3}"), r"a\{1,2,3}");
        assert_eq!(tr("{"), r"\{");
        assert_eq!(tr("}"), "}");
        assert!(full_match("x{1a}", "x{1a}"));
    }

    #[test]
    fn real_repetitions_stay() {
        for p in [
            "a{2}",
            "a{2,}",
            "a{2,5}",
            "a{0}",
            "a{2}?",
            "a{1000}",
            "(ab){1,3}?",
            r"\pL{2}",
        ] {
            assert_eq!(tr(p), p);
        }
        assert!(full_match("a{2,3}", "aaa"));
        assert!(!full_match("a{2,3}", "a"));
        // `\x{41}` and `\p{Greek}` are escapes, not repetitions.
        assert_eq!(tr(r"\x{41}{2}\x41{2}"), r"\x{41}{2}\x41{2}");
        assert_eq!(tr(r"\p{Greek}+"), r"\p{Greek}+");
    }

    #[test]
    fn counts_over_go_limit_and_stacked_operators_are_refused() {
        let err = translate_go_regex("x{1001}").unwrap_err();
        assert_eq!(err.to_string(), "invalid repeat count: `{1001}`");
        assert!(matches!(
            translate_go_regex("x{2,1001}"),
            Err(GoRegexError::RepeatCount(_))
        ));
        assert!(matches!(
            translate_go_regex("x{3,2}"),
            Err(GoRegexError::RepeatCount(_))
        ));
        assert!(matches!(
            translate_go_regex("x{99999999999999999999999}"),
            Err(GoRegexError::RepeatCount(_))
        ));
        let err = translate_go_regex("a{2}{3}").unwrap_err();
        assert_eq!(err.to_string(), "invalid nested repetition operator: `{2}{3}`");
        assert!(matches!(
            translate_go_regex("a**"),
            Err(GoRegexError::NestedRepetition(_))
        ));
        assert!(matches!(
            translate_go_regex("a*??"),
            Err(GoRegexError::NestedRepetition(_))
        ));
        // A group in between ends the repetition.
        assert_eq!(tr("(a*)*"), "(a*)*");
        assert_eq!(tr("a*?b+"), "a*?b+");
    }

    #[test]
    fn escapes_are_respected() {
        assert_eq!(tr(r"\{id}"), r"\{id}");
        assert_eq!(tr(r"\\{id}"), r"\\\{id}");
        assert_eq!(tr(r"a\.b"), r"a\.b");
        // Go's escaped punctuation is the character; `regex` would read
        // `\<`/`\>` as word boundaries.
        assert_eq!(tr(r"\<b\>"), "<b>");
        assert!(full_match(r"\<b\>", "<b>"));
        assert_eq!(tr(r"\_\/\@"), "_/@");
        assert_eq!(tr(r"\#\&\-\~"), r"\#\&\-\~");
        // Octal escapes.
        assert_eq!(tr(r"\101\0"), r"\x{41}\x{0}");
        assert!(full_match(r"\101", "A"));
        // A lone digit is a backreference, refused by both.
        assert!(compile_go_regex(r"(a)\1").is_err());
        // After an escape Go refuses nothing is rewritten: `\Q0` would
        // otherwise turn `\1` into the octal `\10`.
        assert_eq!(tr(r"\1\Q0"), r"\1\Q0");
        // Assertions and C escapes mean the same.
        assert_eq!(tr(r"\A\ba\B\z\t"), r"\A\ba\B\z\t");
        // Go's Perl classes are ASCII.
        assert_eq!(tr(r"\d+"), "[0-9]+");
        assert!(!full_match(r"\d", "٣"));
        assert!(!full_match(r"\w", "é"));
        assert!(full_match(r"\S", "é"));
        assert!(full_match(r"\s", "\x0c"));
        // `\p{^X}` is `\P{X}`.
        assert_eq!(tr(r"\p{^Greek}\P{^Greek}\pN"), r"\P{Greek}\p{Greek}\pN");
        assert!(full_match(r"\p{^Greek}", "a"));
        // Trailing backslash: refused.
        assert!(compile_go_regex("a\\").is_err());
    }

    #[test]
    fn quoted_text_is_literal() {
        assert_eq!(tr(r"\Q{a.b}\E+"), r"\{a\.b\}+");
        assert!(full_match(r"\Qa.b\E", "a.b"));
        assert!(!full_match(r"\Qa.b\E", "axb"));
        // Unterminated: to the end.
        assert!(full_match(r"x\Q(*", "x(*"));
    }

    #[test]
    fn classes_are_go_classes() {
        // Braces in a class are never repetitions.
        assert_eq!(tr("[{]"), "[{]");
        assert_eq!(tr("[{}]{2}"), "[{}]{2}");
        assert!(full_match("[{]x{2}", "{xx"));
        // `[` inside a class is a character in Go, a nested class in `regex`.
        assert_eq!(tr("[[]"), r"[\[]");
        assert!(full_match("[[]", "["));
        assert!(full_match("[a[]+", "a[a"));
        // Set operators of `regex` are plain characters in Go.
        assert!(full_match("[a&&b]", "&"));
        assert!(full_match("[a~~b]", "~"));
        assert!(full_match("[+--]", ","));
        // `]` first and `-` at either end are characters.
        assert!(full_match("[]a]", "]"));
        assert!(full_match("[^]a]", "b"));
        assert!(full_match("[a-]", "-"));
        assert!(full_match("[-a]", "-"));
        // POSIX and Perl classes inside classes, and their negations.
        assert_eq!(tr("[[:alpha:][:^digit:]]"), "[[:alpha:][:^digit:]]");
        assert!(full_match(r"[\d.]+", "1.5"));
        assert!(full_match(r"[\D]", "é"));
        assert!(!full_match(r"[\D]", "7"));
        assert!(full_match(r"[^\S]", " "));
        assert!(full_match(r"[\W]", "\u{10ffff}"));
        // Escapes inside classes.
        assert!(full_match(r"[\]\\]+", r"]\"));
        assert!(full_match(r"[\x41-\x{43}]", "B"));
        assert!(full_match(r"[\p{^Greek}]", "a"));
        // Unclosed or empty: refused by both.
        assert!(compile_go_regex("[a").is_err());
        assert!(compile_go_regex("[]").is_err());
        assert!(compile_go_regex("[z-a]").is_err());
    }

    #[test]
    fn groups_and_flags_pass_through() {
        for p in [
            "(?i)abc",
            "(?i:a)?",
            "(?P<x>a)+",
            "(?<y>b)",
            "(?s-m:.)",
            "a|b",
            "^a$",
        ] {
            assert_eq!(tr(p), p);
        }
        assert_eq!(tr("(?P<id>{id})"), r"(?P<id>\{id})");
    }

    #[test]
    fn unchanged_patterns_are_borrowed() {
        assert!(matches!(translate_go_regex("api|web.*"), Ok(Cow::Borrowed(_))));
        assert!(matches!(translate_go_regex("{x}"), Ok(Cow::Owned(_))));
    }

    mod properties {
        use super::super::*;
        use proptest::prelude::*;

        /// Patterns built from the pieces where the two syntaxes differ.
        fn pattern() -> impl Strategy<Value = String> {
            let piece = prop_oneof![
                Just("{".to_string()),
                Just("}".to_string()),
                Just(",".to_string()),
                Just("[".to_string()),
                Just("]".to_string()),
                Just("^".to_string()),
                Just("-".to_string()),
                Just("&&".to_string()),
                Just("(".to_string()),
                Just(")".to_string()),
                Just("(?i)".to_string()),
                Just("(?P<n>".to_string()),
                Just("*".to_string()),
                Just("?".to_string()),
                Just("|".to_string()),
                Just("\\".to_string()),
                Just("\\Q".to_string()),
                Just("\\E".to_string()),
                Just("\\p".to_string()),
                Just("[:alpha:]".to_string()),
                "\\\\[a-zA-Z0-9{}<>.\\[\\]^$]".prop_map(String::from),
                "[0-9]{1,4}".prop_map(String::from),
                "[a-z_/]{1,3}".prop_map(String::from),
                "\\PC".prop_map(String::from),
            ];
            proptest::collection::vec(piece, 0..12).prop_map(|v| v.concat())
        }

        /// Pieces Go accepts, each with a text Go matches it against: put
        /// together in any order they stay valid and match the joined text.
        const GO_PIECES: &[(&str, &str)] = &[
            ("/courses", "/courses"),
            ("/{course_id}", "/{course_id}"),
            ("{id}", "{id}"),
            ("{,5}", "{,5}"),
            ("{01}", "{01}"),
            ("{ 2 }", "{ 2 }"),
            ("x{2}", "xx"),
            ("y{1,}?", "yyy"),
            ("[{}]", "}"),
            ("[[&~{]", "&"),
            ("[+--]", ","),
            (r"\Q{x}.\E", "{x}."),
            (r"\d{2}", "42"),
            (r"\101", "A"),
            (r"\<\>", "<>"),
            (r"[^\d]", "z"),
            (r"[\W\d]", "-"),
            (r"\p{^Greek}", "a"),
            ("(/v[0-9]+)?", "/v2"),
            ("(?i:ab)", "AB"),
            ("/.*", "/any"),
        ];

        fn go_pieces() -> impl Strategy<Value = (String, String)> {
            proptest::collection::vec(0..GO_PIECES.len(), 1..8).prop_map(|picks| {
                picks.iter().map(|&i| GO_PIECES[i]).fold(
                    (String::new(), String::new()),
                    |(mut p, mut t), (piece, text)| {
                        p.push_str(piece);
                        t.push_str(text);
                        (p, t)
                    },
                )
            })
        }

        proptest! {
            /// Never panics, and a second rewrite changes nothing.
            #[test]
            fn translation_is_idempotent(p in pattern()) {
                if let Ok(once) = translate_go_regex(&p) {
                    let twice = translate_go_regex(&once).expect("a rewritten pattern rewrites again");
                    prop_assert_eq!(twice.as_ref(), once.as_ref());
                    // Compiling either never panics.
                    let _ = Regex::new(&once);
                }
            }

            /// Go accepts these, so the rewrite compiles, and matches what
            /// Go matches.
            #[test]
            fn what_go_accepts_compiles_and_matches_as_in_go((p, text) in go_pieces()) {
                let re = compile_go_regex_anchored(&p).expect("Go accepts it");
                prop_assert!(re.is_match(&text), "{} does not match {}", p, text);
            }
        }
    }
}
