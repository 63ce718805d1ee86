//! `label_replace` and `label_join`.

use std::collections::HashSet;
use std::sync::Arc;

use crate::model::Labels;
use crate::model::compile_go_regex_anchored;
use crate::model::is_utf8_label_name;
use crate::promql::error::PromqlError;
use crate::promql::eval::Evaluator;
use crate::promql::value::{Elem, Val};

use super::args::Args;

/// Label names are checked before the vector is read, as Prometheus does.
pub(super) fn label_replace(ev: &mut Evaluator, args: &Args, ts: i64) -> Result<Val, PromqlError> {
    let dst = args.string(1)?;
    let repl = args.string(2)?;
    let src = args.string(3)?;
    let re_str = args.string(4)?;
    let re = compile_go_regex_anchored(&re_str).map_err(|_| {
        PromqlError::Execution(format!("invalid regular expression in label_replace(): {re_str}"))
    })?;
    if !is_utf8_label_name(&dst) {
        return Err(PromqlError::Execution(format!(
            "invalid destination label name in label_replace(): {dst}"
        )));
    }
    ev.ctx
        .check_label_name(&dst, "invalid destination label name in label_replace(): ")?;
    let v = args.vector_with_histograms(ev, 0, ts)?;
    let mut out = Vec::with_capacity(v.len());
    for mut e in v {
        let src_val = e.metric.get(&src).unwrap_or("").to_string();
        if let Some(caps) = re.captures(&src_val) {
            let mut res = String::new();
            caps.expand(&go_template(&repl), &mut res);
            set_label(&mut e, &dst, &res);
        }
        out.push(e);
    }
    check_unique(&out)?;
    Ok(Val::Vector(out))
}

pub(super) fn label_join(ev: &mut Evaluator, args: &Args, ts: i64) -> Result<Val, PromqlError> {
    let dst = args.string(1)?;
    let sep = args.string(2)?;
    let mut srcs = Vec::new();
    for i in 3..args.len() {
        let s = args.string(i)?;
        if !is_utf8_label_name(&s) {
            return Err(PromqlError::Execution(format!(
                "invalid source label name in label_join(): {s}"
            )));
        }
        ev.ctx
            .check_label_name(&s, "invalid source label name in label_join(): ")?;
        srcs.push(s);
    }
    if !is_utf8_label_name(&dst) {
        return Err(PromqlError::Execution(format!(
            "invalid destination label name in label_join(): {dst}"
        )));
    }
    ev.ctx
        .check_label_name(&dst, "invalid destination label name in label_join(): ")?;
    let v = args.vector_with_histograms(ev, 0, ts)?;
    let mut out = Vec::with_capacity(v.len());
    for mut e in v {
        let joined: Vec<&str> = srcs.iter().map(|s| e.metric.get(s).unwrap_or("")).collect();
        let joined = joined.join(&sep);
        set_label(&mut e, &dst, &joined);
        out.push(e);
    }
    check_unique(&out)?;
    Ok(Val::Vector(out))
}

/// Sets `dst` on an element's labels; a metric name written by the
/// function is kept even where the input's would have been dropped.
fn set_label(e: &mut Elem, dst: &str, value: &str) {
    let mut b = e.metric.builder();
    b.set(dst, value);
    e.metric = Arc::new(b.build());
    if dst == "__name__" {
        e.drop_name = false;
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
