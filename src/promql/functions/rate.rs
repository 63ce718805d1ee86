//! `rate`, `increase`, `delta` (extrapolated exactly as Prometheus does),
//! `irate` and `idelta`.

use promql_parser::parser::Expr;

use crate::model::Labels;
use crate::promql::context::EvalContext;
use crate::promql::error::PromqlError;
use crate::promql::eval::Evaluator;
use crate::promql::value::{Elem, Val};

use super::args::{Args, unwrap_parens};

pub(super) fn rate(ev: &mut Evaluator, args: &Args, ts: i64) -> Result<Val, PromqlError> {
    extrapolated(ev, args, ts, true, true)
}

pub(super) fn increase(ev: &mut Evaluator, args: &Args, ts: i64) -> Result<Val, PromqlError> {
    extrapolated(ev, args, ts, true, false)
}

pub(super) fn delta(ev: &mut Evaluator, args: &Args, ts: i64) -> Result<Val, PromqlError> {
    extrapolated(ev, args, ts, false, false)
}

/// `irate` and `idelta`: from the last two samples of each window.
pub(super) fn instant(ev: &mut Evaluator, args: &Args, ts: i64) -> Result<Val, PromqlError> {
    let is_rate = args.name == "irate";
    let w = args.window(ev, 0, ts)?;
    let out = w
        .series
        .into_iter()
        .filter_map(|s| {
            let v = instant_value(&s.points, is_rate)?;
            Some(Elem {
                metric: s.metric,
                t: ts,
                v,
                h: None,
                drop_name: true,
            })
        })
        .collect();
    Ok(Val::Vector(out))
}

fn extrapolated(
    ev: &mut Evaluator,
    args: &Args,
    ts: i64,
    counter: bool,
    is_rate: bool,
) -> Result<Val, PromqlError> {
    let w = args.window(ev, 0, ts)?;
    let arg = args.expr(0);
    if counter && matches!(unwrap_parens(arg), Expr::MatrixSelector(_)) {
        // Only series read straight from a selector are named.
        for s in &w.series {
            non_counter_info(&mut ev.ctx, &s.metric, arg);
        }
    }
    let out = w
        .series
        .iter()
        .filter_map(|s| {
            let v = extrapolated_rate(&s.points, (w.start, w.end, w.range_ms), counter, is_rate)?;
            Some(Elem {
                metric: s.metric.clone(),
                t: ts,
                v,
                h: None,
                drop_name: true,
            })
        })
        .collect();
    Ok(Val::Vector(out))
}

/// The "might not be a counter" info for one series a counter function
/// reads straight from a matrix selector (`arg`).
pub(crate) fn non_counter_info(ctx: &mut EvalContext, metric: &Labels, arg: &Expr) {
    let Some(name) = metric.metric_name() else {
        return;
    };
    let counter_like = ["_total", "_sum", "_count", "_bucket"]
        .iter()
        .any(|suf| name.ends_with(suf));
    if counter_like {
        return;
    }
    if matches!(metric.get("__type__"), Some("counter" | "histogram")) {
        return;
    }
    let pos = ctx.position(&arg.to_string());
    ctx.annotations.info(
        format!("metric might not be a counter, name does not end in _total/_sum/_count/_bucket: {name:?}"),
        pos,
    );
}

/// `rate`/`increase`/`delta` of the points of a window `(start, end]` of
/// `range_ms` (given as `(start, end, range_ms)`).
pub(crate) fn extrapolated_rate(
    points: &[(i64, f64)],
    window: (i64, i64, i64),
    counter: bool,
    is_rate: bool,
) -> Option<f64> {
    extrapolated_rate_with_resets(points, window, counter, is_rate, true)
}

/// [`extrapolated_rate`] for a caller that knows whether any value in
/// `points` drops below the one before (`may_reset`): without one, the
/// counter-reset pass over the points is skipped.
pub(crate) fn extrapolated_rate_with_resets(
    points: &[(i64, f64)],
    (w_start, w_end, range_ms): (i64, i64, i64),
    counter: bool,
    is_rate: bool,
    may_reset: bool,
) -> Option<f64> {
    if points.len() < 2 {
        return None;
    }
    let (first_t, first_v) = points[0];
    let (last_t, last_v) = points[points.len() - 1];
    let mut result = last_v - first_v;
    if counter && may_reset {
        for pair in points.windows(2) {
            if pair[1].1 < pair[0].1 {
                result += pair[0].1;
            }
        }
    }
    let n_minus_one = (points.len() - 1) as f64;
    let mut to_start = (first_t - w_start) as f64 / 1000.0;
    let mut to_end = (w_end - last_t) as f64 / 1000.0;
    let sampled = (last_t - first_t) as f64 / 1000.0;
    let avg = sampled / n_minus_one;
    let threshold = avg * 1.1;
    if to_start >= threshold {
        to_start = avg / 2.0;
    }
    if counter {
        let mut to_zero = to_start;
        if result > 0.0 && first_v >= 0.0 {
            to_zero = sampled * (first_v / result);
        }
        if to_zero < to_start {
            to_start = to_zero;
        }
    }
    if to_end >= threshold {
        to_end = avg / 2.0;
    }
    let mut factor = if sampled != 0.0 {
        (sampled + to_start + to_end) / sampled
    } else {
        1.0
    };
    if is_rate {
        factor /= range_ms as f64 / 1000.0;
    }
    Some(result * factor)
}

pub(crate) fn instant_value(points: &[(i64, f64)], is_rate: bool) -> Option<f64> {
    if points.len() < 2 {
        return None;
    }
    let (pt, pv) = points[points.len() - 2];
    let (lt, lv) = points[points.len() - 1];
    let mut result = if is_rate && lv < pv { lv } else { lv - pv };
    let interval = lt - pt;
    if interval == 0 {
        return None;
    }
    if is_rate {
        result /= interval as f64 / 1000.0;
    }
    Some(result)
}
