//! Element-wise math and trigonometry, `sgn`, `round` and `clamp*`.

use promql_parser::parser::Expr;

use crate::promql::error::PromqlError;
use crate::promql::eval::Evaluator;
use crate::promql::value::Val;

use super::map_values;

pub(super) fn call(
    ev: &mut Evaluator,
    name: &str,
    args: &[&Expr],
    ts: i64,
) -> Result<Option<Val>, PromqlError> {
    let f: fn(f64) -> f64 = match name {
        "abs" => f64::abs,
        "ceil" => f64::ceil,
        "floor" => f64::floor,
        "exp" => f64::exp,
        "sqrt" => f64::sqrt,
        "ln" => f64::ln,
        "log2" => f64::log2,
        "log10" => f64::log10,
        "sin" => f64::sin,
        "cos" => f64::cos,
        "tan" => f64::tan,
        "asin" => f64::asin,
        "acos" => f64::acos,
        "atan" => f64::atan,
        "sinh" => f64::sinh,
        "cosh" => f64::cosh,
        "tanh" => f64::tanh,
        "asinh" => f64::asinh,
        "acosh" => f64::acosh,
        "atanh" => f64::atanh,
        "rad" => |v| v * std::f64::consts::PI / 180.0,
        "deg" => |v| v * 180.0 / std::f64::consts::PI,
        "sgn" => |v| {
            if v < 0.0 {
                -1.0
            } else if v > 0.0 {
                1.0
            } else {
                v
            }
        },
        "pi" => return Ok(Some(Val::Scalar(std::f64::consts::PI))),
        "round" => {
            let to_nearest = match args.get(1) {
                Some(a) => ev.eval_scalar(a, ts)?,
                None => 1.0,
            };
            let inv = 1.0 / to_nearest;
            let v = ev.eval_vector(args[0], ts)?;
            return Ok(Some(map_values(v, ts, move |x| (x * inv + 0.5).floor() / inv)));
        }
        "clamp" | "clamp_min" | "clamp_max" => {
            let (lo, hi) = match name {
                "clamp" => (ev.eval_scalar(args[1], ts)?, ev.eval_scalar(args[2], ts)?),
                "clamp_min" => (ev.eval_scalar(args[1], ts)?, f64::INFINITY),
                _ => (f64::NEG_INFINITY, ev.eval_scalar(args[1], ts)?),
            };
            let v = ev.eval_vector(args[0], ts)?;
            if hi < lo {
                return Ok(Some(Val::Vector(Vec::new())));
            }
            // Go's math.Max/Min propagate NaN.
            return Ok(Some(map_values(v, ts, move |x| go_max(lo, go_min(hi, x)))));
        }
        _ => return Ok(None),
    };
    let v = ev.eval_vector(args[0], ts)?;
    Ok(Some(map_values(v, ts, f)))
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
