//! The native-histogram notation of rule unit tests and PromQL test files:
//! `{{schema:1 sum:-0.3 count:32.1 z_bucket:7.1 z_bucket_w:0.05
//! buckets:[5.1 10 7] offset:-3 n_buckets:[4.1 5] n_offset:-5
//! counter_reset_hint:not_reset}}`. Bucket counts are absolute; the listed
//! buckets form one span starting at `offset` (`n_offset` for the negative
//! side).

use crate::model::{CounterResetHint, FloatHistogram, Span};

use super::error::UnitTestError;

/// Parses one `{{…}}` descriptor (braces included).
pub fn parse_histogram(text: &str) -> Result<FloatHistogram, UnitTestError> {
    let body = text
        .trim()
        .strip_prefix("{{")
        .and_then(|b| b.strip_suffix("}}"))
        .ok_or_else(|| UnitTestError::NotHistogram(text.to_string()))?;
    let mut h = FloatHistogram::default();
    let mut seen: Vec<&str> = Vec::new();
    let mut positive: (Vec<f64>, i32) = (Vec::new(), 0);
    let mut negative: (Vec<f64>, i32) = (Vec::new(), 0);
    let mut rest = body.trim_start();
    while !rest.is_empty() {
        let (key, after) = rest
            .split_once(':')
            .ok_or_else(|| UnitTestError::ExpectedKeyValue {
                text: text.to_string(),
                rest: rest.to_string(),
            })?;
        let key = key.trim();
        if seen.contains(&key) {
            return Err(UnitTestError::DuplicateKey {
                key: key.to_string(),
                text: text.to_string(),
            });
        }
        seen.push(key);
        let after = after.trim_start();
        let (value, next) = if let Some(list) = after.strip_prefix('[') {
            let end = list.find(']').ok_or_else(|| UnitTestError::UnclosedList {
                key: key.to_string(),
                text: text.to_string(),
            })?;
            (&after[..end + 2], &list[end + 1..])
        } else {
            let end = after.find(char::is_whitespace).unwrap_or(after.len());
            (&after[..end], &after[end..])
        };
        rest = next.trim_start();
        let field = |e: UnitTestError| UnitTestError::Field {
            key: key.to_string(),
            text: text.to_string(),
            source: Box::new(e),
        };
        match key {
            "schema" => h.schema = integer(value).map_err(field)?,
            "sum" => h.sum = number(value).map_err(field)?,
            "count" => h.count = number(value).map_err(field)?,
            "z_bucket" => h.zero_count = number(value).map_err(field)?,
            "z_bucket_w" => h.zero_threshold = number(value).map_err(field)?,
            "custom_values" => h.custom_values = list(value).map_err(field)?,
            "buckets" => positive.0 = list(value).map_err(field)?,
            "offset" => positive.1 = integer(value).map_err(field)?,
            "n_buckets" => negative.0 = list(value).map_err(field)?,
            "n_offset" => negative.1 = integer(value).map_err(field)?,
            "counter_reset_hint" => {
                h.counter_reset_hint = match value {
                    "unknown" => CounterResetHint::Unknown,
                    "reset" => CounterResetHint::CounterReset,
                    "not_reset" => CounterResetHint::NotCounterReset,
                    "gauge" => CounterResetHint::Gauge,
                    other => {
                        return Err(UnitTestError::BadHint {
                            hint: other.to_string(),
                            text: text.to_string(),
                        });
                    }
                }
            }
            other => {
                return Err(UnitTestError::UnknownKey {
                    key: other.to_string(),
                    text: text.to_string(),
                });
            }
        }
    }
    (h.positive_spans, h.positive_buckets) = one_span(positive);
    (h.negative_spans, h.negative_buckets) = one_span(negative);
    h.validate().map_err(|source| UnitTestError::InvalidHistogram {
        text: text.to_string(),
        source,
    })?;
    Ok(h)
}

/// Writes a histogram in the notation, e.g. for failure messages (each
/// span's buckets as a `buckets`/`offset` pair when there is one span).
pub fn histogram_notation(h: &FloatHistogram) -> String {
    let g = crate::template::go_float;
    let mut parts = vec![
        format!("schema:{}", h.schema),
        format!("count:{}", g(h.count)),
        format!("sum:{}", g(h.sum)),
    ];
    if h.zero_count != 0.0 || h.zero_threshold != 0.0 {
        parts.push(format!("z_bucket:{}", g(h.zero_count)));
        parts.push(format!("z_bucket_w:{}", g(h.zero_threshold)));
    }
    if !h.custom_values.is_empty() {
        let v: Vec<String> = h.custom_values.iter().map(|v| g(*v)).collect();
        parts.push(format!("custom_values:[{}]", v.join(" ")));
    }
    for (name, offset_name, spans, buckets) in [
        ("buckets", "offset", &h.positive_spans, &h.positive_buckets),
        ("n_buckets", "n_offset", &h.negative_spans, &h.negative_buckets),
    ] {
        if buckets.is_empty() {
            continue;
        }
        let v: Vec<String> = buckets.iter().map(|v| g(*v)).collect();
        parts.push(format!("{name}:[{}]", v.join(" ")));
        let offsets: Vec<String> = spans
            .iter()
            .map(|s| format!("{}+{}", s.offset, s.length))
            .collect();
        match spans.as_slice() {
            [one] => parts.push(format!("{offset_name}:{}", one.offset)),
            _ => parts.push(format!("{offset_name}_spans:[{}]", offsets.join(" "))),
        }
    }
    if h.counter_reset_hint != crate::model::CounterResetHint::Unknown {
        parts.push(format!("counter_reset_hint:{}", h.counter_reset_hint.notation()));
    }
    format!("{{{{{}}}}}", parts.join(" "))
}

fn one_span((buckets, offset): (Vec<f64>, i32)) -> (Vec<Span>, Vec<f64>) {
    if buckets.is_empty() {
        return (Vec::new(), Vec::new());
    }
    let length = buckets.len() as u32;
    (vec![Span { offset, length }], buckets)
}

fn number(s: &str) -> Result<f64, UnitTestError> {
    crate::template::parse_go_float(s).ok_or_else(|| UnitTestError::InvalidNumber(s.to_string()))
}

fn integer(s: &str) -> Result<i32, UnitTestError> {
    s.parse().map_err(|_| UnitTestError::NotInteger(s.to_string()))
}

fn list(s: &str) -> Result<Vec<f64>, UnitTestError> {
    let inner = s
        .strip_prefix('[')
        .and_then(|l| l.strip_suffix(']'))
        .ok_or_else(|| UnitTestError::NotList(s.to_string()))?;
    inner.split_whitespace().map(number).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_descriptor() {
        let h = parse_histogram(
            "{{schema:1 sum:-0.3 count:32.1 z_bucket:7.1 z_bucket_w:0.05 buckets:[5.1 10 7] \
             offset:-3 n_buckets:[4.1 5] n_offset:-5 counter_reset_hint:gauge}}",
        )
        .unwrap();
        assert_eq!(h.schema, 1);
        assert_eq!(
            (h.sum, h.count, h.zero_count, h.zero_threshold),
            (-0.3, 32.1, 7.1, 0.05)
        );
        assert_eq!(
            h.positive_spans,
            vec![Span {
                offset: -3,
                length: 3
            }]
        );
        assert_eq!(h.positive_buckets, vec![5.1, 10.0, 7.0]);
        assert_eq!(
            h.negative_spans,
            vec![Span {
                offset: -5,
                length: 2
            }]
        );
        assert_eq!(h.negative_buckets, vec![4.1, 5.0]);
        assert_eq!(h.counter_reset_hint, CounterResetHint::Gauge);
    }

    #[test]
    fn defaults_and_custom_buckets() {
        let h = parse_histogram("{{}}").unwrap();
        assert_eq!(h, FloatHistogram::default());
        let h = parse_histogram("{{schema:-53 custom_values:[1 5] buckets:[1 2 3] count:6 sum:10}}").unwrap();
        assert_eq!(h.custom_values, vec![1.0, 5.0]);
        assert_eq!(h.positive_buckets.len(), 3);
    }

    #[test]
    fn errors_name_the_problem() {
        let e = parse_histogram("{{sum:1 sum:2}}").unwrap_err().to_string();
        assert!(e.contains("duplicate key \"sum\""), "{e}");
        let e = parse_histogram("{{bogus:1}}").unwrap_err().to_string();
        assert!(e.contains("unknown key \"bogus\""), "{e}");
        let e = parse_histogram("{{schema:1.5}}").unwrap_err().to_string();
        assert!(e.contains("whole number"), "{e}");
        let e = parse_histogram("{{buckets:[1 2}}").unwrap_err().to_string();
        assert!(e.contains("unclosed"), "{e}");
        let e = parse_histogram("{{schema:12}}").unwrap_err().to_string();
        assert!(e.contains("schema 12"), "{e}");
        let e = parse_histogram("{{counter_reset_hint:maybe}}")
            .unwrap_err()
            .to_string();
        assert!(e.contains("maybe"), "{e}");
        assert!(parse_histogram("{sum:1}").is_err());
    }
}
