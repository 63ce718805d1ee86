//! The `*_over_time` family over a range vector: avg, sum, count, min, max,
//! last, first, quantile, stddev, stdvar, present and mad.

use crate::promql::error::PromqlError;
use crate::promql::eval::Evaluator;
use crate::promql::format::format_go_g as go_g;
use crate::promql::numeric::{kahan_inc, quantile};
use crate::promql::value::{Elem, Points, Val};

use super::args::Args;

/// Every `*_over_time` function (`quantile_over_time` takes its
/// quantile first).
pub(super) fn over_time(ev: &mut Evaluator, args: &Args, ts: i64) -> Result<Val, PromqlError> {
    let name = args.name;
    let mut q = f64::NAN;
    let matrix_arg = if name == "quantile_over_time" {
        q = args.scalar(ev, 0, ts)?;
        1
    } else {
        0
    };
    let w = args.window(ev, matrix_arg, ts)?;
    if name == "quantile_over_time" && (q.is_nan() || !(0.0..=1.0).contains(&q)) && !w.series.is_empty() {
        let pos = ev.ctx.position(&args.expr(0).to_string());
        ev.ctx.annotations.warn(
            format!("quantile value should be between 0 and 1, got {}", go_g(q)),
            pos,
        );
    }
    let keep_name = keeps_name(name);
    let mut out = Vec::with_capacity(w.series.len());
    for s in w.series {
        let p: &[(i64, f64)] = &s.points;
        if p.is_empty() {
            continue;
        }
        let v = match (name, &s.points) {
            ("min_over_time" | "max_over_time", Points::Window(all, range)) => sliding_extreme(
                ev.cache.window_extremes(),
                all,
                range.clone(),
                name == "max_over_time",
            ),
            _ => value_over(name, p, q),
        };
        out.push(Elem {
            metric: s.metric,
            t: ts,
            v,
            h: None,
            drop_name: s.drop_name || !keep_name,
        });
    }
    Ok(Val::Vector(out))
}

/// Whether a `*_over_time` function keeps the metric name.
pub(crate) fn keeps_name(name: &str) -> bool {
    matches!(name, "last_over_time" | "first_over_time")
}

/// The value of the `*_over_time` function `name` over the non-empty
/// points `p` of one window (`q` is `quantile_over_time`'s parameter).
pub(crate) fn value_over(name: &str, p: &[(i64, f64)], q: f64) -> f64 {
    match name {
        "avg_over_time" => avg(p),
        "sum_over_time" => {
            let (mut sum, mut c) = (0.0, 0.0);
            for &(_, v) in p {
                (sum, c) = kahan_inc(v, sum, c);
            }
            if sum.is_infinite() { sum } else { sum + c }
        }
        "count_over_time" => p.len() as f64,
        "min_over_time" => extreme(p, false),
        "max_over_time" => extreme(p, true),
        "last_over_time" => p[p.len() - 1].1,
        "first_over_time" => p[0].1,
        "quantile_over_time" => {
            let mut vals: Vec<f64> = p.iter().map(|x| x.1).collect();
            quantile(q, &mut vals)
        }
        "stddev_over_time" => variance(p).sqrt(),
        "stdvar_over_time" => variance(p),
        "present_over_time" => 1.0,
        _ => {
            let mut vals: Vec<f64> = p.iter().map(|x| x.1).collect();
            let median = quantile(0.5, &mut vals);
            let mut dev: Vec<f64> = vals.iter().map(|v| (v - median).abs()).collect();
            quantile(0.5, &mut dev)
        }
    }
}

fn avg(p: &[(i64, f64)]) -> f64 {
    let (mut sum, mut count) = (p[0].1, 1.0);
    let (mut mean, mut c) = (0.0, 0.0);
    let mut incremental = false;
    for (i, &(_, v)) in p[1..].iter().enumerate() {
        count = (i + 2) as f64;
        if !incremental {
            let (ns, nc) = kahan_inc(v, sum, c);
            if !ns.is_infinite() {
                sum = ns;
                c = nc;
                continue;
            }
            incremental = true;
            mean = sum / (count - 1.0);
            c /= count - 1.0;
        }
        let q = (count - 1.0) / count;
        (mean, c) = kahan_inc(v / count, q * mean, q * c);
    }
    if incremental {
        mean + c
    } else {
        sum / count + c / count
    }
}

fn variance(p: &[(i64, f64)]) -> f64 {
    let mut count = 0.0;
    let (mut mean, mut c_mean) = (0.0, 0.0);
    let (mut aux, mut c_aux) = (0.0, 0.0);
    for &(_, v) in p {
        count += 1.0;
        let delta = v - (mean + c_mean);
        (mean, c_mean) = kahan_inc(delta / count, mean, c_mean);
        (aux, c_aux) = kahan_inc(delta * (v - (mean + c_mean)), aux, c_aux);
    }
    (aux + c_aux) / count
}

/// `max_over_time`/`min_over_time` of points: NaNs only win when nothing
/// else is there, as in Prometheus.
fn extreme(p: &[(i64, f64)], is_max: bool) -> f64 {
    let mut m = p[0].1;
    for &(_, v) in p {
        if better(v, m, is_max) {
            m = v;
        }
    }
    m
}

pub(crate) fn better(v: f64, m: f64, is_max: bool) -> bool {
    (if is_max { v > m } else { v < m }) || m.is_nan()
}

/// The extreme of a window onto a series' samples, reusing the previous
/// step's answer when the window only slid forward and that answer is still
/// inside it: then only the newly covered samples are read.
fn sliding_extreme(
    state: &mut crate::promql::cache::WindowExtremes,
    all: &std::sync::Arc<[(i64, f64)]>,
    range: std::ops::Range<usize>,
    is_max: bool,
) -> f64 {
    let key = (std::sync::Arc::as_ptr(all) as *const () as usize, is_max);
    let (lo, hi) = (range.start, range.end);
    let (mut m, mut at, from) = match state.get(&key) {
        Some(&(prev_lo, prev_hi, at, m)) if prev_lo <= lo && prev_hi <= hi && at >= lo && at < prev_hi => {
            (m, at, prev_hi)
        }
        _ => (all[lo].1, lo, lo),
    };
    for (i, &(_, v)) in all[from..hi].iter().enumerate() {
        if better(v, m, is_max) {
            m = v;
            at = from + i;
        }
    }
    state.insert(key, (lo, hi, at, m));
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Windows sliding forward by varying amounts (and sometimes jumping
    /// back) give the same extreme as scanning each window whole.
    #[test]
    fn sliding_extreme_matches_a_full_scan() {
        let mut x: u64 = 12345;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let values: Vec<(i64, f64)> = (0..500)
            .map(|i| {
                let r = next();
                let v = if r % 17 == 0 { f64::NAN } else { (r % 1000) as f64 };
                (i, v)
            })
            .collect();
        let all: std::sync::Arc<[(i64, f64)]> = values.into();
        let mut state = Default::default();
        let (mut lo, mut hi) = (0usize, 1usize);
        for _ in 0..2000 {
            let r = next();
            if r % 50 == 0 {
                lo = (r as usize / 7) % 400;
            } else {
                lo += (r % 3) as usize;
            }
            hi = (hi.max(lo + 1) + (r % 4) as usize).min(500);
            if lo >= hi {
                lo = hi - 1;
            }
            for is_max in [true, false] {
                let want = extreme(&all[lo..hi], is_max);
                let got = sliding_extreme(&mut state, &all, lo..hi, is_max);
                assert!(
                    want == got || (want.is_nan() && got.is_nan()),
                    "{lo}..{hi}: {want} vs {got}"
                );
            }
            if hi == 500 {
                (lo, hi) = (0, 1);
            }
        }
    }
}
