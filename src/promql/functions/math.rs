//! Math beyond `f64`'s own methods (those sit in the table directly):
//! `rad`, `deg`, `sgn`, `pi`, `round` and `clamp*`.

use crate::promql::error::PromqlError;
use crate::promql::eval::Evaluator;
use crate::promql::value::Val;

use super::args::{Args, map_values};

pub(super) fn rad(v: f64) -> f64 {
    v * std::f64::consts::PI / 180.0
}

pub(super) fn deg(v: f64) -> f64 {
    v * 180.0 / std::f64::consts::PI
}

pub(super) fn sgn(v: f64) -> f64 {
    if v < 0.0 {
        -1.0
    } else if v > 0.0 {
        1.0
    } else {
        v
    }
}

pub(super) fn pi(_: &mut Evaluator, _: &Args, _: i64) -> Result<Val, PromqlError> {
    Ok(Val::Scalar(std::f64::consts::PI))
}

pub(super) fn round(ev: &mut Evaluator, args: &Args, ts: i64) -> Result<Val, PromqlError> {
    let to_nearest = if args.len() > 1 {
        args.scalar(ev, 1, ts)?
    } else {
        1.0
    };
    let inv = 1.0 / to_nearest;
    let v = args.vector(ev, 0, ts)?;
    Ok(map_values(v, ts, move |x| (x * inv + 0.5).floor() / inv))
}

/// `clamp`, `clamp_min` and `clamp_max`.
pub(super) fn clamp(ev: &mut Evaluator, args: &Args, ts: i64) -> Result<Val, PromqlError> {
    let (lo, hi) = match args.name {
        "clamp" => (args.scalar(ev, 1, ts)?, args.scalar(ev, 2, ts)?),
        "clamp_min" => (args.scalar(ev, 1, ts)?, f64::INFINITY),
        _ => (f64::NEG_INFINITY, args.scalar(ev, 1, ts)?),
    };
    let v = args.vector(ev, 0, ts)?;
    if hi < lo {
        return Ok(Val::Vector(Vec::new()));
    }
    // Go's math.Max/Min propagate NaN.
    Ok(map_values(v, ts, move |x| go_max(lo, go_min(hi, x))))
}

fn go_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.max(b)
    }
}

fn go_min(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.min(b)
    }
}
