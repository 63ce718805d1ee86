//! The engine's entry to the evaluation over all steps: the largest
//! batchable subtrees of a query (outside subqueries, whose evaluation
//! times differ) evaluated over all steps, their results handed back by
//! node for the per-step evaluator to read.

use std::collections::HashMap;

use promql_parser::parser::Expr;

use crate::promql::context::EvalContext;
use crate::promql::error::PromqlError;
use crate::promql::node::NodeId;
use crate::promql::precomputed::{Precomputed, StepSeries, Steps};

use super::plan::{batchable, reads_histograms};
use super::produce::produce;

/// Evaluates the largest batchable subtrees of `e` over all `steps`.
pub(crate) fn precompute(
    ctx: &mut EvalContext,
    e: &Expr,
    steps: &Steps,
) -> Result<HashMap<NodeId, Precomputed>, PromqlError> {
    let mut out = HashMap::new();
    walk(ctx, e, steps, &mut out)?;
    Ok(out)
}

fn walk(
    ctx: &mut EvalContext,
    e: &Expr,
    steps: &Steps,
    out: &mut HashMap<NodeId, Precomputed>,
) -> Result<(), PromqlError> {
    if batchable(e) && !reads_histograms(ctx, e)? {
        let series = collect(ctx, e, steps)?;
        out.insert(NodeId::of_expr(e), Precomputed::new(series));
        return Ok(());
    }
    match e {
        Expr::Paren(p) => walk(ctx, &p.expr, steps, out),
        Expr::Unary(u) => walk(ctx, &u.expr, steps, out),
        Expr::Binary(b) => {
            walk(ctx, &b.lhs, steps, out)?;
            walk(ctx, &b.rhs, steps, out)
        }
        Expr::Aggregate(a) => {
            walk(ctx, &a.expr, steps, out)?;
            match &a.param {
                Some(p) => walk(ctx, p, steps, out),
                None => Ok(()),
            }
        }
        Expr::Call(c) => {
            for a in &c.args.args {
                walk(ctx, a, steps, out)?;
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

fn collect(ctx: &mut EvalContext, e: &Expr, steps: &Steps) -> Result<Vec<StepSeries>, PromqlError> {
    let mut out = Vec::new();
    produce(ctx, e, steps, &mut |ctx, metric, drop_name, points| {
        ctx.hold(points.len())?;
        out.push(StepSeries {
            metric: metric.clone(),
            drop_name,
            points: points.to_vec(),
        });
        Ok(())
    })?;
    Ok(out)
}
