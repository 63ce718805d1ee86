//! Which subtrees are evaluated over all steps at once: the shapes range
//! queries spend their time in (a vector selector, a range function over a
//! matrix selector, a plain aggregation of those, arithmetic or a
//! comparison with a number), and only where no selector in them finds
//! native histograms.

use promql_parser::parser::token::*;
use promql_parser::parser::{BinaryExpr, Call, Expr};

use crate::promql::context::EvalContext;
use crate::promql::error::PromqlError;
use crate::promql::functions::unwrap_parens;
use crate::promql::operators::is_arithmetic_or_comparison;
use crate::promql::selector::selector_matcher_sets;

const RANGE_FUNCTIONS: [&str; 19] = [
    "changes",
    "resets",
    "deriv",
    "rate",
    "increase",
    "delta",
    "irate",
    "idelta",
    "avg_over_time",
    "sum_over_time",
    "count_over_time",
    "min_over_time",
    "max_over_time",
    "last_over_time",
    "first_over_time",
    "stddev_over_time",
    "stdvar_over_time",
    "present_over_time",
    "mad_over_time",
];

fn is_folding_aggregation(op: TokenId) -> bool {
    matches!(
        op,
        T_SUM | T_AVG | T_COUNT | T_MIN | T_MAX | T_GROUP | T_STDDEV | T_STDVAR
    )
}

/// Range functions taking a matrix selector and a number literal (the
/// position of the matrix argument): per step, the number would be the
/// same.
const RANGE_FUNCTIONS_WITH_PARAM: [(&str, usize); 2] = [("predict_linear", 0), ("quantile_over_time", 1)];

fn is_number(e: &Expr) -> bool {
    matches!(unwrap_parens(e), Expr::NumberLiteral(_))
}

/// The matrix selector argument of a batchable range function call.
pub(super) fn range_call_matrix(c: &Call) -> Option<&Expr> {
    let args = &c.args.args;
    let (at, param) = if RANGE_FUNCTIONS.contains(&c.func.name) {
        (0, None)
    } else {
        let &(_, at) = RANGE_FUNCTIONS_WITH_PARAM
            .iter()
            .find(|(n, _)| *n == c.func.name)?;
        (at, Some(1 - at))
    };
    if args.len() != 1 + param.is_some() as usize || param.is_some_and(|i| !is_number(&args[i])) {
        return None;
    }
    let m: &Expr = &args[at];
    matches!(unwrap_parens(m), Expr::MatrixSelector(_)).then_some(m)
}

/// Whether `e` is a shape evaluated over all steps at once.
pub(crate) fn batchable(e: &Expr) -> bool {
    match e {
        Expr::Paren(p) => batchable(&p.expr),
        Expr::Call(c) => range_call_matrix(c).is_some(),
        Expr::Aggregate(a) => {
            a.param.is_none() && is_folding_aggregation(a.op.id()) && vector_operand(&a.expr)
        }
        Expr::Binary(b) => vector_with_number(b).is_some(),
        _ => false,
    }
}

/// A batchable subtree or a vector selector.
fn vector_operand(e: &Expr) -> bool {
    batchable(e) || matches!(unwrap_parens(e), Expr::VectorSelector(_))
}

/// The value of a number literal (possibly negated or in parentheses).
fn number_literal(e: &Expr) -> Option<f64> {
    match e {
        Expr::NumberLiteral(n) => Some(n.val),
        Expr::Paren(p) => number_literal(&p.expr),
        Expr::Unary(u) => number_literal(&u.expr).map(|v| -v),
        _ => None,
    }
}

/// An arithmetic or comparison operation between a batchable vector
/// operand and a number literal: (the vector operand, the number, whether
/// the number is on the left).
pub(super) fn vector_with_number(b: &BinaryExpr) -> Option<(&Expr, f64, bool)> {
    if !is_arithmetic_or_comparison(b.op.id()) || b.modifier.as_ref().is_some_and(|m| m.matching.is_some()) {
        return None;
    }
    match (number_literal(&b.lhs), number_literal(&b.rhs)) {
        (None, Some(s)) if vector_operand(&b.lhs) => Some((&b.lhs, s, false)),
        (Some(s), None) if vector_operand(&b.rhs) => Some((&b.rhs, s, true)),
        _ => None,
    }
}

/// Whether an instant selector in `e` selects native-histogram samples
/// (only `MemStorage` holds any): those subtrees go step by step, where
/// selectors merge histograms in and operations drop them with an info.
pub(super) fn reads_histograms(ctx: &EvalContext, e: &Expr) -> Result<bool, PromqlError> {
    Ok(match e {
        Expr::VectorSelector(vs) => {
            let Some((lo, hi)) = ctx.plan.span(vs) else {
                return Ok(false);
            };
            for set in selector_matcher_sets(vs)? {
                if !ctx.querier.select_histograms(&set, lo, hi)?.is_empty() {
                    return Ok(true);
                }
            }
            false
        }
        Expr::Paren(p) => reads_histograms(ctx, &p.expr)?,
        Expr::Aggregate(a) => reads_histograms(ctx, &a.expr)?,
        Expr::Binary(b) => reads_histograms(ctx, &b.lhs)? || reads_histograms(ctx, &b.rhs)?,
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batchable_shapes() {
        let yes = [
            "rate(x[5m])",
            "(max_over_time(x[1h] offset 5m))",
            "sum by (a) (rate(x[5m]))",
            "count({job=\"node\"})",
            "avg without (b) (x @ 100)",
            "predict_linear(x[1h], 600)",
            "quantile_over_time(0.9, (x[10m]))",
            "stddev(sum by (a) (deriv(x[5m])))",
            "x * 2",
            "2 > bool rate(x[5m])",
            "sum(x > 1) / -(1024)",
            "sum(x) + 1",
        ];
        let no = [
            "x",
            "rate(x[5m:1m])",
            "topk(3, x)",
            "quantile_over_time(scalar(y), x[10m])",
            "predict_linear(x[1h], time())",
            "holt_winters(x[1h], 0.5, 0.5)",
            "sum(x > y)",
            "x * time()",
            "x and y",
            "absent_over_time(x[5m])",
        ];
        for q in yes {
            let e = promql_parser::parser::parse(q).unwrap();
            assert!(batchable(&e), "{q}");
        }
        for q in no {
            let Ok(e) = promql_parser::parser::parse(q) else {
                continue;
            };
            assert!(!batchable(&e), "{q}");
        }
    }
}
