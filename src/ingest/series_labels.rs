//! Turns a received label list into a [`Labels`] set, enforcing the rules
//! every ingest path shares: a metric name, UTF-8 names and values, no name
//! twice, and the per-series limits.
//!
//! Names follow Prometheus 3's UTF-8 validation (any non-empty UTF-8 name
//! is valid), which is what its remote-write receiver applies; the text
//! parser has already enforced the exposition grammar on its own input.

use crate::model::{Label, Labels};

use super::limits::IngestLimits;
use super::outcome::RejectReason;

/// Why a series was refused, with a message naming it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeriesProblem {
    pub reason: RejectReason,
    pub detail: String,
}

/// Validates `pairs` (in any order, empty values allowed and dropped) into
/// a sorted label set.
pub fn series_labels<N, V>(pairs: &[(N, V)], limits: &IngestLimits) -> Result<Labels, SeriesProblem>
where
    N: AsRef<[u8]>,
    V: AsRef<[u8]>,
{
    let problem = |reason, what: String| SeriesProblem {
        reason,
        detail: format!("{what} in series {}", describe(pairs)),
    };
    let mut labels = Vec::with_capacity(pairs.len());
    let mut names: Vec<&[u8]> = Vec::with_capacity(pairs.len());
    for (name, value) in pairs {
        let (name, value) = (name.as_ref(), value.as_ref());
        if name.is_empty() {
            return Err(problem(RejectReason::InvalidLabels, "empty label name".into()));
        }
        let Ok(name_str) = std::str::from_utf8(name) else {
            return Err(problem(
                RejectReason::InvalidLabels,
                "label name is not valid UTF-8".into(),
            ));
        };
        let Ok(value_str) = std::str::from_utf8(value) else {
            return Err(problem(
                RejectReason::InvalidLabels,
                format!("value of label {name_str:?} is not valid UTF-8"),
            ));
        };
        if name.len() > limits.max_label_name_bytes {
            return Err(problem(
                RejectReason::LabelNameTooLong,
                format!(
                    "label name of {} bytes (limit {})",
                    name.len(),
                    limits.max_label_name_bytes
                ),
            ));
        }
        if value.len() > limits.max_label_value_bytes {
            return Err(problem(
                RejectReason::LabelValueTooLong,
                format!(
                    "value of label {name_str:?} is {} bytes (limit {})",
                    value.len(),
                    limits.max_label_value_bytes
                ),
            ));
        }
        names.push(name);
        if !value.is_empty() {
            labels.push(Label::new(name_str, value_str));
        }
    }
    // Duplicates count even when one of them is empty, as in Prometheus.
    names.sort_unstable();
    if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
        return Err(problem(
            RejectReason::InvalidLabels,
            format!("duplicate label name {:?}", String::from_utf8_lossy(w[0])),
        ));
    }
    if labels.len() > limits.max_labels_per_series {
        return Err(problem(
            RejectReason::TooManyLabels,
            format!("{} labels (limit {})", labels.len(), limits.max_labels_per_series),
        ));
    }
    labels.sort_unstable_by(|a, b| a.name.cmp(&b.name));
    let labels = Labels::from_sorted_unchecked(labels);
    if labels.metric_name().is_none() {
        return Err(problem(
            RejectReason::InvalidLabels,
            "no metric name (__name__ label)".into(),
        ));
    }
    Ok(labels)
}

/// `{__name__="up", job="a"}`, cut short so a hostile series cannot make a
/// huge error message.
fn describe<N: AsRef<[u8]>, V: AsRef<[u8]>>(pairs: &[(N, V)]) -> String {
    const MAX: usize = 200;
    let mut out = String::from("{");
    for (i, (name, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(&String::from_utf8_lossy(name.as_ref()));
        out.push('=');
        out.push_str(&format!("{:?}", String::from_utf8_lossy(value.as_ref())));
        if out.len() > MAX {
            let mut cut = MAX;
            while !out.is_char_boundary(cut) {
                cut -= 1;
            }
            out.truncate(cut);
            out.push_str("...");
            return out;
        }
    }
    out.push('}');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::METRIC_NAME;

    fn check(pairs: &[(&str, &str)]) -> Result<Labels, SeriesProblem> {
        series_labels(pairs, &IngestLimits::default())
    }

    #[test]
    fn sorts_and_drops_empty_values() {
        let l = check(&[("job", "a"), (METRIC_NAME, "up"), ("empty", "")]).unwrap();
        assert_eq!(l, Labels::from_pairs(&[("__name__", "up"), ("job", "a")]));
    }

    #[test]
    fn accepts_utf8_names() {
        let l = check(&[(METRIC_NAME, "my.metric"), ("label.x", "ü")]).unwrap();
        assert_eq!(l.get("label.x"), Some("ü"));
    }

    #[test]
    fn refuses_missing_metric_name() {
        let p = check(&[("job", "a")]).unwrap_err();
        assert_eq!(p.reason, RejectReason::InvalidLabels);
        assert!(p.detail.contains("no metric name"), "{}", p.detail);
        assert!(p.detail.contains("job=\"a\""), "{}", p.detail);
        let p = check(&[(METRIC_NAME, "")]).unwrap_err();
        assert!(p.detail.contains("no metric name"));
    }

    #[test]
    fn refuses_duplicate_names_even_with_empty_value() {
        let p = check(&[(METRIC_NAME, "up"), ("a", "1"), ("a", "")]).unwrap_err();
        assert_eq!(p.reason, RejectReason::InvalidLabels);
        assert!(p.detail.contains("duplicate label name \"a\""), "{}", p.detail);
    }

    #[test]
    fn refuses_empty_and_non_utf8() {
        let p = check(&[(METRIC_NAME, "up"), ("", "x")]).unwrap_err();
        assert!(p.detail.contains("empty label name"));
        let bad: &[(&[u8], &[u8])] = &[(b"__name__", b"up"), (b"a\xff", b"x")];
        let p = series_labels(bad, &IngestLimits::default()).unwrap_err();
        assert!(p.detail.contains("label name is not valid UTF-8"), "{}", p.detail);
        let bad: &[(&[u8], &[u8])] = &[(b"__name__", b"up"), (b"a", b"\xc3")];
        let p = series_labels(bad, &IngestLimits::default()).unwrap_err();
        assert!(
            p.detail.contains("value of label \"a\" is not valid UTF-8"),
            "{}",
            p.detail
        );
    }

    #[test]
    fn enforces_limits() {
        let limits = IngestLimits {
            max_labels_per_series: 2,
            max_label_name_bytes: 8,
            max_label_value_bytes: 3,
            ..IngestLimits::default()
        };
        let p = series_labels(&[("__name__", "up"), ("a", "1"), ("b", "2")], &limits).unwrap_err();
        assert_eq!(p.reason, RejectReason::TooManyLabels);
        let p = series_labels(&[("__name__", "up"), ("abcdefghi", "1")], &limits).unwrap_err();
        assert_eq!(p.reason, RejectReason::LabelNameTooLong);
        assert!(p.detail.contains("9 bytes (limit 8)"), "{}", p.detail);
        let p = series_labels(&[("__name__", "up"), ("a", "1234")], &limits).unwrap_err();
        assert_eq!(p.reason, RejectReason::LabelValueTooLong);
        series_labels(&[("__name__", "up"), ("a", "123")], &limits).unwrap();
    }

    #[test]
    fn describe_is_bounded() {
        let long = "x".repeat(10_000);
        let p = check(&[("job", long.as_str())]).unwrap_err();
        assert!(p.detail.len() < 400, "{}", p.detail.len());
    }
}
