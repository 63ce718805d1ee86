//! What the parser yields: metadata lines and samples, borrowed from the
//! input wherever no escape forces a copy.

use std::borrow::Cow;

use crate::model::MetricType;

/// One item of an exposition body.
#[derive(Debug, Clone, PartialEq)]
pub enum Entry<'a> {
    Help {
        family: Cow<'a, str>,
        text: Cow<'a, str>,
    },
    Type {
        family: Cow<'a, str>,
        kind: MetricType,
    },
    /// OpenMetrics only.
    Unit {
        family: Cow<'a, str>,
        unit: Cow<'a, str>,
    },
    Sample(ParsedSample<'a>),
}

/// One sample line.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedSample<'a> {
    /// The metric name (the series' `__name__`).
    pub name: Cow<'a, str>,
    /// Labels in input order, without `__name__`. Names are unique (a repeat
    /// is a parse error). Histogram `le` and summary `quantile` values are
    /// normalised as Prometheus 3 does (`le="1"` → `"1.0"`).
    pub labels: Vec<(Cow<'a, str>, Cow<'a, str>)>,
    /// `NaN` in the body comes back as `float::NORMAL_NAN`, never as the
    /// staleness marker.
    pub value: f64,
    /// Milliseconds since the epoch, when the line carries a timestamp.
    pub timestamp_ms: Option<i64>,
    /// The type of the family this sample belongs to: the last `# TYPE` when
    /// the sample's name is that family's name or the name plus one of the
    /// type's suffixes (`_total`, `_bucket`, …), else `Unknown`.
    pub metric_type: MetricType,
    /// OpenMetrics only: the exemplar after ` # `.
    pub exemplar: Option<ParsedExemplar<'a>>,
}

/// An OpenMetrics exemplar: ` # {labels} value [timestamp]`.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedExemplar<'a> {
    /// Labels in input order; names unique.
    pub labels: Vec<(Cow<'a, str>, Cow<'a, str>)>,
    pub value: f64,
    /// Milliseconds since the epoch (the body writes seconds).
    pub timestamp_ms: Option<i64>,
}
