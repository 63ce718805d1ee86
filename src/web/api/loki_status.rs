//! What Grafana's Loki data source and Loki's clients check besides
//! queries: `/loki/api/v1/status/buildinfo` (the version Grafana reads to
//! pick features) and `/ready`. Grafana's "Save & test" runs the instant
//! query `vector(1)+vector(1)` through `/loki/api/v1/query` and expects 2.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::json;

use crate::web::state::AppState;

/// The Loki API version Belfry answers like; Grafana turns features on
/// and off by it.
pub const LOKI_API_VERSION: &str = "3.0.0";

pub async fn buildinfo() -> impl IntoResponse {
    axum::Json(json!({
        "version": LOKI_API_VERSION,
        "revision": format!("belfry-{}", env!("CARGO_PKG_VERSION")),
        "branch": "",
        "buildUser": "",
        "buildDate": "",
        "goVersion": "",
    }))
}

/// Loki's readiness answer: `ready` once the stores are open.
pub async fn ready(State(state): State<Arc<AppState>>) -> impl IntoResponse {
    if state.lifecycle.is_ready() && state.logql.is_some() {
        (StatusCode::OK, "ready\n")
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "Ingester not ready: waiting for the stores to open\n",
        )
    }
}
