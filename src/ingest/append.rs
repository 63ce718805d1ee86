//! Appends validated series through one appender and commits once, so a
//! request is one WAL batch. Refused samples are tallied, not fatal, as in
//! Prometheus's appender contract; `finish` records the outcome and turns
//! refusals into `IngestError::Rejected`.

use crate::model::Labels;
use crate::tsdb::{AppendError, Storage, StorageError};

use super::error::IngestError;
use super::metrics::{IngestMetrics, Source};
use super::outcome::{RejectReason, Rejections, WriteOutcome};

/// What one batch did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BatchResult {
    /// Samples the appender took (an exact re-send of a stored sample counts:
    /// the store accepts it silently, so retries are idempotent).
    pub accepted: usize,
    pub series_created: usize,
}

/// Appends every sample, then commits. On success every accepted sample is
/// in the WAL; on error nothing of this batch is acknowledged.
pub(crate) fn append_batch<'a>(
    storage: &dyn Storage,
    series: impl IntoIterator<Item = (&'a Labels, &'a [(i64, f64)])>,
    rejections: &mut Rejections,
) -> Result<BatchResult, StorageError> {
    let mut app = storage.appender();
    let mut accepted = 0usize;
    for (labels, samples) in series {
        for (i, &(t, v)) in samples.iter().enumerate() {
            let Err(err) = app.append(labels, t, v) else {
                accepted += 1;
                continue;
            };
            let reason = match err {
                AppendError::OutOfOrder => RejectReason::OutOfOrder,
                AppendError::Duplicate => RejectReason::Duplicate,
                AppendError::TooOld => RejectReason::TooOld,
                // Only `append_ref` reports this; appends by labels never do.
                AppendError::UnknownSeriesRef => RejectReason::InvalidLabels,
                AppendError::InvalidLabels(msg) => {
                    // The store refuses the series as a whole: the rest of
                    // its samples would fail the same way.
                    let rest = samples.len() - i;
                    rejections.add(RejectReason::InvalidLabels, rest, true, || {
                        format!("storage refused labels of {labels}: {msg}")
                    });
                    break;
                }
            };
            rejections.add(reason, 1, false, || describe_refusal(reason, labels, t));
        }
    }
    if accepted == 0 {
        app.rollback();
        return Ok(BatchResult::default());
    }
    let report = app.commit()?;
    Ok(BatchResult {
        accepted,
        series_created: report.series_created,
    })
}

/// Records the outcome and turns refusals into [`IngestError::Rejected`].
pub(crate) fn finish(
    source: Source,
    outcome: WriteOutcome,
    metrics: &IngestMetrics,
) -> Result<WriteOutcome, IngestError> {
    metrics.record_outcome(source, &outcome);
    if outcome.rejections.is_empty() {
        return Ok(outcome);
    }
    let err = IngestError::Rejected(Box::new(outcome));
    metrics.record_error(source, &err);
    Err(err)
}

fn describe_refusal(reason: RejectReason, labels: &Labels, t: i64) -> String {
    match reason {
        RejectReason::OutOfOrder => format!("out of order sample for {labels} at {t}"),
        RejectReason::Duplicate => {
            format!("sample for {labels} at {t} differs from the one already stored at that time")
        }
        RejectReason::TooOld => format!("sample for {labels} at {t} is older than the head window"),
        other => format!("sample for {labels} at {t} refused: {}", other.as_str()),
    }
}
