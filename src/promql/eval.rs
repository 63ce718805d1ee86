//! The evaluator: one query's state (selector cache, limits, annotations)
//! and the evaluation of an expression at one step time. Range queries call
//! it once per step for what `batch.rs` did not already evaluate over all
//! steps (those nodes' results are read here step by step); selectors it
//! reads itself are streamed or loaded once for all steps.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use promql_parser::parser::{AtModifier, Expr, MatrixSelector, Offset, SubqueryExpr, VectorSelector};

use crate::model::{Labels, is_stale_nan};
use crate::tsdb::Querier;

use super::annotations::Annotations;
use super::batch::Precomputed;
use super::engine::QueryControl;
use super::error::PromqlError;
use super::histogram_selector::SelectorHistograms;
use super::selector::{Loaded, LoadedSeries, Streamed, StreamedSeries, selector_matcher_sets};
use super::value::{Elem, Points, RangeElem, Val};
use super::{aggregate, binary, functions};

/// Input label set address → (the label set, its group hash, its group's
/// labels).
pub(crate) type GroupKeys = HashMap<usize, (Arc<Labels>, u64, Arc<Labels>)>;

/// (series samples address, is max) → (window start, window end, index of
/// the extreme, its value).
pub(crate) type WindowExtremes = HashMap<(usize, bool), (usize, usize, usize, f64)>;

/// Selected series with their sample iterators, sorted by labels.
pub(crate) type SelectedIters = Vec<(Arc<Labels>, Box<dyn crate::tsdb::SampleIter>)>;

pub(crate) struct Evaluator<'a> {
    pub querier: &'a dyn Querier,
    pub query: &'a str,
    /// The top-level query's bounds, for `@ start()` / `@ end()`.
    pub start: i64,
    pub end: i64,
    /// Whether this is a range query (for the `sort` warning).
    pub is_range: bool,
    /// String literals that are invalid UTF-8 in Go terms, with their `%q`.
    pub invalid_literals: Vec<(String, String)>,
    pub lookback: i64,
    pub default_subquery_step: i64,
    /// Time span each selector node is read over, keyed by node address.
    pub spans: HashMap<usize, (i64, i64)>,
    pub cache: HashMap<usize, Loaded>,
    /// Instant selectors read forward (those outside subqueries, whose
    /// evaluation times only grow), keyed by node address.
    pub streams: HashMap<usize, Streamed>,
    /// Selector nodes under a subquery: evaluated at times that go back,
    /// so they are loaded whole instead of streamed.
    pub replayed: HashSet<usize>,
    /// Results of subtrees evaluated over all steps at once (`batch.rs`),
    /// keyed by node address.
    pub precomputed: HashMap<usize, Precomputed>,
    /// Samples read through streams (for `stats`).
    pub streamed_samples: usize,
    /// Nodes whose expression occurs more than once in the query, keyed by
    /// node address, with one id per distinct expression.
    pub shared: HashMap<usize, usize>,
    /// Results of shared expressions by (id, time): a repeated
    /// subexpression is computed once per evaluation time.
    pub step_cache: HashMap<(usize, i64), Val>,
    /// Per aggregation node: each input label set's group hash and group
    /// labels, kept across steps.
    pub group_keys: HashMap<usize, GroupKeys>,
    /// `max_over_time`/`min_over_time` answers of the previous step.
    pub window_extremes: WindowExtremes,
    pub annotations: Annotations,
    /// Native-histogram samples of instant selectors.
    pub histograms: SelectorHistograms,
    pub max_samples: usize,
    pub loaded_samples: usize,
    pub peak_samples: usize,
    pub ctl: &'a QueryControl,
    pub deadline: Instant,
}

pub(crate) fn duration_ms(d: &std::time::Duration) -> i64 {
    d.as_millis() as i64
}

pub(crate) fn offset_ms(o: &Option<Offset>) -> i64 {
    match o {
        None => 0,
        Some(Offset::Pos(d)) => duration_ms(d),
        Some(Offset::Neg(d)) => -duration_ms(d),
    }
}

pub(crate) fn system_time_ms(t: &SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_millis() as i64,
        Err(e) => -(e.duration().as_millis() as i64),
    }
}

impl<'a> Evaluator<'a> {
    /// The time a node with this `@` modifier is evaluated at.
    pub fn at_time(&self, at: &Option<AtModifier>, ts: i64) -> i64 {
        match at {
            None => ts,
            Some(AtModifier::Start) => self.start,
            Some(AtModifier::End) => self.end,
            Some(AtModifier::At(t)) => system_time_ms(t),
        }
    }

    pub fn check_limits(&self) -> Result<(), PromqlError> {
        if self.ctl.is_canceled() {
            return Err(PromqlError::Canceled("query execution"));
        }
        if Instant::now() > self.deadline {
            return Err(PromqlError::Timeout("query execution"));
        }
        Ok(())
    }

    /// Counts samples held by an intermediate result against `max_samples`.
    pub fn account(&mut self, n: usize) -> Result<(), PromqlError> {
        let held = self.loaded_samples + n;
        self.peak_samples = self.peak_samples.max(held);
        if held > self.max_samples {
            return Err(PromqlError::TooManySamples);
        }
        Ok(())
    }

    /// Counts `n` more samples held (by a window or a result being built);
    /// fails when that makes more than `max_samples` held at once.
    pub fn hold(&mut self, n: usize) -> Result<(), PromqlError> {
        self.loaded_samples += n;
        self.peak_samples = self.peak_samples.max(self.loaded_samples);
        if self.loaded_samples > self.max_samples {
            return Err(PromqlError::TooManySamples);
        }
        Ok(())
    }

    /// Counts `n` held samples as freed.
    pub fn release(&mut self, n: usize) {
        self.loaded_samples = self.loaded_samples.saturating_sub(n);
    }

    /// Prometheus accepts any valid UTF-8 label name; a literal written
    /// with raw bytes that are not UTF-8 is refused with its Go quoting.
    pub fn check_label_name(&self, name: &str, what: &str) -> Result<(), PromqlError> {
        if let Some((_, quoted)) = self.invalid_literals.iter().find(|(p, _)| p == name) {
            return Err(PromqlError::Execution(format!("{what}{quoted}")));
        }
        if name.is_empty() {
            return Err(PromqlError::Execution(format!("{what}\"\"")));
        }
        Ok(())
    }

    pub fn position(&self, needle: &str) -> (usize, usize) {
        Annotations::position(self.query, needle)
    }

    pub fn eval(&mut self, e: &Expr, ts: i64) -> Result<Val, PromqlError> {
        let Some(&id) = self.shared.get(&(e as *const Expr as usize)) else {
            return self.eval_node(e, ts);
        };
        if let Some(v) = self.step_cache.get(&(id, ts)) {
            return Ok(v.clone());
        }
        let v = self.eval_node(e, ts)?;
        self.step_cache.insert((id, ts), v.clone());
        Ok(v)
    }

    fn eval_node(&mut self, e: &Expr, ts: i64) -> Result<Val, PromqlError> {
        if let Some(p) = self.precomputed.get_mut(&(e as *const Expr as usize)) {
            return Ok(Val::Vector(p.at(ts)));
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
            let pos = self.position(&text);
            self.annotations.info(
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
        let key = vs as *const VectorSelector as usize;
        let fits = self
            .cache
            .get(&key)
            .is_some_and(|l| l.mint <= mint && l.maxt >= maxt);
        if !fits {
            let (mut lo, mut hi) = self.spans.get(&key).copied().unwrap_or((mint, maxt));
            if let Some(old) = self.cache.get(&key) {
                lo = lo.min(old.mint);
                hi = hi.max(old.maxt);
                self.loaded_samples -= old.series.iter().map(|s| s.samples.len()).sum::<usize>();
            }
            lo = lo.min(mint);
            hi = hi.max(maxt);
            let series = self.select(vs, lo, hi)?;
            // Sliding-window answers are keyed by sample addresses, which a
            // reload frees.
            self.window_extremes.clear();
            let n: usize = series.iter().map(|s| s.samples.len()).sum();
            self.account(n)?;
            self.loaded_samples += n;
            self.cache.insert(
                key,
                Loaded {
                    mint: lo,
                    maxt: hi,
                    series,
                },
            );
        }
        Ok(&self.cache[&key])
    }

    fn select(
        &mut self,
        vs: &VectorSelector,
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<LoadedSeries>, PromqlError> {
        let sets = selector_matcher_sets(vs)?;
        let mut by_labels: std::collections::BTreeMap<Labels, Vec<(i64, f64)>> = Default::default();
        let mut held = 0usize;
        for set in &sets {
            for mut s in self.querier.select(set, mint, maxt)? {
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
                if self.loaded_samples + held > self.max_samples {
                    return Err(PromqlError::TooManySamples);
                }
                by_labels.insert(s.labels, samples);
            }
            self.check_limits()?;
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
        let ref_t = self.at_time(&vs.at, ts) - offset_ms(&vs.offset);
        let lookback = self.lookback;
        let key = vs as *const VectorSelector as usize;
        let streamable =
            !self.replayed.contains(&key) && self.streams.get(&key).is_none_or(|s| s.last_ref <= ref_t);
        let mut out = if streamable {
            self.streamed_selector(vs, key, ref_t)?
        } else {
            self.loaded_selector(vs, ref_t)?
        };
        let span = self.spans.get(&key).copied().unwrap_or((ref_t - lookback, ref_t));
        self.histograms
            .merge_into(self.querier, vs, span, ref_t, lookback, &mut out)?;
        Ok(out)
    }

    fn loaded_selector(&mut self, vs: &VectorSelector, ref_t: i64) -> Result<Vec<Elem>, PromqlError> {
        let lookback = self.lookback;
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
        key: usize,
        ref_t: i64,
    ) -> Result<Vec<Elem>, PromqlError> {
        let lookback = self.lookback;
        if !self.streams.contains_key(&key) {
            let (lo, hi) = self.spans.get(&key).copied().unwrap_or((ref_t - lookback, ref_t));
            let series = self.open_streams(vs, lo, hi)?;
            self.streams.insert(
                key,
                Streamed {
                    last_ref: i64::MIN,
                    series,
                },
            );
        }
        let Some(stream) = self.streams.get_mut(&key) else {
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
        self.streamed_samples += read;
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
            .select_iters(vs, mint, maxt)?
            .into_iter()
            .map(|(l, iter)| StreamedSeries::new(l, iter, mint, maxt))
            .collect())
    }

    /// The selected series' sample iterators over `[mint, maxt]`, sorted by
    /// labels (one per label set, the first matcher set winning for `or`).
    pub fn select_iters(
        &mut self,
        vs: &VectorSelector,
        mint: i64,
        maxt: i64,
    ) -> Result<SelectedIters, PromqlError> {
        let sets = selector_matcher_sets(vs)?;
        if sets.len() == 1 {
            // Storage returns one matcher set's series sorted and unique.
            let selected = self.querier.select(&sets[0], mint, maxt)?;
            self.check_limits()?;
            return Ok(selected
                .into_iter()
                .map(|s| (Arc::new(s.labels), s.samples))
                .collect());
        }
        let mut by_labels: std::collections::BTreeMap<Labels, Box<dyn crate::tsdb::SampleIter>> =
            Default::default();
        for set in &sets {
            for s in self.querier.select(set, mint, maxt)? {
                by_labels.entry(s.labels).or_insert(s.samples);
            }
            self.check_limits()?;
        }
        Ok(by_labels
            .into_iter()
            .map(|(l, iter)| (Arc::new(l), iter))
            .collect())
    }

    pub fn matrix_selector(&mut self, ms: &MatrixSelector, ts: i64) -> Result<Vec<RangeElem>, PromqlError> {
        let vs = &ms.vs;
        let ref_t = self.at_time(&vs.at, ts) - offset_ms(&vs.offset);
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
        self.account(n)?;
        Ok(out)
    }

    /// The step times of a subquery evaluated at `ts`: aligned to multiples
    /// of its step, after `base - offset - range`, up to `base - offset`.
    pub fn subquery_steps(&self, sq: &SubqueryExpr, ts: i64) -> (i64, i64, i64) {
        let base = self.at_time(&sq.at, ts);
        let step = sq
            .step
            .as_ref()
            .map(duration_ms)
            .filter(|s| *s > 0)
            .unwrap_or(self.default_subquery_step);
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
            self.check_limits()?;
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
            self.account(held)?;
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

/// Records, for each selector node, the time span it will be read over when
/// the expression is evaluated at every time in `[mint, maxt]`, so each is
/// selected from storage once.
pub(crate) fn plan_spans(
    e: &Expr,
    mint: i64,
    maxt: i64,
    ctx: &SpanCtx,
    out: &mut HashMap<usize, (i64, i64)>,
) {
    let mut add = |vs: &VectorSelector, back: i64| {
        let (lo, hi) = match &vs.at {
            Some(at) => {
                let t = ctx.at(at);
                (t, t)
            }
            None => (mint, maxt),
        };
        let off = offset_ms(&vs.offset);
        let span = (lo - off - back, hi - off);
        let key = vs as *const VectorSelector as usize;
        out.entry(key)
            .and_modify(|s| {
                s.0 = s.0.min(span.0);
                s.1 = s.1.max(span.1);
            })
            .or_insert(span);
    };
    match e {
        Expr::VectorSelector(vs) => add(vs, ctx.lookback),
        Expr::MatrixSelector(ms) => add(&ms.vs, duration_ms(&ms.range)),
        Expr::Subquery(sq) => {
            let (lo, hi) = match &sq.at {
                Some(at) => {
                    let t = ctx.at(at);
                    (t, t)
                }
                None => (mint, maxt),
            };
            let off = offset_ms(&sq.offset);
            let range = duration_ms(&sq.range);
            plan_spans(&sq.expr, lo - off - range, hi - off, ctx, out);
        }
        Expr::Paren(p) => plan_spans(&p.expr, mint, maxt, ctx, out),
        Expr::Unary(u) => plan_spans(&u.expr, mint, maxt, ctx, out),
        Expr::Binary(b) => {
            plan_spans(&b.lhs, mint, maxt, ctx, out);
            plan_spans(&b.rhs, mint, maxt, ctx, out);
        }
        Expr::Aggregate(a) => {
            plan_spans(&a.expr, mint, maxt, ctx, out);
            if let Some(p) = &a.param {
                plan_spans(p, mint, maxt, ctx, out);
            }
        }
        Expr::Call(c) => {
            for a in &c.args.args {
                plan_spans(a, mint, maxt, ctx, out);
            }
        }
        Expr::NumberLiteral(_) | Expr::StringLiteral(_) | Expr::Extension(_) => {}
    }
}

pub(crate) struct SpanCtx {
    pub start: i64,
    pub end: i64,
    pub lookback: i64,
}

impl SpanCtx {
    fn at(&self, at: &AtModifier) -> i64 {
        match at {
            AtModifier::Start => self.start,
            AtModifier::End => self.end,
            AtModifier::At(t) => system_time_ms(t),
        }
    }
}

/// Records the selector nodes that sit under a subquery.
pub(crate) fn mark_replayed(e: &Expr, under_subquery: bool, out: &mut HashSet<usize>) {
    let mut walk = |child: &Expr| mark_replayed(child, under_subquery, out);
    match e {
        Expr::VectorSelector(vs) => {
            if under_subquery {
                out.insert(vs as *const VectorSelector as usize);
            }
        }
        Expr::MatrixSelector(ms) => {
            if under_subquery {
                out.insert(&ms.vs as *const VectorSelector as usize);
            }
        }
        Expr::Subquery(sq) => mark_replayed(&sq.expr, true, out),
        Expr::Paren(p) => walk(&p.expr),
        Expr::Unary(u) => walk(&u.expr),
        Expr::Binary(b) => {
            walk(&b.lhs);
            walk(&b.rhs);
        }
        Expr::Aggregate(a) => {
            walk(&a.expr);
            if let Some(p) = &a.param {
                walk(p);
            }
        }
        Expr::Call(c) => {
            for a in &c.args.args {
                walk(a);
            }
        }
        Expr::NumberLiteral(_) | Expr::StringLiteral(_) | Expr::Extension(_) => {}
    }
}

/// Gives every expression that occurs more than once in the query (by its
/// printed form) an id, keyed by the address of each of its nodes.
pub(crate) fn shared_subexpressions(root: &Expr) -> HashMap<usize, usize> {
    fn walk<'e>(e: &'e Expr, out: &mut Vec<(&'e Expr, String)>) {
        match e {
            Expr::NumberLiteral(_) | Expr::StringLiteral(_) | Expr::Extension(_) => return,
            Expr::Paren(p) => walk(&p.expr, out),
            Expr::Unary(u) => walk(&u.expr, out),
            Expr::Binary(b) => {
                walk(&b.lhs, out);
                walk(&b.rhs, out);
            }
            Expr::Aggregate(a) => {
                walk(&a.expr, out);
                if let Some(p) = &a.param {
                    walk(p, out);
                }
            }
            Expr::Call(c) => {
                for a in &c.args.args {
                    walk(a, out);
                }
            }
            Expr::Subquery(sq) => walk(&sq.expr, out),
            Expr::VectorSelector(_) | Expr::MatrixSelector(_) => {}
        }
        if !matches!(e, Expr::Paren(_)) {
            out.push((e, e.to_string()));
        }
    }
    let mut nodes = Vec::new();
    walk(root, &mut nodes);
    let mut count: HashMap<&str, usize> = HashMap::new();
    for (_, text) in &nodes {
        *count.entry(text.as_str()).or_default() += 1;
    }
    let mut ids: HashMap<&str, usize> = HashMap::new();
    let mut out = HashMap::new();
    for (e, text) in &nodes {
        if count[text.as_str()] < 2 {
            continue;
        }
        let next = ids.len();
        let id = *ids.entry(text.as_str()).or_insert(next);
        out.insert(*e as *const Expr as usize, id);
    }
    out
}
