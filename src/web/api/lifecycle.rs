//! `/-/healthy`, `/-/ready`, `/-/reload` and the self-metrics on `/metrics`.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;

use crate::web::state::AppState;

pub async fn healthy() -> impl IntoResponse {
    "Belfry is Healthy.\n"
}

pub async fn ready(State(state): State<Arc<AppState>>) -> impl IntoResponse {
    if state.lifecycle.is_ready() {
        (StatusCode::OK, "Belfry is Ready.\n")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable\n")
    }
}

/// Reloads the configuration; on failure the running one stays and the
/// reason is returned, as Prometheus does.
pub async fn reload(State(state): State<Arc<AppState>>) -> impl IntoResponse {
    match state.reload.reload().await {
        Ok(()) => (StatusCode::OK, String::new()),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("failed to reload config: {e}\n"),
        ),
    }
}

pub async fn metrics(State(state): State<Arc<AppState>>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        state.registry.render(),
    )
}
