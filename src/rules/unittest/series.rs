//! The series notation of rule unit tests: `metric{label="value"}` and
//! value sequences such as `0+10x5`, `1x3`, `_`, `_x4`, `stale`, `-1-1x2`.

use crate::model::{Label, Labels, STALE_NAN};

/// Parses `name{a="b",…}`, `{__name__="x"}` or `name` into labels.
pub fn parse_metric(text: &str) -> Result<Labels, String> {
    let s = text.trim();
    let name_len = s
        .char_indices()
        .take_while(|(i, c)| {
            c.is_ascii_alphabetic() || *c == '_' || *c == ':' || (*i > 0 && c.is_ascii_digit())
        })
        .count();
    let mut labels = Vec::new();
    if name_len > 0 {
        labels.push(Label::new("__name__", &s[..name_len]));
    }
    let rest = s[name_len..].trim();
    if rest.is_empty() {
        if labels.is_empty() && !s.is_empty() {
            return Err(format!("invalid series {text:?}"));
        }
        return Ok(Labels::new(labels));
    }
    let Some(body) = rest.strip_prefix('{') else {
        return Err(format!("unexpected {rest:?} after metric name in {text:?}"));
    };
    let Some(body) = body.trim_end().strip_suffix('}') else {
        return Err(format!("unclosed label set in {text:?}: missing '}}'"));
    };
    let mut chars = body.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace() || *c == ',') {
            chars.next();
        }
        if chars.peek().is_none() {
            break;
        }
        let mut name = String::new();
        while let Some(&c) = chars.peek() {
            if c.is_ascii_alphanumeric() || c == '_' {
                name.push(c);
                chars.next();
            } else {
                break;
            }
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if name.is_empty() || chars.next() != Some('=') {
            return Err(format!("bad label matcher in {text:?}: expected name=\"value\""));
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let quote = chars.next();
        if !matches!(quote, Some('"' | '\'' | '`')) {
            return Err(format!(
                "bad label value for {name:?} in {text:?}: expected a quoted string"
            ));
        }
        let quote = quote.unwrap_or('"');
        let mut value = String::new();
        let mut closed = false;
        while let Some(c) = chars.next() {
            match c {
                '\\' if quote != '`' => match chars.next() {
                    Some('n') => value.push('\n'),
                    Some('t') => value.push('\t'),
                    Some(o) => value.push(o),
                    None => break,
                },
                c if c == quote => {
                    closed = true;
                    break;
                }
                c => value.push(c),
            }
        }
        if !closed {
            return Err(format!("unterminated label value for {name:?} in {text:?}"));
        }
        labels.retain(|l: &Label| l.name != name);
        labels.push(Label::new(name, value));
    }
    Ok(Labels::new(labels))
}

/// One expanded value: `None` is a gap (`_`).
pub type SeriesValue = Option<f64>;

/// Expands a value sequence.
pub fn parse_values(text: &str) -> Result<Vec<SeriesValue>, String> {
    let mut out = Vec::new();
    for item in text.split_whitespace() {
        if item.contains("{{") {
            return Err(format!("native histogram samples ({item:?}) are not supported"));
        }
        if item == "_" {
            out.push(None);
            continue;
        }
        if item == "stale" {
            out.push(Some(STALE_NAN));
            continue;
        }
        if let Some(n) = item.strip_prefix("_x") {
            let n: usize = n.parse().map_err(|_| format!("bad repetition in {item:?}"))?;
            out.extend(std::iter::repeat_n(None, n));
            continue;
        }
        let Some((head, times)) = item.rsplit_once('x') else {
            out.push(Some(parse_float(item)?));
            continue;
        };
        let n: usize = times
            .parse()
            .map_err(|_| format!("bad repetition count in {item:?}"))?;
        if n > 10_000_000 {
            return Err(format!("repetition count in {item:?} is too large"));
        }
        // `a+bxn` / `a-bxn`: the sign splitting start and step is the first
        // one that is not a leading sign or an exponent's.
        let bytes = head.as_bytes();
        let split = (1..bytes.len())
            .find(|&i| matches!(bytes[i], b'+' | b'-') && !matches!(bytes[i - 1], b'e' | b'E'));
        let (start, step) = match split {
            Some(i) => {
                let step = parse_float(&head[i + 1..])?;
                (
                    parse_float(&head[..i])?,
                    if bytes[i] == b'-' { -step } else { step },
                )
            }
            None => (parse_float(head)?, 0.0),
        };
        let mut v = start;
        for _ in 0..=n {
            out.push(Some(v));
            v += step;
        }
    }
    Ok(out)
}

fn parse_float(s: &str) -> Result<f64, String> {
    crate::rules::template::parse_go_float(s).ok_or_else(|| format!("invalid value {s:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values() {
        assert_eq!(
            parse_values("1+1x2").unwrap(),
            vec![Some(1.0), Some(2.0), Some(3.0)]
        );
        assert_eq!(parse_values("1x2").unwrap(), vec![Some(1.0); 3]);
        assert_eq!(
            parse_values("0 _ _x2 5").unwrap(),
            vec![Some(0.0), None, None, None, Some(5.0)]
        );
        assert_eq!(
            parse_values("10-2x2").unwrap(),
            vec![Some(10.0), Some(8.0), Some(6.0)]
        );
        assert_eq!(parse_values("-1+1x1").unwrap(), vec![Some(-1.0), Some(0.0)]);
        assert!(parse_values("stale").unwrap()[0].unwrap().is_nan());
        assert!(parse_values("{{sum:1}}").is_err());
        assert!(parse_values("abc").is_err());
    }

    #[test]
    fn metrics() {
        let l = parse_metric(r#"job:x:rate5m{job="a", instance="b:1"}"#).unwrap();
        assert_eq!(l.get("__name__"), Some("job:x:rate5m"));
        assert_eq!(l.get("instance"), Some("b:1"));
        assert!(parse_metric("{}").unwrap().is_empty());
        assert!(parse_metric(r#"up{job="prometheus", instance="localhost:9090""#).is_err());
    }
}
