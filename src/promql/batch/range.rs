//! A range function (`rate`, `*_over_time`, …) over a matrix selector,
//! over all steps: per series, a window slides forward across the steps
//! over the samples read once, with the counter resets in it and (for
//! `min`/`max_over_time`) its extreme kept up to date as it slides.

use std::collections::VecDeque;

use promql_parser::parser::{Call, Expr};

use crate::model::is_stale_nan;
use crate::promql::context::EvalContext;
use crate::promql::error::PromqlError;
use crate::promql::format::format_go_g as go_g;
use crate::promql::functions::{
    better_extreme, counter_window_value, extrapolated_rate_with_resets, instant_value, non_counter_info,
    over_time_keeps_name, unwrap_parens, value_over,
};
use crate::promql::precomputed::Steps;
use crate::promql::time::duration_ms;
use crate::tsdb::SampleIter;

use super::cursor::Cursor;
use super::fanout::{SeriesPass, each_series};
use super::plan::range_call_matrix;
use super::selector::reference_times;
use super::sink::Sink;

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
pub(super) fn range_function(
    ctx: &mut EvalContext,
    c: &Call,
    steps: &Steps,
    sink: &mut Sink,
) -> Result<(), PromqlError> {
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
    let last = steps.time(steps.count.saturating_sub(1));
    let (lo, hi) = ctx.plan.span(vs).unwrap_or((steps.start - range, last));
    let series = ctx.select_iters(vs, lo, hi)?;
    let ends = reference_times(ctx, vs, steps);
    let steps = *steps;
    let pass =
        |iter, buf: &mut Vec<(i64, f64)>| range_pass(iter, buf, &ends, &steps, range, (kind, name, param));
    each_series(ctx, series, &steps, pass, &mut |ctx, metric, r| {
        any_window |= r.any_window;
        if r.any_window && counter_infos {
            non_counter_info(ctx, metric, arg);
        }
        if r.points.is_empty() {
            return Ok(());
        }
        sink(ctx, metric, drop_name, &r.points)
    })?;
    if name == "quantile_over_time" && any_window && !(0.0..=1.0).contains(&param) {
        let pos = ctx.position(&c.args.args[0].to_string());
        ctx.annotations.warn(
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

#[cfg(test)]
mod tests {
    use super::*;

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
