//! `changes`, `resets`, `deriv` and `predict_linear`.

use crate::promql::error::PromqlError;
use crate::promql::eval::Evaluator;
use crate::promql::numeric::kahan_inc;
use crate::promql::value::{Elem, Val};

use super::args::Args;

/// `changes`, `resets`, `deriv` and `predict_linear` (whose second
/// argument is the number of seconds to predict ahead).
pub(super) fn counters(ev: &mut Evaluator, args: &Args, ts: i64) -> Result<Val, PromqlError> {
    let name = args.name;
    let duration = if name == "predict_linear" {
        args.scalar(ev, 1, ts)?
    } else {
        0.0
    };
    let w = args.window(ev, 0, ts)?;
    let mut out = Vec::with_capacity(w.series.len());
    for s in w.series {
        let Some(v) = window_value(name, &s.points, ts, duration) else {
            continue;
        };
        out.push(Elem {
            metric: s.metric,
            t: ts,
            v,
            h: None,
            drop_name: true,
        });
    }
    Ok(Val::Vector(out))
}

/// `changes`, `resets`, `deriv` or `predict_linear` (by `duration`
/// seconds, evaluated at `ts`) of one window's points.
pub(crate) fn window_value(name: &str, p: &[(i64, f64)], ts: i64, duration: f64) -> Option<f64> {
    match name {
        "changes" | "resets" => {
            if p.is_empty() {
                return None;
            }
            let mut n = 0;
            for pair in p.windows(2) {
                let (a, b) = (pair[0].1, pair[1].1);
                let hit = if name == "changes" {
                    a != b && !(a.is_nan() && b.is_nan())
                } else {
                    b < a
                };
                if hit {
                    n += 1;
                }
            }
            Some(n as f64)
        }
        "deriv" => {
            if p.len() < 2 {
                return None;
            }
            Some(linear_regression(p, p[0].0).0)
        }
        _ => {
            if p.len() < 2 {
                return None;
            }
            let (slope, intercept) = linear_regression(p, ts);
            Some(slope * duration + intercept)
        }
    }
}

/// Least-squares fit with x in seconds relative to `intercept_time`, with
/// Kahan sums, as Prometheus's `linearRegression`.
fn linear_regression(p: &[(i64, f64)], intercept_time: i64) -> (f64, f64) {
    let mut n = 0.0;
    let (mut sx, mut cx, mut sy, mut cy) = (0.0, 0.0, 0.0, 0.0);
    let (mut sxy, mut cxy, mut sx2, mut cx2) = (0.0, 0.0, 0.0, 0.0);
    let init_y = p[0].1;
    let mut const_y = true;
    for (i, &(t, v)) in p.iter().enumerate() {
        if const_y && i > 0 && v != init_y {
            const_y = false;
        }
        n += 1.0;
        let x = (t - intercept_time) as f64 / 1e3;
        (sx, cx) = kahan_inc(x, sx, cx);
        (sy, cy) = kahan_inc(v, sy, cy);
        (sxy, cxy) = kahan_inc(x * v, sxy, cxy);
        (sx2, cx2) = kahan_inc(x * x, sx2, cx2);
    }
    if const_y {
        if init_y.is_infinite() {
            return (f64::NAN, f64::NAN);
        }
        return (0.0, init_y);
    }
    sx += cx;
    sy += cy;
    sxy += cxy;
    sx2 += cx2;
    let cov = sxy - sx * sy / n;
    let var = sx2 - sx * sx / n;
    let slope = cov / var;
    (slope, sy / n - slope * sx / n)
}
