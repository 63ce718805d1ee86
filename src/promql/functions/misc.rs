//! `time`, `vector`, `scalar`, `timestamp`, `absent`, `absent_over_time`,
//! `sort`, `sort_desc`, `sort_by_label`, `sort_by_label_desc`.

use std::sync::Arc;

use promql_parser::label::MatchOp as PMatchOp;
use promql_parser::parser::{Expr, VectorSelector};

use crate::model::{Label, Labels};
use crate::promql::error::PromqlError;
use crate::promql::eval::Evaluator;
use crate::promql::value::{Elem, Val};

use super::args::{Args, unwrap_parens};

pub(super) fn time(_: &mut Evaluator, _: &Args, ts: i64) -> Result<Val, PromqlError> {
    Ok(Val::Scalar(ts as f64 / 1000.0))
}

pub(super) fn vector(ev: &mut Evaluator, args: &Args, ts: i64) -> Result<Val, PromqlError> {
    let s = args.scalar(ev, 0, ts)?;
    Ok(Val::Vector(vec![Elem {
        metric: Arc::new(Labels::default()),
        t: ts,
        v: s,
        h: None,
        drop_name: false,
    }]))
}

pub(super) fn scalar(ev: &mut Evaluator, args: &Args, ts: i64) -> Result<Val, PromqlError> {
    let v = args.vector(ev, 0, ts)?;
    Ok(Val::Scalar(if v.len() == 1 { v[0].v } else { f64::NAN }))
}

pub(super) fn timestamp(ev: &mut Evaluator, args: &Args, ts: i64) -> Result<Val, PromqlError> {
    let direct = matches!(unwrap_parens(args.expr(0)), Expr::VectorSelector(_));
    // A histogram sample has a timestamp like any other.
    let v = args.vector_with_histograms(ev, 0, ts)?;
    Ok(Val::Vector(
        v.into_iter()
            .map(|mut e| {
                e.h = None;
                e.v = if direct { e.t } else { ts } as f64 / 1000.0;
                e.t = ts;
                e.drop_name = true;
                e
            })
            .collect(),
    ))
}

pub(super) fn absent(ev: &mut Evaluator, args: &Args, ts: i64) -> Result<Val, PromqlError> {
    // Present histogram samples count as present.
    let v = args.vector_with_histograms(ev, 0, ts)?;
    if !v.is_empty() {
        return Ok(Val::Vector(Vec::new()));
    }
    Ok(Val::Vector(vec![absent_elem(args.expr(0), ts)]))
}

pub(super) fn absent_over_time(ev: &mut Evaluator, args: &Args, ts: i64) -> Result<Val, PromqlError> {
    let m = args.matrix(ev, 0, ts)?;
    if m.iter().any(|s| !s.points.is_empty()) {
        return Ok(Val::Vector(Vec::new()));
    }
    Ok(Val::Vector(vec![absent_elem(args.expr(0), ts)]))
}

/// `sort` and `sort_desc`.
pub(super) fn sort(ev: &mut Evaluator, args: &Args, ts: i64) -> Result<Val, PromqlError> {
    let mut v = args.vector(ev, 0, ts)?;
    let desc = args.name == "sort_desc";
    // NaN sorts last either way, as Prometheus does.
    v.sort_by(|a, b| match (a.v.is_nan(), b.v.is_nan()) {
        (true, true) => std::cmp::Ordering::Equal,
        (true, false) => std::cmp::Ordering::Greater,
        (false, true) => std::cmp::Ordering::Less,
        _ if desc => b.v.partial_cmp(&a.v).unwrap_or(std::cmp::Ordering::Equal),
        _ => a.v.partial_cmp(&b.v).unwrap_or(std::cmp::Ordering::Equal),
    });
    Ok(Val::Vector(v))
}

/// `sort_by_label` and `sort_by_label_desc`.
pub(super) fn sort_by_label(ev: &mut Evaluator, args: &Args, ts: i64) -> Result<Val, PromqlError> {
    let mut v = args.vector(ev, 0, ts)?;
    let mut names = Vec::new();
    for i in 1..args.len() {
        names.push(args.string(i)?);
    }
    let desc = args.name == "sort_by_label_desc";
    v.sort_by(|a, b| {
        for n in &names {
            let o = a.metric.get(n).unwrap_or("").cmp(b.metric.get(n).unwrap_or(""));
            if o != std::cmp::Ordering::Equal {
                return if desc { o.reverse() } else { o };
            }
        }
        let o = a.metric.cmp(&b.metric);
        if desc { o.reverse() } else { o }
    });
    Ok(Val::Vector(v))
}

/// The labels `absent` reports: the selector's equality matchers (a label
/// matched more than once, or not by equality, is left out).
fn absent_elem(arg: &Expr, ts: i64) -> Elem {
    let vs: Option<&VectorSelector> = match unwrap_parens(arg) {
        Expr::VectorSelector(vs) => Some(vs),
        Expr::MatrixSelector(ms) => Some(&ms.vs),
        _ => None,
    };
    let mut labels: Vec<Label> = Vec::new();
    if let Some(vs) = vs {
        let mut has: Vec<String> = Vec::new();
        for m in &vs.matchers.matchers {
            if m.name == "__name__" {
                continue;
            }
            if matches!(m.op, PMatchOp::Equal) && !has.contains(&m.name) {
                labels.push(Label::new(m.name.clone(), m.value.clone()));
                has.push(m.name.clone());
            } else {
                labels.retain(|l| l.name != m.name);
            }
        }
    }
    Elem {
        metric: Arc::new(Labels::new(labels)),
        t: ts,
        v: 1.0,
        h: None,
        drop_name: false,
    }
}
