//! Which rules of a group may be evaluated at the same time: a rule is
//! independent when it reads no series another rule of its group writes
//! and no other rule of the group reads what it writes (Prometheus's
//! definition for its `concurrent-rule-eval`). Anything we cannot see
//! through — a selector without a fixed metric name, a template calling
//! `query` — makes the rule dependent, so the group keeps its order.
//! A LogQL group's rules (and their templates' queries) read the logs
//! store, never series a rule writes, so they are all independent.

use std::collections::HashSet;

use promql_parser::parser::Expr;

use super::ast::walk;
use super::language::QueryLanguage;
use super::rule::Rule;

/// What one rule reads: a set of metric names, or possibly anything.
enum Reads {
    Names(HashSet<String>),
    Anything,
}

fn reads(rule: &Rule, language: QueryLanguage) -> Reads {
    if language == QueryLanguage::LogQL {
        return Reads::Names(HashSet::new());
    }
    if let Rule::Alerting(r) = rule
        && r.labels
            .iter()
            .chain(&r.annotations)
            .any(|(_, src)| src.contains("query"))
    {
        return Reads::Anything;
    }
    let Ok(expr) = crate::promql::Engine::parse(rule.expr()) else {
        return Reads::Anything;
    };
    let mut names = HashSet::new();
    let mut anything = false;
    walk(&expr, &mut |e| {
        let vs = match e {
            Expr::VectorSelector(v) => v,
            Expr::MatrixSelector(m) => &m.vs,
            _ => return,
        };
        let fixed = vs.name.clone().or_else(|| {
            vs.matchers
                .matchers
                .iter()
                .find(|m| m.name == "__name__" && m.op.to_string() == "=")
                .map(|m| m.value.clone())
        });
        match fixed {
            Some(n) => {
                names.insert(n);
            }
            None => anything = true,
        }
    });
    if anything {
        Reads::Anything
    } else {
        Reads::Names(names)
    }
}

fn writes(rule: &Rule) -> Vec<&str> {
    match rule {
        Rule::Recording(r) => vec![r.name.as_str()],
        Rule::Alerting(_) => vec!["ALERTS", "ALERTS_FOR_STATE"],
    }
}

/// For each rule: true when it may run concurrently with the others.
pub fn independent_rules(rules: &[Rule], language: QueryLanguage) -> Vec<bool> {
    let reads: Vec<Reads> = rules.iter().map(|r| reads(r, language)).collect();
    let writes: Vec<Vec<&str>> = rules.iter().map(writes).collect();
    let reads_any_of = |i: usize, names: &[&str]| match &reads[i] {
        Reads::Anything => true,
        Reads::Names(set) => names.iter().any(|n| set.contains(*n)),
    };
    (0..rules.len())
        .map(|i| {
            (0..rules.len())
                .filter(|&j| j != i)
                .all(|j| !reads_any_of(i, &writes[j]) && !reads_any_of(j, &writes[i]))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::file::{ParseOptions, parse_rules};
    use crate::rules::group::Group;

    fn independence(yaml: &str) -> Vec<bool> {
        let f = parse_rules(yaml, "t.yml", ParseOptions::default()).unwrap();
        let g = Group::new(&f.groups[0], std::time::Duration::from_secs(60), true);
        independent_rules(&g.rules, g.language)
    }

    fn group(rules: &[&str]) -> String {
        let mut y = String::from("groups:\n- name: g\n  rules:\n");
        for r in rules {
            y.push_str("  - ");
            y.push_str(&r.replace('\n', "\n    "));
            y.push('\n');
        }
        y
    }

    #[test]
    fn chains_and_unknown_reads_are_dependent() {
        let got = independence(&group(&[
            "record: a:sum\nexpr: sum(a)",
            "alert: AHigh\nexpr: a:sum > 1",
            "record: b:rate\nexpr: rate(b[5m])",
            "alert: CDown\nexpr: c == 0\nannotations: {x: '{{ query \"up\" }}'}",
            "record: d:x\nexpr: '{job=\"d\"}'",
            "alert: EDown\nexpr: e == 0",
        ]));
        // a:sum feeds AHigh; CDown's template and d:x's selector may read
        // anything, which makes every writer they could see dependent too.
        assert_eq!(got, [false, false, false, false, false, false]);
        let got = independence(&group(&[
            "record: a:sum\nexpr: sum(a)",
            "alert: AHigh\nexpr: a:sum > 1",
            "record: b:rate\nexpr: rate(b[5m])",
            "alert: EDown\nexpr: e == 0",
            "alert: FDown\nexpr: f == 0",
        ]));
        assert_eq!(got, [false, false, true, true, true]);
    }

    #[test]
    fn logql_rules_are_independent() {
        let yaml = group(&[
            "record: api:lines:rate1m\nexpr: 'sum(rate({service=\"api\"}[1m]))'",
            "alert: Errors\nexpr: 'sum(count_over_time({level=\"error\"}[5m])) > 2'\nannotations: {x: '{{ query \"sum(rate({service=\\\"api\\\"}[1m]))\" }}'}",
        ])
        .replace("- name: g\n", "- name: g\n  type: logql\n");
        assert_eq!(independence(&yaml), [true, true]);
    }
}
