//! The metric family the parser is in, so each sample can carry its
//! family's type (which the scraper records as metadata).

use std::borrow::Cow;

use crate::model::MetricType;

/// The family named by the most recent `# HELP`, `# TYPE` or `# UNIT` line.
#[derive(Debug, Clone)]
pub struct Family<'a> {
    pub name: Cow<'a, str>,
    pub kind: MetricType,
}

impl Family<'_> {
    /// The suffix by which `sample` belongs to this family (`""` for the
    /// family name itself), or `None` when it is not a member.
    ///
    /// Prometheus's parsers apply the last `# TYPE` to every following
    /// sample, even one of another family (an acknowledged upstream bug);
    /// we match by name so an untyped sample after a typed family stays
    /// `Unknown`.
    pub fn member_suffix(&self, sample: &str) -> Option<&'static str> {
        let rest = sample.strip_prefix(self.name.as_ref())?;
        if rest.is_empty() {
            return Some("");
        }
        self.kind.sample_suffixes().iter().copied().find(|s| *s == rest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn family(name: &str, kind: MetricType) -> Family<'_> {
        Family {
            name: Cow::Borrowed(name),
            kind,
        }
    }

    #[test]
    fn suffix_rules_per_type() {
        let counter = family("http_requests", MetricType::Counter);
        assert_eq!(counter.member_suffix("http_requests_total"), Some("_total"));
        assert_eq!(counter.member_suffix("http_requests_created"), Some("_created"));
        assert_eq!(counter.member_suffix("http_requests"), Some(""));
        assert_eq!(counter.member_suffix("http_requests_sum"), None);
        assert_eq!(counter.member_suffix("http_requests_totals"), None);
        assert_eq!(counter.member_suffix("other_total"), None);

        let histogram = family("latency", MetricType::Histogram);
        for s in ["_bucket", "_count", "_sum", "_created"] {
            assert_eq!(histogram.member_suffix(&format!("latency{s}")), Some(s));
        }
        assert_eq!(histogram.member_suffix("latency_gsum"), None);

        let gauge_histogram = family("queue", MetricType::GaugeHistogram);
        for s in ["_bucket", "_gcount", "_gsum"] {
            assert_eq!(gauge_histogram.member_suffix(&format!("queue{s}")), Some(s));
        }
        assert_eq!(gauge_histogram.member_suffix("queue_created"), None);

        let summary = family("rpc", MetricType::Summary);
        assert_eq!(summary.member_suffix("rpc"), Some(""));
        assert_eq!(summary.member_suffix("rpc_count"), Some("_count"));
        assert_eq!(summary.member_suffix("rpc_bucket"), None);

        let info = family("build", MetricType::Info);
        assert_eq!(info.member_suffix("build_info"), Some("_info"));

        let stateset = family("state", MetricType::StateSet);
        assert_eq!(stateset.member_suffix("state"), Some(""));
        assert_eq!(stateset.member_suffix("state_total"), None);

        let gauge = family("temp", MetricType::Gauge);
        assert_eq!(gauge.member_suffix("temp_total"), None);
    }
}
