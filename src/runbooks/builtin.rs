//! The runbooks of the LMS rule packs' alerts (`builtin:lms`,
//! `builtin:lms-logs`) and of the login checks' alerts, compiled in from `web/runbooks/ALERTNAME.md`. Each
//! is written for this stack: the dashboards' panels, Explore queries and
//! log searches to look at, and the steps that mitigate.

/// Every built-in runbook: the alert's name and its Markdown.
const SOURCES: &[(&str, &str)] = &[
    (
        "LMSAPIAvailabilityLow",
        include_str!("../../web/runbooks/LMSAPIAvailabilityLow.md"),
    ),
    (
        "LMSAPIHighErrorRate",
        include_str!("../../web/runbooks/LMSAPIHighErrorRate.md"),
    ),
    (
        "LMSAPILatencyHigh",
        include_str!("../../web/runbooks/LMSAPILatencyHigh.md"),
    ),
    (
        "LMSFileUploadFailures",
        include_str!("../../web/runbooks/LMSFileUploadFailures.md"),
    ),
    (
        "LMSDBConnectionPoolExhausted",
        include_str!("../../web/runbooks/LMSDBConnectionPoolExhausted.md"),
    ),
    (
        "LMSDBSlowQueries",
        include_str!("../../web/runbooks/LMSDBSlowQueries.md"),
    ),
    ("LMSDBDown", include_str!("../../web/runbooks/LMSDBDown.md")),
    (
        "LMSRedisMemoryHigh",
        include_str!("../../web/runbooks/LMSRedisMemoryHigh.md"),
    ),
    ("LMSRedisDown", include_str!("../../web/runbooks/LMSRedisDown.md")),
    (
        "LMSCacheHitRatioLow",
        include_str!("../../web/runbooks/LMSCacheHitRatioLow.md"),
    ),
    (
        "LMSCeleryQueueHigh",
        include_str!("../../web/runbooks/LMSCeleryQueueHigh.md"),
    ),
    ("LMSAPIDown", include_str!("../../web/runbooks/LMSAPIDown.md")),
    ("LMSAPIAbsent", include_str!("../../web/runbooks/LMSAPIAbsent.md")),
    (
        "LMSExporterDown",
        include_str!("../../web/runbooks/LMSExporterDown.md"),
    ),
    (
        "LMSExporterAbsent",
        include_str!("../../web/runbooks/LMSExporterAbsent.md"),
    ),
    (
        "BelfryScrapeFailures",
        include_str!("../../web/runbooks/BelfryScrapeFailures.md"),
    ),
    (
        "BelfryRuleEvaluationFailures",
        include_str!("../../web/runbooks/BelfryRuleEvaluationFailures.md"),
    ),
    (
        "BelfrySelfScrapeAbsent",
        include_str!("../../web/runbooks/BelfrySelfScrapeAbsent.md"),
    ),
    (
        "BelfryTLSCertificateExpiresSoon",
        include_str!("../../web/runbooks/BelfryTLSCertificateExpiresSoon.md"),
    ),
    (
        "LMSFailedLoginBurst",
        include_str!("../../web/runbooks/LMSFailedLoginBurst.md"),
    ),
    (
        "LMSAccountLockouts",
        include_str!("../../web/runbooks/LMSAccountLockouts.md"),
    ),
    (
        "LMSErrorLogBurst",
        include_str!("../../web/runbooks/LMSErrorLogBurst.md"),
    ),
    // Raised by the login checks (`crate::logins`), not by a rule pack.
    (
        "LMSUnusualLoginCountry",
        include_str!("../../web/runbooks/LMSUnusualLoginCountry.md"),
    ),
    (
        "LMSImpossibleTravel",
        include_str!("../../web/runbooks/LMSImpossibleTravel.md"),
    ),
    (
        "LMSFailedLoginBurstSource",
        include_str!("../../web/runbooks/LMSFailedLoginBurstSource.md"),
    ),
    (
        "LMSFailedLoginBurstUser",
        include_str!("../../web/runbooks/LMSFailedLoginBurstUser.md"),
    ),
];

/// The headings every built-in runbook has, in this order: a reader finds
/// the same parts in the same place on each.
pub const REQUIRED_SECTIONS: [&str; 4] = [
    "What it means",
    "What to check first",
    "How to mitigate",
    "When to escalate",
];

/// The names of the built-in runbooks, in the packs' order.
pub fn builtin_names() -> impl Iterator<Item = &'static str> {
    SOURCES.iter().map(|(name, _)| *name)
}

/// The built-in text of a runbook.
pub fn builtin_text(name: &str) -> Option<&'static str> {
    SOURCES.iter().find(|(n, _)| *n == name).map(|(_, text)| *text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_runbook_has_its_title_summary_and_sections_in_order() {
        for (name, text) in SOURCES {
            assert!(
                text.starts_with(&format!("# {name}\n")),
                "{name}: the first line is not `# {name}`"
            );
            assert!(
                !super::super::summary_of(text).is_empty(),
                "{name}: no summary paragraph"
            );
            let mut at = 0;
            for section in REQUIRED_SECTIONS {
                let heading = format!("\n## {section}\n");
                let found = text[at..]
                    .find(&heading)
                    .unwrap_or_else(|| panic!("{name}: `## {section}` missing or out of order"));
                at += found + heading.len();
            }
            assert!(
                text.len() < super::super::MAX_RUNBOOK_BYTES,
                "{name} is over the edit limit"
            );
        }
    }
}
