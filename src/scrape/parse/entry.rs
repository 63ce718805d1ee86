//! What the parser yields: metadata lines and samples, borrowed from the
//! input wherever no escape forces a copy.

use std::borrow::Cow;
use std::fmt;

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

/// A metric family's declared type. The text format's `untyped` is
/// [`MetricType::Unknown`], as in Prometheus.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum MetricType {
    Counter,
    Gauge,
    Histogram,
    GaugeHistogram,
    Summary,
    Info,
    StateSet,
    #[default]
    Unknown,
}

impl MetricType {
    /// The name Prometheus's metadata API uses (`/api/v1/metadata`).
    pub fn as_str(self) -> &'static str {
        match self {
            MetricType::Counter => "counter",
            MetricType::Gauge => "gauge",
            MetricType::Histogram => "histogram",
            MetricType::GaugeHistogram => "gaugehistogram",
            MetricType::Summary => "summary",
            MetricType::Info => "info",
            MetricType::StateSet => "stateset",
            MetricType::Unknown => "unknown",
        }
    }

    /// The suffixes a sample name may add to its family name (OpenMetrics
    /// §"Metric types"; the text format uses a subset of the same).
    pub fn sample_suffixes(self) -> &'static [&'static str] {
        match self {
            MetricType::Counter => &["_total", "_created"],
            MetricType::Histogram => &["_bucket", "_count", "_sum", "_created"],
            MetricType::GaugeHistogram => &["_bucket", "_gcount", "_gsum"],
            MetricType::Summary => &["_count", "_sum", "_created"],
            MetricType::Info => &["_info"],
            MetricType::Gauge | MetricType::StateSet | MetricType::Unknown => &[],
        }
    }

    /// Whether the type has `_created` series (OpenMetrics: counters,
    /// histograms and summaries).
    pub fn has_created_series(self) -> bool {
        matches!(
            self,
            MetricType::Counter | MetricType::Histogram | MetricType::Summary
        )
    }
}

impl fmt::Display for MetricType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
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
}
