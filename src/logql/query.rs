//! A whole LogQL query: a log query (`{…} | …`), or a metric query whose
//! range aggregations are LogQL and whose operators around them
//! (aggregations, arithmetic, comparisons, `label_replace`, `vector`…)
//! are PromQL's. Each range aggregation is parsed here and replaced by a
//! placeholder series name; the rest is parsed by the PromQL parser and
//! later evaluated by the PromQL engine over the placeholders' series.

use promql_parser::parser::Expr;

use super::ast::{LogSelector, RangeAggregation, RangeFn};
use super::error::LogqlError;
use super::literals::read_string;
use super::parse::{Cursor, check_size, error_at, parse_log_query, range_aggregation};

/// The name the PromQL text gives the n-th range aggregation's series.
pub fn placeholder(n: usize) -> String {
    format!("__logql_range_{n}__")
}

#[derive(Debug, Clone)]
pub struct MetricQuery {
    /// PromQL over the placeholders.
    pub promql: String,
    pub ranges: Vec<RangeAggregation>,
}

#[derive(Debug, Clone)]
pub enum Query {
    Log(LogSelector),
    Metric(MetricQuery),
}

/// The functions LogQL allows around range aggregations.
const FUNCTIONS: [&str; 4] = ["label_replace", "vector", "sort", "sort_desc"];

pub fn parse_query(src: &str) -> Result<Query, LogqlError> {
    check_size(src)?;
    if src.trim_start().starts_with('{') {
        return parse_log_query(src).map(Query::Log);
    }
    let mut promql = String::with_capacity(src.len());
    let mut ranges = Vec::new();
    let bytes = src.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if matches!(c, b'"' | b'\'' | b'`') {
            match read_string(&src[i..]) {
                Ok(Some((_, n))) => {
                    promql.push_str(&src[i..i + n]);
                    i += n;
                    continue;
                }
                _ => return Err(error_at(src, i, "unterminated string")),
            }
        }
        if c == b'{' {
            return Err(error_at(
                src,
                i,
                "a stream selector belongs inside a range aggregation such as count_over_time({…}[5m]), or at the start of a log query",
            ));
        }
        if c == b'[' {
            return Err(error_at(
                src,
                i,
                "ranges belong inside a range aggregation; LogQL has no subqueries",
            ));
        }
        if c == b'_' || c.is_ascii_alphabetic() {
            let start = i;
            while i < bytes.len()
                && (bytes[i] == b'_' || bytes[i] == b':' || bytes[i].is_ascii_alphanumeric())
            {
                i += 1;
            }
            let word = &src[start..i];
            let follows_paren = src[i..].trim_start().starts_with('(');
            match RangeFn::from_name(word) {
                Some(func) if follows_paren => {
                    let mut cur = Cursor::new(src, i);
                    ranges.push(range_aggregation(&mut cur, func)?);
                    promql.push_str(&placeholder(ranges.len() - 1));
                    i = cur.pos();
                }
                _ => promql.push_str(word),
            }
            continue;
        }
        let ch = src[i..].chars().next().unwrap_or(' ');
        promql.push(ch);
        i += ch.len_utf8();
    }
    let expr = crate::promql::parse(&promql).map_err(|e| LogqlError::Parse(format!("parse error: {e}")))?;
    check_outer(&expr, ranges.len())?;
    Ok(Query::Metric(MetricQuery { promql, ranges }))
}

/// Refuses what PromQL has and LogQL does not: selectors other than the
/// placeholders, ranges, subqueries, other functions.
fn check_outer(e: &Expr, n: usize) -> Result<(), LogqlError> {
    let bad = |m: String| Err(LogqlError::Parse(format!("parse error: {m}")));
    match e {
        Expr::Aggregate(a) => {
            if let Some(p) = &a.param {
                check_outer(p, n)?;
            }
            check_outer(&a.expr, n)
        }
        Expr::Unary(u) => check_outer(&u.expr, n),
        Expr::Binary(b) => {
            check_outer(&b.lhs, n)?;
            check_outer(&b.rhs, n)
        }
        Expr::Paren(p) => check_outer(&p.expr, n),
        Expr::NumberLiteral(_) | Expr::StringLiteral(_) => Ok(()),
        Expr::VectorSelector(v) => {
            let known = v
                .name
                .as_deref()
                .is_some_and(|name| (0..n).any(|i| placeholder(i) == name));
            let only_name =
                v.matchers.matchers.iter().all(|m| m.name == "__name__") && v.matchers.or_matchers.is_empty();
            if !known || !only_name || v.offset.is_some() || v.at.is_some() {
                let name = v.name.clone().unwrap_or_default();
                return bad(format!(
                    "unexpected identifier {name:?}: a metric query is built from range aggregations such as count_over_time({{…}}[5m])"
                ));
            }
            Ok(())
        }
        Expr::MatrixSelector(_) | Expr::Subquery(_) => {
            bad("LogQL has no subqueries or range selectors outside range aggregations".into())
        }
        Expr::Call(c) => {
            if !FUNCTIONS.contains(&c.func.name) {
                return bad(format!(
                    "function {:?} is not supported in LogQL (supported around range aggregations: {})",
                    c.func.name,
                    FUNCTIONS.join(", ")
                ));
            }
            c.args.args.iter().try_for_each(|a| check_outer(a, n))
        }
        Expr::Extension(_) => bad("unsupported expression".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metric(q: &str) -> MetricQuery {
        match parse_query(q).unwrap() {
            Query::Metric(m) => m,
            Query::Log(_) => panic!("a log query"),
        }
    }

    #[test]
    fn range_aggregations_become_placeholders() {
        let m = metric(r#"sum by (level) (count_over_time({service="api"} |= "x" [1h])) / 2"#);
        assert_eq!(m.promql, "sum by (level) (__logql_range_0__) / 2");
        let m = metric(
            r#"topk(3, sum_over_time({a="b"} | logfmt | unwrap took [5m]) by (path)) > bool 1 or rate({a="c"}[1m])"#,
        );
        assert_eq!(m.ranges.len(), 2);
        assert_eq!(
            m.promql,
            "topk(3, __logql_range_0__) > bool 1 or __logql_range_1__"
        );
        let m = metric(r#"label_replace(rate({a="b"}[1m]), "x", "$1", "a", "(.*)")"#);
        assert_eq!(m.ranges.len(), 1);
    }

    #[test]
    fn log_queries_and_refusals() {
        assert!(matches!(
            parse_query(r#"  {a="b"} |= "x""#).unwrap(),
            Query::Log(_)
        ));
        let e = parse_query(r#"sum(foo)"#).unwrap_err().to_string();
        assert!(e.contains("unexpected identifier"), "{e}");
        let e = parse_query(r#"sum(rate(foo[5m]))"#).unwrap_err().to_string();
        assert!(e.contains("parse error"), "{e}");
        let e = parse_query(r#"sum({a="b"})"#).unwrap_err().to_string();
        assert!(e.contains("stream selector"), "{e}");
        let e = parse_query(r#"abs(rate({a="b"}[1m]))"#).unwrap_err().to_string();
        assert!(e.contains("not supported"), "{e}");
        let e = parse_query(r#"sum(rate({a="b"}[1m])"#).unwrap_err().to_string();
        assert!(e.starts_with("parse error"), "{e}");
    }
}
