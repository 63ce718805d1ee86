//! Errors and logs joined by request id (`errors` and `logs` do not know
//! each other, so the join is here): `GET /api/belfry/errors/events?
//! request_id=` (a request's events), `GET /api/belfry/correlate?
//! request_id=` (its log lines and its events), and the links an event
//! carries to its request's logs.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use crate::logs::index::{Filter, SearchQuery};
use crate::web::error::ApiError;
use crate::web::params::{Params, parse_time};
use crate::web::state::AppState;

use super::blocking;
use super::errors_ingest::errors;
use super::logs_search;

const DEFAULT_LIMIT: usize = 100;
const MAX_LIMIT: usize = 1_000;
/// How far around the request's events its log lines are looked for,
/// unless `start` and `end` say otherwise.
const LOG_WINDOW_SECS: i64 = 24 * 3600;
/// The window of an event's link to its logs, each side of the event.
const LINK_WINDOW_SECS: f64 = 3600.0;

fn bad(message: String) -> ApiError {
    ApiError::BadData(message)
}

fn encode(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// Adds `links.logs` (the logs search for the event's request id, an
/// hour each side of it) and `links.correlate` to a stored event that
/// has a request id.
pub fn with_log_links(event: &mut Value) {
    let Some(request_id) = event.get("request_id").and_then(Value::as_str) else {
        return;
    };
    let id = encode(request_id);
    let ts = event.get("timestamp").and_then(Value::as_f64).unwrap_or(0.0);
    let links = json!({
        "logs": format!(
            "/api/belfry/logs/search?request_id={id}&start={:.0}&end={:.0}",
            (ts - LINK_WINDOW_SECS).max(0.0),
            ts + LINK_WINDOW_SECS
        ),
        "correlate": format!("/api/belfry/correlate?request_id={id}"),
    });
    event["links"] = links;
}

fn request_id(params: &Params) -> Result<String, ApiError> {
    let id = params
        .get("request_id")
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| bad("missing parameter \"request_id\"".into()))?;
    if !crate::errors::usable_request_id(id) {
        return Err(bad(format!(
            "invalid parameter \"request_id\": {id:?} (at most 200 characters, no control characters)"
        )));
    }
    Ok(id.to_string())
}

fn project(params: &Params) -> Result<Option<u64>, ApiError> {
    match params.get("project").filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(p) => p.parse().map(Some).map_err(|_| {
            bad(format!(
                "invalid parameter \"project\": {p:?} is not a project id"
            ))
        }),
    }
}

fn limit(params: &Params) -> Result<usize, ApiError> {
    match params.get("limit").filter(|s| !s.is_empty()) {
        None => Ok(DEFAULT_LIMIT),
        Some(s) => match s.parse::<usize>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
            _ => Err(bad(format!(
                "invalid parameter \"limit\": {s:?} (1 to {MAX_LIMIT})"
            ))),
        },
    }
}

fn time_secs(params: &Params, key: &str) -> Result<Option<i64>, ApiError> {
    match params.get(key).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => parse_time(s).map(|ms| Some(ms / 1000)).ok_or_else(|| {
            bad(format!(
                "invalid parameter {key:?}: {s:?} is neither an RFC 3339 time nor Unix seconds"
            ))
        }),
    }
}

async fn request_events(
    state: &AppState,
    request_id: String,
    project: Option<u64>,
    limit: usize,
) -> Result<Vec<Value>, ApiError> {
    let store = errors(state)?.store().clone();
    let mut events = blocking(move || Ok(store.request_events(&request_id, project, limit)?)).await?;
    events.iter_mut().for_each(with_log_links);
    Ok(events)
}

/// `GET /api/belfry/errors/events?request_id=&project=&limit=`: the
/// events of one request, newest first.
pub async fn events(State(state): State<Arc<AppState>>, params: Params) -> Result<Json<Value>, ApiError> {
    let request_id = request_id(&params)?;
    let events = request_events(&state, request_id, project(&params)?, limit(&params)?).await?;
    Ok(Json(json!({ "data": events })))
}

/// `GET /api/belfry/correlate?request_id=&project=&start=&end=&limit=`:
/// `{"data": {"request_id", "logs": [...], "events": [...]}}`, the log
/// lines (from the logs store's request-id index) and error events of
/// one request. Without `start`/`end`, lines are looked for from a day
/// before the request's first event (or now) to now.
pub async fn correlate(State(state): State<Arc<AppState>>, params: Params) -> Result<Json<Value>, ApiError> {
    let request_id = request_id(&params)?;
    let limit = limit(&params)?;
    let events = request_events(&state, request_id.clone(), project(&params)?, limit).await?;
    let now = crate::model::now_millis() / 1000;
    let first_event = events
        .iter()
        .filter_map(|e| e["timestamp"].as_f64())
        .fold(now as f64, f64::min) as i64;
    let start = time_secs(&params, "start")?.unwrap_or(first_event - LOG_WINDOW_SECS);
    let end = time_secs(&params, "end")?.unwrap_or(now + 60);
    if end <= start {
        return Err(bad("\"end\" must be after \"start\"".into()));
    }
    let logs = logs_search::store(&state)?;
    let query = SearchQuery {
        text: String::new(),
        start_ns: start.saturating_mul(1_000_000_000),
        end_ns: end.saturating_mul(1_000_000_000),
        filters: vec![Filter::RequestId(request_id.clone())],
        limit,
        offset: 0,
        buckets: 1,
    };
    let reads = logs_search::read_budget(&state);
    let result = blocking(move || Ok(logs.search(&query, &reads)?)).await?;
    Ok(Json(json!({
        "data": {
            "request_id": request_id,
            "logs": result.lines,
            "events": events,
        }
    })))
}
