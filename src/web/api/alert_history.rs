//! `GET /api/belfry/alerts/history?query=&start=&end=&limit=`: every state
//! change of the alerts in a range (the rules' and those the dispatcher
//! received from other sources), newest first, narrowed by words.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde_json::Value;

use crate::web::error::ApiError;
use crate::web::params::{Params, parse_time};
use crate::web::state::AppState;

use super::{blocking, success};

const DEFAULT_LIMIT: usize = 200;
const MAX_LIMIT: usize = 5_000;
const DEFAULT_RANGE_MS: i64 = 7 * 24 * 3600 * 1000;

fn time(params: &Params, key: &str) -> Result<Option<i64>, ApiError> {
    match params.get(key) {
        None | Some("") => Ok(None),
        Some(s) => parse_time(s).map(Some).ok_or_else(|| {
            ApiError::BadData(format!(
                "invalid parameter {key:?}: {s:?} is neither an RFC 3339 time nor Unix seconds"
            ))
        }),
    }
}

/// `GET /api/belfry/alerts/history`.
pub async fn list(State(state): State<Arc<AppState>>, params: Params) -> Result<Json<Value>, ApiError> {
    let history = state
        .rules
        .history()
        .cloned()
        .ok_or_else(|| ApiError::Unavailable("the alert history is not kept on this server".into()))?;
    let end = time(&params, "end")?.unwrap_or_else(crate::model::now_millis);
    let start = time(&params, "start")?.unwrap_or(end - DEFAULT_RANGE_MS);
    let limit = match params.get("limit") {
        None | Some("") => DEFAULT_LIMIT,
        Some(s) => s
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| {
                ApiError::BadData(format!("invalid parameter \"limit\": {s:?} (1 to {MAX_LIMIT})"))
            })?,
    };
    let query = params.get("query").unwrap_or_default().to_string();
    let found = blocking(move || {
        history
            .search(&query, start, end, limit)
            .map_err(|e| ApiError::Internal(e.to_string()))
    })
    .await?;
    Ok(success(found, vec![]))
}
