//! What a running template may reach beyond its data: the query engine,
//! the external URL and path prefix, and the evaluation time.

use super::value::QuerySample;

/// Why a template's `query` failed: the engine's own error, which this
/// layer cannot name.
pub type QueryError = Box<dyn std::error::Error + Send + Sync>;

/// Runs a PromQL query for a template's `query`.
pub type QueryFn<'a> = dyn Fn(&str) -> Result<Vec<QuerySample>, QueryError> + 'a;

/// What a template may reach outside its data.
pub struct Context<'a> {
    /// Runs `query`; `None` where no engine is at hand (e.g. `check rules`).
    pub query: Option<&'a QueryFn<'a>>,
    pub external_url: &'a str,
    pub path_prefix: &'a str,
    /// Evaluation time in seconds, for `now`.
    pub now_secs: f64,
}
