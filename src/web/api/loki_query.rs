//! `GET/POST /loki/api/v1/query` and `/loki/api/v1/query_range`: LogQL
//! in Loki's parameters and response shapes.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use crate::logql::{LogqlEngine, QueryOutcome, RangeParams};
use crate::web::error::{ApiError, LokiApiError};
use crate::web::loki_params::{direction, limit, now_ns, step, time_param, time_range};
use crate::web::params::Params;
use crate::web::state::AppState;

use super::blocking;
use super::loki_json::{result_json, stats_json};

pub fn engine(state: &AppState) -> Result<Arc<LogqlEngine>, ApiError> {
    state
        .logql
        .clone()
        .ok_or_else(|| ApiError::Unavailable("the logs store is not running".into()))
}

fn query_text(params: &Params) -> Result<String, ApiError> {
    match params.get("query") {
        Some(q) if !q.trim().is_empty() => Ok(q.to_string()),
        _ => Err(ApiError::BadData(
            "query parameter is missing: give a LogQL query in \"query\"".into(),
        )),
    }
}

fn answer(out: QueryOutcome) -> Json<Value> {
    let (kind, result) = result_json(&out.data);
    let mut body = json!({
        "status": "success",
        "data": {"resultType": kind, "result": result, "stats": stats_json(&out.stats)},
    });
    if !out.warnings.is_empty() {
        body["warnings"] = json!(out.warnings);
    }
    Json(body)
}

pub async fn query(State(state): State<Arc<AppState>>, params: Params) -> Result<Json<Value>, LokiApiError> {
    let engine = engine(&state)?;
    let q = query_text(&params)?;
    let t = time_param(&params, "time")?.unwrap_or_else(now_ns);
    let out = blocking(move || Ok(engine.query_instant(&q, t)?)).await?;
    Ok(answer(out))
}

pub async fn query_range(
    State(state): State<Arc<AppState>>,
    params: Params,
) -> Result<Json<Value>, LokiApiError> {
    let engine = engine(&state)?;
    let q = query_text(&params)?;
    let (start_ns, end_ns) = time_range(&params)?;
    let p = RangeParams {
        start_ns,
        end_ns,
        step_ns: step(&params, start_ns, end_ns)?,
        limit: limit(&params)?,
        direction: direction(&params)?,
    };
    let out = blocking(move || Ok(engine.query_range(&q, &p)?)).await?;
    Ok(answer(out))
}
