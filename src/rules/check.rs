//! `belfry check rules`: load and type-check rule files, then lint them:
//! - an alerting rule whose expression has no comparison or filter fires
//!   whenever any series exists;
//! - `{{ $value }}%` where the expression yields a ratio prints 0.05 as
//!   "0.05%" (use `humanizePercentage`);
//! - metric names the LMS stack's exporters never emit (a short table of
//!   known mistakes, not a general check), and `status` matchers that
//!   select none of the instrumentator's grouped codes ("2xx" … "5xx").
//!
//! LogQL groups get the first two lints, over the operators around their
//! range aggregations.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use promql_parser::parser::Expr;

use super::ast::walk;
use super::file::{ParseOptions, RuleKind, RuleSpec, load_file};
use super::language::QueryLanguage;
use crate::logql::ast::RangeFn;
use crate::logql::{Query, parse_query};

/// The outcome of checking one file.
#[derive(Debug, Clone)]
pub struct FileCheck {
    pub path: PathBuf,
    pub rules: usize,
    pub errors: Vec<String>,
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct CheckReport {
    pub files: Vec<FileCheck>,
}

impl CheckReport {
    pub fn has_errors(&self) -> bool {
        self.files.iter().any(|f| !f.errors.is_empty())
    }

    pub fn warnings(&self) -> impl Iterator<Item = &str> {
        self.files
            .iter()
            .flat_map(|f| f.warnings.iter().map(String::as_str))
    }

    /// 1 when any file has errors (as promtool), else 0.
    pub fn exit_code(&self) -> i32 {
        if self.has_errors() { 1 } else { 0 }
    }

    /// promtool-style text.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for f in &self.files {
            let _ = writeln!(out, "Checking {}", f.path.display());
            if f.errors.is_empty() {
                let _ = writeln!(out, "  SUCCESS: {} rules found", f.rules);
            } else {
                let _ = writeln!(out, "  FAILED:");
                for e in &f.errors {
                    let _ = writeln!(out, "{e}");
                }
            }
            for w in &f.warnings {
                let _ = writeln!(out, "  WARNING: {w}");
            }
            out.push('\n');
        }
        out
    }
}

/// Checks each rule file: errors refuse it, warnings are lint findings.
pub fn check_rules(paths: &[PathBuf]) -> CheckReport {
    CheckReport {
        files: paths.iter().map(|p| check_file(p)).collect(),
    }
}

fn check_file(path: &Path) -> FileCheck {
    let mut fc = FileCheck {
        path: path.to_path_buf(),
        rules: 0,
        errors: Vec::new(),
        warnings: Vec::new(),
    };
    let file = match load_file(path, ParseOptions::default()) {
        Ok(f) => f,
        Err(e) => {
            fc.errors.push(e.to_string());
            return fc;
        }
    };
    for g in &file.groups {
        for r in &g.rules {
            fc.rules += 1;
            let at = format!("{}:{}", file.path, r.line);
            for w in lint_rule(r, g.language) {
                fc.warnings.push(format!(
                    "{at}: group {:?}, {} {:?}: {w}",
                    g.name,
                    kind_word(r),
                    r.name()
                ));
            }
        }
    }
    fc
}

fn kind_word(r: &RuleSpec) -> &'static str {
    match r.kind {
        RuleKind::Recording { .. } => "recording rule",
        RuleKind::Alerting { .. } => "alert",
    }
}

/// Lint findings for one rule.
pub fn lint_rule(r: &RuleSpec, language: QueryLanguage) -> Vec<String> {
    let mut out = Vec::new();
    let Some(promql) = language.promql_part(&r.expr) else {
        return out;
    };
    let Ok(expr) = crate::promql::Engine::parse(&promql) else {
        return out;
    };
    if let RuleKind::Alerting { annotations, .. } = &r.kind {
        if !has_filter(&expr) && !absent_in_logql(&r.expr, language) {
            out.push(
                "expression has no comparison or filter, so the alert fires whenever any series exists \
                 (add a threshold such as `> 2`)"
                    .to_string(),
            );
        }
        if let Some(why) = ratio_reason(&expr) {
            for (name, text) in annotations {
                if value_then_percent(text) {
                    out.push(format!(
                        "annotation {name:?} prints {{{{ $value }}}} followed by \"%\", but the expression \
                         yields a ratio ({why}): 0.05 would read \"0.05%\"; use {{{{ $value | humanizePercentage }}}}"
                    ));
                }
            }
        }
    }
    if language == QueryLanguage::PromQL {
        out.extend(exporter_names(&expr));
    }
    out
}

/// LogQL's `absent_over_time` is a range aggregation, hidden from the
/// PromQL part: it filters as PromQL's does.
fn absent_in_logql(expr: &str, language: QueryLanguage) -> bool {
    if language != QueryLanguage::LogQL {
        return false;
    }
    let Ok(Query::Metric(m)) = parse_query(expr) else {
        return false;
    };
    m.ranges.iter().any(|a| a.func == RangeFn::AbsentOverTime)
}

/// A comparison without `bool`, a set filter (`and`, `unless`) or
/// `absent*` anywhere in the expression.
fn has_filter(e: &Expr) -> bool {
    let mut found = false;
    walk(e, &mut |x| match x {
        Expr::Binary(b) => {
            let op = b.op.to_string();
            if (b.op.is_comparison_operator() && !b.return_bool()) || op == "and" || op == "unless" {
                found = true;
            }
        }
        Expr::Call(c) if c.func.name == "absent" || c.func.name == "absent_over_time" => found = true,
        _ => {}
    });
    found
}

/// Why the expression's value is a ratio, if it is one: a division not
/// scaled by 100, or a comparison against a threshold between 0 and 1.
fn ratio_reason(e: &Expr) -> Option<String> {
    let mut division = false;
    let mut times_100 = false;
    let mut threshold = None;
    walk(e, &mut |x| {
        let Expr::Binary(b) = x else { return };
        let op = b.op.to_string();
        let num = |e: &Expr| match e {
            Expr::NumberLiteral(n) => Some(n.val),
            _ => None,
        };
        match op.as_str() {
            "/" => division = true,
            "*" if num(&b.lhs) == Some(100.0) || num(&b.rhs) == Some(100.0) => times_100 = true,
            _ if b.op.is_comparison_operator() => {
                if let Some(v) = num(&b.rhs).or_else(|| num(&b.lhs)) {
                    threshold = Some(v);
                }
            }
            _ => {}
        }
    });
    if times_100 {
        return None;
    }
    if let Some(t) = threshold
        && t > 0.0
        && t < 1.0
    {
        return Some(format!("threshold {t}"));
    }
    division.then(|| "a division".to_string())
}

/// `{{ $value }}%`, `{{ .Value }} %` and the like.
fn value_then_percent(text: &str) -> bool {
    let re = regex::Regex::new(r"\{\{-?\s*(\$value|\.Value)\s*-?\}\}\s*%").expect("static regex");
    re.is_match(text)
}

/// Names the LMS stack's exporters do not emit, with what they do emit.
const WRONG_NAMES: &[(&str, &str)] = &[
    (
        "postgresql_connections",
        "postgres_exporter reports connections as pg_stat_activity_count{datname,state}",
    ),
    (
        "postgresql_max_connections",
        "postgres_exporter reports the limit as pg_settings_max_connections",
    ),
    (
        "postgres_connections",
        "postgres_exporter reports connections as pg_stat_activity_count{datname,state}",
    ),
    (
        "redis_memory_usage_bytes",
        "redis_exporter reports redis_memory_used_bytes and redis_memory_max_bytes",
    ),
    (
        "celery_queue_depth",
        "celery-exporter reports celery_queue_length{queue_name}",
    ),
    (
        "celery_tasks_queued",
        "celery-exporter reports celery_queue_length{queue_name}",
    ),
];

fn exporter_names(e: &Expr) -> Vec<String> {
    let mut out = Vec::new();
    walk(e, &mut |x| {
        let vs = match x {
            Expr::VectorSelector(v) => v,
            Expr::MatrixSelector(m) => &m.vs,
            _ => return,
        };
        let name = vs.name.clone().or_else(|| {
            vs.matchers
                .matchers
                .iter()
                .find(|m| m.name == "__name__")
                .map(|m| m.value.clone())
        });
        let Some(name) = name else { return };
        if let Some((_, hint)) = WRONG_NAMES.iter().find(|(n, _)| *n == name) {
            out.push(format!(
                "metric {name} is not emitted by the LMS exporters: {hint}"
            ));
        } else if name.starts_with("postgresql_") {
            out.push(format!(
                "metric {name} is not emitted by postgres_exporter, whose metrics start with pg_"
            ));
        }
        if name.starts_with("http_request") {
            out.extend(
                vs.matchers
                    .matchers
                    .iter()
                    .filter_map(|m| status_matches_no_group(&name, m)),
            );
        }
    });
    out.dedup();
    out
}

/// The status values prometheus-fastapi-instrumentator reports with its
/// default `should_group_status_codes=True`.
const GROUPED_STATUSES: &[&str] = &["1xx", "2xx", "3xx", "4xx", "5xx"];

/// A positive `status` matcher that selects none of the grouped values, such
/// as `status="500"` or `status=~"5[0-9][0-9]"`: under the instrumentator's
/// defaults it matches nothing. (`status=~"5.."` does match "5xx", since `.`
/// matches `x`, and matches "500" when grouping is off.)
fn status_matches_no_group(metric: &str, m: &promql_parser::label::Matcher) -> Option<String> {
    use promql_parser::label::MatchOp;
    if m.name != "status" || !matches!(m.op, MatchOp::Equal | MatchOp::Re(_)) {
        return None;
    }
    if GROUPED_STATUSES.iter().any(|s| m.is_match(s)) {
        return None;
    }
    Some(format!(
        "{metric}{{status{}{:?}}} matches none of \"1xx\" … \"5xx\", the status values \
         prometheus-fastapi-instrumentator reports by default (it groups codes); use status=\"5xx\", \
         or status=~\"5..\", which matches both grouped and ungrouped codes",
        m.op, m.value
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::file::{ParseOptions, parse_rules};

    fn lints(yaml: &str) -> Vec<String> {
        let f = parse_rules(yaml, "t.yml", ParseOptions::default()).unwrap();
        let g = &f.groups[0];
        g.rules.iter().flat_map(|r| lint_rule(r, g.language)).collect()
    }

    #[test]
    fn logql_alerts_are_linted_on_their_operators() {
        let logql = |expr: &str| {
            lints(&format!(
                "groups:\n- name: g\n  type: logql\n  rules:\n  - alert: A\n    expr: '{expr}'\n"
            ))
        };
        let w = logql(r#"sum(count_over_time({service="auth"} |= "login failed" [1m]))"#);
        assert!(w.iter().any(|w| w.contains("no comparison or filter")), "{w:?}");
        for ok in [
            r#"sum(count_over_time({service="auth"} |= "login failed" [1m])) > 20"#,
            r#"absent_over_time({service="celery"}[15m])"#,
        ] {
            assert!(logql(ok).is_empty(), "{ok}: {:?}", logql(ok));
        }
    }

    #[test]
    fn no_threshold_is_reported() {
        let w = lints(
            "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: histogram_quantile(0.99, sum by (le) (rate(x_bucket[5m])))\n",
        );
        assert!(w.iter().any(|w| w.contains("no comparison or filter")), "{w:?}");
        for ok in [
            "up == 0",
            "absent(up)",
            "up and on() vector(1)",
            "rate(x[5m]) > 2",
        ] {
            let w = lints(&format!(
                "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: {ok}\n"
            ));
            assert!(w.is_empty(), "{ok}: {w:?}");
        }
        let w = lints("groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up > bool 0\n");
        assert_eq!(w.len(), 1, "{w:?}");
    }

    #[test]
    fn status_lint_reports_only_matchers_that_miss_the_grouped_codes() {
        let lint = |sel: &str| {
            lints(&format!(
                "groups:\n- name: g\n  rules:\n  - record: r\n    expr: 'rate({sel}[5m])'\n"
            ))
        };
        // `.` matches `x`: these select "5xx" and are fine.
        for ok in [
            r#"http_requests_total{status=~"5.."}"#,
            r#"http_requests_total{status="5xx"}"#,
            r#"http_requests_total{status=~"5xx|500"}"#,
            r#"http_requests_total{status!="500"}"#,
            r#"other_total{status="500"}"#,
        ] {
            assert!(lint(ok).is_empty(), "{ok}: {:?}", lint(ok));
        }
        for bad in [
            r#"http_requests_total{status="500"}"#,
            r#"http_requests_total{status=~"5[0-9][0-9]"}"#,
            r#"http_requests_total{status=~"5\\d\\d"}"#,
        ] {
            let w = lint(bad);
            assert_eq!(w.len(), 1, "{bad}: {w:?}");
            assert!(w[0].contains("matches none of"), "{bad}: {w:?}");
        }
    }

    #[test]
    fn ratio_printed_as_percent_is_reported() {
        let w = lints(
            "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: a / b > 0.05\n    annotations:\n      d: 'rate is {{ $value }}%'\n",
        );
        assert!(w.iter().any(|w| w.contains("humanizePercentage")), "{w:?}");
        let w = lints(
            "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: a / b * 100 > 5\n    annotations:\n      d: 'rate is {{ $value }}%'\n",
        );
        assert!(w.is_empty(), "{w:?}");
        let w = lints(
            "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: a / b > 0.05\n    annotations:\n      d: 'rate is {{ $value | humanizePercentage }}'\n",
        );
        assert!(w.is_empty(), "{w:?}");
    }
}
