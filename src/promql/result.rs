//! A query's result, finished as Prometheus 3 does: the per-step evaluator
//! run at each step (or the precomputed whole), delayed `__name__` removal,
//! duplicate-labelset checks and matrices sorted by labels.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use promql_parser::parser::Expr;

use crate::model::{FloatHistogram, Labels};

use super::error::PromqlError;
use super::eval::Evaluator;
use super::precomputed::Precomputed;
use super::value::{Sample, Series, Val, Value, drop_reserved};

fn final_labels(l: &Labels, drop_name: bool) -> Labels {
    if drop_name { drop_reserved(l) } else { l.clone() }
}

pub(crate) fn instant_eval(ev: &mut Evaluator, expr: &Expr, t: i64) -> Result<Value, PromqlError> {
    ev.ctx.check_limits()?;
    Ok(match ev.eval(expr, t)? {
        Val::Scalar(v) => Value::Scalar(v),
        Val::Str(s) => Value::String(s),
        Val::Vector(v) => {
            let out: Vec<Sample> = v
                .into_iter()
                .map(|e| Sample {
                    labels: final_labels(&e.metric, e.drop_name),
                    t,
                    v: e.v,
                    h: e.h,
                })
                .collect();
            let mut seen = HashSet::with_capacity(out.len());
            for s in &out {
                if !seen.insert(&s.labels) {
                    return Err(PromqlError::Execution(
                        "vector cannot contain metrics with the same labelset".into(),
                    ));
                }
            }
            Value::Vector(out)
        }
        Val::Matrix(m) => {
            let series = m
                .into_iter()
                .map(|s| Series {
                    labels: final_labels(&s.metric, s.drop_name),
                    points: s.points.to_vec(),
                    histograms: Vec::new(),
                })
                .collect();
            Value::Matrix(merge_same_labels(series)?)
        }
    })
}

/// A range-query output series being built: labels, drop-name flag, float
/// points, histogram points.
type OutSeries = (
    Arc<Labels>,
    bool,
    Vec<(i64, f64)>,
    Vec<(i64, Arc<FloatHistogram>)>,
);

pub(crate) fn range_eval(
    ev: &mut Evaluator,
    expr: &Expr,
    start: i64,
    end: i64,
    step: i64,
) -> Result<Value, PromqlError> {
    let mut index: HashMap<(Arc<Labels>, bool), usize> = HashMap::new();
    let mut series: Vec<OutSeries> = Vec::new();
    let mut points = 0usize;
    let mut t = start;
    while t <= end {
        ev.ctx.check_limits()?;
        ev.cache.clear_step_results();
        match ev.eval(expr, t)? {
            Val::Scalar(v) => {
                let key = (Arc::new(Labels::default()), false);
                let i = *index.entry(key.clone()).or_insert_with(|| {
                    series.push((key.0, false, Vec::new(), Vec::new()));
                    series.len() - 1
                });
                series[i].2.push((t, v));
                points += 1;
            }
            Val::Vector(v) => {
                for e in v {
                    let key = (e.metric.clone(), e.drop_name);
                    let i = match index.get(&key) {
                        Some(i) => *i,
                        None => {
                            index.insert(key, series.len());
                            series.push((e.metric.clone(), e.drop_name, Vec::new(), Vec::new()));
                            series.len() - 1
                        }
                    };
                    let out = &mut series[i];
                    if out.2.last().is_some_and(|p| p.0 == t) || out.3.last().is_some_and(|p| p.0 == t) {
                        return Err(PromqlError::Execution(
                            "vector cannot contain metrics with the same labelset".into(),
                        ));
                    }
                    match e.h {
                        Some(h) => out.3.push((t, h)),
                        None => out.2.push((t, e.v)),
                    }
                    points += 1;
                }
            }
            other => {
                return Err(PromqlError::BadData(format!(
                    "invalid expression type \"{}\" for range query, must be Scalar or instant Vector",
                    other.type_name()
                )));
            }
        }
        ev.ctx.account(points)?;
        t += step;
    }
    let out: Vec<Series> = series
        .into_iter()
        .map(|(metric, drop, points, histograms)| Series {
            labels: final_labels(&metric, drop),
            points,
            histograms,
        })
        .collect();
    let mut out = merge_same_labels(out)?;
    out.sort_by(|a, b| a.labels.cmp(&b.labels));
    Ok(Value::Matrix(out))
}

/// A range query's result when the whole expression was evaluated over
/// all steps at once.
pub(crate) fn precomputed_range(p: Precomputed) -> Result<Value, PromqlError> {
    let out: Vec<Series> = p
        .series
        .into_iter()
        .map(|s| Series {
            labels: final_labels(&s.metric, s.drop_name),
            points: s.points,
            histograms: Vec::new(),
        })
        .collect();
    let mut out = merge_same_labels(out)?;
    out.sort_by(|a, b| a.labels.cmp(&b.labels));
    Ok(Value::Matrix(out))
}

/// Series that end up with the same labels after name removal are merged;
/// overlapping points mean the result is ambiguous, which Prometheus
/// reports as an error.
fn merge_same_labels(series: Vec<Series>) -> Result<Vec<Series>, PromqlError> {
    let mut index: HashMap<Labels, usize> = HashMap::with_capacity(series.len());
    let mut out: Vec<Series> = Vec::with_capacity(series.len());
    for s in series {
        match index.get(&s.labels) {
            None => {
                index.insert(s.labels.clone(), out.len());
                out.push(s);
            }
            Some(&i) => {
                let target = &mut out[i];
                let taken: HashSet<i64> = target
                    .points
                    .iter()
                    .map(|p| p.0)
                    .chain(target.histograms.iter().map(|p| p.0))
                    .collect();
                let clash = s
                    .points
                    .iter()
                    .map(|p| p.0)
                    .chain(s.histograms.iter().map(|p| p.0))
                    .any(|t| taken.contains(&t));
                if clash {
                    return Err(PromqlError::Execution(
                        "vector cannot contain metrics with the same labelset".into(),
                    ));
                }
                target.points.extend(s.points);
                target.points.sort_by_key(|p| p.0);
                target.histograms.extend(s.histograms);
                target.histograms.sort_by_key(|p| p.0);
            }
        }
    }
    Ok(out)
}
