//! Evaluation over all steps at once, node by node, as Prometheus evaluates
//! range queries, for the shapes queries spend their time in: a vector
//! selector, a range function (`rate`, `*_over_time`, …) over a matrix
//! selector, and the plain aggregations (`sum`, `avg`, `count`, `min`,
//! `max`, `group`, `stddev`, `stdvar`) of those.
//!
//! Such a subtree produces its result one series at a time: each selected
//! series' samples are read once, forward, a decoded chunk at a time, with a
//! window sliding across the steps; an aggregation folds each finished
//! series into its groups' per-step accumulators. Only one series' window
//! and points are held at a time besides the results, nothing is allocated
//! per step, and `max_samples` counts what is held at once.
//!
//! The engine evaluates the largest such subtrees first ([`precompute`]);
//! the per-step evaluator (`eval.rs`) then reads their results step by step
//! and evaluates the rest of the query (binary operators, other functions,
//! subqueries) per step.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use promql_parser::parser::token::*;
use promql_parser::parser::{AggregateExpr, BinaryExpr, Call, Expr, VectorSelector};

use crate::model::{Labels, is_stale_nan};
use crate::tsdb::SampleIter;

use super::aggregate::{go_g, group_hash, group_labels, grouping, kahan_inc};
use super::binary::{is_arithmetic_or_comparison, vector_scalar_drops_name, vector_scalar_value};
use super::error::PromqlError;
use super::eval::{Evaluator, SelectedIters, duration_ms, offset_ms};
use super::functions::{
    better_extreme, counter_window_value, extrapolated_rate_with_resets, instant_value, non_counter_info,
    over_time_keeps_name, unwrap_parens, value_over,
};
use super::selector::selector_matcher_sets;
use super::value::Elem;

/// The evaluation times of a query: `count` steps from `start`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Steps {
    pub start: i64,
    pub step: i64,
    pub count: usize,
}

impl Steps {
    fn time(&self, i: usize) -> i64 {
        self.start + i as i64 * self.step
    }

    fn index(&self, t: i64) -> usize {
        ((t - self.start) / self.step) as usize
    }
}

/// One series of a subtree's result over all steps.
pub(crate) struct StepSeries {
    pub metric: Arc<Labels>,
    pub drop_name: bool,
    /// (step time, value), ascending.
    pub points: Vec<(i64, f64)>,
}

/// A subtree's result, read step by step by the per-step evaluator.
pub(crate) struct Precomputed {
    pub series: Vec<StepSeries>,
    cursors: Vec<usize>,
}

impl Precomputed {
    fn new(series: Vec<StepSeries>) -> Self {
        Precomputed {
            cursors: vec![0; series.len()],
            series,
        }
    }

    /// The result at step time `ts`. Steps are asked in order, so each
    /// series' cursor only moves forward; any other time is searched for.
    pub fn at(&mut self, ts: i64) -> Vec<Elem> {
        let mut out = Vec::new();
        for (s, cur) in self.series.iter().zip(&mut self.cursors) {
            if s.points.get(*cur).is_none_or(|p| p.0 != ts) {
                *cur = s.points.partition_point(|p| p.0 < ts);
            }
            if let Some(&(t, v)) = s.points.get(*cur).filter(|p| p.0 == ts) {
                *cur += 1;
                out.push(Elem {
                    metric: s.metric.clone(),
                    t,
                    v,
                    h: None,
                    drop_name: s.drop_name,
                });
            }
        }
        out
    }
}

const RANGE_FUNCTIONS: [&str; 19] = [
    "changes",
    "resets",
    "deriv",
    "rate",
    "increase",
    "delta",
    "irate",
    "idelta",
    "avg_over_time",
    "sum_over_time",
    "count_over_time",
    "min_over_time",
    "max_over_time",
    "last_over_time",
    "first_over_time",
    "stddev_over_time",
    "stdvar_over_time",
    "present_over_time",
    "mad_over_time",
];

fn is_folding_aggregation(op: TokenId) -> bool {
    matches!(
        op,
        T_SUM | T_AVG | T_COUNT | T_MIN | T_MAX | T_GROUP | T_STDDEV | T_STDVAR
    )
}

/// Range functions taking a matrix selector and a number literal (the
/// position of the matrix argument): per step, the number would be the
/// same.
const RANGE_FUNCTIONS_WITH_PARAM: [(&str, usize); 2] = [("predict_linear", 0), ("quantile_over_time", 1)];

fn is_number(e: &Expr) -> bool {
    matches!(unwrap_parens(e), Expr::NumberLiteral(_))
}

/// The matrix selector argument of a batchable range function call.
fn range_call_matrix(c: &Call) -> Option<&Expr> {
    let args = &c.args.args;
    let (at, param) = if RANGE_FUNCTIONS.contains(&c.func.name) {
        (0, None)
    } else {
        let &(_, at) = RANGE_FUNCTIONS_WITH_PARAM
            .iter()
            .find(|(n, _)| *n == c.func.name)?;
        (at, Some(1 - at))
    };
    if args.len() != 1 + param.is_some() as usize || param.is_some_and(|i| !is_number(&args[i])) {
        return None;
    }
    let m: &Expr = &args[at];
    matches!(unwrap_parens(m), Expr::MatrixSelector(_)).then_some(m)
}

/// Whether `e` is a shape evaluated over all steps at once.
pub(crate) fn batchable(e: &Expr) -> bool {
    match e {
        Expr::Paren(p) => batchable(&p.expr),
        Expr::Call(c) => range_call_matrix(c).is_some(),
        Expr::Aggregate(a) => {
            a.param.is_none() && is_folding_aggregation(a.op.id()) && vector_operand(&a.expr)
        }
        Expr::Binary(b) => vector_with_number(b).is_some(),
        _ => false,
    }
}

/// A batchable subtree or a vector selector.
fn vector_operand(e: &Expr) -> bool {
    batchable(e) || matches!(unwrap_parens(e), Expr::VectorSelector(_))
}

/// The value of a number literal (possibly negated or in parentheses).
fn number_literal(e: &Expr) -> Option<f64> {
    match e {
        Expr::NumberLiteral(n) => Some(n.val),
        Expr::Paren(p) => number_literal(&p.expr),
        Expr::Unary(u) => number_literal(&u.expr).map(|v| -v),
        _ => None,
    }
}

/// An arithmetic or comparison operation between a batchable vector
/// operand and a number literal: (the vector operand, the number, whether
/// the number is on the left).
fn vector_with_number(b: &BinaryExpr) -> Option<(&Expr, f64, bool)> {
    if !is_arithmetic_or_comparison(b.op.id()) || b.modifier.as_ref().is_some_and(|m| m.matching.is_some()) {
        return None;
    }
    match (number_literal(&b.lhs), number_literal(&b.rhs)) {
        (None, Some(s)) if vector_operand(&b.lhs) => Some((&b.lhs, s, false)),
        (Some(s), None) if vector_operand(&b.rhs) => Some((&b.rhs, s, true)),
        _ => None,
    }
}

/// Evaluates the largest batchable subtrees of `e` (outside subqueries,
/// whose evaluation times differ) over all `steps`, keeping their results
/// in `ev.precomputed` by node address.
pub(crate) fn precompute(ev: &mut Evaluator, e: &Expr, steps: &Steps) -> Result<(), PromqlError> {
    if batchable(e) && !reads_histograms(ev, e)? {
        let series = collect(ev, e, steps)?;
        ev.precomputed
            .insert(e as *const Expr as usize, Precomputed::new(series));
        return Ok(());
    }
    match e {
        Expr::Paren(p) => precompute(ev, &p.expr, steps),
        Expr::Unary(u) => precompute(ev, &u.expr, steps),
        Expr::Binary(b) => {
            precompute(ev, &b.lhs, steps)?;
            precompute(ev, &b.rhs, steps)
        }
        Expr::Aggregate(a) => {
            precompute(ev, &a.expr, steps)?;
            match &a.param {
                Some(p) => precompute(ev, p, steps),
                None => Ok(()),
            }
        }
        Expr::Call(c) => {
            for a in &c.args.args {
                precompute(ev, a, steps)?;
            }
            Ok(())
        }
        Expr::Subquery(_)
        | Expr::VectorSelector(_)
        | Expr::MatrixSelector(_)
        | Expr::NumberLiteral(_)
        | Expr::StringLiteral(_)
        | Expr::Extension(_) => Ok(()),
    }
}

/// Whether an instant selector in `e` selects native-histogram samples
/// (only `MemStorage` holds any): those subtrees go step by step, where
/// selectors merge histograms in and operations drop them with an info.
fn reads_histograms(ev: &mut Evaluator, e: &Expr) -> Result<bool, PromqlError> {
    Ok(match e {
        Expr::VectorSelector(vs) => {
            let key = vs as *const VectorSelector as usize;
            let Some(&(lo, hi)) = ev.spans.get(&key) else {
                return Ok(false);
            };
            for set in selector_matcher_sets(vs)? {
                if !ev.querier.select_histograms(&set, lo, hi)?.is_empty() {
                    return Ok(true);
                }
            }
            false
        }
        Expr::Paren(p) => reads_histograms(ev, &p.expr)?,
        Expr::Aggregate(a) => reads_histograms(ev, &a.expr)?,
        Expr::Binary(b) => reads_histograms(ev, &b.lhs)? || reads_histograms(ev, &b.rhs)?,
        _ => false,
    })
}

/// Receives a subtree's result one series at a time: labels, whether the
/// name is to be dropped, and its (step time, value) points. The points
/// are the producer's buffer: a sink copies what it keeps, and counts it.
type Sink<'s> = dyn FnMut(&mut Evaluator, &Arc<Labels>, bool, &[(i64, f64)]) -> Result<(), PromqlError> + 's;

fn collect(ev: &mut Evaluator, e: &Expr, steps: &Steps) -> Result<Vec<StepSeries>, PromqlError> {
    let mut out = Vec::new();
    produce(ev, e, steps, &mut |ev, metric, drop_name, points| {
        ev.hold(points.len())?;
        out.push(StepSeries {
            metric: metric.clone(),
            drop_name,
            points: points.to_vec(),
        });
        Ok(())
    })?;
    Ok(out)
}

fn produce(ev: &mut Evaluator, e: &Expr, steps: &Steps, sink: &mut Sink) -> Result<(), PromqlError> {
    match e {
        Expr::Paren(p) => produce(ev, &p.expr, steps, sink),
        Expr::VectorSelector(vs) => selector(ev, vs, steps, sink),
        Expr::Call(c) => range_function(ev, c, steps, sink),
        Expr::Aggregate(a) => aggregate(ev, a, steps, sink),
        Expr::Binary(b) => with_number(ev, b, steps, sink),
        _ => Err(PromqlError::Execution(format!(
            "internal error: {e} cannot be evaluated over all steps at once"
        ))),
    }
}

/// Reads one series' samples forward a decoded chunk at a time, so the
/// loops over samples make no call per sample.
struct Cursor<'b> {
    iter: Box<dyn SampleIter>,
    /// A buffer reused from series to series.
    buf: &'b mut Vec<(i64, f64)>,
    pos: usize,
    read: usize,
}

impl<'b> Cursor<'b> {
    fn new(iter: Box<dyn SampleIter>, buf: &'b mut Vec<(i64, f64)>) -> Self {
        buf.clear();
        Cursor {
            iter,
            buf,
            pos: 0,
            read: 0,
        }
    }

    #[inline]
    fn peek(&mut self) -> Option<(i64, f64)> {
        if self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
            if !self.iter.next_batch(self.buf) {
                return None;
            }
            self.read += self.buf.len();
        }
        Some(self.buf[self.pos])
    }

    #[inline]
    fn advance(&mut self) {
        self.pos += 1;
    }
}

/// What one series' pass over its samples produced.
struct SeriesPass {
    points: Vec<(i64, f64)>,
    /// Samples read from storage.
    read: usize,
    /// Whether any step's window held a sample (range functions).
    any_window: bool,
    /// The most samples its window held at once.
    peak_window: usize,
}

/// Threads that run series passes: a pass is pure (a series' samples in,
/// its points out), so the series of a block are split between threads;
/// their results are then handed on in series order, so results and float
/// summation orders do not depend on the split.
fn pass_threads() -> usize {
    static THREADS: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *THREADS.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()).min(4))
}

/// Series per thread in a block: bounds the points held between the
/// passes and the sink.
const SERIES_PER_THREAD: usize = 256;

/// Series × steps below which a query's series passes stay on one thread.
const PARALLEL_WORK: usize = 4096;

/// Takes each series' pass result, in series order.
type Emit<'e> = dyn FnMut(&mut Evaluator, &Arc<Labels>, SeriesPass) -> Result<(), PromqlError> + 'e;

/// Runs `pass` over every selected series, a block at a time (in parallel
/// where there are enough), then `emit`s each result in series order.
fn each_series<P>(
    ev: &mut Evaluator,
    series: SelectedIters,
    steps: &Steps,
    pass: P,
    emit: &mut Emit,
) -> Result<(), PromqlError>
where
    P: Fn(Box<dyn SampleIter>, &mut Vec<(i64, f64)>) -> SeriesPass + Sync,
{
    // Threads pay off from a few thousand series-steps (an instant query
    // reads about 16 steps' worth of samples per series).
    let work = series.len().saturating_mul(steps.count.max(16));
    let threads = if work >= PARALLEL_WORK { pass_threads() } else { 1 };
    let mut rest = series.into_iter();
    loop {
        ev.check_limits()?;
        let block: Vec<_> = rest.by_ref().take(SERIES_PER_THREAD * threads).collect();
        if block.is_empty() {
            return Ok(());
        }
        let results = run_block(block, threads, &pass)?;
        // Held at once: the block's points, and a window per thread.
        let points: usize = results.iter().map(|r| r.1.points.len()).sum();
        let windows = results.iter().map(|r| r.1.peak_window).max().unwrap_or(0) * threads.min(results.len());
        ev.hold(points + windows)?;
        ev.release(windows);
        for (metric, r) in results {
            // The sink counts what it keeps of these points.
            ev.release(r.points.len());
            ev.streamed_samples += r.read;
            emit(ev, &metric, r)?;
        }
    }
}

type Block = SelectedIters;

fn run_block<P>(block: Block, threads: usize, pass: &P) -> Result<Vec<(Arc<Labels>, SeriesPass)>, PromqlError>
where
    P: Fn(Box<dyn SampleIter>, &mut Vec<(i64, f64)>) -> SeriesPass + Sync,
{
    let run = |part: Block| -> Vec<(Arc<Labels>, SeriesPass)> {
        let mut buf = Vec::new();
        part.into_iter()
            .map(|(m, iter)| (m, pass(iter, &mut buf)))
            .collect()
    };
    if threads < 2 || block.len() < 16 {
        return Ok(run(block));
    }
    let per = block.len().div_ceil(threads);
    let mut parts: Vec<Block> = Vec::with_capacity(threads);
    let mut block = block;
    while block.len() > per {
        let tail = block.split_off(per);
        parts.push(block);
        block = tail;
    }
    parts.push(block);
    let mut parts = parts.into_iter();
    let first = parts.next().unwrap_or_default();
    std::thread::scope(|scope| {
        let handles: Vec<_> = parts.map(|part| scope.spawn(move || run(part))).collect();
        let mut out = run(first);
        for h in handles {
            match h.join() {
                Ok(more) => out.extend(more),
                Err(_) => {
                    return Err(PromqlError::Execution(
                        "internal error: a series evaluation thread panicked".into(),
                    ));
                }
            }
        }
        Ok(out)
    })
}

/// The reference time of each step for a selector with this `@` and
/// offset.
fn reference_times(ev: &Evaluator, vs: &VectorSelector, steps: &Steps) -> Vec<i64> {
    let off = offset_ms(&vs.offset);
    (0..steps.count)
        .map(|k| ev.at_time(&vs.at, steps.time(k)) - off)
        .collect()
}

/// An instant vector selector: per series, the newest non-stale sample
/// within the lookback of each step.
fn selector(
    ev: &mut Evaluator,
    vs: &VectorSelector,
    steps: &Steps,
    sink: &mut Sink,
) -> Result<(), PromqlError> {
    let key = vs as *const VectorSelector as usize;
    let last = steps.time(steps.count.saturating_sub(1));
    let (lo, hi) = ev
        .spans
        .get(&key)
        .copied()
        .unwrap_or((steps.start - ev.lookback, last));
    let series = ev.select_iters(vs, lo, hi)?;
    let refs = reference_times(ev, vs, steps);
    let lookback = ev.lookback;
    let steps = *steps;
    let pass = |iter, buf: &mut Vec<(i64, f64)>| selector_pass(iter, buf, &refs, &steps, lookback);
    each_series(ev, series, &steps, pass, &mut |ev, metric, r| {
        if r.points.is_empty() {
            return Ok(());
        }
        sink(ev, metric, false, &r.points)
    })
}

fn selector_pass(
    iter: Box<dyn SampleIter>,
    buf: &mut Vec<(i64, f64)>,
    refs: &[i64],
    steps: &Steps,
    lookback: i64,
) -> SeriesPass {
    let mut cur = Cursor::new(iter, buf);
    let mut points = Vec::with_capacity(refs.len());
    let mut prev: Option<(i64, f64)> = None;
    for (k, &ref_t) in refs.iter().enumerate() {
        while let Some(s) = cur.peek() {
            if s.0 > ref_t {
                break;
            }
            prev = Some(s);
            cur.advance();
        }
        if let Some((t, v)) = prev
            && t > ref_t - lookback
            && !is_stale_nan(v)
        {
            points.push((steps.time(k), v));
        }
    }
    SeriesPass {
        points,
        read: cur.read,
        any_window: false,
        peak_window: 1,
    }
}

#[derive(Clone, Copy, PartialEq)]
enum RangeFn {
    /// `rate`, `increase`, `delta`: (is a counter, is per second).
    Extrapolated(bool, bool),
    /// `irate`, `idelta`: is per second.
    Instant(bool),
    /// `min_over_time`, `max_over_time`: is max.
    Extreme(bool),
    /// `changes`, `resets`, `deriv`, `predict_linear`.
    Regression,
    OverTime,
}

/// The extreme of a sliding window: candidates in window order, each one
/// not beaten by a later one, so the front is the window's extreme (the
/// first of equals, as a scan from the left finds). NaNs never enter; a
/// window of NaNs only has the NaN answer a scan would give.
#[derive(Default)]
struct SlidingExtreme {
    candidates: VecDeque<(usize, f64)>,
}

impl SlidingExtreme {
    fn push(&mut self, at: usize, v: f64, is_max: bool) {
        if v.is_nan() {
            return;
        }
        while self
            .candidates
            .back()
            .is_some_and(|&(_, m)| better_extreme(v, m, is_max))
        {
            self.candidates.pop_back();
        }
        self.candidates.push_back((at, v));
    }

    /// The extreme of the window starting at sample number `first`.
    fn extreme(&mut self, first: usize, window: &[(i64, f64)]) -> f64 {
        while self.candidates.front().is_some_and(|&(at, _)| at < first) {
            self.candidates.pop_front();
        }
        match self.candidates.front() {
            Some(&(_, v)) => v,
            None => window[window.len() - 1].1,
        }
    }
}

/// A range function over a matrix selector: per series, a window slides
/// forward across the steps over the samples read once.
fn range_function(ev: &mut Evaluator, c: &Call, steps: &Steps, sink: &mut Sink) -> Result<(), PromqlError> {
    let name = c.func.name;
    let Some(arg) = range_call_matrix(c) else {
        return Err(PromqlError::Execution(format!(
            "internal error: {name} cannot be evaluated over all steps at once"
        )));
    };
    // The number argument, if any (a literal: the same at every step).
    let param = c
        .args
        .args
        .iter()
        .find_map(|a| match unwrap_parens(a) {
            Expr::NumberLiteral(n) => Some(n.val),
            _ => None,
        })
        .unwrap_or(f64::NAN);
    let Expr::MatrixSelector(ms) = unwrap_parens(arg) else {
        return Err(PromqlError::Execution(format!(
            "internal error: {name} over all steps needs a matrix selector"
        )));
    };
    let kind = match name {
        "rate" => RangeFn::Extrapolated(true, true),
        "increase" => RangeFn::Extrapolated(true, false),
        "delta" => RangeFn::Extrapolated(false, false),
        "irate" => RangeFn::Instant(true),
        "idelta" => RangeFn::Instant(false),
        "max_over_time" => RangeFn::Extreme(true),
        "min_over_time" => RangeFn::Extreme(false),
        "changes" | "resets" | "deriv" | "predict_linear" => RangeFn::Regression,
        _ => RangeFn::OverTime,
    };
    let drop_name = match kind {
        RangeFn::Extrapolated(..) | RangeFn::Instant(_) | RangeFn::Regression => true,
        RangeFn::Extreme(_) | RangeFn::OverTime => !over_time_keeps_name(name),
    };
    let mut any_window = false;
    let counter_infos = matches!(kind, RangeFn::Extrapolated(true, _));
    let vs = &ms.vs;
    let range = duration_ms(&ms.range);
    let key = vs as *const VectorSelector as usize;
    let last = steps.time(steps.count.saturating_sub(1));
    let (lo, hi) = ev.spans.get(&key).copied().unwrap_or((steps.start - range, last));
    let series = ev.select_iters(vs, lo, hi)?;
    let ends = reference_times(ev, vs, steps);
    let steps = *steps;
    let pass =
        |iter, buf: &mut Vec<(i64, f64)>| range_pass(iter, buf, &ends, &steps, range, (kind, name, param));
    each_series(ev, series, &steps, pass, &mut |ev, metric, r| {
        any_window |= r.any_window;
        if r.any_window && counter_infos {
            non_counter_info(ev, metric, arg);
        }
        if r.points.is_empty() {
            return Ok(());
        }
        sink(ev, metric, drop_name, &r.points)
    })?;
    if name == "quantile_over_time" && any_window && !(0.0..=1.0).contains(&param) {
        let pos = ev.position(&c.args.args[0].to_string());
        ev.annotations.warn(
            format!("quantile value should be between 0 and 1, got {}", go_g(param)),
            pos,
        );
    }
    Ok(())
}

/// One series' windows `(end - range, end]` at each step's `end`.
fn range_pass(
    iter: Box<dyn SampleIter>,
    buf: &mut Vec<(i64, f64)>,
    ends: &[i64],
    steps: &Steps,
    range: i64,
    (kind, name, param): (RangeFn, &str, f64),
) -> SeriesPass {
    let mut cur = Cursor::new(iter, buf);
    let mut points = Vec::with_capacity(ends.len());
    // The window's samples are `window[head..]`; `shift` is how many were
    // dropped from the vector's front, so `head + shift` numbers samples.
    let mut window: Vec<(i64, f64)> = Vec::new();
    let mut extremes = SlidingExtreme::default();
    let (mut head, mut shift, mut peak_window) = (0usize, 0usize, 0usize);
    // Adjacent pairs in the window whose value drops (counter resets).
    let mut resets = 0usize;
    let mut any_window = false;
    for (k, &end) in ends.iter().enumerate() {
        let start = end - range;
        while let Some(s) = cur.peek() {
            if s.0 > end {
                break;
            }
            cur.advance();
            if is_stale_nan(s.1) {
                continue;
            }
            if let RangeFn::Extreme(is_max) = kind {
                extremes.push(window.len() + shift, s.1, is_max);
            }
            if window.len() > head && s.1 < window[window.len() - 1].1 {
                resets += 1;
            }
            window.push(s);
        }
        while head < window.len() && window[head].0 <= start {
            if head + 1 < window.len() && window[head + 1].1 < window[head].1 {
                resets -= 1;
            }
            head += 1;
        }
        if head >= 1024 && head * 2 >= window.len() {
            window.drain(..head);
            shift += head;
            head = 0;
        }
        let w = &window[head..];
        peak_window = peak_window.max(w.len());
        if w.is_empty() {
            continue;
        }
        any_window = true;
        let v = match kind {
            RangeFn::Extrapolated(counter, is_rate) => {
                extrapolated_rate_with_resets(w, (start, end, range), counter, is_rate, resets > 0)
            }
            RangeFn::Instant(is_rate) => instant_value(w, is_rate),
            RangeFn::Extreme(_) => Some(extremes.extreme(head + shift, w)),
            RangeFn::OverTime => Some(value_over(name, w, param)),
            RangeFn::Regression => counter_window_value(name, w, steps.time(k), param),
        };
        if let Some(v) = v {
            points.push((steps.time(k), v));
        }
    }
    SeriesPass {
        points,
        read: cur.read,
        any_window,
        peak_window,
    }
}

/// A vector operand and a number literal: each series' points mapped (or
/// filtered, for comparisons) as the step-by-step operation does.
fn with_number(
    ev: &mut Evaluator,
    b: &BinaryExpr,
    steps: &Steps,
    sink: &mut Sink,
) -> Result<(), PromqlError> {
    let Some((operand, number, swap)) = vector_with_number(b) else {
        return Err(PromqlError::Execution(format!(
            "internal error: {b} cannot be evaluated over all steps at once"
        )));
    };
    let op = b.op.id();
    let return_bool = b.modifier.as_ref().is_some_and(|m| m.return_bool);
    let drops_name = vector_scalar_drops_name(op, return_bool);
    let mut out = Vec::with_capacity(steps.count);
    produce(ev, operand, steps, &mut |ev, metric, drop_name, points| {
        out.clear();
        for &(t, v) in points {
            if let Some(value) = vector_scalar_value(op, v, number, swap, return_bool)? {
                out.push((t, value));
            }
        }
        if out.is_empty() {
            return Ok(());
        }
        ev.hold(out.len())?;
        let sent = sink(ev, metric, drop_name || drops_name, &out);
        ev.release(out.len());
        sent
    })
}

/// One group's state at one step; `count == 0` means no input yet.
#[derive(Clone, Copy, Default)]
struct Acc {
    value: f64,
    kahan_c: f64,
    mean: f64,
    count: f64,
    incremental_mean: bool,
    drop_name: bool,
}

impl Acc {
    fn first(op: TokenId, f: f64, drop_name: bool) -> Acc {
        let value = match op {
            T_STDDEV | T_STDVAR if f.is_nan() || f.is_infinite() => f64::NAN,
            T_STDDEV | T_STDVAR => 0.0,
            T_GROUP => 1.0,
            _ => f,
        };
        Acc {
            value,
            kahan_c: 0.0,
            mean: f,
            count: 1.0,
            incremental_mean: false,
            drop_name,
        }
    }

    /// Folds in one more input, in input order, exactly as the per-step
    /// aggregation does.
    fn fold(&mut self, op: TokenId, f: f64) {
        match op {
            T_SUM => (self.value, self.kahan_c) = kahan_inc(f, self.value, self.kahan_c),
            T_AVG => {
                self.count += 1.0;
                if !self.incremental_mean {
                    let (nv, nc) = kahan_inc(f, self.value, self.kahan_c);
                    if !nv.is_infinite() {
                        self.value = nv;
                        self.kahan_c = nc;
                        return;
                    }
                    self.incremental_mean = true;
                    self.mean = self.value / (self.count - 1.0);
                    self.kahan_c /= self.count - 1.0;
                }
                let q = (self.count - 1.0) / self.count;
                (self.mean, self.kahan_c) = kahan_inc(f / self.count, q * self.mean, q * self.kahan_c);
            }
            T_MAX if self.value < f || self.value.is_nan() => self.value = f,
            T_MIN if self.value > f || self.value.is_nan() => self.value = f,
            T_COUNT => self.count += 1.0,
            T_STDDEV | T_STDVAR => {
                self.count += 1.0;
                let delta = f - self.mean;
                self.mean += delta / self.count;
                self.value += delta * (f - self.mean);
            }
            _ => {}
        }
    }

    fn result(&self, op: TokenId) -> f64 {
        match op {
            T_SUM => self.value + self.kahan_c,
            T_AVG if self.incremental_mean => self.mean + self.kahan_c,
            T_AVG => self.value / self.count + self.kahan_c / self.count,
            T_COUNT => self.count,
            T_STDVAR => self.value / self.count,
            T_STDDEV => (self.value / self.count).sqrt(),
            _ => self.value,
        }
    }
}

/// A plain aggregation: each input series, as it is produced, is folded
/// into its group's accumulators, one per step.
fn aggregate(
    ev: &mut Evaluator,
    a: &AggregateExpr,
    steps: &Steps,
    sink: &mut Sink,
) -> Result<(), PromqlError> {
    let op = a.op.id();
    let (without, names) = grouping(a);
    let single_group = !without && names.is_empty();
    let mut groups: Vec<(Arc<Labels>, Vec<Acc>)> = Vec::new();
    let mut index: HashMap<u64, Vec<usize>> = HashMap::new();
    let mut held = 0usize;
    produce(ev, &a.expr, steps, &mut |ev, metric, drop_name, points| {
        let gi = if single_group {
            if groups.is_empty() {
                groups.push((Arc::new(Labels::default()), vec![Acc::default(); steps.count]));
            }
            0
        } else {
            let hash = group_hash(metric, without, &names);
            let key = group_labels(metric, without, &names);
            let candidates = index.entry(hash).or_default();
            match candidates.iter().copied().find(|&i| *groups[i].0 == key) {
                Some(i) => i,
                None => {
                    candidates.push(groups.len());
                    groups.push((Arc::new(key), vec![Acc::default(); steps.count]));
                    groups.len() - 1
                }
            }
        };
        let accs = &mut groups[gi].1;
        let mut new = 0;
        for &(t, f) in points {
            let acc = &mut accs[steps.index(t)];
            if acc.count == 0.0 {
                *acc = Acc::first(op, f, drop_name);
                new += 1;
            } else {
                acc.drop_name |= drop_name;
                acc.fold(op, f);
            }
        }
        held += new;
        ev.hold(new)
    })?;
    let mut kept = Vec::with_capacity(steps.count);
    let mut dropped = Vec::new();
    for (labels, accs) in &groups {
        kept.clear();
        dropped.clear();
        for (k, acc) in accs.iter().enumerate() {
            if acc.count == 0.0 {
                continue;
            }
            let p = (steps.time(k), acc.result(op));
            if acc.drop_name {
                dropped.push(p);
            } else {
                kept.push(p);
            }
        }
        if !kept.is_empty() {
            sink(ev, labels, false, &kept)?;
        }
        if !dropped.is_empty() {
            sink(ev, labels, true, &dropped)?;
        }
    }
    ev.release(held);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batchable_shapes() {
        let yes = [
            "rate(x[5m])",
            "(max_over_time(x[1h] offset 5m))",
            "sum by (a) (rate(x[5m]))",
            "count({job=\"node\"})",
            "avg without (b) (x @ 100)",
            "predict_linear(x[1h], 600)",
            "quantile_over_time(0.9, (x[10m]))",
            "stddev(sum by (a) (deriv(x[5m])))",
            "x * 2",
            "2 > bool rate(x[5m])",
            "sum(x > 1) / -(1024)",
            "sum(x) + 1",
        ];
        let no = [
            "x",
            "rate(x[5m:1m])",
            "topk(3, x)",
            "quantile_over_time(scalar(y), x[10m])",
            "predict_linear(x[1h], time())",
            "holt_winters(x[1h], 0.5, 0.5)",
            "sum(x > y)",
            "x * time()",
            "x and y",
            "absent_over_time(x[5m])",
        ];
        for q in yes {
            let e = promql_parser::parser::parse(q).unwrap();
            assert!(batchable(&e), "{q}");
        }
        for q in no {
            let Ok(e) = promql_parser::parser::parse(q) else {
                continue;
            };
            assert!(!batchable(&e), "{q}");
        }
    }

    /// The sliding extreme agrees with a scan of each window, NaNs and
    /// signed zeros included.
    #[test]
    fn sliding_extreme_matches_a_scan() {
        let values = [
            f64::NAN,
            3.0,
            f64::NAN,
            5.0,
            5.0,
            -0.0,
            0.0,
            7.0,
            f64::NAN,
            f64::NAN,
            1.0,
            -2.0,
            0.0,
            -0.0,
        ];
        let samples: Vec<(i64, f64)> = values.iter().enumerate().map(|(i, v)| (i as i64, *v)).collect();
        for width in 1..6 {
            for is_max in [true, false] {
                let mut s = SlidingExtreme::default();
                let mut pushed = 0;
                for end in 1..=samples.len() {
                    while pushed < end {
                        s.push(pushed, samples[pushed].1, is_max);
                        pushed += 1;
                    }
                    let first = end.saturating_sub(width);
                    let w = &samples[first..end];
                    let mut want = w[0].1;
                    for &(_, v) in w {
                        if better_extreme(v, want, is_max) {
                            want = v;
                        }
                    }
                    let got = s.extreme(first, w);
                    assert!(
                        want.to_bits() == got.to_bits() || (want.is_nan() && got.is_nan()),
                        "{first}..{end} max={is_max}: {want} vs {got}"
                    );
                }
            }
        }
    }
}
