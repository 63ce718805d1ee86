//! `belfry_report*`: reports sent and failed, sections that failed, and
//! the limits a report's reads stopped at.

use std::sync::Arc;

use crate::selfmetrics::{CounterVec, Registry};

pub struct ReportMetrics {
    pub sent: Arc<CounterVec>,
    pub sections_failed: Arc<CounterVec>,
    pub limit_hits: Arc<CounterVec>,
}

impl ReportMetrics {
    pub fn new(registry: &Registry) -> ReportMetrics {
        ReportMetrics {
            sent: registry.counter_vec(
                "belfry_reports_sent_total",
                "Reports sent, by report, trigger (schedule, manual) and outcome (sent, failed).",
                &["report", "trigger", "outcome"],
            ),
            sections_failed: registry.counter_vec(
                "belfry_report_sections_failed_total",
                "Report sections sent with a failed query, by report.",
                &["report"],
            ),
            limit_hits: registry.counter_vec(
                "belfry_report_limit_hits_total",
                "Report reads stopped at their limit, by limit (alert_history, audit_log, error_lines).",
                &["limit"],
            ),
        }
    }
}
