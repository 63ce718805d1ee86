//! Query values: the public results ([`Value`]) and the per-step values the
//! evaluator passes between nodes, which carry Prometheus 3's delayed
//! `__name__` removal flag.

use std::sync::Arc;

use crate::model::{FloatHistogram, Labels};

/// One element of an instant vector result.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub labels: Labels,
    pub t: i64,
    /// The float value; 0 for a native-histogram sample.
    pub v: f64,
    /// Set for a native-histogram sample.
    pub h: Option<Arc<FloatHistogram>>,
}

/// One series of a range (matrix) result.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub labels: Labels,
    pub points: Vec<(i64, f64)>,
    /// Native-histogram points, in time order (Prometheus's `histograms`).
    pub histograms: Vec<(i64, Arc<FloatHistogram>)>,
}

/// A query result.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Scalar(f64),
    String(String),
    Vector(Vec<Sample>),
    Matrix(Vec<Series>),
}

impl Value {
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Scalar(_) => "scalar",
            Value::String(_) => "string",
            Value::Vector(_) => "vector",
            Value::Matrix(_) => "matrix",
        }
    }
}

/// An instant-vector element inside the evaluator. `t` is the sample's own
/// timestamp for selector output (what `timestamp()` reports) and the step
/// time otherwise.
#[derive(Debug, Clone)]
pub(crate) struct Elem {
    pub metric: Arc<Labels>,
    pub t: i64,
    pub v: f64,
    /// A native-histogram sample (then `v` is 0). Only selectors produce
    /// them, and only label functions, set operators and the query result
    /// pass them on: every other operation reads floats only and drops
    /// them with an info annotation ([`Evaluator::eval_vector`]).
    ///
    /// [`Evaluator::eval_vector`]: super::eval::Evaluator::eval_vector
    pub h: Option<Arc<FloatHistogram>>,
    /// Set where Prometheus 3 removes `__name__` lazily: at the end of
    /// evaluation the name (and `__type__`/`__unit__`) is dropped.
    pub drop_name: bool,
}

/// A range-vector element inside the evaluator.
#[derive(Debug, Clone)]
pub(crate) struct RangeElem {
    pub metric: Arc<Labels>,
    pub points: Points,
    pub drop_name: bool,
}

/// The samples of a range-vector element: a window onto a selected series'
/// samples, shared rather than copied at every step, or points a subquery
/// computed.
#[derive(Debug, Clone)]
pub(crate) enum Points {
    Window(Arc<[(i64, f64)]>, std::ops::Range<usize>),
    Owned(Vec<(i64, f64)>),
}

impl std::ops::Deref for Points {
    type Target = [(i64, f64)];

    fn deref(&self) -> &[(i64, f64)] {
        match self {
            Points::Window(all, range) => &all[range.clone()],
            Points::Owned(v) => v,
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) enum Val {
    Scalar(f64),
    Str(String),
    Vector(Vec<Elem>),
    Matrix(Vec<RangeElem>),
}

impl Val {
    pub fn type_name(&self) -> &'static str {
        match self {
            Val::Scalar(_) => "scalar",
            Val::Str(_) => "string",
            Val::Vector(_) => "vector",
            Val::Matrix(_) => "matrix",
        }
    }
}

/// The labels Prometheus drops with the metric name: `__name__` and the
/// metadata labels `__type__` and `__unit__`.
pub(crate) fn drop_reserved(l: &Labels) -> Labels {
    if !l.iter().any(|x| is_reserved(&x.name)) {
        return l.clone();
    }
    Labels::from_sorted_unchecked(l.iter().filter(|x| !is_reserved(&x.name)).cloned().collect())
}

pub(crate) fn is_reserved(name: &str) -> bool {
    matches!(name, "__name__" | "__type__" | "__unit__")
}
