//! The arithmetic and comparison operators on two floats, as Prometheus's
//! `vectorElemBinop` and `scalarBinop` compute them, shared by the per-step
//! binary operators and the evaluation over all steps.

use promql_parser::parser::token::*;

use super::error::PromqlError;

pub(crate) fn btos(b: bool) -> f64 {
    if b { 1.0 } else { 0.0 }
}

/// Go's `math.Mod`: the result has the sign of `x`.
pub(crate) fn go_mod(x: f64, y: f64) -> f64 {
    x % y
}

pub(crate) fn arith(op: u16, l: f64, r: f64) -> Option<f64> {
    Some(match op {
        T_ADD => l + r,
        T_SUB => l - r,
        T_MUL => l * r,
        T_DIV => l / r,
        T_POW => l.powf(r),
        T_MOD => go_mod(l, r),
        T_ATAN2 => l.atan2(r),
        _ => return None,
    })
}

pub(crate) fn compare(op: u16, l: f64, r: f64) -> Option<bool> {
    Some(match op {
        T_EQLC => l == r,
        T_NEQ => l != r,
        T_GTR => l > r,
        T_LSS => l < r,
        T_GTE => l >= r,
        T_LTE => l <= r,
        _ => return None,
    })
}

pub(crate) fn is_comparison(op: u16) -> bool {
    matches!(op, T_EQLC | T_NEQ | T_GTR | T_LSS | T_GTE | T_LTE)
}

pub(crate) fn scalar_op(op: u16, l: f64, r: f64) -> Result<f64, PromqlError> {
    if let Some(v) = arith(op, l, r) {
        return Ok(v);
    }
    if let Some(b) = compare(op, l, r) {
        return Ok(btos(b));
    }
    Err(PromqlError::Execution(format!(
        "operator {:?} not allowed for scalar operations",
        TokenType::new(op).to_string()
    )))
}

/// `(value, keep)` of one element pair, as Prometheus's `vectorElemBinop`.
pub(crate) fn elem_op(op: u16, l: f64, r: f64) -> Result<(f64, bool), PromqlError> {
    if let Some(v) = arith(op, l, r) {
        return Ok((v, true));
    }
    if let Some(b) = compare(op, l, r) {
        return Ok((l, b));
    }
    Err(PromqlError::Execution(format!(
        "operator {:?} not allowed for vector operations",
        TokenType::new(op).to_string()
    )))
}

/// One element `v` of a vector-scalar operation with scalar `s` (on the
/// left when `swap`): its value, or `None` when a comparison filters it out.
pub(crate) fn vector_scalar_value(
    op: u16,
    v: f64,
    s: f64,
    swap: bool,
    return_bool: bool,
) -> Result<Option<f64>, PromqlError> {
    let (l, r) = if swap { (s, v) } else { (v, s) };
    let (mut value, mut keep) = elem_op(op, l, r)?;
    if is_comparison(op) && swap {
        value = r;
    }
    if return_bool {
        value = btos(keep);
        keep = true;
    }
    Ok(keep.then_some(value))
}

/// Whether a vector-scalar operation drops the metric name: all but
/// filtering comparisons do.
pub(crate) fn vector_scalar_drops_name(op: u16, return_bool: bool) -> bool {
    !is_comparison(op) || return_bool
}

/// Whether `op` is an arithmetic or comparison operator (not a set one).
pub(crate) fn is_arithmetic_or_comparison(op: u16) -> bool {
    is_comparison(op) || matches!(op, T_ADD | T_SUB | T_MUL | T_DIV | T_POW | T_MOD | T_ATAN2)
}
