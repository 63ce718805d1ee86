//! The query language a rule group is written in. A group declares it
//! with its `type` key (as vmalert's groups do): PromQL over the TSDB by
//! default, or LogQL over the logs store, as Loki's ruler evaluates it.
//!
//! The key is needed because the text alone cannot tell: a LogQL metric
//! query such as `count_over_time({service="api"}[5m])` is valid PromQL
//! too, with a different meaning.

use promql_parser::parser::value::ValueType;

use crate::logql::{Query, parse_query};
use crate::promql::Engine;

use super::locate::parse_error_position;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum QueryLanguage {
    #[default]
    PromQL,
    LogQL,
}

/// An expression the group's language refuses, with the place inside the
/// expression (1-based line and column) where it is known.
#[derive(Debug, Clone, PartialEq)]
pub struct ExprFault {
    pub message: String,
    pub line: usize,
    pub column: usize,
}

impl QueryLanguage {
    /// Reads a group's `type` value; the error names the accepted ones.
    pub fn from_group_type(text: &str) -> Result<QueryLanguage, String> {
        match text {
            "promql" | "prometheus" => Ok(QueryLanguage::PromQL),
            "logql" | "loki" => Ok(QueryLanguage::LogQL),
            other => Err(format!(
                "unknown group type {other:?} (use \"promql\", the default, or \"logql\")"
            )),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            QueryLanguage::PromQL => "promql",
            QueryLanguage::LogQL => "logql",
        }
    }

    /// Parses and type-checks a rule's expression: it must yield an
    /// instant vector or a scalar, which for LogQL means a metric query.
    pub fn check_expr(self, expr: &str) -> Result<(), ExprFault> {
        match self {
            QueryLanguage::PromQL => check_promql(expr),
            QueryLanguage::LogQL => check_logql(expr),
        }
    }

    /// The PromQL a rule's expression runs on the PromQL engine, for lints
    /// and dependency analysis: the expression itself, or for LogQL the
    /// operators around its range aggregations (each replaced by a
    /// placeholder series that no rule writes).
    pub fn promql_part(self, expr: &str) -> Option<String> {
        match self {
            QueryLanguage::PromQL => Some(expr.to_string()),
            QueryLanguage::LogQL => match parse_query(expr) {
                Ok(Query::Metric(m)) => Some(m.promql),
                _ => None,
            },
        }
    }
}

fn check_promql(expr: &str) -> Result<(), ExprFault> {
    let parsed = Engine::parse(expr).map_err(|e| {
        let text = e.to_string();
        // The parser's `LINE:COL: parse error: ...` is inside the expression.
        let (line, column) = parse_error_position(&text).unwrap_or((1, 1));
        ExprFault {
            message: format!("could not parse expression: {text}"),
            line,
            column,
        }
    })?;
    match parsed.value_type() {
        ValueType::Vector | ValueType::Scalar => Ok(()),
        other => Err(ExprFault {
            message: format!(
                "expression must evaluate to an instant vector or scalar, not a {}",
                match other {
                    ValueType::Matrix => "range vector",
                    _ => "string",
                }
            ),
            line: 1,
            column: 1,
        }),
    }
}

fn check_logql(expr: &str) -> Result<(), ExprFault> {
    match parse_query(expr) {
        Ok(Query::Metric(_)) => Ok(()),
        Ok(Query::Log(_)) => Err(ExprFault {
            message: "a LogQL rule needs a metric query (a range aggregation such as \
                      `count_over_time({service=\"api\"} |= \"error\" [5m])`), not a log query"
                .to_string(),
            line: 1,
            column: 1,
        }),
        Err(e) => {
            let text = e.to_string();
            let (line, column) = parse_error_position(&text).unwrap_or((1, 1));
            Err(ExprFault {
                message: format!("could not parse LogQL expression: {text}"),
                line,
                column,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_types() {
        assert_eq!(QueryLanguage::from_group_type("logql"), Ok(QueryLanguage::LogQL));
        assert_eq!(QueryLanguage::from_group_type("loki"), Ok(QueryLanguage::LogQL));
        assert_eq!(
            QueryLanguage::from_group_type("prometheus"),
            Ok(QueryLanguage::PromQL)
        );
        let e = QueryLanguage::from_group_type("sql").unwrap_err();
        assert!(e.contains("\"sql\"") && e.contains("logql"), "{e}");
    }

    #[test]
    fn logql_rules_need_metric_queries() {
        let l = QueryLanguage::LogQL;
        assert!(
            l.check_expr(r#"sum by (level) (count_over_time({service="api"} |= "x" [5m])) > 2"#)
                .is_ok()
        );
        let e = l.check_expr(r#"{service="api"} |= "x""#).unwrap_err();
        assert!(e.message.contains("metric query"), "{}", e.message);
        let e = l
            .check_expr("count_over_time({service=\"api\"}\n  |= [5m])")
            .unwrap_err();
        assert!(
            e.message.starts_with("could not parse LogQL expression"),
            "{}",
            e.message
        );
        assert_eq!(e.line, 2, "{e:?}");
        // Valid PromQL, not LogQL (no range aggregation of a log selector).
        assert!(l.check_expr("up == 0").is_err());
    }

    #[test]
    fn promql_part_of_logql() {
        let p = QueryLanguage::LogQL
            .promql_part(r#"sum(rate({service="api"}[1m])) > 3"#)
            .unwrap();
        assert!(p.ends_with("> 3") && !p.contains("service"), "{p}");
        assert_eq!(QueryLanguage::LogQL.promql_part("{a=\"b\"}"), None);
    }
}
