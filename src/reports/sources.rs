//! What reports read, and the few ways they read it: PromQL over the
//! TSDB, LogQL over the logs store, the error issues, the alert history
//! and the audit log. Each is optional (a server may run without one),
//! and a missing one is a failed block, not a missing report. Every read
//! is blocking; reports are built on a blocking thread.

use std::sync::Arc;

use crate::auth::AuditLog;
use crate::errors::ErrorStore;
use crate::logql::{Direction, LogqlEngine, QueryData, RangeParams, Stream};
use crate::promql::{Engine, EngineOptions, QueryControl, Sample, Value};
use crate::rules::AlertHistory;
use crate::selfmetrics::{CounterVec, Registry};
use crate::tsdb::Storage;

/// The most alert history entries one report reads.
pub const MAX_HISTORY: usize = 20_000;

#[derive(Clone)]
pub struct Sources {
    pub storage: Arc<dyn Storage>,
    pub query_options: EngineOptions,
    pub registry: Arc<Registry>,
    pub logql: Option<Arc<LogqlEngine>>,
    pub errors: Option<Arc<ErrorStore>>,
    pub history: Option<Arc<AlertHistory>>,
    pub audit: Option<Arc<AuditLog>>,
    /// `belfry_report_limit_hits_total`, set by `Reports::new`.
    pub limit_hits: Option<Arc<CounterVec>>,
}

impl Sources {
    /// Counts a read that stopped at its limit.
    pub fn limit_hit(&self, limit: &str) {
        if let Some(c) = &self.limit_hits {
            c.with(&[limit]).inc();
        }
    }

    /// A PromQL instant query at `at_ms`: its vector (a scalar as one
    /// sample without labels), or the engine's error as text.
    pub fn promql(&self, query: &str, at_ms: i64) -> Result<Vec<Sample>, String> {
        // Counters are registered once by name, so an engine per query
        // shares them.
        let engine = Engine::new(self.query_options.clone(), &self.registry);
        let ctl = QueryControl::with_timeout(self.query_options.timeout);
        let querier = self.storage.querier();
        let out = engine
            .instant_query(querier.as_ref(), query, at_ms, &ctl)
            .map_err(|e| e.to_string())?;
        Ok(match out.value {
            Value::Vector(v) => v,
            Value::Scalar(v) => vec![Sample {
                labels: Default::default(),
                t: at_ms,
                v,
                h: None,
            }],
            other => {
                return Err(format!(
                    "the query returned a {}, not a vector",
                    other.type_name()
                ));
            }
        })
    }

    fn logql(&self) -> Result<&Arc<LogqlEngine>, String> {
        self.logql
            .as_ref()
            .ok_or_else(|| "this server keeps no logs store".to_string())
    }

    /// A LogQL metric query at `at_ms`: its vector, or the error as text.
    pub fn logql_vector(&self, query: &str, at_ms: i64) -> Result<Vec<Sample>, String> {
        let out = self
            .logql()?
            .query_instant(query, at_ms.saturating_mul(1_000_000))
            .map_err(|e| e.to_string())?;
        match out.data {
            QueryData::Vector(v) => Ok(v),
            QueryData::Scalar(t, v) => Ok(vec![Sample {
                labels: Default::default(),
                t,
                v,
                h: None,
            }]),
            _ => Err("the query returned no vector".into()),
        }
    }

    /// `want` lines, or fewer where the logs store's `max_entries` is lower.
    pub fn log_lines_cap(&self, want: usize) -> usize {
        self.logql
            .as_ref()
            .map_or(want, |e| want.min(e.limits().max_entries))
    }

    /// A LogQL log query's lines in `[start_ms, end_ms)`, newest first, at
    /// most `limit` (and at most the store's `max_entries`).
    pub fn logql_lines(
        &self,
        query: &str,
        start_ms: i64,
        end_ms: i64,
        limit: usize,
    ) -> Result<Vec<Stream>, String> {
        let engine = self.logql()?;
        let limit = limit.min(engine.limits().max_entries);
        let params = RangeParams {
            start_ns: start_ms.saturating_mul(1_000_000),
            end_ns: end_ms.saturating_mul(1_000_000),
            step_ns: 0,
            limit,
            direction: Direction::Backward,
        };
        match engine
            .query_range(query, &params)
            .map_err(|e| e.to_string())?
            .data
        {
            QueryData::Streams(s) => Ok(s),
            _ => Err("the query returned no log lines".into()),
        }
    }
}

/// A label's value, "" when missing.
pub fn label(s: &Sample, name: &str) -> String {
    s.labels.get(name).unwrap_or_default().to_string()
}
