//! A metric family's type, as the exposition formats declare it (`# TYPE`),
//! remote write carries it and `/api/v1/metadata` reports it.

use std::fmt;

/// A metric family's declared type. The text format's `untyped` is
/// [`MetricType::Unknown`], as in Prometheus.
///
/// The discriminants are remote write's `MetricMetadata.MetricType`
/// codes, so the wire value converts without a second enum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
#[repr(i32)]
pub enum MetricType {
    #[default]
    Unknown = 0,
    Counter = 1,
    Gauge = 2,
    Histogram = 3,
    GaugeHistogram = 4,
    Summary = 5,
    Info = 6,
    StateSet = 7,
}

impl MetricType {
    /// The type a remote-write `MetricMetadata.type` code stands for; a
    /// code this version does not know is `Unknown`, as Prometheus reads it.
    pub fn from_remote_write_code(code: i32) -> MetricType {
        match code {
            1 => MetricType::Counter,
            2 => MetricType::Gauge,
            3 => MetricType::Histogram,
            4 => MetricType::GaugeHistogram,
            5 => MetricType::Summary,
            6 => MetricType::Info,
            7 => MetricType::StateSet,
            _ => MetricType::Unknown,
        }
    }

    /// The remote-write code of this type.
    pub fn remote_write_code(self) -> i32 {
        self as i32
    }

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

#[cfg(test)]
mod tests {
    use super::MetricType;

    #[test]
    fn remote_write_codes_round_trip() {
        for code in 0..8 {
            assert_eq!(MetricType::from_remote_write_code(code).remote_write_code(), code);
        }
        assert_eq!(MetricType::from_remote_write_code(99), MetricType::Unknown);
        assert_eq!(MetricType::from_remote_write_code(7).as_str(), "stateset");
    }
}
