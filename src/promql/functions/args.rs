//! A function call's arguments, read the way the functions need them:
//! instant vectors (floats only, or with native histograms), scalars,
//! range vectors with the window they cover, and string literals.

use promql_parser::parser::Expr;

use crate::promql::error::PromqlError;
use crate::promql::eval::Evaluator;
use crate::promql::time::{duration_ms, offset_ms};
use crate::promql::value::{Elem, RangeElem, Val};

/// The arguments of one call, with the name it was called by (functions
/// that share an implementation tell themselves apart by it).
pub(crate) struct Args<'e> {
    pub name: &'static str,
    exprs: &'e [Box<Expr>],
}

impl<'e> Args<'e> {
    pub fn new(name: &'static str, exprs: &'e [Box<Expr>]) -> Self {
        Args { name, exprs }
    }

    pub fn len(&self) -> usize {
        self.exprs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.exprs.is_empty()
    }

    pub fn expr(&self, i: usize) -> &'e Expr {
        &self.exprs[i]
    }

    /// An instant vector of floats (native histograms dropped with an info).
    pub fn vector(&self, ev: &mut Evaluator, i: usize, ts: i64) -> Result<Vec<Elem>, PromqlError> {
        ev.eval_vector(self.expr(i), ts)
    }

    /// An instant vector as evaluated, native histograms included.
    pub fn vector_with_histograms(
        &self,
        ev: &mut Evaluator,
        i: usize,
        ts: i64,
    ) -> Result<Vec<Elem>, PromqlError> {
        ev.eval_vector_with_histograms(self.expr(i), ts)
    }

    pub fn scalar(&self, ev: &mut Evaluator, i: usize, ts: i64) -> Result<f64, PromqlError> {
        ev.eval_scalar(self.expr(i), ts)
    }

    pub fn matrix(&self, ev: &mut Evaluator, i: usize, ts: i64) -> Result<Vec<RangeElem>, PromqlError> {
        ev.eval_matrix(self.expr(i), ts)
    }

    pub fn window(&self, ev: &mut Evaluator, i: usize, ts: i64) -> Result<Window, PromqlError> {
        eval_window(ev, self.expr(i), ts)
    }

    pub fn string(&self, i: usize) -> Result<String, PromqlError> {
        string_arg(self.expr(i))
    }
}

/// The range-vector argument of a function, with the window it covers.
pub(crate) struct Window {
    pub series: Vec<RangeElem>,
    /// `(start, end]`: the window the selector or subquery read.
    pub start: i64,
    pub end: i64,
    pub range_ms: i64,
}

fn eval_window(ev: &mut Evaluator, e: &Expr, ts: i64) -> Result<Window, PromqlError> {
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
    let end = ev.ctx.at_time(at, ts) - off;
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

fn string_arg(e: &Expr) -> Result<String, PromqlError> {
    match unwrap_parens(e) {
        Expr::StringLiteral(s) => Ok(s.val.clone()),
        other => Err(PromqlError::Execution(format!(
            "expected a string literal, got {other}"
        ))),
    }
}
