//! Function calls: argument evaluation and dispatch to one file per family.

mod counters;
mod date;
mod histogram;
mod labels;
mod math;
mod misc;
mod over_time;
mod rate;

pub(crate) use counters::window_value as counter_window_value;
pub(crate) use over_time::{better as better_extreme, keeps_name as over_time_keeps_name, value_over};
pub(crate) use rate::{extrapolated_rate_with_resets, instant_value, non_counter_info};

use promql_parser::parser::{Call, Expr};

use super::error::PromqlError;
use super::eval::{Evaluator, duration_ms, offset_ms};
use super::value::{Elem, RangeElem, Val};

/// The range-vector argument of a function, with the window it covers.
pub(crate) struct Window {
    pub series: Vec<RangeElem>,
    /// `(start, end]`: the window the selector or subquery read.
    pub start: i64,
    pub end: i64,
    pub range_ms: i64,
}

pub(crate) fn eval_window(ev: &mut Evaluator, e: &Expr, ts: i64) -> Result<Window, PromqlError> {
    let e = unwrap_parens(e);
    let (at, off, range) = match e {
        Expr::MatrixSelector(ms) => (&ms.vs.at, offset_ms(&ms.vs.offset), duration_ms(&ms.range)),
        Expr::Subquery(sq) => (&sq.at, offset_ms(&sq.offset), duration_ms(&sq.range)),
        _ => {
            let series = ev.eval_matrix(e, ts)?;
            return Ok(Window {
                series,
                start: ts,
                end: ts,
                range_ms: 0,
            });
        }
    };
    let end = ev.at_time(at, ts) - off;
    let series = ev.eval_matrix(e, ts)?;
    Ok(Window {
        series,
        start: end - range,
        end,
        range_ms: range,
    })
}

pub(crate) fn unwrap_parens(e: &Expr) -> &Expr {
    match e {
        Expr::Paren(p) => unwrap_parens(&p.expr),
        other => other,
    }
}

/// Applies `f` to each element's value, dropping the metric name.
pub(crate) fn map_values(v: Vec<Elem>, ts: i64, f: impl Fn(f64) -> f64) -> Val {
    Val::Vector(
        v.into_iter()
            .map(|mut e| {
                e.v = f(e.v);
                e.t = ts;
                e.drop_name = true;
                e
            })
            .collect(),
    )
}

pub(crate) fn string_arg(e: &Expr) -> Result<String, PromqlError> {
    match unwrap_parens(e) {
        Expr::StringLiteral(s) => Ok(s.val.clone()),
        other => Err(PromqlError::Execution(format!(
            "expected a string literal, got {other}"
        ))),
    }
}

pub(crate) fn call(ev: &mut Evaluator, c: &Call, ts: i64) -> Result<Val, PromqlError> {
    let name = c.func.name;
    let args: Vec<&Expr> = c.args.args.iter().map(|b| b.as_ref()).collect();
    if ev.is_range && name.starts_with("sort") {
        let pos = ev.position(&format!("{name}("));
        ev.annotations.warn(
            "sort is ineffective for range queries since results are always ordered by labels".into(),
            pos,
        );
    }
    if let Some(v) = rate::call(ev, name, &args, ts)? {
        return Ok(v);
    }
    if let Some(v) = over_time::call(ev, name, &args, ts)? {
        return Ok(v);
    }
    if let Some(v) = counters::call(ev, name, &args, ts)? {
        return Ok(v);
    }
    if let Some(v) = math::call(ev, name, &args, ts)? {
        return Ok(v);
    }
    if let Some(v) = date::call(ev, name, &args, ts)? {
        return Ok(v);
    }
    if let Some(v) = labels::call(ev, name, &args, ts)? {
        return Ok(v);
    }
    if let Some(v) = histogram::call(ev, name, &args, ts)? {
        return Ok(v);
    }
    if let Some(v) = misc::call(ev, name, &args, ts)? {
        return Ok(v);
    }
    Err(PromqlError::BadData(format!(
        "function {name:?} is not supported"
    )))
}
