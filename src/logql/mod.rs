//! LogQL over the logs store: the parser (`parse.rs`, `query.rs`), the
//! pipeline stages (`pipeline.rs`, `parsers.rs`, `pattern.rs`, `ip_filter.rs`), index
//! queries (`index_query.rs`, `segment_streams.rs`), log queries
//! (`log_query.rs`), range aggregations (`range_eval.rs`, `windows.rs`)
//! and the engine (`engine.rs`) that runs the PromQL operators around
//! them on the PromQL engine (`synthetic.rs`).

pub mod ast;
mod budget;
mod engine;
mod error;
mod index_query;
mod ip_filter;
mod line_entry;
pub mod literals;
mod log_query;
pub mod metadata;
mod parse;
pub mod parsers;
mod pattern;
mod pipeline;
mod query;
mod range_eval;
mod segment_streams;
mod synthetic;
mod tail;
mod template_text;
mod windows;

pub use ast::LogSelector;
pub use budget::{Budget, QueryLimits};
pub use engine::{ExecStats, LogqlEngine, MAX_POINTS, QueryData, QueryOutcome, RangeParams};
pub use error::LogqlError;
pub use log_query::{Direction, FoundLine, Stream, find_lines, group_streams};
pub use parse::parse_log_query;
pub use query::{MetricQuery, Query, parse_query};
pub use tail::tail_lines;
