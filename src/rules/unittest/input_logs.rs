//! A test group's `input_logs`: log lines written into a logs store of
//! its own (a temporary directory), so LogQL rules and `logql_expr_test`
//! run on the same store and engine as in `belfry serve`.
//!
//! The store's clock is set to the test's last evaluation, so lines
//! stamped at the test's start (the Unix epoch by default) are neither
//! refused as too old nor as from the future. Lines are stored without
//! user-id tokens and scrubbing: a test states what its rules see.

use std::sync::Arc;
use std::time::Duration;

use crate::logql::{LogqlEngine, QueryLimits};
use crate::logs::{Entry, LogStore, LogStoreOptions};
use crate::promql::EngineOptions;
use crate::selfmetrics::Registry;

use super::format::InputLogs;
use super::series::parse_metric;

/// Most lines one test group may write (`times` multiplies quickly).
pub const MAX_TEST_LINES: u64 = 1_000_000;

pub struct TestLogs {
    engine: LogqlEngine,
    store: Arc<LogStore>,
    // Dropped last: the store's files live in it.
    _dir: tempfile::TempDir,
}

impl TestLogs {
    /// Writes `inputs` (times relative to `start_ms`, repeats every
    /// `interval` unless a line says otherwise) into a new store whose
    /// clock reads `until_ms`.
    pub fn load(
        inputs: &[InputLogs],
        start_ms: i64,
        interval: Duration,
        until_ms: i64,
    ) -> Result<TestLogs, String> {
        let dir =
            tempfile::tempdir().map_err(|e| format!("cannot create a directory for input_logs: {e}"))?;
        let entries = entries(inputs, start_ms, interval)?;
        let clock_ns = until_ms
            .max(entries.iter().filter_map(|e| e.timestamp_ns).max().unwrap_or(0) / 1_000_000)
            .saturating_mul(1_000_000);
        let registry = Registry::new();
        let opts = LogStoreOptions {
            clock: Arc::new(move || clock_ns),
            retention_interval: None,
            max_batch_lines: usize::MAX,
            ..LogStoreOptions::default()
        };
        let store = Arc::new(
            LogStore::open(dir.path(), opts, &registry)
                .map_err(|e| format!("cannot open the test logs store: {e}"))?,
        );
        let report = store
            .ingest("test", entries)
            .map_err(|e| format!("input_logs: {e}"))?;
        if let Some((i, reason)) = report.rejected.first() {
            return Err(format!("input_logs: line {} refused: {reason}", i + 1));
        }
        store
            .flush()
            .map_err(|e| format!("input_logs: cannot commit: {e}"))?;
        let engine = LogqlEngine::new(
            store.clone(),
            QueryLimits::default(),
            EngineOptions::for_tests(),
            &registry,
        );
        Ok(TestLogs {
            engine,
            store,
            _dir: dir,
        })
    }

    pub fn engine(&self) -> &LogqlEngine {
        &self.engine
    }
}

impl Drop for TestLogs {
    fn drop(&mut self) {
        if let Err(e) = self.store.close() {
            tracing::warn!(error = %e, "cannot close the test logs store");
        }
    }
}

fn entries(inputs: &[InputLogs], start_ms: i64, interval: Duration) -> Result<Vec<Entry>, String> {
    let mut total = 0u64;
    let mut out = Vec::new();
    for input in inputs {
        let labels =
            parse_metric(&input.stream).map_err(|e| format!("input_logs: stream {:?}: {e}", input.stream))?;
        if labels.get("__name__").is_some() {
            return Err(format!(
                "input_logs: stream {:?}: a stream has labels only, no metric name",
                input.stream
            ));
        }
        let labels: Vec<(String, String)> =
            labels.iter().map(|l| (l.name.clone(), l.value.clone())).collect();
        for line in &input.lines {
            total = total.saturating_add(u64::from(line.times));
            if total > MAX_TEST_LINES {
                return Err(format!(
                    "input_logs: more than {MAX_TEST_LINES} lines in one test group"
                ));
            }
            let every = line.every.map_or(interval, |d| d.as_duration()).as_millis() as i64;
            let first = start_ms + line.at.as_duration().as_millis() as i64;
            for k in 0..i64::from(line.times) {
                out.push(Entry {
                    timestamp_ns: Some((first + k * every).saturating_mul(1_000_000)),
                    labels: labels.clone(),
                    line: line.line.clone(),
                    level: None,
                    fields: Default::default(),
                });
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::unittest::format::InputLine;

    fn input(stream: &str, lines: Vec<InputLine>) -> InputLogs {
        InputLogs {
            stream: stream.to_string(),
            lines,
        }
    }

    fn line(at_s: u64, text: &str, times: u32) -> InputLine {
        InputLine {
            at: crate::model::PromDuration(Duration::from_secs(at_s)),
            line: text.to_string(),
            times,
            every: None,
        }
    }

    #[test]
    fn repeats_at_the_interval() {
        let e = entries(
            &[input(r#"{service="auth"}"#, vec![line(30, "login failed", 3)])],
            1_000,
            Duration::from_secs(10),
        )
        .unwrap();
        let ts: Vec<i64> = e.iter().map(|e| e.timestamp_ns.unwrap() / 1_000_000).collect();
        assert_eq!(ts, [31_000, 41_000, 51_000]);
        assert_eq!(e[0].labels, [("service".to_string(), "auth".to_string())]);
    }

    #[test]
    fn bad_inputs_are_named() {
        let e = entries(&[input("up{a=\"b\"}", vec![])], 0, Duration::from_secs(1)).unwrap_err();
        assert!(e.contains("no metric name"), "{e}");
        let e = entries(&[input("{a=", vec![])], 0, Duration::from_secs(1)).unwrap_err();
        assert!(e.contains("stream \"{a=\""), "{e}");
        let e = entries(
            &[input("{a=\"b\"}", vec![line(0, "x", u32::MAX)])],
            0,
            Duration::from_secs(1),
        )
        .unwrap_err();
        assert!(e.contains("more than"), "{e}");
    }

    #[test]
    fn lines_are_queryable_at_the_tests_times() {
        let logs = TestLogs::load(
            &[input(
                r#"{service="auth", level="warning"}"#,
                vec![line(0, "login failed", 5)],
            )],
            0,
            Duration::from_secs(60),
            600_000,
        )
        .unwrap();
        let out = logs
            .engine()
            .query_instant(
                r#"sum(count_over_time({service="auth"} |= "failed" [10m]))"#,
                300_000_000_000,
            )
            .unwrap();
        let crate::logql::QueryData::Vector(v) = out.data else {
            panic!("{:?}", out.data)
        };
        assert_eq!(v[0].v, 5.0);
    }
}
