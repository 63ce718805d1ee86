//! Which exposition format a body is in, and the `Accept` header that asks a
//! target for the ones we read.

/// An exposition format the parser reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// Prometheus text format 0.0.4 (and 1.0.0, which adds quoted UTF-8
    /// names — the same grammar here).
    PrometheusText,
    /// OpenMetrics 1.0 (and 0.0.1, the same grammar).
    OpenMetrics,
}

/// The `Accept` header a scraper sends. It is the one Prometheus 3 sends by
/// default: OpenMetrics 1.0.0 first, then OpenMetrics 0.0.1, the text format
/// 1.0.0 and 0.0.4, then anything. The `escaping=allow-utf-8` parameter says
/// we read quoted UTF-8 names, so targets need not escape them.
pub const SCRAPE_ACCEPT_HEADER: &str = "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,\
application/openmetrics-text;version=0.0.1;q=0.5,\
text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,\
text/plain;version=0.0.4;q=0.3,\
*/*;q=0.2";

impl Format {
    /// From a response `Content-Type`; unknown or missing → `PrometheusText`
    /// (what Prometheus 2 did and what plain `/metrics` handlers serve).
    pub fn from_content_type(ct: Option<&str>) -> Format {
        let Some(ct) = ct else {
            return Format::PrometheusText;
        };
        let media_type = ct.split(';').next().unwrap_or("").trim();
        if media_type.eq_ignore_ascii_case("application/openmetrics-text") {
            return Format::OpenMetrics;
        }
        Format::PrometheusText
    }

    /// The media type (without parameters) a body in this format is served as.
    pub fn media_type(self) -> &'static str {
        match self {
            Format::PrometheusText => "text/plain",
            Format::OpenMetrics => "application/openmetrics-text",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types() {
        let f = |ct| Format::from_content_type(ct);
        assert_eq!(f(None), Format::PrometheusText);
        assert_eq!(
            f(Some("text/plain; version=0.0.4; charset=utf-8")),
            Format::PrometheusText
        );
        assert_eq!(
            f(Some("application/openmetrics-text; version=1.0.0; charset=utf-8")),
            Format::OpenMetrics
        );
        assert_eq!(f(Some("Application/OpenMetrics-Text")), Format::OpenMetrics);
        assert_eq!(
            f(Some("  application/openmetrics-text;version=0.0.1")),
            Format::OpenMetrics
        );
        assert_eq!(f(Some("application/json")), Format::PrometheusText);
        assert_eq!(f(Some("")), Format::PrometheusText);
    }

    #[test]
    fn accept_header_prefers_openmetrics_then_text_then_anything() {
        let parts: Vec<&str> = SCRAPE_ACCEPT_HEADER.split(',').collect();
        assert_eq!(parts.len(), 5);
        assert!(parts[0].starts_with("application/openmetrics-text;version=1.0.0;"));
        assert!(parts[3].starts_with("text/plain;version=0.0.4;"));
        assert_eq!(parts[4], "*/*;q=0.2");
        let q: Vec<&str> = parts
            .iter()
            .map(|p| p.rsplit_once("q=").map(|(_, q)| q).unwrap_or(""))
            .collect();
        assert_eq!(q, ["0.6", "0.5", "0.4", "0.3", "0.2"]);
    }
}
