//! LogQL's literals: Go strings (double-quoted with escapes, or raw in
//! backticks), durations (`5m`, `1h30m`, `250ms`, `1.5h`) and byte sizes
//! (`10KB`, `1MiB`, `512B`).

/// Reads a Go string literal at the start of `s`; returns its value and
/// the bytes it took. `None` when `s` does not start with one or it is
/// malformed (the message says why).
pub fn read_string(s: &str) -> Result<Option<(String, usize)>, String> {
    let mut chars = s.char_indices();
    let Some((_, quote)) = chars.next() else {
        return Ok(None);
    };
    if quote == '`' {
        return match s[1..].find('`') {
            Some(end) => Ok(Some((s[1..1 + end].to_string(), end + 2))),
            None => Err("unterminated raw string".into()),
        };
    }
    if quote != '"' && quote != '\'' {
        return Ok(None);
    }
    let mut out = String::new();
    while let Some((i, c)) = chars.next() {
        match c {
            c if c == quote => return Ok(Some((out, i + 1))),
            '\n' => return Err("newline in string".into()),
            '\\' => {
                let Some((_, e)) = chars.next() else {
                    return Err("unterminated string".into());
                };
                match e {
                    'n' => out.push('\n'),
                    't' => out.push('\t'),
                    'r' => out.push('\r'),
                    'a' => out.push('\x07'),
                    'b' => out.push('\x08'),
                    'f' => out.push('\x0c'),
                    'v' => out.push('\x0b'),
                    '\\' => out.push('\\'),
                    '"' => out.push('"'),
                    '\'' => out.push('\''),
                    'x' | 'u' | 'U' => {
                        let n = match e {
                            'x' => 2,
                            'u' => 4,
                            _ => 8,
                        };
                        let mut v = 0u32;
                        for _ in 0..n {
                            let d = chars
                                .next()
                                .and_then(|(_, c)| c.to_digit(16))
                                .ok_or_else(|| format!("invalid \\{e} escape in string"))?;
                            v = v * 16 + d;
                        }
                        out.push(char::from_u32(v).ok_or_else(|| format!("invalid \\{e} escape in string"))?);
                    }
                    '0'..='7' => {
                        let mut v = e.to_digit(8).unwrap_or(0);
                        for _ in 0..2 {
                            let d = chars
                                .next()
                                .and_then(|(_, c)| c.to_digit(8))
                                .ok_or("invalid octal escape in string")?;
                            v = v * 8 + d;
                        }
                        out.push(char::from_u32(v).ok_or("invalid octal escape in string")?);
                    }
                    other => return Err(format!("unknown escape sequence \\{other} in string")),
                }
            }
            c => out.push(c),
        }
    }
    Err("unterminated string".into())
}

const NS: f64 = 1.0;

fn duration_unit(u: &str) -> Option<f64> {
    Some(match u {
        "ns" => NS,
        "us" | "µs" => 1e3,
        "ms" => 1e6,
        "s" => 1e9,
        "m" => 60e9,
        "h" => 3600e9,
        "d" => 86_400e9,
        "w" => 7.0 * 86_400e9,
        "y" => 365.0 * 86_400e9,
        _ => return None,
    })
}

/// A duration such as `5m`, `1h30m`, `250ms`, `1.5h` or `-2s`, in
/// nanoseconds; `None` when `s` is not one.
pub fn parse_duration_ns(s: &str) -> Option<f64> {
    let (neg, mut rest) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s),
    };
    if rest.is_empty() {
        return None;
    }
    let mut total = 0.0;
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if num_end == 0 {
            return None;
        }
        let n: f64 = rest[..num_end].parse().ok()?;
        rest = &rest[num_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = duration_unit(&rest[..unit_end])?;
        total += n * unit;
        rest = &rest[unit_end..];
    }
    Some(if neg { -total } else { total })
}

fn byte_unit(u: &str) -> Option<f64> {
    let k = 1000f64;
    let ki = 1024f64;
    Some(match u.to_ascii_lowercase().as_str() {
        "b" => 1.0,
        "kb" | "k" => k,
        "kib" | "ki" => ki,
        "mb" | "m" => k.powi(2),
        "mib" | "mi" => ki.powi(2),
        "gb" | "g" => k.powi(3),
        "gib" | "gi" => ki.powi(3),
        "tb" | "t" => k.powi(4),
        "tib" | "ti" => ki.powi(4),
        "pb" | "p" => k.powi(5),
        "pib" | "pi" => ki.powi(5),
        "eb" | "e" => k.powi(6),
        "eib" | "ei" => ki.powi(6),
        _ => return None,
    })
}

/// A byte size such as `10KB`, `1.5 MiB` or `42` (bytes); `None` when
/// `s` is not one.
pub fn parse_bytes(s: &str) -> Option<f64> {
    let s = s.trim();
    let num_end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    if num_end == 0 {
        return None;
    }
    let n: f64 = s[..num_end].parse().ok()?;
    let unit = s[num_end..].trim();
    if unit.is_empty() {
        return Some(n);
    }
    Some(n * byte_unit(unit)?)
}

/// Whether `u` is a byte unit that must be written out (not a duration).
pub fn is_byte_unit(u: &str) -> bool {
    !u.is_empty() && byte_unit(u).is_some() && duration_unit(u).is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_read_go_escapes() {
        assert_eq!(
            read_string(r#""a\"b\n" rest"#).unwrap(),
            Some(("a\"b\n".into(), 8))
        );
        assert_eq!(read_string("`a\\b` x").unwrap(), Some(("a\\b".into(), 5)));
        assert_eq!(read_string(r#""\x41\u00e9""#).unwrap().unwrap().0, "Aé");
        assert!(read_string("\"abc").is_err());
        assert!(read_string(r#""\q""#).is_err());
        assert_eq!(read_string("abc").unwrap(), None);
    }

    #[test]
    fn durations_in_go_and_prometheus_forms() {
        assert_eq!(parse_duration_ns("5m"), Some(300e9));
        assert_eq!(parse_duration_ns("1h30m"), Some(5400e9));
        assert_eq!(parse_duration_ns("250ms"), Some(250e6));
        assert_eq!(parse_duration_ns("1.5h"), Some(5400e9));
        assert_eq!(parse_duration_ns("2d"), Some(172_800e9));
        assert_eq!(parse_duration_ns("-2s"), Some(-2e9));
        assert_eq!(parse_duration_ns("5"), None);
        assert_eq!(parse_duration_ns("5x"), None);
        assert_eq!(parse_duration_ns(""), None);
    }

    #[test]
    fn byte_sizes_decimal_and_binary() {
        assert_eq!(parse_bytes("10KB"), Some(10_000.0));
        assert_eq!(parse_bytes("1MiB"), Some(1_048_576.0));
        assert_eq!(parse_bytes("42"), Some(42.0));
        assert_eq!(parse_bytes("1.5 kb"), Some(1500.0));
        assert_eq!(parse_bytes("3 apples"), None);
        assert!(is_byte_unit("KB") && is_byte_unit("B") && !is_byte_unit("m") && !is_byte_unit("x"));
    }
}
