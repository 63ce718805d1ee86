//! One exemplar, the append interface writers see, and what a selection
//! returns.

use crate::model::Labels;

use super::error::ExemplarError;

/// OpenMetrics limits an exemplar's label set to 128 UTF-8 characters,
/// counting names and values only (not quotes, `=` or commas).
pub const MAX_LABEL_SET_CHARS: usize = 128;

/// An exemplar: a sample of a trace (its labels, e.g. `trace_id`) that fell
/// into a series at a time.
#[derive(Debug, Clone, PartialEq)]
pub struct Exemplar {
    pub labels: Labels,
    pub value: f64,
    /// Milliseconds since the epoch.
    pub ts: i64,
}

impl Exemplar {
    /// The label set's length as OpenMetrics counts it.
    pub fn label_set_chars(&self) -> usize {
        self.labels
            .iter()
            .map(|l| l.name.chars().count() + l.value.chars().count())
            .sum()
    }
}

/// Where writers hand exemplars, once the samples they belong to are
/// committed. `series` is the series' final label set (after relabeling).
pub trait ExemplarAppender: Send + Sync {
    fn append_exemplar(&self, series: &Labels, exemplar: Exemplar) -> Result<(), ExemplarError>;
}

/// One series' exemplars in a time range, oldest first.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesExemplars {
    pub series_labels: Labels,
    pub exemplars: Vec<Exemplar>,
}
