//! `GET /api/belfry/logs/search` (full-text query, time range, field
//! filters, paging newest first, a per-level count histogram) and
//! `GET /api/belfry/logs/context` (the lines around one line of a
//! service), for the web UI.

use std::sync::Arc;

use axum::extract::State;
use serde_json::json;

use crate::logs::index::{Filter, ReadBudget, SearchQuery};
use crate::logs::{Level, LogStore};
use crate::web::error::ApiError;
use crate::web::params::{Params, parse_time};
use crate::web::state::AppState;

use super::{blocking, success};

const DEFAULT_LIMIT: usize = 100;
const DEFAULT_BUCKETS: usize = 60;
const DEFAULT_CONTEXT: usize = 20;
const DEFAULT_RANGE_NS: i64 = 3600 * 1_000_000_000;

pub fn store(state: &AppState) -> Result<Arc<LogStore>, ApiError> {
    state
        .logs
        .clone()
        .ok_or_else(|| ApiError::Unavailable("the logs store is not running".into()))
}

fn now_ns() -> i64 {
    crate::model::now_millis().saturating_mul(1_000_000)
}

/// RFC 3339 or Unix seconds, as Prometheus's time parameters.
fn time_ns(params: &Params, key: &str) -> Result<Option<i64>, ApiError> {
    match params.get(key) {
        None | Some("") => Ok(None),
        Some(s) => parse_time(s)
            .map(|ms| Some(ms.saturating_mul(1_000_000)))
            .ok_or_else(|| {
                ApiError::BadData(format!(
                    "invalid parameter {key:?}: {s:?} is neither an RFC 3339 time nor Unix seconds"
                ))
            }),
    }
}

fn number(params: &Params, key: &str, default: usize) -> Result<usize, ApiError> {
    match params.get(key) {
        None | Some("") => Ok(default),
        Some(s) => s.parse().map_err(|_| {
            ApiError::BadData(format!(
                "invalid parameter {key:?}: {s:?} is not a non-negative integer"
            ))
        }),
    }
}

/// One `name=value` filter; `level` takes a comma-separated list.
pub(crate) fn filter(name: &str, value: &str) -> Result<Filter, ApiError> {
    Ok(match name {
        "level" => Filter::Level(
            value
                .split(',')
                .map(|l| {
                    // Belfry's names, or any spelling ingest understands (`warn`, `E`).
                    let l = l.trim();
                    Level::parse_canonical(l)
                        .or_else(|| Level::from_word(l))
                        .ok_or_else(|| {
                            ApiError::BadData(format!(
                                "unknown level {l:?}: use debug, info, warning, error or critical"
                            ))
                        })
                })
                .collect::<Result<_, _>>()?,
        ),
        "service" => Filter::Service(value.into()),
        "request_id" => Filter::RequestId(value.into()),
        "user" | "user_id" => Filter::User(value.into()),
        "path" | "endpoint" => Filter::Path(value.into()),
        "status" => {
            Filter::Status(value.parse().map_err(|_| {
                ApiError::BadData(format!("status filter {value:?} is not an HTTP status code"))
            })?)
        }
        other => Filter::Field(other.into(), value.into()),
    })
}

const DIRECT_FILTERS: [&str; 7] = [
    "level",
    "service",
    "request_id",
    "user",
    "user_id",
    "path",
    "status",
];

/// Filters from the direct parameters (`level=error&service=api`) and from
/// `filters` (`level=error service=api course=7`, space separated).
fn filters(params: &Params) -> Result<Vec<Filter>, ApiError> {
    let mut out = Vec::new();
    for name in DIRECT_FILTERS {
        for value in params.all(name) {
            out.push(filter(name, value)?);
        }
    }
    for text in params.all("filters") {
        for pair in text.split_whitespace() {
            let (name, value) = pair
                .split_once('=')
                .ok_or_else(|| ApiError::BadData(format!("filter {pair:?} is not name=value")))?;
            if name.is_empty() {
                return Err(ApiError::BadData(format!("filter {pair:?} names no field")));
            }
            out.push(filter(name, value)?);
        }
    }
    Ok(out)
}

/// What one search may read: LogQL's limits (`logs.query`), since both
/// read stored lines to check what the index holds only approximately.
pub(crate) fn read_budget(state: &AppState) -> Arc<ReadBudget> {
    let limits = state
        .logql
        .as_ref()
        .map(|engine| engine.limits().clone())
        .unwrap_or_default();
    ReadBudget::new(limits.max_lines_read, limits.timeout)
}

pub async fn search(
    State(state): State<Arc<AppState>>,
    params: Params,
) -> Result<axum::Json<serde_json::Value>, ApiError> {
    let store = store(&state)?;
    let end_ns = time_ns(&params, "end")?.unwrap_or_else(now_ns);
    let start_ns = time_ns(&params, "start")?.unwrap_or(end_ns.saturating_sub(DEFAULT_RANGE_NS));
    let q = SearchQuery {
        text: params.get("query").unwrap_or_default().to_string(),
        start_ns,
        // `end` is inclusive for callers; the index range is exclusive.
        end_ns: end_ns.saturating_add(1),
        filters: filters(&params)?,
        limit: number(&params, "limit", DEFAULT_LIMIT)?,
        offset: number(&params, "offset", 0)?,
        buckets: number(&params, "buckets", DEFAULT_BUCKETS)?,
    };
    let reads = read_budget(&state);
    let result = blocking(move || Ok(store.search(&q, &reads)?)).await?;
    let warnings = result.warnings.clone();
    Ok(success(result, warnings))
}

pub async fn context(
    State(state): State<Arc<AppState>>,
    params: Params,
) -> Result<axum::Json<serde_json::Value>, ApiError> {
    let store = store(&state)?;
    let id: u64 = params
        .get("id")
        .ok_or_else(|| ApiError::BadData("missing parameter \"id\" (a line's id from search)".into()))?
        .parse()
        .map_err(|_| ApiError::BadData("invalid parameter \"id\": not a line id".into()))?;
    let service = params.get("service").map(str::to_string);
    let before = number(&params, "before", DEFAULT_CONTEXT)?;
    let after = number(&params, "after", DEFAULT_CONTEXT)?;
    let (line, lines) = blocking(move || Ok(store.context(id, service.as_deref(), before, after)?)).await?;
    Ok(success(json!({"line": line, "lines": lines}), Vec::new()))
}
