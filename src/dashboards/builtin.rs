//! The four LMS dashboards of the observability guide (§3), compiled in
//! from `web/dashboards/`. They are valid Grafana JSON, so a team may also
//! import them into a Grafana of its own; here they are read-only and can
//! be duplicated into an editable copy.

use std::sync::OnceLock;

use super::{Dashboard, parse_dashboard};

const SOURCES: &[(&str, &str)] = &[
    (
        "lms-api-performance",
        include_str!("../../web/dashboards/lms-api-performance.json"),
    ),
    (
        "lms-user-engagement",
        include_str!("../../web/dashboards/lms-user-engagement.json"),
    ),
    (
        "lms-system-health",
        include_str!("../../web/dashboards/lms-system-health.json"),
    ),
    (
        "lms-security",
        include_str!("../../web/dashboards/lms-security.json"),
    ),
];

pub const BUILTIN_UIDS: [&str; 4] = [
    "lms-api-performance",
    "lms-user-engagement",
    "lms-system-health",
    "lms-security",
];

/// The built-in dashboards, parsed once. A file that does not parse is a
/// build mistake that `tests::every_builtin_parses_under_its_uid` catches;
/// at run time it is left out rather than stopping the server.
pub fn builtin() -> &'static [Dashboard] {
    static PARSED: OnceLock<Vec<Dashboard>> = OnceLock::new();
    PARSED.get_or_init(|| {
        SOURCES
            .iter()
            .filter_map(|(uid, json)| match parse_dashboard(json.as_bytes()) {
                Ok(d) if d.uid == *uid => Some(d),
                Ok(d) => {
                    tracing::error!(file = uid, uid = %d.uid, "built-in dashboard has another uid; left out");
                    None
                }
                Err(e) => {
                    tracing::error!(file = uid, error = %e, "built-in dashboard does not parse; left out");
                    None
                }
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_parses_under_its_uid() {
        for (uid, json) in SOURCES {
            let d = parse_dashboard(json.as_bytes()).unwrap_or_else(|e| panic!("{uid}: {e}"));
            assert_eq!(d.uid, *uid);
        }
        assert_eq!(builtin().len(), BUILTIN_UIDS.len());
        let uids: Vec<_> = builtin().iter().map(|d| d.uid.as_str()).collect();
        assert_eq!(uids, BUILTIN_UIDS);
    }

    #[test]
    fn builtins_use_only_supported_panel_types() {
        const SUPPORTED: &[&str] = &[
            "timeseries",
            "stat",
            "gauge",
            "bargauge",
            "table",
            "text",
            "row",
            "heatmap",
            "logs",
        ];
        fn walk(panels: &serde_json::Value, uid: &str) {
            for p in panels.as_array().into_iter().flatten() {
                let t = p["type"].as_str().unwrap_or_default();
                assert!(SUPPORTED.contains(&t), "{uid}: panel type {t:?}");
                walk(&p["panels"], uid);
            }
        }
        for d in builtin() {
            walk(&d.model["panels"], &d.uid);
        }
    }
}
