//! Running a LogQL query against the logs store: log queries directly,
//! metric queries by evaluating each range aggregation into series at
//! every step, then the PromQL operators around them on the PromQL engine
//! over those series, with the same start, end and step.

use std::sync::Arc;
use std::time::Duration;

use crate::logs::LogStore;
use crate::logs::index::DayIndexes;
use crate::model::{Label, Labels};
use crate::promql::{Engine, EngineOptions, QueryControl, Sample, Series, Value};
use crate::selfmetrics::{CounterVec, Registry};

use super::budget::{Budget, QueryLimits};
use super::error::LogqlError;
use super::log_query::{Direction, Stream, eval_log_query};
use super::query::{MetricQuery, Query, parse_query, placeholder};
use super::range_eval::eval_range;
use super::synthetic::SyntheticSeries;
use super::windows::StepGrid;

/// Loki's (and Prometheus's) most points one series may have.
pub const MAX_POINTS: i64 = 11_000;

#[derive(Debug, Clone)]
pub enum QueryData {
    Streams(Vec<Stream>),
    Matrix(Vec<Series>),
    Vector(Vec<Sample>),
    /// `(time ms, value)`.
    Scalar(i64, f64),
}

/// What a query read, for the response's `stats`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExecStats {
    pub lines_read: u64,
    pub bytes_read: u64,
    /// Lines counted from the index without reading them.
    pub lines_counted: u64,
    pub exec_time: Duration,
    pub entries_returned: u64,
}

#[derive(Debug, Clone)]
pub struct QueryOutcome {
    pub data: QueryData,
    pub stats: ExecStats,
    pub warnings: Vec<String>,
}

/// A range query's parameters, times in nanoseconds.
#[derive(Debug, Clone, Copy)]
pub struct RangeParams {
    pub start_ns: i64,
    pub end_ns: i64,
    pub step_ns: i64,
    pub limit: usize,
    pub direction: Direction,
}

struct LogqlMetrics {
    queries: Arc<CounterVec>,
    limit_hits: Arc<CounterVec>,
}

pub struct LogqlEngine {
    store: Arc<LogStore>,
    promql: Engine,
    limits: QueryLimits,
    metrics: LogqlMetrics,
}

impl LogqlEngine {
    pub fn new(
        store: Arc<LogStore>,
        limits: QueryLimits,
        promql: EngineOptions,
        registry: &Registry,
    ) -> Self {
        LogqlEngine {
            store,
            promql: Engine::new(promql, registry),
            limits,
            metrics: LogqlMetrics {
                queries: registry.counter_vec(
                    "belfry_logql_queries_total",
                    "LogQL queries run, by kind (log, metric) and outcome (success, error).",
                    &["kind", "outcome"],
                ),
                limit_hits: registry.counter_vec(
                    "belfry_logql_query_limit_hits_total",
                    "LogQL queries stopped by a limit, by limit (max_series, max_lines_read, max_bytes_read, max_entries, timeout).",
                    &["limit"],
                ),
            },
        }
    }

    pub fn limits(&self) -> &QueryLimits {
        &self.limits
    }

    pub fn days(&self) -> &DayIndexes {
        self.store.days()
    }

    pub fn store(&self) -> &Arc<LogStore> {
        &self.store
    }

    fn record<T>(&self, kind: &str, r: Result<T, LogqlError>) -> Result<T, LogqlError> {
        let outcome = if r.is_ok() { "success" } else { "error" };
        self.metrics.queries.with(&[kind, outcome]).inc();
        match &r {
            Err(LogqlError::Limit { limit, .. }) => self.metrics.limit_hits.with(&[limit]).inc(),
            Err(LogqlError::Timeout(_)) | Err(LogqlError::Promql(crate::promql::PromqlError::Timeout(_))) => {
                self.metrics.limit_hits.with(&["timeout"]).inc()
            }
            _ => {}
        }
        r
    }

    fn check_limit(&self, limit: usize) -> Result<(), LogqlError> {
        if limit > self.limits.max_entries {
            self.metrics.limit_hits.with(&["max_entries"]).inc();
            return Err(LogqlError::BadRequest(format!(
                "max entries limit per query exceeded, limit > max_entries_limit ({limit} > {}) (logs.query.max_entries)",
                self.limits.max_entries
            )));
        }
        Ok(())
    }

    pub fn query_range(&self, query: &str, p: &RangeParams) -> Result<QueryOutcome, LogqlError> {
        let parsed = parse_query(query)?;
        if p.end_ns < p.start_ns {
            return Err(LogqlError::BadRequest(
                "the end timestamp must not be before the start time".into(),
            ));
        }
        let budget = Budget::new(self.limits.clone());
        match parsed {
            Query::Log(sel) => {
                self.check_limit(p.limit)?;
                // A log query's end is exclusive; `end == start` asks for that instant.
                let end = if p.end_ns == p.start_ns {
                    p.end_ns + 1
                } else {
                    p.end_ns
                };
                let r = eval_log_query(self.days(), &sel, p.start_ns, end, p.limit, p.direction, &budget);
                let streams = self.record("log", r)?;
                let entries = streams.iter().map(|s| s.entries.len() as u64).sum();
                Ok(outcome(QueryData::Streams(streams), &budget, entries))
            }
            Query::Metric(m) => {
                if p.step_ns <= 0 {
                    return Err(LogqlError::BadRequest(
                        "zero or negative query resolution step widths are not accepted. Try a positive integer".into(),
                    ));
                }
                let start_ms = p.start_ns.div_euclid(1_000_000);
                let end_ms = p.end_ns.div_euclid(1_000_000);
                let step_ms = (p.step_ns / 1_000_000).max(1);
                let points = (end_ms - start_ms) / step_ms + 1;
                if points > MAX_POINTS {
                    return Err(LogqlError::BadRequest(format!(
                        "exceeded maximum resolution of {MAX_POINTS} points per timeseries. Try decreasing the query resolution (?step=XX)"
                    )));
                }
                let r = self.metric(&m, start_ms, end_ms, step_ms, points as usize, &budget);
                let data = self.record("metric", r)?;
                Ok(outcome(data, &budget, 0))
            }
        }
    }

    /// An instant query at `t_ns`: metric queries only, as in Loki.
    pub fn query_instant(&self, query: &str, t_ns: i64) -> Result<QueryOutcome, LogqlError> {
        let parsed = parse_query(query)?;
        let Query::Metric(m) = parsed else {
            return Err(LogqlError::BadRequest(
                "log queries are not supported as an instant query type, please change your query to a range query type".into(),
            ));
        };
        let budget = Budget::new(self.limits.clone());
        let t_ms = t_ns.div_euclid(1_000_000);
        let r = self.metric(&m, t_ms, t_ms, 0, 1, &budget);
        let data = self.record("metric", r)?;
        Ok(outcome(data, &budget, 0))
    }

    fn metric(
        &self,
        m: &MetricQuery,
        start_ms: i64,
        end_ms: i64,
        step_ms: i64,
        steps: usize,
        budget: &Budget,
    ) -> Result<QueryData, LogqlError> {
        let mut all = Vec::new();
        for (i, agg) in m.ranges.iter().enumerate() {
            let grid = StepGrid {
                start_ns: start_ms.saturating_mul(1_000_000),
                // One step: each window is the range itself.
                step_ns: if steps == 1 {
                    agg.range_ns
                } else {
                    step_ms * 1_000_000
                },
                steps,
                range_ns: agg.range_ns,
                offset_ns: agg.offset_ns,
            };
            let name = placeholder(i);
            for s in eval_range(self.days(), agg, &grid, budget)? {
                let mut labels = s.labels.into_vec();
                labels.push(Label::new("__name__", name.clone()));
                all.push((Labels::new(labels), s.points));
            }
            budget.check_series(all.len())?;
        }
        let series = SyntheticSeries::new(all);
        let remaining = self.limits.timeout.saturating_sub(budget.elapsed());
        let ctl = QueryControl::with_timeout(remaining.max(Duration::from_millis(1)));
        let out = if steps == 1 && step_ms == 0 {
            self.promql.instant_query(&series, &m.promql, start_ms, &ctl)?
        } else {
            self.promql
                .range_query(&series, &m.promql, start_ms, end_ms, step_ms, &ctl)?
        };
        Ok(match out.value {
            Value::Matrix(ms) => QueryData::Matrix(
                ms.into_iter()
                    .map(|mut s| {
                        s.labels = without_name(&s.labels);
                        s
                    })
                    .collect(),
            ),
            Value::Vector(v) => QueryData::Vector(
                v.into_iter()
                    .map(|mut s| {
                        s.labels = without_name(&s.labels);
                        s
                    })
                    .collect(),
            ),
            Value::Scalar(x) => QueryData::Scalar(start_ms, x),
            Value::String(_) => {
                return Err(LogqlError::BadRequest("a string is not a LogQL result".into()));
            }
        })
    }
}

fn without_name(l: &Labels) -> Labels {
    Labels::new(l.iter().filter(|x| x.name != "__name__").cloned().collect())
}

fn outcome(data: QueryData, budget: &Budget, entries: u64) -> QueryOutcome {
    QueryOutcome {
        data,
        stats: ExecStats {
            lines_read: budget.lines_read(),
            bytes_read: budget.bytes_read(),
            lines_counted: budget.lines_counted.load(std::sync::atomic::Ordering::Relaxed),
            exec_time: budget.elapsed(),
            entries_returned: entries,
        },
        warnings: Vec::new(),
    }
}
