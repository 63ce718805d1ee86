//! `label_replace` and `label_join`.

use std::collections::HashSet;
use std::sync::Arc;

use promql_parser::parser::Expr;
use regex::Regex;

use crate::model::Labels;
use crate::model::is_utf8_label_name;
use crate::promql::error::PromqlError;
use crate::promql::eval::Evaluator;
use crate::promql::value::{Elem, Val};

use super::string_arg;

pub(super) fn call(
    ev: &mut Evaluator,
    name: &str,
    args: &[&Expr],
    ts: i64,
) -> Result<Option<Val>, PromqlError> {
    match name {
        "label_replace" => {
            let dst = string_arg(args[1])?;
            let repl = string_arg(args[2])?;
            let src = string_arg(args[3])?;
            let re_str = string_arg(args[4])?;
            let re = Regex::new(&format!("^(?s:{re_str})$")).map_err(|_| {
                PromqlError::Execution(format!("invalid regular expression in label_replace(): {re_str}"))
            })?;
            if !is_utf8_label_name(&dst) {
                return Err(PromqlError::Execution(format!(
                    "invalid destination label name in label_replace(): {dst}"
                )));
            }
            ev.check_label_name(&dst, "invalid destination label name in label_replace(): ")?;
            let v = ev.eval_vector_with_histograms(args[0], ts)?;
            let mut out = Vec::with_capacity(v.len());
            for mut e in v {
                let src_val = e.metric.get(&src).unwrap_or("").to_string();
                if let Some(caps) = re.captures(&src_val) {
                    let mut res = String::new();
                    caps.expand(&go_template(&repl), &mut res);
                    let mut b = e.metric.builder();
                    b.set(&dst, &res);
                    e.metric = Arc::new(b.build());
                    if dst == "__name__" {
                        e.drop_name = false;
                    }
                }
                out.push(e);
            }
            check_unique(&out)?;
            Ok(Some(Val::Vector(out)))
        }
        "label_join" => {
            let dst = string_arg(args[1])?;
            let sep = string_arg(args[2])?;
            let mut srcs = Vec::new();
            for a in &args[3..] {
                let s = string_arg(a)?;
                if !is_utf8_label_name(&s) {
                    return Err(PromqlError::Execution(format!(
                        "invalid source label name in label_join(): {s}"
                    )));
                }
                ev.check_label_name(&s, "invalid source label name in label_join(): ")?;
                srcs.push(s);
            }
            if !is_utf8_label_name(&dst) {
                return Err(PromqlError::Execution(format!(
                    "invalid destination label name in label_join(): {dst}"
                )));
            }
            ev.check_label_name(&dst, "invalid destination label name in label_join(): ")?;
            let v = ev.eval_vector_with_histograms(args[0], ts)?;
            let mut out = Vec::with_capacity(v.len());
            for mut e in v {
                let joined: Vec<&str> = srcs.iter().map(|s| e.metric.get(s).unwrap_or("")).collect();
                let joined = joined.join(&sep);
                let mut b = e.metric.builder();
                b.set(&dst, &joined);
                e.metric = Arc::new(b.build());
                if dst == "__name__" {
                    e.drop_name = false;
                }
                out.push(e);
            }
            check_unique(&out)?;
            Ok(Some(Val::Vector(out)))
        }
        _ => Ok(None),
    }
}

/// Go's `Regexp.Expand` syntax (`$1`, `${1}`, `$name`) is the regex crate's
/// too, except that Go treats `$$` as a literal `$` the same way; nothing to
/// translate but kept as one place to do so.
fn go_template(s: &str) -> String {
    s.to_string()
}

/// Prometheus refuses two output series with the same labels (after the
/// delayed name removal they would carry).
fn check_unique(v: &[Elem]) -> Result<(), PromqlError> {
    let mut seen: HashSet<Labels> = HashSet::with_capacity(v.len());
    for e in v {
        let key = if e.drop_name {
            crate::promql::value::drop_reserved(&e.metric)
        } else {
            (*e.metric).clone()
        };
        if !seen.insert(key) {
            return Err(PromqlError::Execution(
                "vector cannot contain metrics with the same labelset".into(),
            ));
        }
    }
    Ok(())
}
