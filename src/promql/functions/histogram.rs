//! `histogram_quantile` and `histogram_fraction` over classic `le` buckets,
//! as Prometheus computes them (bucket coalescing, forced monotonicity).
//! Native-histogram functions (`histogram_count` …) see no native
//! histograms in a float-only store and return nothing.

use std::collections::HashMap;
use std::sync::Arc;

use promql_parser::parser::Expr;

use crate::model::{Label, Labels};
use crate::promql::error::PromqlError;
use crate::promql::eval::Evaluator;
use crate::promql::format::format_go_g as go_g;
use crate::promql::value::{Elem, Val};

use super::args::Args;

pub(super) fn quantile(ev: &mut Evaluator, args: &Args, ts: i64) -> Result<Val, PromqlError> {
    let q = args.scalar(ev, 0, ts)?;
    let v = args.vector(ev, 1, ts)?;
    if q.is_nan() || !(0.0..=1.0).contains(&q) {
        let pos = ev.ctx.position(&args.expr(0).to_string());
        ev.ctx.annotations.warn(
            format!("quantile value should be between 0 and 1, got {}", go_g(q)),
            pos,
        );
    }
    let groups = bucket_groups(ev, v, args.expr(1));
    let mut out = Vec::new();
    for (metric, mut buckets) in groups {
        let (value, forced) = bucket_quantile(q, &mut buckets);
        if forced {
            let pos = ev.ctx.position(&args.expr(1).to_string());
            let name = metric.metric_name().unwrap_or("").to_string();
            let mut text = "input to histogram_quantile needed to be fixed for monotonicity (see https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile)".to_string();
            if !name.is_empty() {
                text.push_str(&format!(" for metric name {name:?}"));
            }
            ev.ctx.annotations.info(text, pos);
        }
        out.push(Elem {
            metric: Arc::new(metric),
            t: ts,
            v: value,
            h: None,
            drop_name: true,
        });
    }
    Ok(Val::Vector(out))
}

pub(super) fn fraction(ev: &mut Evaluator, args: &Args, ts: i64) -> Result<Val, PromqlError> {
    let lower = args.scalar(ev, 0, ts)?;
    let upper = args.scalar(ev, 1, ts)?;
    let v = args.vector(ev, 2, ts)?;
    let groups = bucket_groups(ev, v, args.expr(2));
    let out = groups
        .into_iter()
        .map(|(metric, mut buckets)| Elem {
            metric: Arc::new(metric),
            t: ts,
            v: bucket_fraction(lower, upper, &mut buckets),
            h: None,
            drop_name: true,
        })
        .collect();
    Ok(Val::Vector(out))
}

/// `histogram_count`, `_sum`, `_avg`, `_stddev`, `_stdvar`: their argument
/// is evaluated (for its errors and annotations) and yields nothing.
pub(super) fn native(ev: &mut Evaluator, args: &Args, ts: i64) -> Result<Val, PromqlError> {
    args.vector(ev, 0, ts)?;
    Ok(Val::Vector(Vec::new()))
}

/// Groups bucket series by their labels without `le`, in first-seen
/// order; series with a missing or malformed `le` raise a warning.
fn bucket_groups(ev: &mut Evaluator, v: Vec<Elem>, arg: &Expr) -> Vec<(Labels, Vec<(f64, f64)>)> {
    let mut index: HashMap<Labels, usize> = HashMap::new();
    let mut groups: Vec<(Labels, Vec<(f64, f64)>)> = Vec::new();
    for e in v {
        let le = e.metric.get("le").unwrap_or("");
        let Some(upper) = parse_go_float(le) else {
            let pos = ev.ctx.position(&arg.to_string());
            let mut text = format!("bucket label \"le\" is missing or has a malformed value of {le:?}");
            if let Some(n) = e.metric.metric_name() {
                text.push_str(&format!(" for metric name {n:?}"));
            }
            ev.ctx.annotations.warn(text, pos);
            continue;
        };
        let key: Vec<Label> = e.metric.iter().filter(|l| l.name != "le").cloned().collect();
        let key = Labels::from_sorted_unchecked(key);
        let gi = *index.entry(key.clone()).or_insert_with(|| {
            groups.push((key, Vec::new()));
            groups.len() - 1
        });
        groups[gi].1.push((upper, e.v));
    }
    groups
}

/// Go's `strconv.ParseFloat` accepting `+Inf`, `Inf`, `NaN` in any case.
fn parse_go_float(s: &str) -> Option<f64> {
    let l = s.to_ascii_lowercase();
    match l.as_str() {
        "+inf" | "inf" | "infinity" | "+infinity" => return Some(f64::INFINITY),
        "-inf" | "-infinity" => return Some(f64::NEG_INFINITY),
        "nan" => return Some(f64::NAN),
        _ => {}
    }
    s.parse::<f64>().ok()
}

fn sort_and_coalesce(buckets: &mut Vec<(f64, f64)>) {
    buckets.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap_or(std::cmp::Ordering::Equal));
    let mut out: Vec<(f64, f64)> = Vec::with_capacity(buckets.len());
    for &(ub, c) in buckets.iter() {
        match out.last_mut() {
            Some(last) if last.0 == ub => last.1 += c,
            _ => out.push((ub, c)),
        }
    }
    *buckets = out;
}

fn almost_equal(a: f64, b: f64, eps: f64) -> bool {
    const MIN_NORMAL: f64 = 2.2250738585072014e-308;
    if a == b {
        return true;
    }
    let diff = (a - b).abs();
    if a == 0.0 || b == 0.0 || a.abs() + b.abs() < MIN_NORMAL {
        return diff < eps * MIN_NORMAL;
    }
    diff / (a.abs() + b.abs()).min(f64::MAX) < eps
}

/// `(quantile, forced_monotonic)`.
fn bucket_quantile(q: f64, buckets: &mut Vec<(f64, f64)>) -> (f64, bool) {
    if q.is_nan() {
        return (f64::NAN, false);
    }
    if q < 0.0 {
        return (f64::NEG_INFINITY, false);
    }
    if q > 1.0 {
        return (f64::INFINITY, false);
    }
    buckets.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap_or(std::cmp::Ordering::Equal));
    if buckets.last().is_none_or(|b| b.0 != f64::INFINITY) {
        return (f64::NAN, false);
    }
    sort_and_coalesce(buckets);
    let mut forced = false;
    let mut prev = buckets[0].1;
    for b in buckets.iter_mut().skip(1) {
        let curr = b.1;
        if curr == prev {
            continue;
        }
        if almost_equal(prev, curr, 1e-12) {
            b.1 = prev;
            continue;
        }
        if curr < prev {
            b.1 = prev;
            forced = true;
            continue;
        }
        prev = curr;
    }
    if buckets.len() < 2 {
        return (f64::NAN, forced);
    }
    let observations = buckets[buckets.len() - 1].1;
    if observations == 0.0 {
        return (f64::NAN, forced);
    }
    let mut rank = q * observations;
    let n = buckets.len();
    let b = buckets[..n - 1].partition_point(|x| x.1 < rank);
    let v = if b == n - 1 {
        buckets[n - 2].0
    } else if b == 0 && buckets[0].0 <= 0.0 {
        buckets[0].0
    } else {
        let mut start = 0.0;
        let end = buckets[b].0;
        let mut count = buckets[b].1;
        if b > 0 {
            start = buckets[b - 1].0;
            count -= buckets[b - 1].1;
            rank -= buckets[b - 1].1;
        }
        start + (end - start) * (rank / count)
    };
    (v, forced)
}

fn bucket_fraction(lower: f64, upper: f64, buckets: &mut Vec<(f64, f64)>) -> f64 {
    buckets.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap_or(std::cmp::Ordering::Equal));
    if buckets.last().is_none_or(|b| b.0 != f64::INFINITY) {
        return f64::NAN;
    }
    sort_and_coalesce(buckets);
    let count = buckets[buckets.len() - 1].1;
    if count == 0.0 || lower.is_nan() || upper.is_nan() {
        return f64::NAN;
    }
    if lower >= upper {
        return 0.0;
    }
    let (mut rank, mut lower_rank, mut upper_rank) = (0.0, 0.0, 0.0);
    let (mut lower_set, mut upper_set) = (false, false);
    let mut lower_bound = if buckets[0].0 <= 0.0 {
        f64::NEG_INFINITY
    } else {
        0.0
    };
    for (i, &(ub, c)) in buckets.iter().enumerate() {
        if i > 0 {
            lower_bound = buckets[i - 1].0;
        }
        let interp = |v: f64| {
            if lower_bound == f64::NEG_INFINITY {
                c
            } else {
                rank + (c - rank) * (v - lower_bound) / (ub - lower_bound)
            }
        };
        if !lower_set && lower_bound >= lower {
            lower_rank = rank;
            lower_set = true;
        }
        if !upper_set && lower_bound >= upper {
            upper_rank = rank;
            upper_set = true;
        }
        if lower_set && upper_set {
            break;
        }
        if !lower_set && lower_bound < lower && ub > lower {
            lower_rank = interp(lower);
            lower_set = true;
        }
        if !upper_set && lower_bound < upper && ub > upper {
            upper_rank = interp(upper);
            upper_set = true;
        }
        if lower_set && upper_set {
            break;
        }
        rank = c;
    }
    if !lower_set || lower_rank > count {
        lower_rank = count;
    }
    if !upper_set || upper_rank > count {
        upper_rank = count;
    }
    (upper_rank - lower_rank) / count
}
