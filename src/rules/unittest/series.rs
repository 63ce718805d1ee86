//! The series notation of rule unit tests: `metric{label="value"}` and
//! value sequences such as `0+10x5`, `1x3`, `_`, `_x4`, `stale`, `-1-1x2`
//! and native histograms `{{…}}+{{…}}x2`.

use crate::model::{FloatHistogram, Label, Labels, STALE_NAN};

use super::error::UnitTestError;
use super::histogram_notation::parse_histogram;

/// Parses `name{a="b",…}`, `{__name__="x"}` or `name` into labels.
pub fn parse_metric(text: &str) -> Result<Labels, UnitTestError> {
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
            return Err(UnitTestError::InvalidSeries(text.to_string()));
        }
        return Ok(Labels::new(labels));
    }
    let Some(body) = rest.strip_prefix('{') else {
        return Err(UnitTestError::AfterName {
            rest: rest.to_string(),
            text: text.to_string(),
        });
    };
    let Some(body) = body.trim_end().strip_suffix('}') else {
        return Err(UnitTestError::UnclosedLabels(text.to_string()));
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
            return Err(UnitTestError::BadMatcher(text.to_string()));
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let quote = chars.next();
        if !matches!(quote, Some('"' | '\'' | '`')) {
            return Err(UnitTestError::UnquotedValue {
                name,
                text: text.to_string(),
            });
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
            return Err(UnitTestError::UnterminatedValue {
                name,
                text: text.to_string(),
            });
        }
        labels.retain(|l: &Label| l.name != name);
        labels.push(Label::new(name, value));
    }
    Ok(Labels::new(labels))
}

/// One expanded value of an input series.
#[derive(Debug, Clone, PartialEq)]
pub enum SeriesValue {
    /// `_`: no sample at this step.
    Gap,
    Float(f64),
    Histogram(FloatHistogram),
}

/// Expands a value sequence: floats (`0+10x5`, `1x3`, `-1-1x2`), gaps
/// (`_`, `_x4`), `stale`, and native histograms (`{{…}}`, `{{…}}x3`,
/// `{{…}}+{{…}}x3`, `{{…}}-{{…}}x3`).
pub fn parse_values(text: &str) -> Result<Vec<SeriesValue>, UnitTestError> {
    let mut out = Vec::new();
    for item in value_tokens(text)? {
        if item.starts_with("{{") {
            expand_histograms(item, &mut out)?;
            continue;
        }
        if item == "_" {
            out.push(SeriesValue::Gap);
            continue;
        }
        if item == "stale" {
            out.push(SeriesValue::Float(STALE_NAN));
            continue;
        }
        if let Some(n) = item.strip_prefix("_x") {
            let n: usize = n
                .parse()
                .map_err(|_| UnitTestError::BadGapRepetition(item.to_string()))?;
            check_repetitions(n, item)?;
            out.extend(std::iter::repeat_n(SeriesValue::Gap, n));
            continue;
        }
        let Some((head, times)) = item.rsplit_once('x') else {
            out.push(SeriesValue::Float(parse_float(item)?));
            continue;
        };
        let n: usize = times
            .parse()
            .map_err(|_| UnitTestError::BadRepetitionCount(item.to_string()))?;
        check_repetitions(n, item)?;
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
            out.push(SeriesValue::Float(v));
            v += step;
        }
    }
    Ok(out)
}

fn check_repetitions(n: usize, item: &str) -> Result<(), UnitTestError> {
    if n > 10_000_000 {
        return Err(UnitTestError::TooManyRepetitions(item.to_string()));
    }
    Ok(())
}

/// Splits at whitespace outside `{{…}}`, since histogram descriptors hold
/// spaces of their own.
fn value_tokens(text: &str) -> Result<Vec<&str>, UnitTestError> {
    let mut tokens = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && !bytes[i].is_ascii_whitespace() {
            if text[i..].starts_with("{{") {
                let close = text[i..]
                    .find("}}")
                    .ok_or_else(|| UnitTestError::UnclosedHistogram(text[i..].to_string()))?;
                i += close + 2;
            } else {
                i += 1;
            }
        }
        tokens.push(&text[start..i]);
    }
    Ok(tokens)
}

/// `{{A}}` once; `{{A}}xN` as A N+1 times; `{{A}}+{{B}}xN` as A, A+B, …,
/// A+N·B (and `-` likewise), each step combined from the previous one as
/// Prometheus builds these sequences.
fn expand_histograms(item: &str, out: &mut Vec<SeriesValue>) -> Result<(), UnitTestError> {
    let first_end = item.find("}}").map(|i| i + 2).unwrap_or(item.len());
    let base = parse_histogram(&item[..first_end])?;
    let rest = &item[first_end..];
    if rest.is_empty() {
        out.push(SeriesValue::Histogram(base));
        return Ok(());
    }
    let (step, times) = match rest.strip_prefix('x') {
        Some(times) => (None, times),
        None => {
            let sign = rest.as_bytes()[0];
            if !matches!(sign, b'+' | b'-') || !rest[1..].starts_with("{{") {
                return Err(UnitTestError::AfterHistogram(item.to_string()));
            }
            let step_end = rest.find("}}").map(|i| i + 2).unwrap_or(rest.len());
            let step = parse_histogram(&rest[1..step_end])?;
            let times = rest[step_end..]
                .strip_prefix('x')
                .ok_or_else(|| UnitTestError::MissingIncrementCount(item.to_string()))?;
            (Some((sign, step)), times)
        }
    };
    let n: usize = times
        .parse()
        .map_err(|_| UnitTestError::BadRepetitionCount(item.to_string()))?;
    check_repetitions(n, item)?;
    let mut current = base;
    out.push(SeriesValue::Histogram(current.clone()));
    for _ in 0..n {
        if let Some((sign, step)) = &step {
            if current.schema > step.schema {
                return Err(UnitTestError::CoarserIncrement {
                    item: item.to_string(),
                    step: step.schema,
                    current: current.schema,
                });
            }
            current = if *sign == b'+' {
                current.add(step)
            } else {
                current.sub(step)
            }
            .map_err(|source| UnitTestError::Combine {
                item: item.to_string(),
                source,
            })?;
        }
        out.push(SeriesValue::Histogram(current.clone()));
    }
    Ok(())
}

fn parse_float(s: &str) -> Result<f64, UnitTestError> {
    crate::template::parse_go_float(s).ok_or_else(|| UnitTestError::InvalidValue(s.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    use SeriesValue::{Float, Gap};

    #[test]
    fn values() {
        assert_eq!(
            parse_values("1+1x2").unwrap(),
            vec![Float(1.0), Float(2.0), Float(3.0)]
        );
        assert_eq!(parse_values("1x2").unwrap(), vec![Float(1.0); 3]);
        assert_eq!(
            parse_values("0 _ _x2 5").unwrap(),
            vec![Float(0.0), Gap, Gap, Gap, Float(5.0)]
        );
        assert_eq!(
            parse_values("10-2x2").unwrap(),
            vec![Float(10.0), Float(8.0), Float(6.0)]
        );
        assert_eq!(parse_values("-1+1x1").unwrap(), vec![Float(-1.0), Float(0.0)]);
        assert!(matches!(parse_values("stale").unwrap()[0], Float(v) if v.is_nan()));
        assert!(parse_values("abc").is_err());
    }

    #[test]
    fn histogram_values() {
        let v = parse_values("{{sum:3 count:2 buckets:[2]}}+{{sum:1.3 count:1 buckets:[1]}}x2 _ 7").unwrap();
        assert_eq!(v.len(), 5);
        let SeriesValue::Histogram(last) = &v[2] else {
            panic!("{v:?}")
        };
        assert_eq!(
            (last.count, last.sum, last.positive_buckets.clone()),
            (4.0, 5.6, vec![4.0])
        );
        assert_eq!(v[3], Gap);
        assert_eq!(v[4], Float(7.0));
        let v = parse_values("{{sum:3 count:2 buckets:[2]}}x2").unwrap();
        assert_eq!(v.len(), 3);
        assert_eq!(v[0], v[2]);
        let v = parse_values("{{count:5}}-{{count:1}}x1").unwrap();
        assert!(matches!(&v[1], SeriesValue::Histogram(h) if h.count == 4.0));
        assert!(
            parse_values("{{sum:1")
                .unwrap_err()
                .to_string()
                .contains("unclosed")
        );
        assert!(parse_values("{{sum:1}}+x2").is_err());
        assert!(
            parse_values("{{sum:1}}+{{sum:1}}")
                .unwrap_err()
                .to_string()
                .contains("missing x")
        );
        assert!(
            parse_values("{{schema:1}}+{{schema:0}}x1")
                .unwrap_err()
                .to_string()
                .contains("coarser")
        );
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
