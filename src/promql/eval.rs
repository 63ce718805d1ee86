//! The per-step evaluator: the value of an expression at one step time.
//! Range queries call it once per step for what the evaluation over all
//! steps (`batch/`) did not precompute; it reads those results from the
//! cache step by step. Selectors it reads itself are streamed or loaded
//! once for all steps.
//!
//! Evaluation is recursive here and only here: [`Evaluator::eval`]
//! dispatches a node to its evaluator (`binary.rs`, `aggregate.rs`, the
//! function table in `functions/table.rs`), which calls back into
//! `Evaluator::eval*` for its operands. Those files and this one import
//! each other for that reason alone.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use promql_parser::parser::{Expr, MatrixSelector, SubqueryExpr, VectorSelector};

use crate::model::{Labels, is_stale_nan};

use super::cache::EvalCache;
use super::context::EvalContext;
use super::error::PromqlError;
use super::node::NodeId;
use super::selector::{Loaded, LoadedSeries, Streamed, StreamedSeries, selector_matcher_sets};
use super::time::{duration_ms, offset_ms};
use super::value::{Elem, Points, RangeElem, Val};
use super::{aggregate, binary, functions};

pub(crate) struct Evaluator<'a> {
    pub ctx: EvalContext<'a>,
    pub cache: EvalCache,
}

impl<'a> Evaluator<'a> {
    pub fn eval(&mut self, e: &Expr, ts: i64) -> Result<Val, PromqlError> {
        let Some(id) = self.ctx.plan.shared_id(e) else {
            return self.eval_node(e, ts);
        };
        if let Some(v) = self.cache.step_result(id, ts) {
            return Ok(v.clone());
        }
        let v = self.eval_node(e, ts)?;
        self.cache.keep_step_result(id, ts, v.clone());
        Ok(v)
    }

    fn eval_node(&mut self, e: &Expr, ts: i64) -> Result<Val, PromqlError> {
        if let Some(v) = self.cache.precomputed_at(NodeId::of_expr(e), ts) {
            return Ok(Val::Vector(v));
        }
        match e {
            Expr::NumberLiteral(n) => Ok(Val::Scalar(n.val)),
            Expr::StringLiteral(s) => Ok(Val::Str(s.val.clone())),
            Expr::Paren(p) => self.eval(&p.expr, ts),
            Expr::Unary(u) => match self.eval(&u.expr, ts)? {
                Val::Scalar(v) => Ok(Val::Scalar(-v)),
                Val::Vector(v) => {
                    let mut v = self.floats_only(v, &u.expr);
                    for el in &mut v {
                        el.v = -el.v;
                        el.t = ts;
                        el.drop_name = true;
                    }
                    Ok(Val::Vector(v))
                }
                other => Err(PromqlError::Execution(format!(
                    "unary expression only allowed on expressions of type scalar or vector, got: {}",
                    other.type_name()
                ))),
            },
            Expr::VectorSelector(vs) => self.vector_selector(vs, ts).map(Val::Vector),
            Expr::MatrixSelector(ms) => self.matrix_selector(ms, ts).map(Val::Matrix),
            Expr::Subquery(sq) => self.subquery(sq, ts).map(Val::Matrix),
            Expr::Binary(b) => binary::eval(self, b, ts),
            Expr::Aggregate(a) => aggregate::eval(self, a, ts),
            Expr::Call(c) => functions::call(self, c, ts),
            Expr::Extension(_) => Err(PromqlError::Execution(
                "extension expressions are not supported".into(),
            )),
        }
    }

    /// An instant vector of float samples: operations read floats only, so
    /// native-histogram samples are dropped here, with an info annotation.
    pub fn eval_vector(&mut self, e: &Expr, ts: i64) -> Result<Vec<Elem>, PromqlError> {
        let v = self.eval_vector_with_histograms(e, ts)?;
        Ok(self.floats_only(v, e))
    }

    /// An instant vector as evaluated, native histograms included, for the
    /// operations that pass samples on unchanged (label functions, set
    /// operators).
    pub fn eval_vector_with_histograms(&mut self, e: &Expr, ts: i64) -> Result<Vec<Elem>, PromqlError> {
        match self.eval(e, ts)? {
            Val::Vector(v) => Ok(v),
            other => Err(PromqlError::Execution(format!(
                "expected an instant vector, got {}",
                other.type_name()
            ))),
        }
    }

    /// Drops native-histogram samples, saying so once per expression.
    pub fn floats_only(&mut self, mut v: Vec<Elem>, e: &Expr) -> Vec<Elem> {
        let before = v.len();
        v.retain(|el| el.h.is_none());
        if v.len() < before {
            let text = e.to_string();
            let pos = self.ctx.position(&text);
            self.ctx.annotations.info(
                format!(
                    "ignored native histogram samples of {text:?}: this operation reads float samples only"
                ),
                pos,
            );
        }
        v
    }

    pub fn eval_scalar(&mut self, e: &Expr, ts: i64) -> Result<f64, PromqlError> {
        match self.eval(e, ts)? {
            Val::Scalar(v) => Ok(v),
            other => Err(PromqlError::Execution(format!(
                "expected a scalar, got {}",
                other.type_name()
            ))),
        }
    }

    pub fn eval_matrix(&mut self, e: &Expr, ts: i64) -> Result<Vec<RangeElem>, PromqlError> {
        match self.eval(e, ts)? {
            Val::Matrix(m) => Ok(m),
            other => Err(PromqlError::Execution(format!(
                "expected a range vector, got {}",
                other.type_name()
            ))),
        }
    }

    /// The selected series of a selector node, loaded on first use over the
    /// whole span the query reads it at.
    fn loaded(&mut self, vs: &VectorSelector, mint: i64, maxt: i64) -> Result<&Loaded, PromqlError> {
        let id = NodeId::of_selector(vs);
        let old = self.cache.loaded(id).map(|l| (l.mint, l.maxt));
        if let Some((lo, hi)) = old
            && lo <= mint
            && hi >= maxt
        {
            // Checked just above; `loaded` cannot miss here.
            return self.cache.loaded(id).ok_or_else(|| unreachable_cache(vs));
        }
        let (mut lo, mut hi) = self.ctx.plan.span(vs).unwrap_or((mint, maxt));
        if let Some((old_lo, old_hi)) = old {
            lo = lo.min(old_lo);
            hi = hi.max(old_hi);
            let freed: usize = self
                .cache
                .loaded(id)
                .map_or(0, |l| l.series.iter().map(|s| s.samples.len()).sum());
            self.ctx.samples.held -= freed;
        }
        lo = lo.min(mint);
        hi = hi.max(maxt);
        let series = self.select(vs, lo, hi)?;
        let n: usize = series.iter().map(|s| s.samples.len()).sum();
        self.ctx.account(n)?;
        self.ctx.samples.held += n;
        Ok(self.cache.insert_loaded(
            id,
            Loaded {
                mint: lo,
                maxt: hi,
                series,
            },
        ))
    }

    fn select(
        &mut self,
        vs: &VectorSelector,
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<LoadedSeries>, PromqlError> {
        let sets = selector_matcher_sets(vs)?;
        let mut by_labels: BTreeMap<Labels, Vec<(i64, f64)>> = Default::default();
        let mut held = 0usize;
        for set in &sets {
            for mut s in self.ctx.querier.select(set, mint, maxt)? {
                if by_labels.contains_key(&s.labels) {
                    continue;
                }
                let mut samples = Vec::new();
                while let Some(p) = s.samples.next() {
                    if p.0 > maxt {
                        break;
                    }
                    if p.0 >= mint {
                        samples.push(p);
                    }
                }
                held += samples.len();
                if self.ctx.samples.held + held > self.ctx.samples.max {
                    return Err(PromqlError::TooManySamples);
                }
                by_labels.insert(s.labels, samples);
            }
            self.ctx.check_limits()?;
        }
        Ok(by_labels
            .into_iter()
            .map(|(l, samples)| LoadedSeries {
                metric: Arc::new(l),
                has_stale: samples.iter().any(|s| is_stale_nan(s.1)),
                samples: samples.into(),
                cursor: Default::default(),
            })
            .collect())
    }

    pub fn vector_selector(&mut self, vs: &VectorSelector, ts: i64) -> Result<Vec<Elem>, PromqlError> {
        let ref_t = self.ctx.at_time(&vs.at, ts) - offset_ms(&vs.offset);
        let lookback = self.ctx.lookback;
        let id = NodeId::of_selector(vs);
        let streamable =
            !self.ctx.plan.is_replayed(vs) && self.cache.stream_last_ref(id).is_none_or(|last| last <= ref_t);
        let mut out = if streamable {
            self.streamed_selector(vs, id, ref_t)?
        } else {
            self.loaded_selector(vs, ref_t)?
        };
        let span = self.ctx.plan.span(vs).unwrap_or((ref_t - lookback, ref_t));
        self.cache
            .histograms()
            .merge_into(self.ctx.querier, vs, span, ref_t, lookback, &mut out)?;
        Ok(out)
    }

    fn loaded_selector(&mut self, vs: &VectorSelector, ref_t: i64) -> Result<Vec<Elem>, PromqlError> {
        let lookback = self.ctx.lookback;
        let loaded = self.loaded(vs, ref_t - lookback, ref_t)?;
        let out: Vec<Elem> = loaded
            .series
            .iter()
            .filter_map(|s| {
                s.at(ref_t, lookback).map(|(t, v)| Elem {
                    metric: s.metric.clone(),
                    t,
                    v,
                    h: None,
                    drop_name: false,
                })
            })
            .collect();
        Ok(out)
    }

    fn streamed_selector(
        &mut self,
        vs: &VectorSelector,
        id: NodeId,
        ref_t: i64,
    ) -> Result<Vec<Elem>, PromqlError> {
        let lookback = self.ctx.lookback;
        if !self.cache.has_stream(id) {
            let (lo, hi) = self.ctx.plan.span(vs).unwrap_or((ref_t - lookback, ref_t));
            let series = self.open_streams(vs, lo, hi)?;
            self.cache.insert_stream(
                id,
                Streamed {
                    last_ref: i64::MIN,
                    series,
                },
            );
        }
        let Some(stream) = self.cache.stream_mut(id) else {
            return Ok(Vec::new());
        };
        stream.last_ref = ref_t;
        let mut read = 0;
        let mut out = Vec::new();
        for s in &mut stream.series {
            let (found, n) = s.at(ref_t, lookback);
            read += n;
            if let Some((t, v)) = found {
                out.push(Elem {
                    metric: s.metric.clone(),
                    t,
                    v,
                    h: None,
                    drop_name: false,
                });
            }
        }
        self.ctx.samples.streamed += read;
        Ok(out)
    }

    /// Opens the selected series as forward streams over `[mint, maxt]`
    /// (one per label set, the first matcher set winning for `or`).
    fn open_streams(
        &mut self,
        vs: &VectorSelector,
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<StreamedSeries>, PromqlError> {
        Ok(self
            .ctx
            .select_iters(vs, mint, maxt)?
            .into_iter()
            .map(|(l, iter)| StreamedSeries::new(l, iter, mint, maxt))
            .collect())
    }

    pub fn matrix_selector(&mut self, ms: &MatrixSelector, ts: i64) -> Result<Vec<RangeElem>, PromqlError> {
        let vs = &ms.vs;
        let ref_t = self.ctx.at_time(&vs.at, ts) - offset_ms(&vs.offset);
        let range = duration_ms(&ms.range);
        let loaded = self.loaded(vs, ref_t - range, ref_t)?;
        let out: Vec<RangeElem> = loaded
            .series
            .iter()
            .filter_map(|s| {
                let points = s.window(ref_t, range);
                if points.is_empty() {
                    return None;
                }
                Some(RangeElem {
                    metric: s.metric.clone(),
                    points,
                    drop_name: false,
                })
            })
            .collect();
        let n: usize = out.iter().map(|s| s.points.len()).sum();
        self.ctx.account(n)?;
        Ok(out)
    }

    /// The step times of a subquery evaluated at `ts`: aligned to multiples
    /// of its step, after `base - offset - range`, up to `base - offset`.
    pub fn subquery_steps(&self, sq: &SubqueryExpr, ts: i64) -> (i64, i64, i64) {
        let base = self.ctx.at_time(&sq.at, ts);
        let step = sq
            .step
            .as_ref()
            .map(duration_ms)
            .filter(|s| *s > 0)
            .unwrap_or(self.ctx.default_subquery_step);
        let range = duration_ms(&sq.range);
        let off = offset_ms(&sq.offset);
        let from = base - off - range;
        let mut first = step * (from / step);
        if first <= from {
            first += step;
        }
        (first, base - off, step)
    }

    pub fn subquery(&mut self, sq: &SubqueryExpr, ts: i64) -> Result<Vec<RangeElem>, PromqlError> {
        let (first, last, step) = self.subquery_steps(sq, ts);
        let mut order: Vec<(Arc<Labels>, bool)> = Vec::new();
        let mut index: HashMap<Arc<Labels>, usize> = HashMap::new();
        let mut points: Vec<Vec<(i64, f64)>> = Vec::new();
        let mut held = 0usize;
        let mut t = first;
        while t <= last {
            self.ctx.check_limits()?;
            match self.eval(&sq.expr, t)? {
                Val::Scalar(v) => {
                    let key = Arc::new(Labels::default());
                    let i = *index.entry(key.clone()).or_insert_with(|| {
                        order.push((key, false));
                        points.push(Vec::new());
                        points.len() - 1
                    });
                    points[i].push((t, v));
                    held += 1;
                }
                Val::Vector(v) => {
                    for el in self.floats_only(v, &sq.expr) {
                        let i = match index.get(&el.metric) {
                            Some(i) => *i,
                            None => {
                                index.insert(el.metric.clone(), points.len());
                                order.push((el.metric.clone(), el.drop_name));
                                points.push(Vec::new());
                                points.len() - 1
                            }
                        };
                        order[i].1 |= el.drop_name;
                        points[i].push((t, el.v));
                        held += 1;
                    }
                }
                other => {
                    return Err(PromqlError::Execution(format!(
                        "subquery is only allowed on instant vector or scalar, got {}",
                        other.type_name()
                    )));
                }
            }
            self.ctx.account(held)?;
            t += step;
        }
        Ok(order
            .into_iter()
            .zip(points)
            .map(|((metric, drop_name), points)| RangeElem {
                metric,
                points: Points::Owned(points),
                drop_name,
            })
            .collect())
    }
}

/// The error for a selector cache entry that vanished between two reads
/// of the same call, which cannot happen.
fn unreachable_cache(vs: &VectorSelector) -> PromqlError {
    PromqlError::Execution(format!("internal error: the series of {vs} were not kept"))
}
