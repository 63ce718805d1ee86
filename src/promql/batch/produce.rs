//! Producing a batchable subtree's result over all steps, one series at a
//! time, into a sink: selectors and range functions read storage, an
//! aggregation folds its operand's series, arithmetic or a comparison with
//! a number maps its operand's. The recursion through operands is this
//! file's own.

use promql_parser::parser::{BinaryExpr, Expr};

use crate::promql::context::EvalContext;
use crate::promql::error::PromqlError;
use crate::promql::operators::{vector_scalar_drops_name, vector_scalar_value};
use crate::promql::precomputed::Steps;

use super::aggregate::Aggregation;
use super::plan::vector_with_number;
use super::range::range_function;
use super::selector::selector;
use super::sink::Sink;

pub(super) fn produce(
    ctx: &mut EvalContext,
    e: &Expr,
    steps: &Steps,
    sink: &mut Sink,
) -> Result<(), PromqlError> {
    match e {
        Expr::Paren(p) => produce(ctx, &p.expr, steps, sink),
        Expr::VectorSelector(vs) => selector(ctx, vs, steps, sink),
        Expr::Call(c) => range_function(ctx, c, steps, sink),
        Expr::Aggregate(a) => {
            let mut agg = Aggregation::new(a, steps);
            produce(ctx, &a.expr, steps, &mut |ctx, metric, drop_name, points| {
                agg.fold(ctx, metric, drop_name, points)
            })?;
            agg.finish(ctx, sink)
        }
        Expr::Binary(b) => with_number(ctx, b, steps, sink),
        _ => Err(PromqlError::Execution(format!(
            "internal error: {e} cannot be evaluated over all steps at once"
        ))),
    }
}

/// A vector operand and a number literal: each series' points mapped (or
/// filtered, for comparisons) as the step-by-step operation does.
fn with_number(
    ctx: &mut EvalContext,
    b: &BinaryExpr,
    steps: &Steps,
    sink: &mut Sink,
) -> Result<(), PromqlError> {
    let Some((operand, number, swap)) = vector_with_number(b) else {
        return Err(PromqlError::Execution(format!(
            "internal error: {b} cannot be evaluated over all steps at once"
        )));
    };
    let op = b.op.id();
    let return_bool = b.modifier.as_ref().is_some_and(|m| m.return_bool);
    let drops_name = vector_scalar_drops_name(op, return_bool);
    let mut out = Vec::with_capacity(steps.count);
    produce(ctx, operand, steps, &mut |ctx, metric, drop_name, points| {
        out.clear();
        for &(t, v) in points {
            if let Some(value) = vector_scalar_value(op, v, number, swap, return_bool)? {
                out.push((t, value));
            }
        }
        if out.is_empty() {
            return Ok(());
        }
        ctx.hold(out.len())?;
        let sent = sink(ctx, metric, drop_name || drops_name, &out);
        ctx.release(out.len());
        sent
    })
}
