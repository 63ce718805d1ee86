//! PromQL: evaluation of parsed queries (parsed by `promql-parser`) over the
//! storage engine, seen only through [`crate::tsdb::Querier`], with
//! Prometheus 3.x semantics: lookback and staleness, `offset`/`@`,
//! subqueries, binary operators with vector matching, aggregations, the
//! float functions and delayed `__name__` removal. Native-histogram samples
//! pass through selectors, label functions and set operators; other
//! operations read floats only.
//!
//! Evaluation runs one way: the engine plans (`plan.rs`), `batch/`
//! precomputes what pays off over all steps at once, and the per-step
//! evaluator (`eval.rs`) reads those results and evaluates the rest.

mod aggregate;
mod annotations;
mod batch;
mod binary;
mod cache;
mod context;
mod control;
mod engine;
mod error;
mod eval;
mod extract_selectors;
mod format;
mod functions;
mod grouping;
mod histogram_selector;
mod literals;
mod node;
mod numeric;
mod operators;
mod params;
mod parse;
mod plan;
mod precomputed;
mod result;
mod selector;
mod time;
mod value;

pub use annotations::Annotations;
pub use control::QueryControl;
pub use engine::{Engine, EngineOptions, QueryOutput, QueryStats};
pub use error::PromqlError;
pub use extract_selectors::extract_selectors;
pub use format::{format_float, format_sample_value, write_sample_value};
pub use numeric::quantile;
pub use params::{
    MAX_TIME_MS, MIN_TIME_MS, ParamError, RangeSpec, duration_param, parse_time, time_param, timeout_param,
};
#[doc(hidden)]
pub use parse::parse;
pub use selector::selector_matcher_sets;
pub use value::{Sample, Series, Value};
