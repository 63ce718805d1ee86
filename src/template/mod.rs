//! Go `text/template` as Prometheus uses it for alert labels and
//! annotations: `{{ $value }}`, `{{ $labels.x }}`, `{{ $externalLabels.x }}`,
//! pipelines, `if`/`else`/`range`/`with`/`define`/`template`, Go's builtins
//! and Prometheus's functions (`query`, `humanize*`, `printf`, …).
//!
//! Our own implementation: the one Rust port of Go templates (`gtmpl`,
//! last released 2021) has its own value model, none of Prometheus's
//! functions and not its `missingkey=zero` behaviour, and we need `query`
//! to run on our engine and Go's exact float printing.

mod alertmanager;
mod compiled;
mod context;
mod error;
mod exec;
mod func_error;
mod funcs;
mod gofmt;
mod gotime;
mod kv;
mod lex;
mod parse;
mod set;
mod source;
mod strconv;
mod value;

pub use compiled::{Template, TemplateData};
pub use context::{Context, QueryError, QueryFn};
pub use error::TemplateError;
pub use func_error::FuncError;
pub use funcs::{html_escape, humanize, humanize_duration, humanize1024, query_escape};
pub use gofmt::{float_v as go_float, sprintf};
pub use gotime::format as go_time_format;
pub use set::TemplateSet;
pub(crate) use strconv::parse_go_float;
pub use value::{QuerySample, TValue};

#[cfg(test)]
mod tests;
