//! `/api/belfry/dashboards`: the list, one dashboard (Grafana's
//! `{"dashboard", "meta"}` shape, or the bare model as a download — the
//! export), import (the model, or Grafana's `{"dashboard": …, "overwrite":
//! true}`), delete, and duplicate. Changes are audited by the access layer.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::dashboards::{Dashboard, Dashboards};
use crate::web::access::ActingAs;
use crate::web::error::ApiError;
use crate::web::params::Params;
use crate::web::state::AppState;

use super::{blocking, success};

fn dashboards(state: &AppState) -> Arc<Dashboards> {
    state.dashboards.clone()
}

fn created(d: &Dashboard) -> Json<Value> {
    success(
        json!({"uid": d.uid, "title": d.title, "url": format!("/d/{}", d.uid)}),
        vec![],
    )
}

/// `GET /api/belfry/dashboards`.
pub async fn list(State(state): State<Arc<AppState>>) -> Json<Value> {
    success(dashboards(&state).list(), vec![])
}

/// `GET /api/belfry/dashboards/{uid}`; `?download=1` answers the model
/// alone as a file, which imports into Grafana unchanged.
pub async fn get(
    State(state): State<Arc<AppState>>,
    Path(uid): Path<String>,
    params: Params,
) -> Result<Response, ApiError> {
    let (dashboard, builtin) = dashboards(&state)
        .get(&uid)
        .ok_or_else(|| crate::dashboards::DashboardError::NotFound(uid.clone()))?;
    if params.get("download").is_some_and(|v| v == "1" || v == "true") {
        let body = serde_json::to_string_pretty(&dashboard.model)
            .map_err(|e| ApiError::Internal(format!("cannot write the dashboard: {e}")))?;
        let mut response = ([(header::CONTENT_TYPE, "application/json")], body).into_response();
        // The uid holds only letters, digits, '-' and '_' (checked on import).
        if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{}.json\"", dashboard.uid)) {
            response.headers_mut().insert(header::CONTENT_DISPOSITION, v);
        }
        return Ok(response);
    }
    Ok(Json(json!({
        "dashboard": dashboard.model,
        "meta": {"builtin": builtin, "canEdit": !builtin, "url": format!("/d/{}", dashboard.uid)},
    }))
    .into_response())
}

/// `POST /api/belfry/dashboards[?overwrite=true]`.
pub async fn import(
    State(state): State<Arc<AppState>>,
    ActingAs(actor): ActingAs,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    // Grafana's API form carries `overwrite` beside the dashboard.
    let body_overwrite = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v.get("overwrite").and_then(Value::as_bool))
        .unwrap_or(false);
    let query_overwrite = form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .any(|(k, v)| k == "overwrite" && (v == "true" || v == "1"));
    let overwrite = body_overwrite || query_overwrite;
    let store = dashboards(&state);
    let d = blocking(move || Ok(store.import(&body, overwrite, &actor.name)?)).await?;
    Ok(created(&d))
}

/// `DELETE /api/belfry/dashboards/{uid}`.
pub async fn delete(
    State(state): State<Arc<AppState>>,
    Path(uid): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let store = dashboards(&state);
    blocking(move || Ok(store.delete(&uid)?)).await?;
    Ok(success(Value::Null, vec![]))
}

/// `POST /api/belfry/dashboards/{uid}/duplicate`.
pub async fn duplicate(
    State(state): State<Arc<AppState>>,
    ActingAs(actor): ActingAs,
    Path(uid): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let store = dashboards(&state);
    let d = blocking(move || Ok(store.duplicate(&uid, &actor.name)?)).await?;
    Ok(created(&d))
}
