//! Every vector and matrix selector of a query as matcher sets, as
//! Prometheus's `parser.ExtractSelectors`: what `/api/v1/query_exemplars`
//! selects series by (the query itself is not evaluated).

use promql_parser::parser::Expr;

use crate::model::Matcher;

use super::error::PromqlError;
use super::selector::selector_matcher_sets;

/// The matcher sets of every selector in `expr`, in query order; the
/// matchers of one selector form one set (several with `or`).
pub fn extract_selectors(expr: &Expr) -> Result<Vec<Vec<Matcher>>, PromqlError> {
    let mut out = Vec::new();
    walk(expr, &mut out)?;
    Ok(out)
}

fn walk(e: &Expr, out: &mut Vec<Vec<Matcher>>) -> Result<(), PromqlError> {
    match e {
        Expr::NumberLiteral(_) | Expr::StringLiteral(_) | Expr::Extension(_) => {}
        Expr::Paren(p) => walk(&p.expr, out)?,
        Expr::Unary(u) => walk(&u.expr, out)?,
        Expr::Binary(b) => {
            walk(&b.lhs, out)?;
            walk(&b.rhs, out)?;
        }
        Expr::Aggregate(a) => {
            walk(&a.expr, out)?;
            if let Some(p) = &a.param {
                walk(p, out)?;
            }
        }
        Expr::Call(c) => {
            for a in &c.args.args {
                walk(a, out)?;
            }
        }
        Expr::Subquery(sq) => walk(&sq.expr, out)?,
        Expr::VectorSelector(vs) => out.extend(selector_matcher_sets(vs)?),
        Expr::MatrixSelector(ms) => out.extend(selector_matcher_sets(&ms.vs)?),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sets(q: &str) -> Vec<Vec<String>> {
        let expr = crate::promql::parse(q).unwrap();
        extract_selectors(&expr)
            .unwrap()
            .iter()
            .map(|set| set.iter().map(|m| m.to_string()).collect())
            .collect()
    }

    #[test]
    fn finds_every_selector_of_a_query() {
        assert_eq!(
            sets("histogram_quantile(0.99, sum by (le) (rate(req_bucket{job=\"api\"}[5m])))"),
            [vec!["__name__=\"req_bucket\"", "job=\"api\""]]
        );
        assert_eq!(
            sets("a / on() group_left b{x=~\"y.*\"} + 1"),
            [vec!["__name__=\"a\""], vec!["__name__=\"b\"", "x=~\"y.*\""]]
        );
        assert_eq!(sets("max_over_time(c[1h:5m])"), [vec!["__name__=\"c\""]]);
        assert!(sets("1 + 2").is_empty());
    }
}
