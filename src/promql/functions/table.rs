//! The one table of PromQL functions: each name with the shape of its
//! arguments and the Rust function that computes it. A call looks its name
//! up here once (a binary search: the table is sorted by name) and hands
//! its arguments over in that shape.
//!
//! The functions call back into the per-step evaluator for their arguments
//! (`Args`), which is the evaluation's one recursion (see `eval.rs`).

use chrono::{DateTime, Utc};
use promql_parser::parser::Call;

use crate::promql::error::PromqlError;
use crate::promql::eval::Evaluator;
use crate::promql::value::Val;

use super::args::{Args, map_values};
use super::{counters, date, histogram, labels, math, misc, over_time, rate};

/// How a function takes its arguments, with the function for that shape.
#[derive(Clone, Copy)]
pub(crate) enum Shape {
    /// One instant vector: `f` of each float sample's value, the name
    /// dropped.
    Elementwise(fn(f64) -> f64),
    /// An optional instant vector whose values are Unix times (the step
    /// time without one): `f` of each as a UTC date.
    Date(fn(&DateTime<Utc>) -> f64),
    /// Anything else: the function reads its arguments through [`Args`].
    Args(fn(&mut Evaluator, &Args, i64) -> Result<Val, PromqlError>),
}

use Shape::{Args as A, Date as D, Elementwise as E};

/// Sorted by name (a unit test checks), for the binary search.
static FUNCTIONS: &[(&str, Shape)] = &[
    ("abs", E(f64::abs)),
    ("absent", A(misc::absent)),
    ("absent_over_time", A(misc::absent_over_time)),
    ("acos", E(f64::acos)),
    ("acosh", E(f64::acosh)),
    ("asin", E(f64::asin)),
    ("asinh", E(f64::asinh)),
    ("atan", E(f64::atan)),
    ("atanh", E(f64::atanh)),
    ("avg_over_time", A(over_time::over_time)),
    ("ceil", E(f64::ceil)),
    ("changes", A(counters::counters)),
    ("clamp", A(math::clamp)),
    ("clamp_max", A(math::clamp)),
    ("clamp_min", A(math::clamp)),
    ("cos", E(f64::cos)),
    ("cosh", E(f64::cosh)),
    ("count_over_time", A(over_time::over_time)),
    ("day_of_month", D(date::day_of_month)),
    ("day_of_week", D(date::day_of_week)),
    ("day_of_year", D(date::day_of_year)),
    ("days_in_month", D(date::days_in_month)),
    ("deg", E(math::deg)),
    ("delta", A(rate::delta)),
    ("deriv", A(counters::counters)),
    ("exp", E(f64::exp)),
    ("first_over_time", A(over_time::over_time)),
    ("floor", E(f64::floor)),
    ("histogram_avg", A(histogram::native)),
    ("histogram_count", A(histogram::native)),
    ("histogram_fraction", A(histogram::fraction)),
    ("histogram_quantile", A(histogram::quantile)),
    ("histogram_stddev", A(histogram::native)),
    ("histogram_stdvar", A(histogram::native)),
    ("histogram_sum", A(histogram::native)),
    ("hour", D(date::hour)),
    ("idelta", A(rate::instant)),
    ("increase", A(rate::increase)),
    ("irate", A(rate::instant)),
    ("label_join", A(labels::label_join)),
    ("label_replace", A(labels::label_replace)),
    ("last_over_time", A(over_time::over_time)),
    ("ln", E(f64::ln)),
    ("log10", E(f64::log10)),
    ("log2", E(f64::log2)),
    ("mad_over_time", A(over_time::over_time)),
    ("max_over_time", A(over_time::over_time)),
    ("min_over_time", A(over_time::over_time)),
    ("minute", D(date::minute)),
    ("month", D(date::month)),
    ("pi", A(math::pi)),
    ("predict_linear", A(counters::counters)),
    ("present_over_time", A(over_time::over_time)),
    ("quantile_over_time", A(over_time::over_time)),
    ("rad", E(math::rad)),
    ("rate", A(rate::rate)),
    ("resets", A(counters::counters)),
    ("round", A(math::round)),
    ("scalar", A(misc::scalar)),
    ("sgn", E(math::sgn)),
    ("sin", E(f64::sin)),
    ("sinh", E(f64::sinh)),
    ("sort", A(misc::sort)),
    ("sort_by_label", A(misc::sort_by_label)),
    ("sort_by_label_desc", A(misc::sort_by_label)),
    ("sort_desc", A(misc::sort)),
    ("sqrt", E(f64::sqrt)),
    ("stddev_over_time", A(over_time::over_time)),
    ("stdvar_over_time", A(over_time::over_time)),
    ("sum_over_time", A(over_time::over_time)),
    ("tan", E(f64::tan)),
    ("tanh", E(f64::tanh)),
    ("time", A(misc::time)),
    ("timestamp", A(misc::timestamp)),
    ("vector", A(misc::vector)),
    ("year", D(date::year)),
];

fn lookup(name: &str) -> Option<(&'static str, Shape)> {
    let i = FUNCTIONS.binary_search_by(|(n, _)| (*n).cmp(name)).ok()?;
    Some(FUNCTIONS[i])
}

pub(crate) fn call(ev: &mut Evaluator, c: &Call, ts: i64) -> Result<Val, PromqlError> {
    let Some((name, shape)) = lookup(c.func.name) else {
        return Err(PromqlError::BadData(format!(
            "function {:?} is not supported",
            c.func.name
        )));
    };
    if ev.ctx.is_range && name.starts_with("sort") {
        let pos = ev.ctx.position(&format!("{name}("));
        ev.ctx.annotations.warn(
            "sort is ineffective for range queries since results are always ordered by labels".into(),
            pos,
        );
    }
    let args = Args::new(name, &c.args.args);
    match shape {
        Shape::Elementwise(f) => {
            let v = args.vector(ev, 0, ts)?;
            Ok(map_values(v, ts, f))
        }
        Shape::Date(f) => date::apply(ev, &args, ts, f),
        Shape::Args(f) => f(ev, &args, ts),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_unique() {
        for pair in FUNCTIONS.windows(2) {
            assert!(pair[0].0 < pair[1].0, "{} before {}", pair[0].0, pair[1].0);
        }
        assert!(lookup("rate").is_some());
        assert!(lookup("no_such_function").is_none());
    }
}
