//! The append rules both engines share, so `MemStorage` refuses exactly what
//! `Tsdb` refuses (as Prometheus does):
//! - older than the head's window (`max time seen − window`): `TooOld`;
//! - older than the series' last sample: `OutOfOrder`;
//! - same timestamp, different value bits: `Duplicate`;
//! - same timestamp, same value bits: accepted silently and not stored twice.

use crate::model::Labels;

use super::AppendError;

/// How far behind the newest sample in the head an append may be (1 h, half
/// of Prometheus's 2 h chunk range, as Prometheus allows).
pub const DEFAULT_HEAD_WINDOW_MS: i64 = 60 * 60 * 1000;

/// What to do with a sample that passed validation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    Append,
    /// An exact repeat of the last sample: accepted, nothing to store.
    AlreadyStored,
}

/// The last sample of a series: timestamp and value bits. `value` is `None`
/// when only the timestamp is known (data persisted before a restart).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LastSample {
    pub t: i64,
    pub value: Option<u64>,
}

/// The oldest timestamp the head accepts, given the newest it has seen.
pub(crate) fn min_valid_time(head_max_t: i64, window_ms: i64) -> i64 {
    if head_max_t == i64::MIN {
        return i64::MIN;
    }
    head_max_t.saturating_sub(window_ms)
}

pub(crate) fn check_sample(
    last: Option<LastSample>,
    t: i64,
    v: f64,
    min_valid_t: i64,
) -> Result<Verdict, AppendError> {
    if t < min_valid_t {
        return Err(AppendError::TooOld);
    }
    let Some(last) = last else {
        return Ok(Verdict::Append);
    };
    if t > last.t {
        return Ok(Verdict::Append);
    }
    if t < last.t {
        return Err(AppendError::OutOfOrder);
    }
    match last.value {
        Some(bits) if bits == v.to_bits() => Ok(Verdict::AlreadyStored),
        Some(_) => Err(AppendError::Duplicate),
        // The value is on disk only; we cannot prove it is the same one.
        None => Err(AppendError::TooOld),
    }
}

pub(crate) fn check_labels(labels: &Labels) -> Result<(), AppendError> {
    if labels.is_empty() {
        return Err(AppendError::InvalidLabels("empty label set".to_string()));
    }
    if let Some(l) = labels.iter().find(|l| l.name.is_empty()) {
        return Err(AppendError::InvalidLabels(format!(
            "empty label name with value {:?}",
            l.value
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::STALE_NAN;

    fn last(t: i64, v: f64) -> Option<LastSample> {
        Some(LastSample {
            t,
            value: Some(v.to_bits()),
        })
    }

    #[test]
    fn prometheus_rules() {
        assert_eq!(check_sample(None, 5, 1.0, i64::MIN), Ok(Verdict::Append));
        assert_eq!(check_sample(last(5, 1.0), 6, 1.0, i64::MIN), Ok(Verdict::Append));
        assert_eq!(
            check_sample(last(5, 1.0), 5, 1.0, i64::MIN),
            Ok(Verdict::AlreadyStored)
        );
        assert_eq!(
            check_sample(last(5, 1.0), 5, 2.0, i64::MIN),
            Err(AppendError::Duplicate)
        );
        assert_eq!(
            check_sample(last(5, 1.0), 4, 1.0, i64::MIN),
            Err(AppendError::OutOfOrder)
        );
        assert_eq!(check_sample(None, 4, 1.0, 10), Err(AppendError::TooOld));
        assert_eq!(
            check_sample(last(5, STALE_NAN), 5, STALE_NAN, i64::MIN),
            Ok(Verdict::AlreadyStored)
        );
        assert_eq!(
            check_sample(last(5, f64::NAN), 5, STALE_NAN, i64::MIN),
            Err(AppendError::Duplicate)
        );
        assert_eq!(min_valid_time(i64::MIN, 10), i64::MIN);
        assert_eq!(min_valid_time(100, 10), 90);
    }

    #[test]
    fn labels_must_be_non_empty() {
        assert!(check_labels(&Labels::default()).is_err());
        assert!(check_labels(&Labels::from_pairs(&[("a", "b")])).is_ok());
    }
}
