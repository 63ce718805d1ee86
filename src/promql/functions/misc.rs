//! `time`, `vector`, `scalar`, `timestamp`, `absent`, `absent_over_time`,
//! `sort`, `sort_desc`, `sort_by_label`, `sort_by_label_desc`.

use std::sync::Arc;

use promql_parser::label::MatchOp as PMatchOp;
use promql_parser::parser::{Expr, VectorSelector};

use crate::model::{Label, Labels};
use crate::promql::error::PromqlError;
use crate::promql::eval::Evaluator;
use crate::promql::value::{Elem, Val};

use super::{string_arg, unwrap_parens};

pub(super) fn call(
    ev: &mut Evaluator,
    name: &str,
    args: &[&Expr],
    ts: i64,
) -> Result<Option<Val>, PromqlError> {
    let v = match name {
        "time" => Val::Scalar(ts as f64 / 1000.0),
        "vector" => {
            let s = ev.eval_scalar(args[0], ts)?;
            Val::Vector(vec![Elem {
                metric: Arc::new(Labels::default()),
                t: ts,
                v: s,
                h: None,
                drop_name: false,
            }])
        }
        "scalar" => {
            let v = ev.eval_vector(args[0], ts)?;
            Val::Scalar(if v.len() == 1 { v[0].v } else { f64::NAN })
        }
        "timestamp" => {
            let direct = matches!(unwrap_parens(args[0]), Expr::VectorSelector(_));
            // A histogram sample has a timestamp like any other.
            let v = ev.eval_vector_with_histograms(args[0], ts)?;
            Val::Vector(
                v.into_iter()
                    .map(|mut e| {
                        e.h = None;
                        e.v = if direct { e.t } else { ts } as f64 / 1000.0;
                        e.t = ts;
                        e.drop_name = true;
                        e
                    })
                    .collect(),
            )
        }
        "absent" => {
            // Present histogram samples count as present.
            let v = ev.eval_vector_with_histograms(args[0], ts)?;
            if !v.is_empty() {
                return Ok(Some(Val::Vector(Vec::new())));
            }
            Val::Vector(vec![absent_elem(args[0], ts)])
        }
        "absent_over_time" => {
            let m = ev.eval_matrix(args[0], ts)?;
            if m.iter().any(|s| !s.points.is_empty()) {
                return Ok(Some(Val::Vector(Vec::new())));
            }
            Val::Vector(vec![absent_elem(args[0], ts)])
        }
        "sort" | "sort_desc" => {
            let mut v = ev.eval_vector(args[0], ts)?;
            let desc = name == "sort_desc";
            // NaN sorts last either way, as Prometheus does.
            v.sort_by(|a, b| match (a.v.is_nan(), b.v.is_nan()) {
                (true, true) => std::cmp::Ordering::Equal,
                (true, false) => std::cmp::Ordering::Greater,
                (false, true) => std::cmp::Ordering::Less,
                _ if desc => b.v.partial_cmp(&a.v).unwrap_or(std::cmp::Ordering::Equal),
                _ => a.v.partial_cmp(&b.v).unwrap_or(std::cmp::Ordering::Equal),
            });
            Val::Vector(v)
        }
        "sort_by_label" | "sort_by_label_desc" => {
            let mut v = ev.eval_vector(args[0], ts)?;
            let mut names = Vec::new();
            for a in &args[1..] {
                names.push(string_arg(a)?);
            }
            let desc = name == "sort_by_label_desc";
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
            Val::Vector(v)
        }
        _ => return Ok(None),
    };
    Ok(Some(v))
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
