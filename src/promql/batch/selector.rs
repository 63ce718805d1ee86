//! An instant vector selector over all steps: per series, the newest
//! non-stale sample within the lookback of each step, the samples read once
//! forward.

use promql_parser::parser::VectorSelector;

use crate::model::is_stale_nan;
use crate::promql::context::EvalContext;
use crate::promql::error::PromqlError;
use crate::promql::precomputed::Steps;
use crate::promql::time::offset_ms;
use crate::tsdb::SampleIter;

use super::cursor::Cursor;
use super::fanout::{SeriesPass, each_series};
use super::sink::Sink;

/// The reference time of each step for a selector with this `@` and
/// offset.
pub(super) fn reference_times(ctx: &EvalContext, vs: &VectorSelector, steps: &Steps) -> Vec<i64> {
    let off = offset_ms(&vs.offset);
    (0..steps.count)
        .map(|k| ctx.at_time(&vs.at, steps.time(k)) - off)
        .collect()
}

/// An instant vector selector: per series, the newest non-stale sample
/// within the lookback of each step.
pub(super) fn selector(
    ctx: &mut EvalContext,
    vs: &VectorSelector,
    steps: &Steps,
    sink: &mut Sink,
) -> Result<(), PromqlError> {
    let last = steps.time(steps.count.saturating_sub(1));
    let (lo, hi) = ctx.plan.span(vs).unwrap_or((steps.start - ctx.lookback, last));
    let series = ctx.select_iters(vs, lo, hi)?;
    let refs = reference_times(ctx, vs, steps);
    let lookback = ctx.lookback;
    let steps = *steps;
    let pass = |iter, buf: &mut Vec<(i64, f64)>| selector_pass(iter, buf, &refs, &steps, lookback);
    each_series(ctx, series, &steps, pass, &mut |ctx, metric, r| {
        if r.points.is_empty() {
            return Ok(());
        }
        sink(ctx, metric, false, &r.points)
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
