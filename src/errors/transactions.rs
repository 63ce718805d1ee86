//! Transactions (the SDK's sampled traces) as TSDB series: each
//! `transaction` item's duration (`timestamp - start_timestamp`) goes into
//! `belfry_transaction_duration_seconds{project, environment,
//! transaction}` (a classic histogram: `_bucket{le}`, `_sum`, `_count`),
//! and its status (`contexts.trace.status`, `unknown` when absent) into
//! `belfry_transactions_total{project, environment, transaction, status}`.
//! The spans themselves are not kept.
//!
//! A project's distinct transaction names are capped
//! (`errors.limits.max_transaction_names`); later names count as
//! `__other__`, each such hit in `belfry_error_transaction_names_overflow_total`.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use parking_lot::Mutex;
use serde_json::Value;

use crate::model::Labels;
use crate::selfmetrics::{CounterVec, Registry};

use super::ErrorsError;
use super::event::timestamp_secs;
use super::tsdb_counters::TsdbCounters;

pub const DURATION_SERIES: &str = "belfry_transaction_duration_seconds";
pub const COUNT_SERIES: &str = "belfry_transactions_total";
pub const OTHER: &str = "__other__";

/// Seconds: web requests from a few milliseconds to a minute's timeout.
pub const BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

/// Span statuses Sentry defines; any other value counts as `unknown`, so
/// a client cannot grow the label's values.
const STATUSES: &[&str] = &[
    "ok",
    "cancelled",
    "unknown",
    "unknown_error",
    "invalid_argument",
    "deadline_exceeded",
    "not_found",
    "already_exists",
    "permission_denied",
    "resource_exhausted",
    "failed_precondition",
    "aborted",
    "out_of_range",
    "unimplemented",
    "internal_error",
    "unavailable",
    "data_loss",
    "unauthenticated",
];

/// What one transaction item contributes.
#[derive(Clone, Debug, PartialEq)]
pub struct TransactionSample {
    pub name: String,
    pub environment: String,
    pub duration_secs: f64,
    pub status: &'static str,
}

/// Reads a `transaction` item's name, environment, duration and status.
pub fn parse_transaction(payload: &[u8]) -> Result<TransactionSample, ErrorsError> {
    let bad = |message: String| ErrorsError::BadItem {
        item: "transaction",
        message,
    };
    let body = match serde_json::from_slice::<Value>(payload) {
        Ok(Value::Object(m)) => m,
        Ok(_) => return Err(bad("the payload is not a JSON object".into())),
        Err(e) => return Err(bad(format!("the payload is not JSON: {e}"))),
    };
    let name = match body.get("transaction") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.trim().chars().take(200).collect(),
        _ => return Err(bad("\"transaction\" (the name) is missing".into())),
    };
    let time = |field: &str| {
        body.get(field)
            .and_then(timestamp_secs)
            .ok_or_else(|| bad(format!("\"{field}\" is missing or not a timestamp")))
    };
    let (start, end) = (time("start_timestamp")?, time("timestamp")?);
    if end < start {
        return Err(bad(format!(
            "\"timestamp\" ({end}) is before \"start_timestamp\" ({start})"
        )));
    }
    let status = body
        .get("contexts")
        .and_then(|c| c.get("trace"))
        .and_then(|t| t.get("status"))
        .and_then(Value::as_str)
        .map(|s| STATUSES.iter().find(|k| **k == s).copied().unwrap_or("unknown"))
        .unwrap_or("unknown");
    let environment = body
        .get("environment")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .chars()
        .take(64)
        .collect();
    Ok(TransactionSample {
        name,
        environment,
        duration_secs: end - start,
        status,
    })
}

pub struct Transactions {
    counters: Arc<TsdbCounters>,
    max_names: usize,
    /// Names per project that have their own series.
    names: Mutex<HashMap<String, HashSet<String>>>,
    overflow: Arc<CounterVec>,
}

impl Transactions {
    pub fn new(counters: Arc<TsdbCounters>, max_names: usize, registry: &Registry) -> Self {
        // Names restored from the TSDB keep their series (and their place
        // under the cap).
        let mut names: HashMap<String, HashSet<String>> = HashMap::new();
        for (labels, _) in counters.snapshot() {
            if labels.metric_name() == Some(COUNT_SERIES)
                && let (Some(p), Some(t)) = (labels.get("project"), labels.get("transaction"))
                && t != OTHER
            {
                names.entry(p.to_string()).or_default().insert(t.to_string());
            }
        }
        Transactions {
            counters,
            max_names,
            names: Mutex::new(names),
            overflow: registry.counter_vec(
                "belfry_error_transaction_names_overflow_total",
                "Transactions counted as transaction=\"__other__\" because their project had errors.limits.max_transaction_names names already, by project.",
                &["project"],
            ),
        }
    }

    fn name<'a>(&self, project: &str, name: &'a str) -> &'a str {
        let mut names = self.names.lock();
        let known = names.entry(project.to_string()).or_default();
        if known.contains(name) {
            return name;
        }
        if known.len() >= self.max_names {
            drop(names);
            self.overflow.with(&[project]).inc();
            return OTHER;
        }
        known.insert(name.to_string());
        name
    }

    pub fn record(&self, project: &str, t: &TransactionSample) {
        let name = self.name(project, &t.name);
        let base = [
            ("project", project),
            ("environment", t.environment.as_str()),
            ("transaction", name),
        ];
        let with = |metric: &str, extra: Option<(&str, &str)>| {
            let mut pairs: Vec<(&str, &str)> = vec![("__name__", metric)];
            pairs.extend(base);
            pairs.extend(extra);
            Labels::from_pairs(&pairs)
        };
        let mut series = Vec::with_capacity(BUCKETS.len() + 4);
        let bucket = format!("{DURATION_SERIES}_bucket");
        for le in BUCKETS {
            let mut le_text = String::new();
            crate::selfmetrics::write_float(&mut le_text, *le);
            let hit = if t.duration_secs <= *le { 1.0 } else { 0.0 };
            series.push((with(&bucket, Some(("le", &le_text))), hit));
        }
        series.push((with(&bucket, Some(("le", "+Inf"))), 1.0));
        series.push((with(&format!("{DURATION_SERIES}_sum"), None), t.duration_secs));
        series.push((with(&format!("{DURATION_SERIES}_count"), None), 1.0));
        series.push((with(COUNT_SERIES, Some(("status", t.status))), 1.0));
        self.counters.add_all(series);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_duration_and_status() {
        let t = parse_transaction(
            br#"{"transaction":"/courses/{id}","start_timestamp":"2026-12-07T03:00:00Z",
                "timestamp":"2026-12-07T03:00:00.300Z","environment":"production",
                "contexts":{"trace":{"status":"internal_error"}}}"#,
        )
        .unwrap();
        assert!((t.duration_secs - 0.3).abs() < 1e-6);
        assert_eq!(t.status, "internal_error");
        let t = parse_transaction(br#"{"transaction":"x","start_timestamp":1,"timestamp":2,"contexts":{"trace":{"status":"weird"}}}"#).unwrap();
        assert_eq!(t.status, "unknown");
        let e = parse_transaction(br#"{"transaction":"x","start_timestamp":5,"timestamp":2}"#).unwrap_err();
        assert!(e.to_string().contains("before"), "{e}");
        let e = parse_transaction(br#"{"start_timestamp":5,"timestamp":6}"#).unwrap_err();
        assert_eq!(e.reason(), "malformed_transaction");
    }

    #[test]
    fn histogram_series_and_the_name_cap() {
        let counters = Arc::new(TsdbCounters::default());
        let tx = Transactions::new(counters.clone(), 2, &Registry::new());
        for (name, d) in [("a", 0.3), ("a", 2.0), ("b", 0.01), ("c", 0.01), ("d", 0.01)] {
            let t = TransactionSample {
                name: name.into(),
                environment: "prod".into(),
                duration_secs: d,
                status: "ok",
            };
            tx.record("lms", &t);
        }
        let l = |pairs: &[(&str, &str)]| {
            let mut all = vec![("project", "lms"), ("environment", "prod")];
            all.extend_from_slice(pairs);
            Labels::from_pairs(&all)
        };
        let bucket = "belfry_transaction_duration_seconds_bucket";
        assert_eq!(
            counters.get(&l(&[("__name__", bucket), ("transaction", "a"), ("le", "0.5")])),
            Some(1.0)
        );
        assert_eq!(
            counters.get(&l(&[("__name__", bucket), ("transaction", "a"), ("le", "+Inf")])),
            Some(2.0)
        );
        let sum = counters
            .get(&l(&[
                ("__name__", "belfry_transaction_duration_seconds_sum"),
                ("transaction", "a"),
            ]))
            .unwrap();
        assert!((sum - 2.3).abs() < 1e-9);
        let other = l(&[
            ("__name__", COUNT_SERIES),
            ("transaction", OTHER),
            ("status", "ok"),
        ]);
        assert_eq!(counters.get(&other), Some(2.0));
    }
}
