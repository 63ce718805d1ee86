//! The query engine: parses a query, plans it (`plan.rs`), evaluates the
//! subtrees that pay off over all steps at once (`batch/`) and then the
//! rest step by step (`eval.rs`, driven by `result.rs`), for instant and
//! range queries under limits (timeout, max samples, cancellation).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use promql_parser::parser::{Expr, value::ValueType};

use crate::selfmetrics::{Counter, Registry};
use crate::tsdb::Querier;

use super::annotations::Annotations;
use super::batch::precompute;
use super::cache::EvalCache;
use super::context::EvalContext;
use super::control::QueryControl;
use super::error::PromqlError;
use super::eval::Evaluator;
use super::node::NodeId;
use super::params::RangeSpec;
use super::plan::QueryPlan;
use super::precomputed::Steps;
use super::result::{instant_eval, precomputed_range, range_eval};
use super::time::QueryBounds;
use super::value::Value;

#[derive(Debug, Clone)]
pub struct EngineOptions {
    pub lookback_delta: Duration,
    /// Most samples one query may hold in memory at once.
    pub max_samples: usize,
    pub timeout: Duration,
    /// Most points per series a range query may return (Prometheus: 11,000).
    pub max_points_per_series: i64,
    /// Step of a subquery written without one (`[5m:]`).
    pub default_subquery_step: Duration,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            lookback_delta: Duration::from_secs(300),
            max_samples: 50_000_000,
            timeout: Duration::from_secs(120),
            max_points_per_series: 11_000,
            default_subquery_step: Duration::from_secs(60),
        }
    }
}

impl EngineOptions {
    /// The settings Prometheus's own PromQL tests run with.
    pub fn for_tests() -> Self {
        EngineOptions {
            max_samples: 50_000_000,
            timeout: Duration::from_secs(100),
            ..Default::default()
        }
    }
}

/// What a query cost, for the API's `stats` parameter.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QueryStats {
    pub total_samples_loaded: usize,
    pub peak_samples: usize,
    pub eval_time: Duration,
}

#[derive(Debug, Clone)]
pub struct QueryOutput {
    pub value: Value,
    pub annotations: Annotations,
    pub stats: QueryStats,
}

struct EngineMetrics {
    queries: Arc<Counter>,
    failed: Arc<Counter>,
    timeouts: Arc<Counter>,
    too_many_samples: Arc<Counter>,
    canceled: Arc<Counter>,
}

pub struct Engine {
    opts: EngineOptions,
    metrics: EngineMetrics,
    /// Whether subtrees are evaluated over all steps at once (off only in
    /// tests that compare against step-by-step evaluation).
    batch: bool,
}

impl Engine {
    pub fn new(opts: EngineOptions, registry: &Registry) -> Self {
        let metrics = EngineMetrics {
            queries: registry.counter("belfry_promql_queries_total", "PromQL queries evaluated."),
            failed: registry.counter(
                "belfry_promql_queries_failed_total",
                "PromQL queries that ended in an error.",
            ),
            timeouts: registry.counter(
                "belfry_promql_query_timeouts_total",
                "PromQL queries stopped by the per-query timeout.",
            ),
            too_many_samples: registry.counter(
                "belfry_promql_max_samples_exceeded_total",
                "PromQL queries refused for holding more than max_samples samples.",
            ),
            canceled: registry.counter(
                "belfry_promql_queries_canceled_total",
                "PromQL queries canceled, e.g. because the client went away.",
            ),
        };
        Engine {
            opts,
            metrics,
            batch: true,
        }
    }

    /// Evaluates step by step only, to check the batch evaluation against.
    #[cfg(test)]
    fn step_by_step(mut self) -> Self {
        self.batch = false;
        self
    }

    pub fn options(&self) -> &EngineOptions {
        &self.opts
    }

    /// Parses a query, with Prometheus's error text (`1:7: parse error:
    /// ...`) on failure.
    pub fn parse(query: &str) -> Result<Expr, PromqlError> {
        super::parse::parse(query)
    }

    pub fn instant_query(
        &self,
        querier: &dyn Querier,
        query: &str,
        t: i64,
        ctl: &QueryControl,
    ) -> Result<QueryOutput, PromqlError> {
        self.run(querier, query, t, t, 0, ctl)
    }

    pub fn range_query(
        &self,
        querier: &dyn Querier,
        query: &str,
        start: i64,
        end: i64,
        step: i64,
        ctl: &QueryControl,
    ) -> Result<QueryOutput, PromqlError> {
        let spec = RangeSpec::new(start, end, step, self.opts.max_points_per_series)?;
        self.checked_range_query(querier, query, spec, ctl)
    }

    /// A range query over times already checked (by [`RangeSpec::parse`]).
    pub fn checked_range_query(
        &self,
        querier: &dyn Querier,
        query: &str,
        spec: RangeSpec,
        ctl: &QueryControl,
    ) -> Result<QueryOutput, PromqlError> {
        self.run(querier, query, spec.start, spec.end, spec.step, ctl)
    }

    fn run(
        &self,
        querier: &dyn Querier,
        query: &str,
        start: i64,
        end: i64,
        step: i64,
        ctl: &QueryControl,
    ) -> Result<QueryOutput, PromqlError> {
        self.metrics.queries.inc();
        let result = self.run_inner(querier, query, start, end, step, ctl);
        if let Err(e) = &result {
            self.metrics.failed.inc();
            match e {
                PromqlError::Timeout(_) => self.metrics.timeouts.inc(),
                PromqlError::TooManySamples => self.metrics.too_many_samples.inc(),
                PromqlError::Canceled(_) => self.metrics.canceled.inc(),
                _ => {}
            }
        }
        result
    }

    fn run_inner(
        &self,
        querier: &dyn Querier,
        query: &str,
        start: i64,
        end: i64,
        step: i64,
        ctl: &QueryControl,
    ) -> Result<QueryOutput, PromqlError> {
        let began = Instant::now();
        let expr = Self::parse(query)?;
        let is_range = step > 0;
        if is_range && !matches!(expr.value_type(), ValueType::Vector | ValueType::Scalar) {
            return Err(PromqlError::BadData(format!(
                "invalid expression type \"{}\" for range query, must be Scalar or instant Vector",
                type_label(expr.value_type())
            )));
        }
        let lookback = self.opts.lookback_delta.as_millis() as i64;
        let bounds = QueryBounds { start, end };
        let plan = QueryPlan::new(&expr, bounds, lookback);
        let timeout = ctl.timeout().unwrap_or(self.opts.timeout).min(self.opts.timeout);
        let mut ctx = EvalContext::new(
            querier,
            query,
            &plan,
            bounds,
            is_range,
            lookback,
            self.opts.default_subquery_step.as_millis() as i64,
            self.opts.max_samples,
            ctl,
            began + timeout,
        );
        let steps = Steps {
            start,
            step: step.max(1),
            count: if is_range {
                ((end - start) / step + 1) as usize
            } else {
                1
            },
        };
        let precomputed = if self.batch {
            precompute(&mut ctx, &expr, &steps)?
        } else {
            HashMap::new()
        };
        let mut ev = Evaluator {
            ctx,
            cache: EvalCache::with_precomputed(precomputed),
        };
        let value = if is_range && let Some(p) = ev.cache.take_precomputed(NodeId::of_expr(&expr)) {
            precomputed_range(p)?
        } else if is_range {
            range_eval(&mut ev, &expr, start, end, step)?
        } else {
            instant_eval(&mut ev, &expr, start)?
        };
        let stats = QueryStats {
            total_samples_loaded: ev.cache.loaded_samples() + ev.ctx.samples.streamed,
            peak_samples: ev.ctx.samples.peak,
            eval_time: began.elapsed(),
        };
        Ok(QueryOutput {
            value,
            annotations: ev.ctx.annotations,
            stats,
        })
    }
}

fn type_label(t: ValueType) -> &'static str {
    match t {
        ValueType::Vector => "instant vector",
        ValueType::Scalar => "scalar",
        ValueType::Matrix => "range vector",
        ValueType::String => "string",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Labels;
    use crate::tsdb::{MemStorage, Storage};

    /// One series `up{job="a"}` with a sample every 15 s for an hour, its
    /// value the time in seconds.
    fn one_series() -> Box<dyn Querier> {
        let storage = MemStorage::new();
        let labels = Labels::from_pairs(&[("__name__", "up"), ("job", "a")]);
        let mut app = storage.appender();
        for t in (0..=3_600_000).step_by(15_000) {
            app.append(&labels, t, t as f64 / 1000.0).unwrap();
        }
        app.commit().unwrap();
        storage.querier()
    }

    fn engine(max_samples: usize) -> Engine {
        let opts = EngineOptions {
            max_samples,
            ..Default::default()
        };
        Engine::new(opts, &Registry::new())
    }

    #[test]
    fn rate_over_a_steady_counter() {
        let out = engine(1000)
            .instant_query(&*one_series(), "rate(up[5m])", 600_000, &QueryControl::default())
            .unwrap();
        let Value::Vector(v) = out.value else {
            panic!("{:?}", out.value)
        };
        assert_eq!(v.len(), 1);
        assert!((v[0].v - 1.0).abs() < 1e-9, "{}", v[0].v);
        assert_eq!(v[0].labels, Labels::from_pairs(&[("job", "a")]));
    }

    #[test]
    fn max_samples_fails_cleanly() {
        let err = engine(10)
            .instant_query(&*one_series(), "up[1h]", 3_600_000, &QueryControl::default())
            .unwrap_err();
        assert!(matches!(err, PromqlError::TooManySamples));
        assert_eq!(
            err.to_string(),
            "query processing would load too many samples into memory in query execution"
        );
    }

    #[test]
    fn too_many_points_is_bad_data() {
        let err = engine(1000)
            .range_query(
                &*one_series(),
                "up",
                0,
                11_000_000,
                1000,
                &QueryControl::default(),
            )
            .unwrap_err();
        assert_eq!(err.error_type(), "bad_data");
        assert!(err.to_string().contains("11,000 points"));
    }

    #[test]
    fn repeated_subexpressions_are_shared() {
        let expr = Engine::parse("rate(up[5m]) / rate(up[5m]) + sum(up) - 1").unwrap();
        let shared = super::super::plan::shared_subexpressions(&expr);
        // The two `rate(up[5m])` calls share an id; their selectors are
        // repeated too (`up[5m]`); `sum(up)` and its `up` occur once each.
        let ids: std::collections::HashSet<usize> = shared.values().copied().collect();
        assert_eq!(shared.len(), 4, "{shared:?}");
        assert_eq!(ids.len(), 2);
        let out = engine(10_000)
            .range_query(
                &*one_series(),
                "rate(up[5m]) / rate(up[5m])",
                600_000,
                1_200_000,
                60_000,
                &QueryControl::default(),
            )
            .unwrap();
        let Value::Matrix(m) = out.value else { panic!() };
        assert_eq!(m[0].points.len(), 11);
        assert!(m[0].points.iter().all(|p| p.1 == 1.0));
    }

    #[test]
    fn instant_selectors_stream_over_range_queries() {
        // 241 samples; a range query over all of them with a max of 100
        // held at once still works, because the selector streams.
        let out = engine(100)
            .range_query(
                &*one_series(),
                "up",
                0,
                3_600_000,
                60_000,
                &QueryControl::default(),
            )
            .unwrap();
        let Value::Matrix(m) = out.value else { panic!() };
        assert_eq!(m[0].points.len(), 61);
        assert_eq!(m[0].points[60], (3_600_000, 3600.0));
        assert_eq!(out.stats.total_samples_loaded, 241);
    }

    /// Bit-identical values, or a panic naming the first difference.
    fn same_value(a: &Value, b: &Value, what: &str) {
        let flat = |v: &Value| -> Vec<(Labels, i64, u64)> {
            match v {
                Value::Matrix(m) => m
                    .iter()
                    .flat_map(|s| s.points.iter().map(|p| (s.labels.clone(), p.0, p.1.to_bits())))
                    .collect(),
                Value::Vector(v) => v.iter().map(|s| (s.labels.clone(), s.t, s.v.to_bits())).collect(),
                Value::Scalar(x) => vec![(Labels::default(), 0, x.to_bits())],
                Value::String(_) => vec![],
            }
        };
        let (fa, fb) = (flat(a), flat(b));
        if let (Value::Matrix(ma), Value::Matrix(mb)) = (a, b) {
            for (x, y) in ma.iter().zip(mb) {
                if x.points.len() != y.points.len() {
                    let dx: Vec<_> = x
                        .points
                        .iter()
                        .filter(|p| !y.points.iter().any(|q| q.0 == p.0))
                        .take(5)
                        .collect();
                    let dy: Vec<_> = y
                        .points
                        .iter()
                        .filter(|p| !x.points.iter().any(|q| q.0 == p.0))
                        .take(5)
                        .collect();
                    panic!(
                        "{what} {:?}: {} vs {} points; only batch {dx:?}; only stepwise {dy:?}",
                        x.labels,
                        x.points.len(),
                        y.points.len()
                    );
                }
            }
        }
        for (x, y) in fa.iter().zip(&fb) {
            assert_eq!(
                x,
                y,
                "{what}: batch {} vs step by step {}",
                f64::from_bits(x.2),
                f64::from_bits(y.2)
            );
        }
        assert_eq!(fa.len(), fb.len(), "{what}: point counts");
    }

    /// Batch evaluation (whole steps at once) gives bit-identical results to
    /// step-by-step evaluation, over counters with resets, NaNs, stale
    /// markers and gaps, for range and instant queries.
    #[test]
    fn batch_evaluation_matches_step_by_step() {
        let storage = MemStorage::new();
        let mut app = storage.appender();
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        for s in 0..60 {
            let labels = Labels::from_pairs(&[
                ("__name__", if s % 3 == 0 { "c_total" } else { "g" }),
                ("i", &s.to_string()),
                ("grp", if s % 2 == 0 { "a" } else { "b" }),
            ]);
            let mut v = 0.0;
            let mut t = 0;
            while t < 4 * 3_600_000 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                t += 10_000 + (x % 20_000) as i64;
                if x.is_multiple_of(97) {
                    t += 20 * 60_000; // a gap past the lookback
                }
                let sample = match x % 41 {
                    1 => f64::NAN,
                    2 => f64::from_bits(crate::model::STALE_NAN_BITS),
                    r => {
                        // r == 0: a counter reset.
                        v = if r == 0 { 0.0 } else { v + (x % 1000) as f64 / 7.0 };
                        v
                    }
                };
                app.append(&labels, t, sample).unwrap();
            }
        }
        app.commit().unwrap();
        let q = storage.querier();
        let batch = engine(50_000_000);
        let stepwise = engine(50_000_000).step_by_step();
        let queries = [
            "rate(c_total[5m])",
            "increase(c_total[3m])",
            "delta(g[10m])",
            "irate(c_total[2m])",
            "idelta(g[1m])",
            "max_over_time(g[17m])",
            "min_over_time(c_total[1h])",
            "avg_over_time(g[9m])",
            "sum_over_time(g[4m])",
            "count_over_time({grp=\"a\"}[5m])",
            "last_over_time(g[5m])",
            "first_over_time(g[5m] offset 3m)",
            "stddev_over_time(g[30m])",
            "stdvar_over_time(g[30m])",
            "present_over_time(g[1m])",
            "mad_over_time(g[20m])",
            "quantile_over_time(0.3, g[20m])",
            "quantile_over_time(1.5, g[2m])",
            "changes(g[15m])",
            "resets(c_total[15m])",
            "deriv(g[10m])",
            "predict_linear(c_total[30m], 600)",
            "sum(predict_linear(g[5m] @ 7200, (1200)))",
            "rate(c_total[5m]) * 100",
            "g > 1000",
            "2000 < g",
            "g > bool 1500",
            "-1 * sum by (grp) (g)",
            "(g / 3) ^ 2",
            "count(g > 1500)",
            "1 - avg_over_time(g[5m]) / 1000",
            "g % 7 == 0",
            "sum by (grp) (rate(c_total[5m]) > 0.5)",
            "sum by (grp) (rate(c_total[5m]))",
            "avg without (i) (g)",
            "count({__name__=~\".+\"})",
            "max by (grp) (g offset 10m)",
            "min(g @ 3600)",
            "group by (grp) (g)",
            "stddev by (grp) (g)",
            "stdvar(max_over_time(g[10m]))",
            "sum(sum by (grp) (rate(c_total[5m])))",
            "rate(c_total[5m]) / on(i) group_left sum by (i) (g)",
            "histogram_quantile(0.9, sum by (le) (rate(c_total[5m])))",
        ];
        let ctl = QueryControl::default();
        for query in queries {
            for (start, end, step) in [
                (0, 4 * 3_600_000, 60_000),
                (1_000_000, 9_000_000, 7_000),
                (3_600_000, 3_600_000, 1),
            ] {
                let a = batch.range_query(&*q, query, start, end, step, &ctl).unwrap();
                let b = stepwise.range_query(&*q, query, start, end, step, &ctl).unwrap();
                same_value(&a.value, &b.value, &format!("{query} {start}..{end}/{step}"));
                assert_eq!(a.annotations, b.annotations, "{query}");
            }
            let a = batch.instant_query(&*q, query, 5_000_000, &ctl).unwrap();
            let b = stepwise.instant_query(&*q, query, 5_000_000, &ctl).unwrap();
            same_value(&a.value, &b.value, &format!("{query} instant"));
        }
    }

    /// Subtrees whose selectors find native histograms go step by step, so
    /// the histograms are dropped with the same info annotation.
    #[test]
    fn histogram_selectors_are_not_batched() {
        let storage = MemStorage::new();
        let l = Labels::from_pairs(&[("__name__", "h"), ("job", "a")]);
        let f = Labels::from_pairs(&[("__name__", "h"), ("job", "b")]);
        storage
            .backfill(vec![(f, vec![(0, 1.0), (60_000, 2.0)])])
            .unwrap();
        let hist = crate::model::FloatHistogram {
            count: 3.0,
            sum: 6.0,
            ..Default::default()
        };
        storage
            .backfill_histograms(vec![(l, vec![(0, hist.clone()), (60_000, hist)])])
            .unwrap();
        let q = storage.querier();
        let ctl = QueryControl::default();
        for query in ["sum(h)", "h * 2", "count(h > 1)"] {
            let a = engine(1000)
                .range_query(&*q, query, 0, 120_000, 30_000, &ctl)
                .unwrap();
            let b = engine(1000)
                .step_by_step()
                .range_query(&*q, query, 0, 120_000, 30_000, &ctl)
                .unwrap();
            same_value(&a.value, &b.value, query);
            assert_eq!(a.annotations, b.annotations, "{query}");
            assert!(!a.annotations.infos.is_empty(), "{query}: {:?}", a.annotations);
        }
    }

    #[test]
    fn max_samples_counts_windows_held_at_once() {
        // 241 samples in all; `rate(up[5m])` holds a 20-sample window and
        // its 61 output points at once, so it fits in 100 ...
        let ctl = QueryControl::default();
        let out = engine(100)
            .range_query(&*one_series(), "rate(up[5m])", 0, 3_600_000, 60_000, &ctl)
            .unwrap();
        let Value::Matrix(m) = out.value else { panic!() };
        assert_eq!(m[0].points.len(), 60);
        assert!(out.stats.peak_samples <= 100, "{:?}", out.stats);
        assert_eq!(out.stats.total_samples_loaded, 241);
        // ... while an hour-long window of 240 samples does not.
        let err = engine(100)
            .range_query(
                &*one_series(),
                "max_over_time(up[1h])",
                0,
                3_600_000,
                60_000,
                &ctl,
            )
            .unwrap_err();
        assert!(matches!(err, PromqlError::TooManySamples), "{err}");
    }

    #[test]
    fn canceled_query_stops() {
        let ctl = QueryControl::default();
        ctl.cancel();
        let err = engine(1000)
            .instant_query(&*one_series(), "up", 0, &ctl)
            .unwrap_err();
        assert_eq!(err.error_type(), "canceled");
    }

    #[test]
    fn parse_errors_are_bad_data() {
        let err = engine(1000)
            .instant_query(&*one_series(), "sum(", 0, &QueryControl::default())
            .unwrap_err();
        assert_eq!(err.error_type(), "bad_data");
        let err = engine(1000)
            .instant_query(
                &*one_series(),
                "no_such_function(up)",
                0,
                &QueryControl::default(),
            )
            .unwrap_err();
        assert_eq!(err.error_type(), "bad_data");
    }
}
