//! Splits a Go text/template source into text and action tokens: `{{ }}`
//! delimiters with `{{-`/`-}}` trimming, comments, and the tokens inside an
//! action (identifiers, fields, variables, literals, `|`, `:=`, `=`, `(`, `)`).

use super::error::TemplateError;

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
    /// A function name or keyword (`if`, `range`, `end`, …).
    Ident(String),
    /// `.` (empty path) or `.a.b`.
    Field(Vec<String>),
    /// `$` or `$name`, with any `.field` chain written right after it.
    Var(String, Vec<String>),
    Str(String),
    Num(f64, bool),
    Bool(bool),
    Nil,
    LParen,
    /// `)` with any `.field` chain written right after it.
    RParen(Vec<String>),
    Pipe,
    Declare,
    Assign,
    Comma,
}

/// A piece of the template: literal text or one action's tokens, with the
/// byte offset of the action (for error positions).
#[derive(Debug, Clone)]
pub(super) enum Piece {
    Text(String),
    Action { toks: Vec<Tok>, pos: usize },
}

pub(super) fn split(src: &str) -> Result<Vec<Piece>, TemplateError> {
    let mut out = Vec::new();
    let mut rest = 0usize;
    let bytes = src.as_bytes();
    while let Some(off) = src[rest..].find("{{") {
        let start = rest + off;
        let mut text = &src[rest..start];
        let mut inner = start + 2;
        if bytes.get(inner) == Some(&b'-') && bytes.get(inner + 1).is_some_and(|c| c.is_ascii_whitespace()) {
            text = text.trim_end();
            inner += 1;
        }
        if !text.is_empty() {
            out.push(Piece::Text(text.to_string()));
        }
        let (toks, end, trim_right) = lex_action(src, inner)?;
        if !toks.is_empty() {
            out.push(Piece::Action { toks, pos: start });
        }
        rest = end;
        if trim_right {
            let trimmed = src[rest..].trim_start();
            rest = src.len() - trimmed.len();
        }
    }
    if rest < src.len() {
        out.push(Piece::Text(src[rest..].to_string()));
    }
    Ok(out)
}

fn err(src: &str, pos: usize, msg: impl Into<String>) -> TemplateError {
    let line = src[..pos.min(src.len())].matches('\n').count() + 1;
    TemplateError::Parse {
        line,
        message: msg.into(),
    }
}

/// Lexes one action from `i` (just after `{{` and any trim marker); returns
/// its tokens, the offset after `}}` and whether `-}}` asked for trimming.
fn lex_action(src: &str, mut i: usize) -> Result<(Vec<Tok>, usize, bool), TemplateError> {
    let b = src.as_bytes();
    let mut toks = Vec::new();
    // Comments: `{{/* … */}}`, possibly with trim markers around them.
    let after_ws = skip_ws(b, i);
    if src[after_ws..].starts_with("/*") {
        let Some(close) = src[after_ws + 2..].find("*/") else {
            return Err(err(src, i, "unclosed comment"));
        };
        let mut j = skip_ws(b, after_ws + 2 + close + 2);
        let mut trim = false;
        if src[j..].starts_with("-}}") {
            trim = true;
            j += 1;
        }
        if !src[j..].starts_with("}}") {
            return Err(err(src, i, "comment ends before closing delimiter"));
        }
        return Ok((toks, j + 2, trim));
    }
    loop {
        if i >= b.len() {
            return Err(err(src, i, "unclosed action"));
        }
        let c = b[i];
        if c.is_ascii_whitespace() {
            // ` -}}` trims the text after the action.
            let j = skip_ws(b, i);
            if src[j..].starts_with("-}}") {
                return Ok((toks, j + 3, true));
            }
            i = j;
            continue;
        }
        if src[i..].starts_with("}}") {
            return Ok((toks, i + 2, false));
        }
        match c {
            b'|' => {
                toks.push(Tok::Pipe);
                i += 1;
            }
            b'(' => {
                toks.push(Tok::LParen);
                i += 1;
            }
            b')' => {
                i += 1;
                let (fields, j) = lex_fields(src, i);
                i = j;
                toks.push(Tok::RParen(fields));
            }
            b',' => {
                toks.push(Tok::Comma);
                i += 1;
            }
            b':' if b.get(i + 1) == Some(&b'=') => {
                toks.push(Tok::Declare);
                i += 2;
            }
            b'=' => {
                toks.push(Tok::Assign);
                i += 1;
            }
            b'"' => {
                let (s, j) = lex_quoted(src, i)?;
                toks.push(Tok::Str(s));
                i = j;
            }
            b'`' => {
                let Some(close) = src[i + 1..].find('`') else {
                    return Err(err(src, i, "unterminated raw quoted string"));
                };
                toks.push(Tok::Str(src[i + 1..i + 1 + close].to_string()));
                i += close + 2;
            }
            b'$' => {
                let j = i + 1 + ident_len(&b[i + 1..]);
                let name = src[i..j].to_string();
                let (fields, k) = lex_fields(src, j);
                toks.push(Tok::Var(name, fields));
                i = k;
            }
            b'.' if !b.get(i + 1).is_some_and(u8::is_ascii_digit) => {
                let (fields, j) = lex_fields(src, i);
                if fields.is_empty() {
                    // A lone dot.
                    i += 1;
                } else {
                    i = j;
                }
                toks.push(Tok::Field(fields));
            }
            b'0'..=b'9' | b'-' | b'+' | b'.' => {
                let j = number_end(b, i);
                if j == i {
                    return Err(err(src, i, format!("unexpected {:?} in action", c as char)));
                }
                let text = &src[i..j];
                let (v, is_int) =
                    parse_number(text).ok_or_else(|| err(src, i, format!("bad number syntax: {text:?}")))?;
                toks.push(Tok::Num(v, is_int));
                i = j;
            }
            b'\'' => {
                // A character constant is an integer in Go templates.
                let rest = &src[i + 1..];
                let mut chars = rest.char_indices();
                let (v, len) = match chars.next() {
                    Some((_, '\\')) => {
                        let (_, e) = chars
                            .next()
                            .ok_or_else(|| err(src, i, "unterminated character constant"))?;
                        let v = match e {
                            'n' => '\n',
                            't' => '\t',
                            'r' => '\r',
                            '0' => '\0',
                            other => other,
                        };
                        (v, 1 + e.len_utf8())
                    }
                    Some((_, ch)) => (ch, ch.len_utf8()),
                    None => return Err(err(src, i, "unterminated character constant")),
                };
                if !rest[len..].starts_with('\'') {
                    return Err(err(src, i, "unterminated character constant"));
                }
                toks.push(Tok::Num(v as u32 as f64, true));
                i += len + 2;
            }
            c if c == b'_' || c.is_ascii_alphabetic() => {
                let j = i + ident_len(&b[i..]);
                let word = &src[i..j];
                toks.push(match word {
                    "true" => Tok::Bool(true),
                    "false" => Tok::Bool(false),
                    "nil" => Tok::Nil,
                    _ => Tok::Ident(word.to_string()),
                });
                i = j;
            }
            _ => {
                let ch = src[i..].chars().next().unwrap_or('?');
                return Err(err(src, i, format!("unexpected {ch:?} in action")));
            }
        }
    }
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && b[i].is_ascii_whitespace() {
        i += 1;
    }
    i
}

fn ident_len(b: &[u8]) -> usize {
    b.iter()
        .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_')
        .count()
}

/// A chain of `.name` right at `i`.
fn lex_fields(src: &str, mut i: usize) -> (Vec<String>, usize) {
    let b = src.as_bytes();
    let mut fields = Vec::new();
    while b.get(i) == Some(&b'.') {
        let n = ident_len(&b[i + 1..]);
        if n == 0 {
            break;
        }
        fields.push(src[i + 1..i + 1 + n].to_string());
        i += 1 + n;
    }
    (fields, i)
}

fn number_end(b: &[u8], i: usize) -> usize {
    let mut j = i;
    if matches!(b.get(j), Some(b'-' | b'+')) {
        j += 1;
    }
    while j < b.len() {
        let c = b[j];
        let prev = if j > 0 { b[j - 1] } else { 0 };
        let ok = c.is_ascii_alphanumeric()
            || c == b'.'
            || c == b'_'
            || (matches!(c, b'-' | b'+') && matches!(prev, b'e' | b'E' | b'p' | b'P'));
        if !ok {
            break;
        }
        j += 1;
    }
    j
}

fn parse_number(text: &str) -> Option<(f64, bool)> {
    let clean = text.replace('_', "");
    let (neg, body) = match clean.strip_prefix('-') {
        Some(b) => (true, b.to_string()),
        None => (false, clean.trim_start_matches('+').to_string()),
    };
    let sign = if neg { -1.0 } else { 1.0 };
    let lower = body.to_ascii_lowercase();
    let int = if let Some(h) = lower.strip_prefix("0x") {
        i64::from_str_radix(h, 16).ok()
    } else if let Some(o) = lower.strip_prefix("0o") {
        i64::from_str_radix(o, 8).ok()
    } else if let Some(bn) = lower.strip_prefix("0b") {
        i64::from_str_radix(bn, 2).ok()
    } else if lower.len() > 1 && lower.starts_with('0') && lower.bytes().all(|c| c.is_ascii_digit()) {
        i64::from_str_radix(&lower[1..], 8).ok()
    } else {
        lower.parse::<i64>().ok()
    };
    if let Some(n) = int {
        return Some((sign * n as f64, true));
    }
    let f: f64 = lower.parse().ok()?;
    if !f.is_finite() {
        return None;
    }
    Some((sign * f, false))
}

fn lex_quoted(src: &str, start: usize) -> Result<(String, usize), TemplateError> {
    let mut out = String::new();
    let mut chars = src[start + 1..].char_indices();
    while let Some((off, c)) = chars.next() {
        match c {
            '"' => return Ok((out, start + 1 + off + 1)),
            '\n' => break,
            '\\' => {
                let Some((_, e)) = chars.next() else { break };
                match e {
                    'n' => out.push('\n'),
                    't' => out.push('\t'),
                    'r' => out.push('\r'),
                    '\\' => out.push('\\'),
                    '"' => out.push('"'),
                    '\'' => out.push('\''),
                    'a' => out.push('\x07'),
                    'b' => out.push('\x08'),
                    'f' => out.push('\x0c'),
                    'v' => out.push('\x0b'),
                    'x' | 'u' | 'U' => {
                        let n = match e {
                            'x' => 2,
                            'u' => 4,
                            _ => 8,
                        };
                        let mut code = 0u32;
                        for _ in 0..n {
                            let Some((_, h)) = chars.next() else {
                                return Err(err(src, start, "bad escape in string"));
                            };
                            code = code * 16
                                + h.to_digit(16)
                                    .ok_or_else(|| err(src, start, "bad escape in string"))?;
                        }
                        out.push(
                            char::from_u32(code).ok_or_else(|| err(src, start, "bad escape in string"))?,
                        );
                    }
                    _ => return Err(err(src, start, format!("unknown escape sequence \\{e}"))),
                }
            }
            c => out.push(c),
        }
    }
    Err(err(src, start, "unterminated quoted string"))
}
