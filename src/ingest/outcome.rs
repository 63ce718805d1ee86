//! What an ingest call did: samples stored, and samples refused by reason.

use std::fmt::Write as _;

/// Why samples were refused. Series-level reasons refuse every sample of
/// the series; sample-level ones refuse single samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RejectReason {
    /// No metric name, an empty or non-UTF-8 label name, a non-UTF-8 value,
    /// or a label name given twice.
    InvalidLabels,
    TooManyLabels,
    LabelNameTooLong,
    LabelValueTooLong,
    OutOfOrder,
    Duplicate,
    TooOld,
    /// More than `IngestLimits::max_future` ahead of the receive time; one
    /// such sample would make every later, correct sample "out of order".
    TooFarInFuture,
}

impl RejectReason {
    pub const ALL: [RejectReason; 8] = [
        RejectReason::InvalidLabels,
        RejectReason::TooManyLabels,
        RejectReason::LabelNameTooLong,
        RejectReason::LabelValueTooLong,
        RejectReason::OutOfOrder,
        RejectReason::Duplicate,
        RejectReason::TooOld,
        RejectReason::TooFarInFuture,
    ];

    /// The `reason` label value in `belfry_ingest_samples_rejected_total`.
    pub fn as_str(self) -> &'static str {
        match self {
            RejectReason::InvalidLabels => "invalid_labels",
            RejectReason::TooManyLabels => "too_many_labels",
            RejectReason::LabelNameTooLong => "label_name_too_long",
            RejectReason::LabelValueTooLong => "label_value_too_long",
            RejectReason::OutOfOrder => "out_of_order",
            RejectReason::Duplicate => "duplicate",
            RejectReason::TooOld => "too_old",
            RejectReason::TooFarInFuture => "too_far_in_future",
        }
    }

    /// The limit (in `belfry_ingest_limit_hits_total{limit}`) this reason
    /// stands for, if it is a limit rather than a validity rule.
    pub fn limit_name(self) -> Option<&'static str> {
        match self {
            RejectReason::TooManyLabels => Some("labels_per_series"),
            RejectReason::LabelNameTooLong => Some("label_name_length"),
            RejectReason::LabelValueTooLong => Some("label_value_length"),
            RejectReason::TooFarInFuture => Some("max_future"),
            _ => None,
        }
    }

    fn index(self) -> usize {
        self as usize
    }

    fn describe(self) -> &'static str {
        match self {
            RejectReason::InvalidLabels => "invalid labels",
            RejectReason::TooManyLabels => "too many labels",
            RejectReason::LabelNameTooLong => "label name too long",
            RejectReason::LabelValueTooLong => "label value too long",
            RejectReason::OutOfOrder => "out of order",
            RejectReason::Duplicate => "duplicate timestamp with a different value",
            RejectReason::TooOld => "too old",
            RejectReason::TooFarInFuture => "too far in the future",
        }
    }
}

/// Refused samples, tallied by reason, plus the first refusal in words.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rejections {
    samples: [usize; RejectReason::ALL.len()],
    /// Series-level events (one per refused series), the unit of the
    /// limit-hit metric.
    series: [usize; RejectReason::ALL.len()],
    /// The first refusal, e.g. `out of order sample for up{job="a"} at 1700000000000`.
    pub first: Option<String>,
}

impl Rejections {
    /// Counts `samples` refused for `reason`; `series_event` says the whole
    /// series was refused. `detail` is only built for the first refusal.
    pub fn add(
        &mut self,
        reason: RejectReason,
        samples: usize,
        series_event: bool,
        detail: impl FnOnce() -> String,
    ) {
        self.samples[reason.index()] += samples;
        if series_event {
            self.series[reason.index()] += 1;
        }
        if self.first.is_none() {
            self.first = Some(detail());
        }
    }

    pub fn samples(&self, reason: RejectReason) -> usize {
        self.samples[reason.index()]
    }

    pub fn series(&self, reason: RejectReason) -> usize {
        self.series[reason.index()]
    }

    pub fn total_samples(&self) -> usize {
        self.samples.iter().sum()
    }

    /// True when nothing at all was refused (not even an empty series).
    pub fn is_empty(&self) -> bool {
        self.first.is_none()
    }

    /// `out of order: 2, invalid labels: 1`.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        for reason in RejectReason::ALL {
            let (n, s) = (self.samples(reason), self.series(reason));
            if n == 0 && s == 0 {
                continue;
            }
            if !out.is_empty() {
                out.push_str(", ");
            }
            let _ = write!(out, "{}: {n}", reason.describe());
        }
        out
    }

    pub fn merge(&mut self, other: Rejections) {
        for i in 0..self.samples.len() {
            self.samples[i] += other.samples[i];
            self.series[i] += other.series[i];
        }
        if self.first.is_none() {
            self.first = other.first;
        }
    }
}

/// The result of a remote-write or text push: every appended sample is in
/// the WAL (the appender's commit returned Ok).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteOutcome {
    pub samples_appended: usize,
    pub series_created: usize,
    pub rejections: Rejections,
    /// Remote-write exemplars not kept: of refused or sample-less series,
    /// or refused by the exemplar store.
    pub exemplars_dropped: usize,
    /// Remote-write native histogram samples, decoded and dropped (the
    /// store holds floats only).
    pub histograms_dropped: usize,
    /// Metric metadata the sender attached (for `/api/v1/metadata`).
    pub metadata: Vec<FamilyMetadata>,
}

/// Metadata entries kept per request; Prometheus sends at most 500 at once.
pub(crate) const MAX_METADATA_PER_REQUEST: usize = 10_000;

/// Metadata of one metric family, from remote-write `MetricMetadata` or
/// from `# HELP` / `# TYPE` / `# UNIT` lines of a text push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FamilyMetadata {
    pub family: String,
    /// `counter`, `gauge`, `histogram`, ... (`unknown` when not given).
    pub kind: &'static str,
    pub help: String,
    pub unit: String,
}

/// The text-format push result has the same shape.
pub type PushOutcome = WriteOutcome;
